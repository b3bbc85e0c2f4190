#!/usr/bin/env bash
# A rank killed in the middle of a global checkpoint (issue: reliability, MPI faults). The job's ranks run
# the MPI layer; ompi-checkpoint is asked for a snapshot and one rank is killed with SIGKILL while the
# ranks quiesce the network or write their images. Checked: ompi-checkpoint fails within its --time and
# says so, no snapshot is marked complete (no ompi_global_snapshot_*.ckpt directory, no partial one left),
# and the job ends (Open MPI ends a job whose rank died): nothing hangs.
#
# Usage: rank_killed.sh --work DIR -- PROGRAM STEPS     (PROGRAM: an MPI program of tests/mpi/programs)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"

parse_work_args 2 "rank_killed.sh --work DIR -- PROGRAM STEPS" "$@"
program="${args[0]}" steps="${args[1]}"
require_tools "$OMPI_CHECKPOINT" "$CR_INFO" "$program"
fresh_dir "$work"
cd "$work"

# The ranks of job PID (children of mpirun with CRCORE_MPI=1), by rank number.
rank_pid() {
  local job="$1" rank="$2" p
  for p in $(pgrep -P "$job"); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$rank"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

for delay in 0.05 0.3; do
  say "a rank killed ${delay} s into the global checkpoint"
  start_job "job.$delay.out" "job.$delay.err" mpirun -am ft-enable-cr --oversubscribe -np 4 "$program" "$steps"
  job=$job_pid
  wait_progress "job.$delay.out" 2 "$job"
  victim="$(rank_pid "$job" 2)" || fail "rank 2 of job $job not found"
  "$OMPI_CHECKPOINT" --time 30 --dir "$work" "$job" >"ckpt.$delay.out" 2>"ckpt.$delay.err" &
  requester=$!
  track "$requester"
  sleep "$delay"
  kill -9 "$victim" 2>/dev/null || true
  wait_gone "$requester" 90 || fail "ompi-checkpoint did not end within 90 s after a rank was killed"
  reap "$requester"
  if ((status == 0)); then
    # The snapshot may have been complete before the rank died: then it must be whole and readable.
    snapshot="$(tail -n 1 "ckpt.$delay.out")"
    [[ -f "$snapshot/metadata.json" ]] || fail "ompi-checkpoint succeeded without a complete snapshot"
    "$CR_INFO" "$snapshot" >/dev/null || fail "the snapshot taken before the rank died is not readable"
    say "  the snapshot was complete before the rank died: $snapshot"
    rm -rf "$snapshot"
  else
    say "  ompi-checkpoint failed as it should: $(grep -m1 -i 'fail\|died\|ended\|killed' "ckpt.$delay.err" || head -n 1 "ckpt.$delay.err")"
    leftovers="$(find "$work" -maxdepth 1 -name '*ompi_global_snapshot*')"
    [[ -z "$leftovers" ]] || fail "a failed checkpoint left $leftovers behind"
  fi
  wait_gone "$job" 90 || fail "the job did not end after its rank 2 was killed" "$(show "job.$delay.err")"
  reap "$job"
  say "  the job ended (status $status)"
done
say "PASS"
