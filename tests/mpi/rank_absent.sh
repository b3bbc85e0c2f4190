#!/usr/bin/env bash
# A global checkpoint that one rank cannot take part in (issue #6: the in-rank timeout). The job's 4 ranks
# run the MPI layer. Two failed attempts, then a good one, on the same running job:
#   1. rank 3 is stopped (SIGSTOP) while ompi-checkpoint --time 5 asks every rank: the other ranks wait for
#      it at the first phase fence until the request's time is up, give up their part, let the application
#      go on and answer with a failure: ompi-checkpoint fails and no snapshot directory (complete or
#      partial) is left. Rank 3 is continued.
#   2. ranks 0-2 are asked directly (cr_checkpoint --time 5), rank 3 never: the same, and no image is left.
#   3. ompi-checkpoint succeeds (the phase fences start clean after the failed ones), the snapshot is
#      readable, and the job ends with the results of an uninterrupted run.
#
# Usage: rank_absent.sh --work DIR -- PROGRAM STEPS     (PROGRAM: an MPI program of tests/mpi/programs)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"

parse_work_args 2 "rank_absent.sh --work DIR -- PROGRAM STEPS" "$@"
program="${args[0]}" steps="${args[1]}"
require_tools "$OMPI_CHECKPOINT" "$CR_INFO" "$CR_CHECKPOINT" "$program"
fresh_dir "$work"
cd "$work"

no_snapshot_left() {
  local leftovers
  leftovers="$(find "$work" -maxdepth 1 \( -name '*ompi_global_snapshot*' -o -name 'rank*.img*' \))"
  [[ -z "$leftovers" ]] || fail "$1 left $leftovers behind"
}

say "uninterrupted run: $REAL_MPIRUN --oversubscribe -np 4 $(basename "$program") $steps"
start_job expected.out expected.err "$REAL_MPIRUN" --oversubscribe -np 4 "$program" "$steps"
finish_job "$job_pid" expected.out expected.err "the uninterrupted run"

start_job job.out job.err mpirun -am ft-enable-cr --oversubscribe -np 4 "$program" "$steps"
job=$job_pid
wait_progress job.out 2 "$job"
declare -a ranks
for r in 0 1 2 3; do
  ranks[r]="$(rank_pid "$job" "$r")" || fail "rank $r of job $job not found"
done

say "1. rank 3 (pid ${ranks[3]}) stopped; ompi-checkpoint --time 5 $job"
kill -STOP "${ranks[3]}"
tool_status="$(run_tool ckpt1.out ckpt1.err "$OMPI_CHECKPOINT" --time 5 --dir "$work" "$job")"
kill -CONT "${ranks[3]}"
[[ "$tool_status" == 1 ]] || fail "ompi-checkpoint with rank 3 stopped exited with status $tool_status, not 1" \
  "$(show ckpt1.err)" "$(show ckpt1.out)"
no_snapshot_left "the failed ompi-checkpoint"
wait_lines job.err 'gives up its part of this checkpoint' 3 30 "$job"
say "  failed as it should: $(grep -m1 -i 'fail\|time' ckpt1.err || head -n 1 ckpt1.err)"
say "  $(grep -m1 'gives up' job.err)"
# Rank 3's own runtime may still take up the request it got while stopped: it then gives up as well.
# Its answer goes nowhere; wait for it (bounded) so that the next request does not find it busy.
deadline=$((SECONDS + 20))
while (($(count_lines job.err 'rank 3 gives up') < 1)) && ((SECONDS < deadline)); do sleep 0.2; done

say "2. ranks 0-2 asked (cr_checkpoint --time 5), rank 3 never"
declare -a askers
for r in 0 1 2; do
  "$CR_CHECKPOINT" --time 5 -f "$work/rank$r.img" "${ranks[r]}" >"cr$r.out" 2>"cr$r.err" &
  askers[r]=$!
  track "${askers[r]}"
done
for r in 0 1 2; do
  wait_gone "${askers[r]}" 60 || fail "cr_checkpoint of rank $r did not end within 60 s"
  reap "${askers[r]}"
  ((status != 0)) || fail "cr_checkpoint of rank $r succeeded although rank 3 was never asked"
done
no_snapshot_left "the checkpoint of ranks 0-2"
wait_lines job.err 'gives up its part of this checkpoint' 6 30 "$job"
say "  all three failed; $(grep 'gives up' job.err | tail -n 1)"

say "3. ompi-checkpoint $job (every rank)"
take_snapshot "$job" ckpt3.out
finish_job "$job" job.out job.err "the job after two failed checkpoints and a good one"
compare_results expected.out job.out "the job after two failed checkpoints and a good one"
say "PASS"
