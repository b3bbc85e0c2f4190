#!/usr/bin/env bash
# slurm_refusals: what `scontrol checkpoint` must refuse, with Slurm-style messages, changing nothing:
#   - a job not started with --cr;  - a job that does not exist;  - a user's job asked by another user;
#   - MaxWait expiry (the program holds a libcr critical section): no snapshot marked complete, and
#     `scontrol checkpoint error` reports it; then the program finishes normally;
#   - `disable` (create refused, able says No) and `enable` (able says Yes again); bad keywords;
#   - the batch step of `sbatch --cr` running an srun step (a shell with a child), with advice.
# And the front end passes every other command through to Slurm's scontrol unchanged.
#
# Usage (as root): CRCORE_BUILD=build bash tests/slurm/refusals.sh [WORKDIR]
set -uo pipefail
case_name=refusals
source "$(dirname "${BASH_SOURCE[0]}")/cluster.sh"
HOLD_CS="${CRCORE_HOLD_CS:-$CRCORE_BUILD/bin/hold_cs}"

cluster_start "${1:-/tmp/crcore-slurm-$case_name.$$}"
home="$cluster_work/home"
cd "$home" || cluster_fail "no $home"

# Pass-through: the same answer as Slurm's own scontrol.
ours="$(as_user scontrol show partition low 2>&1)"
theirs="$(as_user /usr/bin/scontrol show partition low 2>&1)"
[[ -n "$ours" && "$ours" == "$theirs" ]] || cluster_fail "scontrol show partition differs through the front end" "$ours" "$theirs"
ours="$(as_user scontrol -o show node localhost 2>&1 | sed 's/ CPULoad=[^ ]*//')"
theirs="$(as_user /usr/bin/scontrol -o show node localhost 2>&1 | sed 's/ CPULoad=[^ ]*//')"
[[ -n "$ours" && "$ours" == "$theirs" ]] || cluster_fail "scontrol -o show node differs through the front end" "$ours" "$theirs"
cluster_say "other commands pass through unchanged"

# A job not started with --cr.
batch_script plain.sh sleep 300
chown "$TEST_USER" plain.sh
plain="$(submit as_user sbatch plain.sh)"
wait_for 60 "job $plain to run" job_in_state "$plain" RUNNING
expect_refusal "job without --cr" "scontrol_checkpoint error: Requested operation is presently disabled" \
  as_user scontrol checkpoint create "$plain"
scancel "$plain"

# `sbatch --cr` with a script running an srun step: the batch step (a shell with a child) is refused
# with advice, its srun step (one process, --cr too) is checkpointed.
shell_job="$(submit as_user sbatch --cr --wrap "srun sleep 300")"
wait_for 60 "step $shell_job.0 to start" test -f "$home/crcore.$shell_job/step.0/task.0.info"
expect_refusal "batch step with a child process" "has child processes" as_user scontrol checkpoint create "$shell_job"
as_user scontrol checkpoint create "$shell_job.0" || cluster_fail "scontrol checkpoint create $shell_job.0 failed"
[[ "$(complete_snapshots "$home/crcore.$shell_job/step.0")" == 1 && "$(complete_snapshots "$home/crcore.$shell_job/step.batch")" == 0 ]] ||
  cluster_fail "not exactly one snapshot, of step 0" "$(ls -R "$home/crcore.$shell_job")"
scancel "$shell_job"

# A job that does not exist.
expect_refusal "no such job" "scontrol_checkpoint error: Invalid job id specified" \
  as_user scontrol checkpoint create 424242
expect_refusal "no such job (restart)" "scontrol_checkpoint error: Invalid job id specified" \
  as_user scontrol checkpoint restart 424242
expect_refusal "not a job id" "scontrol_checkpoint error: Invalid job id specified" \
  as_user scontrol checkpoint create abc

# A --cr job holding a critical section until $home/release exists.
batch_script hold.sh "$HOLD_CS" "$home/release"
chown "$TEST_USER" hold.sh
job="$(submit as_user sbatch --cr hold.sh)"
wait_for 60 "job $job to enter its critical section" has_line "slurm-$job.out" "in critical section"
stepdir="$home/crcore.$job/step.batch"

expect_refusal "another user's job" "scontrol_checkpoint error: Access/permission denied" \
  as_other_user scontrol checkpoint create "$job"
expect_refusal "another user's job (vacate)" "scontrol_checkpoint error: Access/permission denied" \
  as_other_user scontrol checkpoint vacate "$job"
expect_refusal "another user's job (disable)" "scontrol_checkpoint error: Access/permission denied" \
  as_other_user scontrol checkpoint disable "$job"
[[ ! -e "$stepdir/disabled" && "$(complete_snapshots "$stepdir")" == 0 ]] ||
  cluster_fail "another user's request changed the job's checkpoint state"
expect_refusal "bad keyword" "scontrol_checkpoint error: Invalid keyword: Foo=1" \
  as_user scontrol checkpoint create "$job" Foo=1
expect_refusal "bad operation" "scontrol_checkpoint error: Invalid checkpoint operation" \
  as_user scontrol checkpoint frobnicate "$job"

[[ "$(as_user scontrol checkpoint able "$job")" == Yes ]] || cluster_fail "able: not Yes for a --cr job"
as_user scontrol checkpoint disable "$job" || cluster_fail "disable failed"
[[ "$(as_user scontrol checkpoint able "$job")" == No ]] || cluster_fail "able: not No after disable"
expect_refusal "disabled" "checkpoints are disabled" as_user scontrol checkpoint create "$job"
as_user scontrol checkpoint enable "$job" || cluster_fail "enable failed"
[[ "$(as_user scontrol checkpoint able "$job")" == Yes ]] || cluster_fail "able: not Yes after enable"
[[ "$(as_user scontrol checkpoint error "$job")" == "error(1): checkpoints are disabled for this job step (scontrol checkpoint enable)" ]] ||
  cluster_fail "error: not the disabled refusal" "$(as_user scontrol checkpoint error "$job")"

# MaxWait expiry: the checkpoint waits for the critical section, which outlasts MaxWait.
expect_refusal "MaxWait expiry" "MaxWait of 2 s expired" as_user scontrol checkpoint create "$job" MaxWait=2
[[ "$(complete_snapshots "$stepdir")" == 0 && ! -e "$stepdir/last" ]] ||
  cluster_fail "a snapshot is marked complete after MaxWait expired" "$(ls -lR "$stepdir")"
error="$(as_user scontrol checkpoint error "$job")"
[[ "$error" == "error(62): MaxWait of 2 s expired"* ]] || cluster_fail "error: not the MaxWait expiry" "$error"
job_in_state "$job" RUNNING || cluster_fail "job $job is $(job_state "$job") after the MaxWait expiry"
cluster_say "MaxWait expiry: no complete snapshot, job still running; $error"

# The program then leaves its critical section and ends normally.
runuser -u "$TEST_USER" -- touch "$home/release"
wait_for 60 "job $job to end" job_ended "$job"
job_in_state "$job" COMPLETED || cluster_fail "job $job ended $(job_state "$job")" "$(cat "slurm-$job.out")"
printf 'in critical section\nreleased\n' >"$cluster_work/expected.out"
same_output "$cluster_work/expected.out" "slurm-$job.out"
[[ "$(complete_snapshots "$stepdir")" == 0 ]] || cluster_fail "a snapshot appeared after the program left its critical section"
expect_refusal "ended job" "scontrol_checkpoint error: Job/step already completing or completed" \
  as_user scontrol checkpoint create "$job"
cluster_say "PASS"
