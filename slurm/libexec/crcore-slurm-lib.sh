# shellcheck shell=bash disable=SC2034  # variables here are used by the scripts that source this file
# crcore-slurm-lib.sh: the on-disk layout shared by the task supervisor (crcore-slurm-task, on the
# compute node) and the `scontrol checkpoint` front end (bin/scontrol.in). Sourced, not run.
#
# Layout (docs/slurm.md has the full description):
#   STATEDIR/job.JOBID -> JOBDIR             the registry: one symlink per --cr job (STATEDIR from
#                                            plugstack.conf statedir=, default /tmp/crcore-slurm)
#   JOBDIR = CRDIR/crcore.JOBID              CRDIR: --cr-dir, default the job's working directory
#   JOBDIR/job.info                          `scontrol show job -o JOBID` when the job started
#   JOBDIR/job.script                        the batch script (batch jobs)
#   JOBDIR/step.STEP/                        one per --cr step (STEP: batch or the step number)
#     task.info                              KEY=VALUE lines: pid, host, mode, argv, ...
#     disabled                               present after `scontrol checkpoint disable`
#     last_error                             "CODE MESSAGE" of the last failed checkpoint
#     requests/ID.req, requests/ID.reply     the front end's requests and the supervisor's answers
#     snapshot.N/                            a snapshot: task.RANK.ctx, snapshot.info, then COMPLETE
#     last -> snapshot.N                     the newest complete snapshot (moved only after COMPLETE)

CRCORE_SLURM_DEFAULT_STATEDIR=/tmp/crcore-slurm

# crs_registry_entry STATEDIR JOBID: the registry symlink's path.
crs_registry_entry() { printf '%s/job.%s\n' "$1" "$2"; }

# crs_snapshot_complete DIR: true if DIR is a snapshot marked complete.
crs_snapshot_complete() { [[ -d "$1" && -f "$1/COMPLETE" ]]; }

# crs_info_get FILE KEY: the value of KEY=VALUE in FILE (the last one), empty if absent.
crs_info_get() {
  local file="$1" key="$2" line value=""
  [[ -r "$file" ]] || return 0
  while IFS= read -r line; do
    if [[ "$line" == "$key="* ]]; then
      value="${line#*=}"
    fi
  done <"$file"
  printf '%s' "$value"
}

# crs_write_atomic FILE: stdin into FILE through a temporary name, flushed and renamed.
crs_write_atomic() {
  local file="$1" tmp
  tmp="$file.tmp.$$"
  cat >"$tmp" && sync "$tmp" 2>/dev/null && mv -f "$tmp" "$file"
}

# crs_newest_snapshot STEPDIR: the complete snapshot with the highest number under STEPDIR (the step's
# `last` link first, for snapshots written to another ImageDir); empty if there is none.
crs_newest_snapshot() {
  local stepdir="$1" best="" best_n=-1 dir n
  for dir in "$stepdir"/snapshot.*; do
    n="${dir##*.}"
    if [[ "$n" =~ ^[0-9]+$ ]] && crs_snapshot_complete "$dir" && ((n > best_n)); then
      best="$dir"
      best_n=$n
    fi
  done
  if [[ -L "$stepdir/last" ]]; then
    dir="$(readlink -f "$stepdir/last")"
    n="${dir##*.}"
    if [[ "$n" =~ ^[0-9]+$ ]] && crs_snapshot_complete "$dir" && ((n > best_n)); then
      best="$dir"
    fi
  fi
  printf '%s' "$best"
}
