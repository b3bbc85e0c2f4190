#!/usr/bin/env bash
# slurm_srun_periodic_restart: an `srun --cr --cr-interval=2` step (in a batch job without --cr) is
# checkpointed every 2 s and once more by `scontrol checkpoint create JOBID.0 ImageDir=DIR`, and
# finishes with the uninterrupted answer all the same; then a new job's `srun --cr-restart=SNAPSHOT`
# starts the program from its first periodic snapshot and finishes with the same answer; and
# `scontrol checkpoint restart JOBID` resubmits the job, whose `srun --cr` step resumes from the step's
# newest snapshot and finishes with the same answer. Only the newest 2 snapshots are kept.
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
cat "$stepdir"/snapshot.*/snapshot.info 2>/dev/null | grep -qx 'reason=periodic' ||
  cluster_fail "no periodic snapshot" "$(ls -R "$stepdir")"
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
kept="$(complete_snapshots "$stepdir")"
[[ "$kept" == 2 ]] || cluster_fail "$kept complete snapshots kept in $stepdir, not the newest 2" "$(ls "$stepdir")"
cluster_say "step $job.0 finished as uninterrupted after $(cat "$stepdir/next") - 1 snapshots, the newest 2 kept"

# started_later OUT: OUT (a restarted job's output) is shorter than the uninterrupted run's: the
# program went on from a snapshot. (Its first line is a progress line, or only the answer when the
# newest snapshot came after the last progress line; same_output then compares it with the tail.)
started_later() {
  (($(wc -l <"$1") > 0 && $(wc -l <"$1") < $(wc -l <"$cluster_work/expected.out")))
}

# A new job starts the program from the snapshot in ImageDir (the command line is not run again).
early="$(ls -d "$home/images/crcore.$job/step.0"/snapshot.* | head -n 1)"
again="$(submit as_user sbatch --wrap "srun --cr-restart=$early $COUNTER $steps")"
wait_for 120 "job $again to end" job_ended "$again"
job_in_state "$again" COMPLETED || cluster_fail "job $again ended $(job_state "$again")" "$(cat "slurm-$again.out")"
first="$(head -n 1 "slurm-$again.out")"
started_later "slurm-$again.out" || cluster_fail "job $again started from the beginning" "$(head -n 3 "slurm-$again.out")"
tail -n "$(wc -l <"slurm-$again.out")" "$cluster_work/expected.out" >"$cluster_work/expected.tail"
same_output "$cluster_work/expected.tail" "slurm-$again.out"
cluster_say "srun --cr-restart: restarted at '$first', as uninterrupted"

out="$(as_user scontrol checkpoint restart "$job" 2>&1)" || cluster_fail "scontrol checkpoint restart $job failed" "$out"
[[ "$out" =~ Submitted\ batch\ job\ ([0-9]+) ]] || cluster_fail "restart printed no new job" "$out"
resumed="${BASH_REMATCH[1]}"
wait_for 120 "job $resumed to end" job_ended "$resumed"
job_in_state "$resumed" COMPLETED || cluster_fail "job $resumed ended $(job_state "$resumed")" "$(cat "slurm-$resumed.out")"
newest="$(readlink -f "$stepdir/last")"
grep -q "restarted from $newest\$" "crcore.$resumed/step.0/supervisor.0.log" ||
  cluster_fail "job $resumed did not resume from the step's newest snapshot $newest" "$(cat "crcore.$resumed/step.0/supervisor.0.log")"
first="$(head -n 1 "slurm-$resumed.out")"
started_later "slurm-$resumed.out" || cluster_fail "job $resumed started from the beginning" "$(head -n 3 "slurm-$resumed.out")"
tail -n "$(wc -l <"slurm-$resumed.out")" "$cluster_work/expected.out" >"$cluster_work/expected.tail"
same_output "$cluster_work/expected.tail" "slurm-$resumed.out"
cluster_say "PASS: scontrol checkpoint restart resumed the srun step at '$first', $(tail -n 1 "slurm-$resumed.out")"
