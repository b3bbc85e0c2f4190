#!/usr/bin/env bash
# slurm_preempt_resume: a --cr batch job in the preemptable partition (`low`: PreemptMode=REQUEUE,
# GraceTime) submitted with --signal=B:USR1@600 is preempted by a job of the `high` partition. Slurm sends
# it SIGUSR1 at preemption (preempt_send_user_signal): crcore checkpoints it and stops the program; Slurm
# requeues the job; the requeued job resumes from that snapshot (not from the beginning) and ends with
# the uninterrupted run's answer.
#
# Usage (as root): CRCORE_BUILD=build bash tests/slurm/preempt_resume.sh [WORKDIR]
set -uo pipefail
case_name=preempt_resume
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
steps=48

cluster_start "${1:-/tmp/crcore-slurm-$case_name.$$}"
home="$cluster_work/home"
cd "$home" || cluster_fail "no $home"
"$COUNTER" "$steps" >"$cluster_work/expected.out" &
expected_pid=$!
batch_script job.sh "$COUNTER" "$steps"
chown "$TEST_USER" job.sh

job="$(submit as_user sbatch --cr --exclusive --signal=B:USR1@600 -p low job.sh)"
wait_for 60 "job $job to print progress step 8" has_line "slurm-$job.out" "progress step 8"
high="$(submit as_user sbatch -p high --exclusive --wrap "echo high done")"
cluster_say "job $job (low, --cr) running; job $high (high) submitted to preempt it"

stepdir="$home/crcore.$job/step.batch"
wait_for 60 "the preemption snapshot of job $job" test -f "$stepdir/snapshot.1/COMPLETE"
grep -qx 'reason=preemption' "$stepdir/snapshot.1/snapshot.info" ||
  cluster_fail "snapshot.1 is not a preemption snapshot" "$(cat "$stepdir/snapshot.1/snapshot.info")"
cluster_say "preemption snapshot taken"
wait_for 120 "job $high to run and end" job_ended "$high"
# Slurm holds a requeued job back (BeginTime) for a while; let it start now.
wait_for 60 "job $job to be requeued" job_in_state "$job" PENDING
scontrol update JobId="$job" StartTime=now || cluster_fail "cannot release requeued job $job"
wait_for 120 "requeued job $job to end" job_ended "$job"
job_in_state "$job" COMPLETED || cluster_fail "requeued job $job ended $(job_state "$job")" \
  "$(cat "slurm-$job.out" "$stepdir/supervisor.0.log")"
grep -q "requeued (restart count 1): resuming from $stepdir/snapshot.1" "$stepdir/supervisor.0.log" ||
  cluster_fail "the requeued job did not resume from snapshot.1" "$(cat "$stepdir/supervisor.0.log")"
wait "$expected_pid" || cluster_fail "the uninterrupted run failed"
# Slurm truncated the output file when the job started again: it holds what the program printed after
# the snapshot, which must be the end of the uninterrupted output, answer included.
first="$(head -n 1 "slurm-$job.out")"
[[ "$first" == "progress step "* ]] || cluster_fail "the requeued job started from the beginning" "$(head -n 3 "slurm-$job.out")"
tail -n "$(wc -l <"slurm-$job.out")" "$cluster_work/expected.out" >"$cluster_work/expected.tail"
same_output "$cluster_work/expected.tail" "slurm-$job.out"
cluster_say "PASS: resumed at '$first', $(tail -n 1 "slurm-$job.out"), as uninterrupted"
