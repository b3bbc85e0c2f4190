#!/usr/bin/env bash
# ompi-restart's validation proofs (docs/mpi.md, "Restart time"): the images of a snapshot are checksummed
# once, by ompi-restart's check, and each rank's cr_restart relies on that check only while its image is the
# very file that was checked.
#
# Usage: image_proof.sh --work DIR -- PROGRAM STEPS      (PROGRAM: programs/plain_rank)
# A good snapshot of a 2-rank job (ordinary processes under cr_run as the ranks of Open MPI's mpirun), once
# older than the proofs' settling time (2 s), is restarted:
#   - as it is: mpirun gets a proof for each rank (CRCORE_MPIRUN_VERBOSE shows the command), no rank warns,
#     the results equal the uninterrupted run's;
#   - damaged before ompi-restart: refused by ompi-restart's check before anything starts;
#   - damaged after ompi-restart's check (a stand-in mpirun changes a byte of rank 1's image in place, then
#     runs the real one): rank 1's cr_restart sees that the proof no longer matches, validates fully and
#     refuses the image; the job fails;
#   - replaced after the check by a damaged copy (another inode): refused the same way;
#   - replaced after the check by an intact copy: rank 1 warns, validates fully, and the job's results are
#     the uninterrupted run's.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"

parse_work_args 2 "image_proof.sh --work DIR -- PROGRAM STEPS" "$@"
program="${args[0]}" steps="${args[1]}"
require_tools "$OMPI_CHECKPOINT" "$OMPI_RESTART" "$CR_INFO" "$CR_RUN" "$program"
fresh_dir "$work"
cd "$work"

say "a good snapshot of a 2-rank job"
start_job expected.out expected.err "$REAL_MPIRUN" --oversubscribe -np 2 "$program" "$steps"
finish_job "$job_pid" expected.out expected.err "the uninterrupted run"
start_job run.out run.err "$REAL_MPIRUN" --oversubscribe -np 2 -x CRCORE_MPI=1 "$CR_RUN" "$program" "$steps"
wait_progress run.out 2 "$job_pid"
take_snapshot "$job_pid" checkpoint.out --term
good="$snapshot"
wait_gone "$job_pid" 30 || fail "the job still runs after --term"
# A proof is made only for a file last changed at least 2 s before the check (image/validation_proof.h).
sleep 2.5

# copy_of NAME: a copy of the good snapshot (its images keep their timestamps, not their ctime: wait again).
copy_of() {
  rm -rf "$work/$1"
  cp -a "$good" "$work/$1"
  echo "$work/$1"
}
# stand_in NAME COMMANDS: a script named NAME that runs COMMANDS, then the real mpirun.
stand_in() {
  printf '#!/bin/sh\nset -e\n%s\nexec "%s" "$@"\n' "$2" "$REAL_MPIRUN" >"$work/$1"
  chmod +x "$work/$1"
}
# damage_command FILE: a command that changes two bytes in the middle of FILE in place.
damage_command() {
  echo "s=\$(stat -c %s '$1'); printf '\\132\\245' | dd of='$1' bs=1 seek=\$((s / 2)) conv=notrunc status=none"
}

say "restart as it is: every rank gets a proof and uses it"
start_job restart.out restart.err env CRCORE_MPIRUN_VERBOSE=1 "$OMPI_RESTART" --oversubscribe "$good"
finish_job "$job_pid" restart.out restart.err "the restarted job"
RESULT_REGEX='^answer:' compare_results expected.out restart.out "the restarted job"
proofs="$(sed -n 's/.* -x CRCORE_MPI_IMAGE_PROOFS=\([^ ]*\) .*/\1/p' restart.err)"
two_proofs='^[0-9a-f:]+;[0-9a-f:]+$'
[[ "$proofs" =~ $two_proofs ]] ||
  fail "ompi-restart did not hand mpirun a proof for each of the 2 ranks" "$(show restart.err)"
! grep -q 'not the file that was checked' restart.err ||
  fail "a rank did not use its proof although its image is unchanged" "$(show restart.err)"

say "damaged before ompi-restart: refused by its check, nothing started"
d="$(copy_of damaged_before)"
eval "$(damage_command "$d/rank.1.ctx")"
printf '#!/bin/sh\ntouch %s/mpirun-started\nexit 0\n' "$work" >fake-mpirun
chmod +x fake-mpirun
tool_status="$(CRCORE_REAL_MPIRUN="$work/fake-mpirun" run_tool before.out before.err "$OMPI_RESTART" "$d")"
[[ "$tool_status" != 0 && "$tool_status" != 124 ]] || fail "ompi-restart of a damaged snapshot: status $tool_status"
grep -q "rank 1's image .*is damaged" before.err || fail "ompi-restart does not name the damage" "$(show before.err)"
[[ ! -e mpirun-started ]] || fail "mpirun was started although the snapshot was refused"

# after_check NAME COMMANDS: restarts a copy of the good snapshot through a stand-in mpirun that runs
# COMMANDS (on that copy, after ompi-restart's check and proofs); sets status and copy.
after_check() {
  local name="$1" commands="$2"
  copy="$(copy_of "$name")"
  sleep 2.5
  stand_in "mpirun-$name" "${commands//COPY/$copy}"
  start_job "$name.out" "$name.err" env CRCORE_REAL_MPIRUN="$work/mpirun-$name" "$OMPI_RESTART" --oversubscribe \
    "$copy"
  wait_gone "$job_pid" "$JOB_TIMEOUT" || fail "$name: the job did not end" "$(show "$name.err")"
  reap "$job_pid"
}

say "damaged in place after the check: rank 1's cr_restart validates fully and refuses"
after_check changed_after "$(damage_command COPY/rank.1.ctx)"
((status != 0)) || fail "a job whose image was damaged after the check succeeded" "$(show changed_after.out)"
grep -q 'cr_restart: .*rank.1.ctx.*the validation proof given did not apply: changed since it was checked' \
  changed_after.err || fail "rank 1 did not say its image changed since the check" "$(show changed_after.err)"
grep -q 'cr_restart: .*rank.1.ctx.*checksum mismatch' changed_after.err ||
  fail "rank 1's cr_restart did not refuse the damaged image" "$(show changed_after.err)"
say "  refused: $(grep -m 1 'cr_restart: ' changed_after.err | cut -c 1-200)"

say "replaced after the check by a damaged copy: refused"
after_check replaced_after "cp COPY/rank.1.ctx COPY/new.ctx
$(damage_command COPY/new.ctx)
mv COPY/new.ctx COPY/rank.1.ctx"
((status != 0)) || fail "a job whose image was replaced by a damaged one succeeded" "$(show replaced_after.out)"
grep -q 'cr_restart: .*rank.1.ctx.*checksum mismatch.*no file with this device and inode' replaced_after.err ||
  fail "rank 1's cr_restart did not refuse the replaced image" "$(show replaced_after.err)"

say "replaced after the check by an intact copy: validated fully, the job runs"
after_check copied_after "cp -p COPY/rank.1.ctx COPY/new.ctx
mv COPY/new.ctx COPY/rank.1.ctx"
((status == 0)) || fail "the job restarted from an intact copy exited with status $status" "$(show copied_after.err)"
grep -q 'warning: .*rank.1.ctx is not the file that was checked' copied_after.err ||
  fail "rank 1 did not say it validated the copy fully" "$(show copied_after.err)"
! grep -q 'rank.0.ctx is not the file' copied_after.err || fail "rank 0's proof was not used" "$(show copied_after.err)"
RESULT_REGEX='^answer:' compare_results expected.out copied_after.out "the job restarted from the copy"
say "PASS: one checksum pass with an unchanged snapshot; any change after the check is caught"
