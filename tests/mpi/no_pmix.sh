#!/usr/bin/env bash
# A global checkpoint of a job whose ranks find no usable PMIx client (CRCORE_FAULT=mpi-no-pmix makes the
# layer's PMIx lookup fail) while the coordination is left at its default. The lower half then runs at
# MPI_THREAD_SINGLE (plugin/src/upper/lifecycle.h), so the phase fences may not fall back to MPI
# collectives on the checkpoint thread while the application's threads are inside the lower half: every
# rank refuses its part at once, naming CRCORE_MPI_COORDINATION=mpi; ompi-checkpoint fails and leaves no
# snapshot; the job runs on and ends with the results of an uninterrupted run.
#
# Usage: no_pmix.sh --work DIR -- PROGRAM STEPS     (PROGRAM: an MPI program of tests/mpi/programs)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"

parse_work_args 2 "no_pmix.sh --work DIR -- PROGRAM STEPS" "$@"
program="${args[0]}" steps="${args[1]}"
require_tools "$OMPI_CHECKPOINT" "$program"
fresh_dir "$work"
cd "$work"
unset CRCORE_MPI_COORDINATION

say "uninterrupted run: $REAL_MPIRUN --oversubscribe -np 2 $(basename "$program") $steps"
start_job expected.out expected.err "$REAL_MPIRUN" --oversubscribe -np 2 "$program" "$steps"
finish_job "$job_pid" expected.out expected.err "the uninterrupted run"

export CRCORE_FAULT=mpi-no-pmix
start_job job.out job.err mpirun -am ft-enable-cr --oversubscribe -np 2 "$program" "$steps"
job=$job_pid
wait_progress job.out 2 "$job"

say "ompi-checkpoint $job without PMIx (default coordination)"
tool_status="$(run_tool ckpt.out ckpt.err "$OMPI_CHECKPOINT" --time 30 --dir "$work" "$job")"
[[ "$tool_status" == 1 ]] || fail "ompi-checkpoint without PMIx exited with status $tool_status, not 1" \
  "$(show ckpt.err)" "$(show job.err)"
leftovers="$(find "$work" -maxdepth 1 -name '*ompi_global_snapshot*')"
[[ -z "$leftovers" ]] || fail "the refused checkpoint left $leftovers behind"
wait_lines job.err 'gives up its part of this checkpoint: no usable PMIx.*CRCORE_MPI_COORDINATION=mpi' 2 30 "$job"
say "  refused as it should: $(grep -m1 'gives up' job.err)"

finish_job "$job" job.out job.err "the job after a refused checkpoint"
compare_results expected.out job.out "the job after a refused checkpoint"
say "PASS"
