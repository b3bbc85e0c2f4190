#!/usr/bin/env bash
# slurm_mpi_step: a 4-rank Open MPI job run with `srun --mpi=pmix --cr` is checkpointed with
# `scontrol checkpoint create`, vacated, restarted with `scontrol checkpoint restart`, and finishes with
# the answer of an uninterrupted `srun --mpi=pmix` run of the same program.
#
# With --expect-refusal (slurm_mpi_step_refused, registered when CRCORE_SLURM_MPI_READY is OFF, for a
# build without libcrmpi.so): the uninterrupted 4-rank run must work on the test cluster, and
# `srun --mpi=pmix --cr` must fail at once with crcore's message that the MPI layer is missing (never run
# without checkpoint support).
#
# Usage (as root): CRCORE_BUILD=build CRCORE_MPI_RING=build/bin/mpi_ring bash tests/slurm/mpi_step.sh [--expect-refusal] [WORKDIR]
set -uo pipefail
case_name=mpi_step
expect_refusal=0
if [[ "${1:-}" == --expect-refusal ]]; then
  expect_refusal=1
  shift
fi
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
MPI_RING="${CRCORE_MPI_RING:-$CRCORE_BUILD/bin/mpi_ring}"
steps=48
# Open MPI in containers: shared memory without cross-memory attach.
mpi_env="ALL,OMPI_MCA_btl_vader_single_copy_mechanism=none"

cluster_start "${1:-/tmp/crcore-slurm-$case_name.$$}"
home="$cluster_work/home"
cd "$home" || cluster_fail "no $home"

plain="$(submit as_user sbatch -n 4 --export="$mpi_env" --wrap "srun --mpi=pmix -n 4 $MPI_RING $steps")"
wait_for 120 "the uninterrupted MPI job $plain to end" job_ended "$plain"
job_in_state "$plain" COMPLETED || cluster_fail "the uninterrupted MPI job ended $(job_state "$plain")" "$(cat "slurm-$plain.out")"
has_line "slurm-$plain.out" "mpi_ring: 4 ranks, $steps steps" || cluster_fail "not a 4-rank run" "$(cat "slurm-$plain.out")"
cp "slurm-$plain.out" "$cluster_work/expected.out"
cluster_say "uninterrupted: $(tail -n 1 "$cluster_work/expected.out")"

job="$(submit as_user sbatch -n 4 --export="$mpi_env" --wrap "srun --mpi=pmix -n 4 --cr $MPI_RING $steps")"
if ((expect_refusal)); then
  wait_for 120 "job $job to end" job_ended "$job"
  job_in_state "$job" COMPLETED && cluster_fail "the --cr MPI job completed without crcore's MPI layer" "$(cat "slurm-$job.out")"
  grep -q "needs crcore's MPI layer" "slurm-$job.out" || cluster_fail "no clear refusal in the job's output" "$(cat "slurm-$job.out")"
  grep -q '^progress step' "slurm-$job.out" && cluster_fail "the MPI program ran without checkpoint support" "$(cat "slurm-$job.out")"
  cluster_say "PASS (refusal): $(grep -m1 "needs crcore's MPI layer" "slurm-$job.out")"
  exit 0
fi

wait_for 120 "job $job to print progress step 8" has_line "slurm-$job.out" "progress step 8"
as_user scontrol checkpoint create "$job" || cluster_fail "scontrol checkpoint create $job failed"
stepdir="$home/crcore.$job/step.0"
[[ -f "$stepdir/snapshot.1/COMPLETE" ]] || cluster_fail "no complete snapshot.1 after create" "$(ls -lR "$stepdir")"
wait_for 60 "job $job to print progress step 16" has_line "slurm-$job.out" "progress step 16"
as_user scontrol checkpoint vacate "$job" || cluster_fail "scontrol checkpoint vacate $job failed"
wait_for 60 "job $job to end after vacate" job_ended "$job"
[[ -f "$stepdir/snapshot.2/COMPLETE" ]] || cluster_fail "no complete snapshot.2 after vacate"
# Every rank's supervisor knew the vacate (task 0's marker): the step, and the job, ended cleanly.
job_in_state "$job" COMPLETED || cluster_fail "the vacated MPI job ended $(job_state "$job"), not COMPLETED" "$(cat "slurm-$job.out")"
for rank in 0 1 2 3; do
  [[ -f "$stepdir/snapshot.2/task.$rank.ctx" ]] || cluster_fail "snapshot.2 has no image of rank $rank" "$(ls -l "$stepdir/snapshot.2")"
done
# The resubmitted job gets the caller's environment (--export=ALL): the same Open MPI setting as before.
out="$(as_user env "${mpi_env#ALL,}" scontrol checkpoint restart "$job" 2>&1)" || cluster_fail "scontrol checkpoint restart $job failed" "$out"
[[ "$out" =~ Submitted\ batch\ job\ ([0-9]+) ]] || cluster_fail "restart printed no new job" "$out"
new_job="${BASH_REMATCH[1]}"
wait_for 180 "restarted job $new_job to end" job_ended "$new_job"
job_in_state "$new_job" COMPLETED || cluster_fail "restarted job $new_job ended $(job_state "$new_job")" "$(cat "slurm-$new_job.out")"
# Resumed, not run again from the start: the banner (printed before step 1) is not in the new output.
grep -q '^mpi_ring: ' "slurm-$new_job.out" &&
  cluster_fail "restarted job $new_job ran the program from the start" "$(cat "slurm-$new_job.out")"
answer="$(tail -n 1 "$cluster_work/expected.out")"
[[ "$(tail -n 1 "slurm-$new_job.out")" == "$answer" ]] ||
  cluster_fail "restarted MPI job: not the uninterrupted answer" "$(tail -n 5 "slurm-$new_job.out")" "expected $answer"
cluster_say "PASS: $answer, as uninterrupted"
