# shellcheck shell=bash disable=SC2034  # variables here are used by the scripts that source this file
# A one-node Slurm cluster on localhost for the slurm tests (sourced by the case scripts, not run).
#
#   cluster_start WORK      munged, slurmctld and slurmd of our own, every file under WORK, ports of our
#                           own; crcore's SPANK plugin in its plugstack.conf (statedir WORK/state)
#   as_user CMD...          runs CMD as the test user (TEST_USER, created if missing) with the cluster's
#                           SLURM_CONF and crcore's front end first on PATH
#   cluster_stop            (an EXIT trap) cancels every job, stops the daemons by their pids, removes WORK
#
# Needs root, Slurm (slurmctld, slurmd, slurm-client) and munge. Tools: CRCORE_BUILD (the build tree: bin/,
# lib/slurm/crcore_spank.so, libexec/crcore/).
# Partitions: `low` (default, preemptable: PreemptMode=REQUEUE, GraceTime 10 s) and `high` (preempts low).

: "${CRCORE_BUILD:?set CRCORE_BUILD to the build tree}"
TEST_USER="${CRCORE_SLURM_TEST_USER:-crslurm1}"
OTHER_USER="${CRCORE_SLURM_OTHER_USER:-crslurm2}"
cluster_pids=()
cluster_work=""

cluster_say() { printf '[%s +%ds] %s\n' "${case_name:-slurm}" "$SECONDS" "$*"; }
cluster_fail() {
  printf '[%s +%ds] FAIL: %s\n' "${case_name:-slurm}" "$SECONDS" "$1" >&2
  shift
  (($# > 0)) && printf '%s\n' "$@" >&2
  exit 1 # cluster_stop shows the daemons' logs
}
cluster_logs() {
  local log
  [[ -n "$cluster_work" ]] || return 0
  for log in "$cluster_work"/log/*.log "$cluster_work"/home/slurm-*.out "$cluster_work"/home/crcore.*/step.*/supervisor.*.log; do
    [[ -s "$log" ]] || continue
    echo "    --- last lines of $log:"
    tail -n 12 "$log" | sed 's/^/    | /'
  done
}

ensure_user() {
  if ! id -u "$1" >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin "$1" || cluster_fail "cannot create user $1"
  fi
}

# free_port: a TCP port nobody listens on (from our pid, then upwards).
free_port() {
  local port=$((20000 + ($$ * 7 + $1) % 30000))
  while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    port=$((port + 1))
  done
  printf '%s' "$port"
}

as_user() {
  runuser -u "$TEST_USER" -- env SLURM_CONF="$SLURM_CONF" PATH="$CRCORE_BUILD/bin:$PATH" \
    CRCORE_SLURM_STATEDIR="$cluster_work/state" "$@"
}
as_other_user() {
  runuser -u "$OTHER_USER" -- env SLURM_CONF="$SLURM_CONF" PATH="$CRCORE_BUILD/bin:$PATH" \
    CRCORE_SLURM_STATEDIR="$cluster_work/state" "$@"
}

# wait_for SECONDS WHAT CMD...: polls CMD until it succeeds; fails the test after SECONDS.
wait_for() {
  local limit=$(($1 + SECONDS)) what="$2"
  shift 2
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < limit)) || cluster_fail "timed out waiting for $what"
    sleep 0.3
  done
}

# job_state JOBID: PENDING, RUNNING, COMPLETED, ... (empty if slurmctld does not know the job).
job_state() { scontrol show job -o "$1" 2>/dev/null | sed -n 's/.* JobState=\([^ ]*\).*/\1/p'; }
job_in_state() { [[ "$(job_state "$1")" == "$2" ]]; }
job_ended() {
  case "$(job_state "$1")" in
    COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | PREEMPTED | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE) return 0 ;;
    *) return 1 ;;
  esac
}

cluster_start() {
  cluster_work="$1"
  ((EUID == 0)) || cluster_fail "the slurm tests start slurmctld and slurmd: run them as root"
  local tool
  for tool in munged slurmctld slurmd sbatch srun scontrol squeue scancel; do
    command -v "$tool" >/dev/null || cluster_fail "$tool is missing (scripts/install-deps.sh installs Slurm and munge)"
  done
  [[ -r "$CRCORE_BUILD/lib/slurm/crcore_spank.so" ]] || cluster_fail "no crcore_spank.so in $CRCORE_BUILD/lib/slurm"
  ensure_user "$TEST_USER"
  ensure_user "$OTHER_USER"
  rm -rf "$cluster_work"
  mkdir -p "$cluster_work"/{munge,ctld,spool,log,state,home}
  chmod 755 "$cluster_work" "$cluster_work/log"
  chmod 1777 "$cluster_work/state"
  chown "$TEST_USER" "$cluster_work/home"
  trap cluster_stop EXIT
  trap 'exit 130' INT TERM HUP

  # munged, as the munge user, with a key and a socket of its own.
  local w="$cluster_work"
  chown munge: "$w/munge"
  chmod 755 "$w/munge" # clients connect to the socket in it
  head -c 1024 /dev/urandom >"$w/munge/munge.key"
  chown munge: "$w/munge/munge.key"
  chmod 400 "$w/munge/munge.key"
  runuser -u munge -- munged --foreground --socket="$w/munge/munge.socket" --key-file="$w/munge/munge.key" \
    --pid-file="$w/munge/munged.pid" --seed-file="$w/munge/munge.seed" --log-file="$w/munge/munged.log" \
    >"$w/log/munged.log" 2>&1 &
  cluster_pids+=($!)
  wait_for 20 "munged's socket" test -S "$w/munge/munge.socket"

  local ctld_port slurmd_port cpus
  ctld_port="$(free_port 0)"
  slurmd_port="$(free_port 1)"
  [[ "$slurmd_port" != "$ctld_port" ]] || slurmd_port=$((ctld_port + 1))
  # At least 4 CPUs for the 4-rank MPI job, whatever the machine has (config_overrides).
  cpus="$(nproc)"
  ((cpus >= 4)) || cpus=4
  cat >"$w/plugstack.conf" <<PLUGSTACK
required $CRCORE_BUILD/lib/slurm/crcore_spank.so libexec=$CRCORE_BUILD/libexec/crcore bindir=$CRCORE_BUILD/bin statedir=$w/state
PLUGSTACK
  cat >"$w/slurm.conf" <<CONF
ClusterName=crcoretest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$w/munge/munge.socket
StateSaveLocation=$w/ctld
SlurmdSpoolDir=$w/spool
SlurmctldPidFile=$w/slurmctld.pid
SlurmdPidFile=$w/slurmd.pid
SlurmctldLogFile=$w/log/slurmctld.log
SlurmdLogFile=$w/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
PlugStackConfig=$w/plugstack.conf
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/builtin
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SlurmctldParameters=preempt_send_user_signal
JobRequeue=1
KillWait=5
MinJobAge=600
InactiveLimit=0
NodeName=localhost CPUs=$cpus State=UNKNOWN
PartitionName=low Nodes=localhost Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE GraceTime=10
PartitionName=high Nodes=localhost MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF
CONF
  chmod 644 "$w/slurm.conf" "$w/plugstack.conf"
  export SLURM_CONF="$w/slurm.conf"
  slurmctld -D -i -f "$SLURM_CONF" >"$w/log/slurmctld.out.log" 2>&1 &
  cluster_pids+=($!)
  slurmd -D -N localhost -f "$SLURM_CONF" >"$w/log/slurmd.out.log" 2>&1 &
  cluster_pids+=($!)
  wait_for 60 "the node to be idle" node_idle
  cluster_say "cluster up (slurmctld :$ctld_port, slurmd :$slurmd_port, $cpus CPUs, work $w)"
}

node_idle() { [[ "$(sinfo -h -n localhost -o %t 2>/dev/null | head -n 1)" == idle ]]; }

cluster_stop() {
  local status=$? pid jobs deadline
  trap - EXIT
  if [[ -n "${SLURM_CONF:-}" && -n "$cluster_work" ]]; then
    jobs="$(squeue -h -o %i 2>/dev/null)"
    if [[ -n "$jobs" ]]; then
      # shellcheck disable=SC2086
      scancel $jobs 2>/dev/null
      deadline=$((SECONDS + 30))
      while [[ -n "$(squeue -h -o %i 2>/dev/null)" ]] && ((SECONDS < deadline)); do
        sleep 0.3
      done
    fi
  fi
  if ((status != 0)); then
    cluster_logs >&2
  fi
  for ((i = ${#cluster_pids[@]} - 1; i >= 0; i--)); do
    pid="${cluster_pids[i]}"
    kill -TERM "$pid" 2>/dev/null
    deadline=$((SECONDS + 15))
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do
      sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [[ -n "$cluster_work" && -d "$cluster_work" && "${CRCORE_SLURM_KEEP:-0}" != 1 ]]; then
    rm -rf "$cluster_work"
  fi
  exit "$status"
}

# ---- helpers of the cases --------------------------------------------------------------------------------
COUNTER="${CRCORE_COUNTER:-$CRCORE_BUILD/bin/counter}"

# submit CMD...: runs sbatch (as given) and prints the job id from "Submitted batch job N".
submit() {
  local out
  out="$("$@" 2>&1)" || cluster_fail "submission failed: $*" "$out"
  [[ "$out" =~ Submitted\ batch\ job\ ([0-9]+) ]] || cluster_fail "no job id from: $*" "$out"
  printf '%s' "${BASH_REMATCH[1]}"
}

# batch_script FILE CMD...: a batch script that execs CMD (one process: crcore checkpoints one process).
batch_script() {
  local file="$1"
  shift
  printf '#!/bin/sh\nexec' >"$file"
  printf ' %q' "$@" >>"$file"
  printf '\n' >>"$file"
  chmod 755 "$file"
}

# has_line FILE TEXT: FILE has the line TEXT.
has_line() { grep -qxF -- "$2" "$1" 2>/dev/null; }

# expect_refusal WHAT EXPECTED CMD...: CMD must fail (exit status 1) and say EXPECTED on stderr.
expect_refusal() {
  local what="$1" expected="$2" out status
  shift 2
  out="$("$@" 2>&1)"
  status=$?
  ((status != 0)) || cluster_fail "$what: accepted (exit 0), expected a refusal" "$out"
  [[ "$out" == *"$expected"* ]] || cluster_fail "$what: refused, but without '$expected'" "$out"
  cluster_say "refused as expected ($what): $out"
}

# complete_snapshots STEPDIR: how many snapshot.N directories under STEPDIR are marked COMPLETE.
complete_snapshots() {
  local n=0 dir
  for dir in "$1"/snapshot.*; do
    [[ -f "$dir/COMPLETE" ]] && n=$((n + 1))
  done
  printf '%s' "$n"
}

# same_output EXPECTED ACTUAL: the files are equal, else the test fails showing the difference.
same_output() {
  if ! cmp -s "$1" "$2"; then
    cluster_fail "output differs from the uninterrupted run ($2)" "$(diff "$1" "$2" | head -n 20)"
  fi
}
