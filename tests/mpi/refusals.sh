#!/usr/bin/env bash
# Bad input to ompi-checkpoint and ompi-restart: refused with a clear message, and nothing changes.
#
# Usage: refusals.sh --work DIR -- PROGRAM STEPS      (PROGRAM: programs/plain_rank)
# The ranks are ordinary processes under cr_run started by Open MPI's mpirun with CRCORE_MPI=1 (the MPI
# layer is not needed to test the launcher side). Checked:
#   ompi-checkpoint: no such process; a process without ranks; a job where one rank cannot be checkpointed
#     (no crcore runtime), and one where a rank does not answer within --time (stopped): each fails, no
#     snapshot and no partial directory remain, the job runs on;
#   ompi-restart, from a good snapshot taken here, damaged in turn: no metadata.json (incomplete), metadata
#     not JSON, a missing image, a truncated image, a corrupted image byte, a rank missing from the
#     metadata, -np of another size, a path that is no snapshot. Each is refused before anything starts
#     (CRCORE_REAL_MPIRUN points at a script that would leave a mark);
#   the good snapshot, moved to another directory, then restarts and finishes with the uninterrupted run's
#   answers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"

parse_work_args 2 "refusals.sh --work DIR -- PROGRAM STEPS" "$@"
program="${args[0]}" steps="${args[1]}"
require_tools "$OMPI_CHECKPOINT" "$OMPI_RESTART" "$CR_INFO" "$CR_RUN" "$program"
fresh_dir "$work"
cd "$work"

# expect_refusal NAME REGEX COMMAND...: the command fails, says REGEX on stderr, starts no mpirun.
expect_refusal() {
  local name="$1" regex="$2" tool_status
  shift 2
  rm -f mpirun-started
  tool_status="$(CRCORE_REAL_MPIRUN="$work/fake-mpirun" run_tool "$name.out" "$name.err" "$@")"
  [[ "$tool_status" != 0 ]] || fail "$name: $* succeeded" "$(show "$name.out")"
  [[ "$tool_status" != 124 ]] || fail "$name: $* hung"
  grep -q -E -- "$regex" "$name.err" || fail "$name: the message does not say /$regex/" "$(show "$name.err")"
  [[ ! -e mpirun-started ]] || fail "$name: mpirun was started although the snapshot was refused"
  say "  refused ($name): $(head -n 1 "$name.err")"
}
printf '#!/bin/sh\ntouch %s/mpirun-started\nexit 0\n' "$work" >fake-mpirun
chmod +x fake-mpirun

say "ompi-checkpoint refusals"
expect_refusal no_process 'no process' "$OMPI_CHECKPOINT" 999999999
sleep 60 &
track $!
expect_refusal no_ranks 'no checkpointable ranks' "$OMPI_CHECKPOINT" $!
expect_refusal bad_flag 'unknown|not expected|following argument' "$OMPI_CHECKPOINT" --frobnicate 1

say "a job whose rank 1 has no crcore runtime: the checkpoint must fail as a whole"
cat >mixed-rank.sh <<SCRIPT
#!/bin/sh
if [ "\$OMPI_COMM_WORLD_RANK" = 0 ]; then exec "$CR_RUN" "$program" "$steps"; else exec "$program" "$steps"; fi
SCRIPT
chmod +x mixed-rank.sh
start_job mixed.out mixed.err "$REAL_MPIRUN" --oversubscribe -np 2 -x CRCORE_MPI=1 ./mixed-rank.sh
mixed_pid=$job_pid
wait_progress mixed.out 2 "$mixed_pid"
expect_refusal partial_failure 'the checkpoint failed' "$OMPI_CHECKPOINT" --time 20 --dir "$work" "$mixed_pid"
grep -q 'rank 0 .*image written' partial_failure.err || fail "the report does not give rank 0's outcome" \
  "$(show partial_failure.err)"
leftovers="$(find "$work" -maxdepth 1 -name '*ompi_global_snapshot*')"
[[ -z "$leftovers" ]] || fail "a failed checkpoint left $leftovers behind"
alive "$mixed_pid" || fail "the job ended after a failed checkpoint (it must run on)"
wait_progress mixed.out 1 "$mixed_pid"
kill -TERM "$mixed_pid"
wait_gone "$mixed_pid" 30 || fail "mpirun $mixed_pid did not end on SIGTERM"

say "a job whose rank 1 does not answer (stopped): the checkpoint must fail at --time as a whole"
start_job stopped.out stopped.err "$REAL_MPIRUN" --oversubscribe -np 2 -x CRCORE_MPI=1 "$CR_RUN" "$program" 1000
stopped_pid=$job_pid
wait_progress stopped.out 2 "$stopped_pid"
rank1=""
for child in $(pgrep -P "$stopped_pid"); do
  if tr '\0' '\n' <"/proc/$child/environ" 2>/dev/null | grep -q -x 'OMPI_COMM_WORLD_RANK=1'; then
    rank1="$child"
  fi
done
[[ -n "$rank1" ]] || fail "rank 1 of mpirun $stopped_pid not found"
kill -STOP "$rank1"
expect_refusal time_limit 'the checkpoint failed' "$OMPI_CHECKPOINT" --time 2 --dir "$work" "$stopped_pid"
grep -q "rank 1 .*timed out" time_limit.err || fail "the report does not say rank 1 timed out" "$(show time_limit.err)"
kill -CONT "$rank1"
leftovers="$(find "$work" -maxdepth 1 -name '*ompi_global_snapshot*')"
[[ -z "$leftovers" ]] || fail "a timed-out checkpoint left $leftovers behind"
wait_progress stopped.out 2 "$stopped_pid"
kill -TERM "$stopped_pid"
wait_gone "$stopped_pid" 30 || fail "mpirun $stopped_pid did not end on SIGTERM"

say "a good snapshot of a 2-rank job"
start_job expected.out expected.err "$REAL_MPIRUN" --oversubscribe -np 2 "$program" "$steps"
finish_job "$job_pid" expected.out expected.err "the uninterrupted run"
start_job run.out run.err "$REAL_MPIRUN" --oversubscribe -np 2 -x CRCORE_MPI=1 "$CR_RUN" "$program" "$steps"
wait_progress run.out 2 "$job_pid"
take_snapshot "$job_pid" checkpoint.out --term
good="$snapshot"
wait_gone "$job_pid" 30 || fail "the job still runs after --term"

# damaged NAME: a copy of the good snapshot to damage.
damaged() {
  rm -rf "$work/$1"
  cp -a "$good" "$work/$1"
  echo "$work/$1"
}
say "ompi-restart refusals"
d="$(damaged incomplete)"
rm "$d/metadata.json"
expect_refusal incomplete 'not a complete snapshot' "$OMPI_RESTART" --oversubscribe "$d"
d="$(damaged badjson)"
echo '{"format": "crcore-mpi-snapshot", "version": 1, "size": ' >"$d/metadata.json"
expect_refusal badjson 'is damaged: not valid JSON' "$OMPI_RESTART" "$d"
d="$(damaged noimage)"
rm "$d/rank.1.ctx"
expect_refusal noimage "rank 1's image .*is missing" "$OMPI_RESTART" "$d"
d="$(damaged truncated)"
truncate -s -4096 "$d/rank.0.ctx"
expect_refusal truncated "rank 0's image .*truncated" "$OMPI_RESTART" "$d"
d="$(damaged corrupt)"
size="$(stat -c %s "$d/rank.1.ctx")"
printf '\x5a' | dd of="$d/rank.1.ctx" bs=1 seek=$((size / 2)) conv=notrunc status=none
printf '\xa5' | dd of="$d/rank.1.ctx" bs=1 seek=$((size / 2 + 1)) conv=notrunc status=none
expect_refusal corrupt "rank 1's image .*is damaged" "$OMPI_RESTART" "$d"
d="$(damaged missingrank)"
python3 - "$d/metadata.json" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
m["ranks"] = m["ranks"][:1]
json.dump(m, open(sys.argv[1], "w"))
PY
expect_refusal missingrank 'the job has 2 ranks but 1 are listed' "$OMPI_RESTART" "$d"
expect_refusal wrong_np 'job of 2 ranks; it restarts with 2' "$OMPI_RESTART" -np 4 "$good"
expect_refusal not_a_snapshot 'not a snapshot directory|no snapshot' "$OMPI_RESTART" "$work/run.out"
expect_refusal no_snapshot_arg 'snapshot directory' "$OMPI_RESTART" --oversubscribe
info_status="$(run_tool corrupt.info corrupt.info.err "$CR_INFO" "$work/corrupt")"
[[ "$info_status" == 1 ]] && grep -q DAMAGED corrupt.info ||
  fail "cr_info does not report the corrupted snapshot as damaged (status $info_status)" "$(show corrupt.info)"

say "the good snapshot, moved elsewhere, restarts"
mkdir -p elsewhere
mv "$good" elsewhere/moved.ckpt
start_job restart.out restart.err "$OMPI_RESTART" --oversubscribe -np 2 elsewhere/moved.ckpt
finish_job "$job_pid" restart.out restart.err "the restarted job"
RESULT_REGEX='^answer:' compare_results expected.out restart.out "the restarted job"
say "PASS: every bad input refused with a clear message, nothing started; the good snapshot restarts"
