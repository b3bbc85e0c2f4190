/*
 * crcore_spank.c -- the SPANK plugin: options --cr, --cr-dir, --cr-interval and --cr-restart for srun,
 * sbatch and salloc, and the hook that starts a --cr task under crcore's task supervisor.
 *
 * plugstack.conf:  optional /usr/lib/x86_64-linux-gnu/slurm-wlm/crcore_spank.so [ARG...]
 *   libexec=DIR    where crcore-slurm-task lives (default: the install's libexec/crcore)
 *   bindir=DIR     where cr_run, cr_checkpoint and cr_restart live (default: the install's bin)
 *   statedir=DIR   the job registry the scontrol front end reads (default /tmp/crcore-slurm; on a
 *                  cluster a directory every node and the login nodes share)
 *
 * In the task (slurm_spank_task_init, remote context, running as the user just before Slurm would
 * exec the task) the plugin passes the options on in the task's environment (CRCORE_SLURM_*) and
 * execs the supervisor `crcore-slurm-task -- ARGV...` in place of the task. The supervisor runs the
 * program under cr_run (or restarts it with cr_restart), takes the checkpoints and answers the
 * front end (slurm/libexec/crcore-slurm-task). Everything after this hook in Slurm's task launch is
 * skipped for --cr tasks (TaskProlog, TMPDIR creation, the submitter's rlimits): docs/slurm.md.
 *
 * Plain C: a Slurm plugin is loaded by slurmstepd, srun, sbatch and salloc.
 */
#define _GNU_SOURCE

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slurm/spank.h>

SPANK_PLUGIN(crcore, 1);

#ifndef CRCORE_SLURM_LIBEXEC
#define CRCORE_SLURM_LIBEXEC "/usr/local/libexec/crcore"
#endif
#ifndef CRCORE_SLURM_BINDIR
#define CRCORE_SLURM_BINDIR "/usr/local/bin"
#endif
#define CRCORE_SLURM_STATEDIR "/tmp/crcore-slurm"

enum { kValueMax = PATH_MAX };

static int cr_enabled;             /* --cr, or any other --cr-* option */
static char cr_dir[kValueMax];     /* --cr-dir, "" for the default */
static char cr_restart[kValueMax]; /* --cr-restart, "" for a fresh start */
static long cr_interval;           /* --cr-interval, 0 for none */

static char libexec_dir[kValueMax] = CRCORE_SLURM_LIBEXEC;
static char bin_dir[kValueMax] = CRCORE_SLURM_BINDIR;
static char state_dir[kValueMax] = CRCORE_SLURM_STATEDIR;

/* copy_value: a bounded copy; -1 (and a message) when the value is empty or too long. */
static int copy_value(char* to, const char* what, const char* value) {
  if (value == NULL || value[0] == '\0') {
    slurm_error("crcore: %s needs a value", what);
    return -1;
  }
  if (strlen(value) >= kValueMax) {
    slurm_error("crcore: the value of %s is longer than %d characters", what, kValueMax - 1);
    return -1;
  }
  strcpy(to, value);
  return 0;
}

static int on_cr(int val, const char* optarg, int remote) {
  (void)val;
  (void)optarg;
  (void)remote;
  cr_enabled = 1;
  return 0;
}

static int on_cr_dir(int val, const char* optarg, int remote) {
  (void)val;
  (void)remote;
  cr_enabled = 1;
  return copy_value(cr_dir, "--cr-dir", optarg);
}

static int on_cr_restart(int val, const char* optarg, int remote) {
  (void)val;
  (void)remote;
  cr_enabled = 1;
  return copy_value(cr_restart, "--cr-restart", optarg);
}

static int on_cr_interval(int val, const char* optarg, int remote) {
  (void)val;
  (void)remote;
  char* end = NULL;
  errno = 0;
  long seconds = optarg != NULL ? strtol(optarg, &end, 10) : 0;
  if (optarg == NULL || end == optarg || *end != '\0' || errno != 0 || seconds <= 0 || seconds > 31L * 86400) {
    slurm_error("crcore: --cr-interval wants a whole number of seconds between 1 and 2678400, not '%s'",
                optarg != NULL ? optarg : "");
    return -1;
  }
  cr_enabled = 1;
  cr_interval = seconds;
  return 0;
}

static struct spank_option cr_options[] = {
    {"cr", NULL, "Run the tasks under crcore so that they can be checkpointed (scontrol checkpoint).", 0, 0, on_cr},
    {"cr-dir", "DIR", "Where crcore keeps this job's snapshots (default: the job's working directory).", 1, 0,
     on_cr_dir},
    {"cr-interval", "SECONDS", "Checkpoint the tasks every SECONDS seconds (implies --cr).", 1, 0, on_cr_interval},
    {"cr-restart", "SNAPSHOT", "Start the tasks from this crcore snapshot directory (implies --cr).", 1, 0,
     on_cr_restart},
    SPANK_OPTIONS_TABLE_END};

/* The plugstack.conf arguments: libexec=, bindir=, statedir=. */
static int parse_plugin_args(int ac, char** av) {
  for (int i = 0; i < ac; ++i) {
    if (strncmp(av[i], "libexec=", 8) == 0) {
      if (copy_value(libexec_dir, "libexec=", av[i] + 8) != 0) {
        return -1;
      }
    } else if (strncmp(av[i], "bindir=", 7) == 0) {
      if (copy_value(bin_dir, "bindir=", av[i] + 7) != 0) {
        return -1;
      }
    } else if (strncmp(av[i], "statedir=", 9) == 0) {
      if (copy_value(state_dir, "statedir=", av[i] + 9) != 0) {
        return -1;
      }
    } else {
      slurm_error("crcore: unknown plugstack.conf argument '%s' (known: libexec=, bindir=, statedir=)", av[i]);
      return -1;
    }
  }
  return 0;
}

int slurm_spank_init(spank_t sp, int ac, char** av) {
  if (parse_plugin_args(ac, av) != 0) {
    return -1;
  }
  for (struct spank_option* opt = cr_options; opt->name != NULL; ++opt) {
    if (spank_option_register(sp, opt) != ESPANK_SUCCESS) {
      slurm_error("crcore: cannot register option --%s", opt->name);
      return -1;
    }
  }
  return 0;
}

static int set_env(spank_t sp, const char* name, const char* value) {
  if (spank_setenv(sp, name, value, 1) != ESPANK_SUCCESS) {
    slurm_error("crcore: cannot set %s in the task's environment", name);
    return -1;
  }
  return 0;
}

/* The options, for the supervisor. */
static int export_options(spank_t sp) {
  char interval[32];
  snprintf(interval, sizeof interval, "%ld", cr_interval);
  if (set_env(sp, "CRCORE_SLURM_DIR", cr_dir) != 0 || set_env(sp, "CRCORE_SLURM_RESTART", cr_restart) != 0 ||
      set_env(sp, "CRCORE_SLURM_INTERVAL", interval) != 0 || set_env(sp, "CRCORE_SLURM_STATEDIR", state_dir) != 0 ||
      set_env(sp, "CRCORE_SLURM_LIBEXEC", libexec_dir) != 0 || set_env(sp, "CRCORE_BINDIR", bin_dir) != 0) {
    return -1;
  }
  return 0;
}

/* In the task, as the user, just before Slurm would exec it: exec the supervisor instead. */
int slurm_spank_task_init(spank_t sp, int ac, char** av) {
  (void)ac;
  (void)av;
  if (!spank_remote(sp) || !cr_enabled) {
    return 0;
  }
  if (export_options(sp) != 0) {
    return -1;
  }
  int argc = 0;
  char** argv = NULL;
  char** env = NULL;
  if (spank_get_item(sp, S_JOB_ARGV, &argc, &argv) != ESPANK_SUCCESS || argc <= 0 || argv == NULL) {
    slurm_error("crcore: no command line for this task");
    return -1;
  }
  if (spank_get_item(sp, S_JOB_ENV, &env) != ESPANK_SUCCESS || env == NULL) {
    slurm_error("crcore: no environment for this task");
    return -1;
  }
  char supervisor[kValueMax + 32];
  snprintf(supervisor, sizeof supervisor, "%s/crcore-slurm-task", libexec_dir);
  char** args = calloc((size_t)argc + 3, sizeof *args);
  if (args == NULL) {
    slurm_error("crcore: out of memory");
    return -1;
  }
  args[0] = supervisor;
  args[1] = "--";
  for (int i = 0; i < argc; ++i) {
    args[i + 2] = argv[i];
  }
  execve(supervisor, args, env);
  slurm_error("crcore: cannot run %s: %s (is crcore installed there? see libexec= in plugstack.conf)", supervisor,
              strerror(errno));
  free(args);
  return -1;
}
