#!/usr/bin/env bash
# A global checkpoint racing MPI_Finalize (issue #6). Rank 0 of a 4-rank job is inside MPI_Finalize (waiting
# there for the others, which compute on without MPI) when ompi-checkpoint --time 5 asks for a snapshot:
# rank 0 refuses at once (its lower half is being finalised), the other ranks give up at the request's
# time, ompi-checkpoint fails without leaving a snapshot, and the job still ends normally with the
# results of an uninterrupted run. Then a job is asked for checkpoints repeatedly while its ranks reach
# MPI_Finalize: each must either succeed with a complete snapshot or fail leaving nothing, never hang.
#
# Usage: finalize_race.sh --work DIR -- PROGRAM STEPS    (PROGRAM: programs/finalize_race.c)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"

parse_work_args 2 "finalize_race.sh --work DIR -- PROGRAM STEPS" "$@"
program="${args[0]}" steps="${args[1]}"
require_tools "$OMPI_CHECKPOINT" "$CR_INFO" "$program"
fresh_dir "$work"
cd "$work"

no_snapshot_left() {
  local leftovers
  leftovers="$(find "$work" -maxdepth 1 -name '*ompi_global_snapshot*')"
  [[ -z "$leftovers" ]] || fail "$1 left $leftovers behind"
}

say "uninterrupted run: $REAL_MPIRUN --oversubscribe -np 4 $(basename "$program") $steps"
start_job expected.out expected.err "$REAL_MPIRUN" --oversubscribe -np 4 "$program" "$steps"
finish_job "$job_pid" expected.out expected.err "the uninterrupted run"

say "1. ompi-checkpoint --time 5 while rank 0 is inside MPI_Finalize"
start_job job.out job.err mpirun -am ft-enable-cr --oversubscribe -np 4 "$program" "$steps"
job=$job_pid
wait_lines job.out '^finalizing' 1 "$JOB_TIMEOUT" "$job"
sleep 0.3 # into MPI_Finalize: rank 0 has nothing else to do
tool_status="$(run_tool ckpt1.out ckpt1.err "$OMPI_CHECKPOINT" --time 5 --dir "$work" "$job")"
if [[ "$tool_status" == 0 ]]; then
  fail "ompi-checkpoint succeeded while rank 0 was finalizing" "$(show ckpt1.out)"
fi
[[ "$tool_status" == 1 ]] || fail "ompi-checkpoint exited with status $tool_status (124: it hung)" "$(show ckpt1.err)"
no_snapshot_left "the checkpoint refused while rank 0 was finalizing"
grep -q 'rank 0 gives up its part of this checkpoint: this rank is finalizing MPI' job.err ||
  fail "rank 0 did not say why it refused" "$(show job.err)"
say "  failed as it should: $(grep -m1 'rank 0 gives up' job.err)"
finish_job "$job" job.out job.err "the job checkpointed while finalizing"
compare_results expected.out job.out "the job checkpointed while finalizing"
(($(count_lines job.out '^finalized') == 3)) || fail "not every rank finalized" "$(show job.out)"

say "2. checkpoints asked again and again while the ranks reach MPI_Finalize"
start_job job2.out job2.err mpirun -am ft-enable-cr --oversubscribe -np 4 "$program" "$steps"
job=$job_pid
wait_progress job2.out 1 "$job"
ok=0 failed=0 n=0
while alive "$job" && ((n < 12)); do
  n=$((n + 1))
  tool_status="$(run_tool "ckpt2.$n.out" "ckpt2.$n.err" "$OMPI_CHECKPOINT" --time 5 --dir "$work" "$job")"
  case "$tool_status" in
    0)
      snapshot="$(tail -n 1 "ckpt2.$n.out")"
      [[ -f "$snapshot/metadata.json" ]] || fail "ompi-checkpoint succeeded without a complete snapshot"
      "$CR_INFO" "$snapshot" >/dev/null || fail "snapshot $snapshot is not readable"
      rm -rf "$snapshot"
      ok=$((ok + 1))
      ;;
    1)
      no_snapshot_left "a failed checkpoint"
      failed=$((failed + 1))
      ;;
    *) fail "ompi-checkpoint exited with status $tool_status (124: it hung)" "$(show "ckpt2.$n.err")" ;;
  esac
done
say "  $n requests: $ok complete snapshots, $failed clean failures"
finish_job "$job" job2.out job2.err "the job checkpointed around MPI_Finalize"
compare_results expected.out job2.out "the job checkpointed around MPI_Finalize"
say "PASS"
