#!/usr/bin/env bash
# slurm_srun_periodic_restart: an `srun --cr --cr-interval=2` step (in a batch job without --cr) is
# checkpointed every 2 s and once more by `scontrol checkpoint create JOBID.0 ImageDir=DIR`, and
# finishes with the uninterrupted answer all the same; then a new job's `srun --cr-restart=SNAPSHOT`
# starts the program from its first periodic snapshot and finishes with the same answer.
#
# Usage (as root): CRCORE_BUILD=build bash tests/slurm/srun_periodic_restart.sh [WORKDIR]
set -uo pipefail
case_name=srun_periodic_restart
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
steps=40

cluster_start "${1:-/tmp/crcore-slurm-$case_name.$$}"
home="$cluster_work/home"
cd "$home" || cluster_fail "no $home"
"$COUNTER" "$steps" >"$cluster_work/expected.out" &
expected_pid=$!

job="$(submit as_user sbatch --wrap "srun --cr --cr-interval=2 $COUNTER $steps")"
stepdir="$home/crcore.$job/step.0"
wait_for 60 "two periodic snapshots of step $job.0" test -f "$stepdir/snapshot.2/COMPLETE"
grep -qx 'reason=periodic' "$stepdir/snapshot.1/snapshot.info" || cluster_fail "snapshot.1 is not periodic"
mkdir -p "$home/images" && chown "$TEST_USER" "$home/images"
as_user scontrol checkpoint create "$job.0" ImageDir="$home/images" ||
  cluster_fail "scontrol checkpoint create $job.0 ImageDir=... failed"
ls "$home/images/crcore.$job/step.0"/snapshot.*/COMPLETE >/dev/null 2>&1 ||
  cluster_fail "no complete snapshot in ImageDir" "$(ls -lR "$home/images")"
cluster_say "periodic snapshots and one in ImageDir taken while step $job.0 runs"
wait_for 120 "job $job to end" job_ended "$job"
job_in_state "$job" COMPLETED || cluster_fail "job $job ended $(job_state "$job")" "$(cat "slurm-$job.out")"
wait "$expected_pid" || cluster_fail "the uninterrupted run failed"
same_output "$cluster_work/expected.out" "slurm-$job.out"
periodic="$(complete_snapshots "$stepdir")"
cluster_say "step $job.0 finished as uninterrupted after $periodic periodic snapshots"

# A new job starts the program from the first periodic snapshot (the command line is not run again).
again="$(submit as_user sbatch --wrap "srun --cr-restart=$stepdir/snapshot.1 $COUNTER $steps")"
wait_for 120 "job $again to end" job_ended "$again"
job_in_state "$again" COMPLETED || cluster_fail "job $again ended $(job_state "$again")" "$(cat "slurm-$again.out")"
first="$(head -n 1 "slurm-$again.out")"
[[ "$first" == "progress step "* ]] || cluster_fail "job $again started from the beginning" "$(head -n 3 "slurm-$again.out")"
tail -n "$(wc -l <"slurm-$again.out")" "$cluster_work/expected.out" >"$cluster_work/expected.tail"
same_output "$cluster_work/expected.tail" "slurm-$again.out"
cluster_say "PASS: restarted at '$first', $(tail -n 1 "slurm-$again.out"), as uninterrupted"
