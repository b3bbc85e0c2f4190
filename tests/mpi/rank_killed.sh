#!/usr/bin/env bash
# A rank killed in the middle of a global checkpoint (issue: reliability, MPI faults). The job's ranks run
# the MPI layer; ompi-checkpoint is asked for a snapshot and rank 2 dies with SIGKILL:
#   drain  exactly as its phase 1 begins (CRCORE_FAULT=target-phase1, CRCORE_FAULT_RANK=2): the other
#          ranks are in the drain (the quiesce callback), waiting for a rank that is gone
#   write  exactly when its image writer has started (CRCORE_FAULT=target-after-write): the other ranks
#          have drained and write or have written their images
#   timed  killed from outside 0.3 s into the checkpoint, wherever that falls
# Checked each time: ompi-checkpoint fails within its --time and says so (or, timed only, the snapshot was
# complete before the rank died and is whole), no snapshot is marked complete (no ompi_global_snapshot_*.ckpt
# directory, no partial one left), and the job ends (Open MPI ends a job whose rank died): nothing hangs.
#
# Usage: rank_killed.sh --work DIR -- PROGRAM STEPS     (PROGRAM: an MPI program of tests/mpi/programs)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"

parse_work_args 2 "rank_killed.sh --work DIR -- PROGRAM STEPS" "$@"
program="${args[0]}" steps="${args[1]}"
require_tools "$OMPI_CHECKPOINT" "$CR_INFO" "$program"
fresh_dir "$work"
cd "$work"

for case in drain write timed; do
  fault=""
  case "$case" in
    drain) fault=target-phase1 ;;
    write) fault=target-after-write ;;
  esac
  say "rank 2 killed: $case${fault:+ (CRCORE_FAULT=$fault@1)}"
  CRCORE_FAULT="${fault:+$fault@1}" CRCORE_FAULT_RANK=2 start_job "job.$case.out" "job.$case.err" \
    mpirun -am ft-enable-cr --oversubscribe -x CRCORE_FAULT -x CRCORE_FAULT_RANK -np 4 "$program" "$steps"
  job=$job_pid
  wait_progress "job.$case.out" 2 "$job"
  victim="$(rank_pid "$job" 2)" || fail "rank 2 of job $job not found"
  if [[ -n "$fault" ]]; then
    grep -q "process $victim: fault injection armed: $fault@1" "job.$case.err" ||
      fail "the fault is not armed in rank 2 (process $victim) alone" "$(show "job.$case.err")"
    (($(grep -c "fault injection armed" "job.$case.err") == 1)) || fail "the fault is armed in more than rank 2"
  fi
  "$OMPI_CHECKPOINT" --time 30 --dir "$work" "$job" >"ckpt.$case.out" 2>"ckpt.$case.err" &
  requester=$!
  track "$requester"
  if [[ -z "$fault" ]]; then
    sleep 0.3
    kill -9 "$victim" 2>/dev/null || true
  fi
  wait_gone "$requester" 90 || fail "ompi-checkpoint did not end within 90 s after a rank was killed"
  reap "$requester"
  wait_gone "$victim" 30 || fail "rank 2 (process $victim) is still alive"
  if ((status == 0)); then
    # Timed only: the snapshot may have been complete before the rank died; then it must be whole and readable.
    [[ -z "$fault" ]] || fail "ompi-checkpoint succeeded though rank 2 died ($case)" "$(show "ckpt.$case.err")"
    snapshot="$(tail -n 1 "ckpt.$case.out")"
    [[ -f "$snapshot/metadata.json" ]] || fail "ompi-checkpoint succeeded without a complete snapshot"
    "$CR_INFO" "$snapshot" >/dev/null || fail "the snapshot taken before the rank died is not readable"
    say "  the snapshot was complete before the rank died: $snapshot"
    rm -rf "$snapshot"
  else
    say "  ompi-checkpoint failed as it should (status $status): $(grep -m1 -i 'fail\|died\|ended\|killed' "ckpt.$case.err" || head -n 1 "ckpt.$case.err")"
    leftovers="$(find "$work" -maxdepth 1 -name '*ompi_global_snapshot*')"
    [[ -z "$leftovers" ]] || fail "a failed checkpoint left $leftovers behind"
  fi
  wait_gone "$job" 90 || fail "the job did not end after its rank 2 was killed" "$(show "job.$case.err")"
  reap "$job"
  say "  the job ended (status $status)"
done
say "PASS"
