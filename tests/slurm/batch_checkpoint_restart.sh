#!/usr/bin/env bash
# slurm_batch_checkpoint_restart: a single-process batch job started with `sbatch --cr` is checkpointed
# with `scontrol checkpoint create` (it goes on), vacated with `scontrol checkpoint vacate` (checkpointed,
# then ended), and resubmitted with `scontrol checkpoint restart`; the restarted job finishes the
# program, whose output file then holds exactly what an uninterrupted run prints.
#
# Usage (as root): CRCORE_BUILD=build bash tests/slurm/batch_checkpoint_restart.sh [WORKDIR]
set -uo pipefail
case_name=batch_checkpoint_restart
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
steps=60 # 0.25 s each

cluster_start "${1:-/tmp/crcore-slurm-$case_name.$$}"
home="$cluster_work/home"
cd "$home" || cluster_fail "no $home"
"$COUNTER" "$steps" >"$cluster_work/expected.out" & # the uninterrupted run, meanwhile
expected_pid=$!
batch_script job.sh "$COUNTER" "$steps"
chown "$TEST_USER" job.sh

job="$(submit as_user sbatch --cr job.sh)"
cluster_say "job $job submitted with --cr"
wait_for 60 "job $job to print progress step 6" has_line "slurm-$job.out" "progress step 6"

as_user scontrol checkpoint create "$job" || cluster_fail "scontrol checkpoint create $job failed"
stepdir="$home/crcore.$job/step.batch"
[[ -f "$stepdir/snapshot.1/COMPLETE" && -s "$stepdir/snapshot.1/task.0.ctx" ]] ||
  cluster_fail "no complete snapshot.1 after create" "$(ls -lR "$home/crcore.$job" 2>&1)"
job_in_state "$job" RUNNING || cluster_fail "job $job is $(job_state "$job") after create: it should go on"
cluster_say "create: snapshot.1 complete, job still running"

wait_for 60 "job $job to print progress step 12" has_line "slurm-$job.out" "progress step 12"
as_user scontrol checkpoint vacate "$job" || cluster_fail "scontrol checkpoint vacate $job failed"
wait_for 60 "job $job to end after vacate" job_ended "$job"
[[ -f "$stepdir/snapshot.2/COMPLETE" ]] || cluster_fail "no complete snapshot.2 after vacate"
grep -qx 'reason=vacate' "$stepdir/snapshot.2/snapshot.info" || cluster_fail "snapshot.2 is not the vacate's"
if has_line "slurm-$job.out" "progress step $steps"; then
  cluster_fail "job $job ran to its end: vacate did not stop it"
fi
cluster_say "vacate: snapshot.2 complete, job $(job_state "$job") before the end of the program"

out="$(as_user scontrol checkpoint restart "$job" 2>&1)" || cluster_fail "scontrol checkpoint restart $job failed" "$out"
[[ "$out" =~ Submitted\ batch\ job\ ([0-9]+) ]] || cluster_fail "restart printed no new job" "$out"
new_job="${BASH_REMATCH[1]}"
cluster_say "restart: job $new_job"
wait_for 120 "restarted job $new_job to end" job_ended "$new_job"
job_in_state "$new_job" COMPLETED || cluster_fail "restarted job $new_job ended $(job_state "$new_job")" \
  "$(cat "slurm-$new_job.out" "crcore.$new_job/step.batch/supervisor.0.log" 2>&1)"
grep -q "restarted from $stepdir/snapshot.2" "crcore.$new_job/step.batch/supervisor.0.log" ||
  cluster_fail "job $new_job did not start from snapshot.2" "$(cat "crcore.$new_job/step.batch/supervisor.0.log")"
wait "$expected_pid" || cluster_fail "the uninterrupted run failed"
# The restored program writes on in the file it had open: the first job's output file.
same_output "$cluster_work/expected.out" "slurm-$job.out"
[[ ! -s "slurm-$new_job.out" ]] || cluster_fail "the restarted job's own output is not empty" "$(cat "slurm-$new_job.out")"
cluster_say "PASS: $(tail -n 1 "slurm-$job.out"), as uninterrupted"
