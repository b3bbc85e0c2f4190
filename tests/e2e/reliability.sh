#!/usr/bin/env bash
# Faults during a checkpoint: nothing is lost, nothing is left stopped, no half image passes for a
# good one. Each case prints one line; the script fails on the first broken promise.
#   1. the requester is killed (SIGKILL) during phase 1 of a --kill checkpoint: the target continues
#      and finishes with the uninterrupted answer; no image appears under the requested name
#   2. a callback outlives --time: cr_checkpoint fails with a time-limit message, the target continues
#   3. the image's file system is full (a 1 MiB tmpfs; root only): the checkpoint fails with "No space
#      left", the target continues, no file is left behind, and an earlier good image is untouched
#   4. the target is killed (SIGKILL) while it is checkpointed: cr_checkpoint fails clearly, no image
#   5. a thread blocks the checkpoint signal with a raw rt_sigprocmask and no --time is given: the
#      checkpoint fails after the runtime's bounded wait (10 s) with a message naming the thread; the
#      other threads are released and the program finishes with its uninterrupted answer
#   6. cr_restart --restore-pid fails inside its PID namespace (the image's output file vanished):
#      it exits non-zero with a clear message and runs --run-on-failure
#
# Usage: reliability.sh --work DIR -- SLOW_CALLBACK_PROGRAM COUNTER_PROGRAM BLOCKED_SIGNAL_PROGRAM
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_work_args 3 "reliability.sh --work DIR -- SLOW_CALLBACK_PROGRAM COUNTER_PROGRAM BLOCKED_SIGNAL_PROGRAM" "$@"
slow="${args[0]}"
counter="${args[1]}"
blocked="${args[2]}"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART" "$CR_INFO"
fresh_dir "$work"
cd "$work"
mnt=""
# On exit: lib.sh's cleanup (kills every tracked process), then the mount (lazily: a killed
# process may still be closing its files there).
cleanup_mount() {
  e2e_cleanup
  if [[ -n "$mnt" ]]; then
    umount -l "$mnt" 2>/dev/null || true
  fi
}
trap 'cleanup_mount' EXIT

"$slow" 40 1500 >slow.reference
expected="$(grep '^answer:' slow.reference)"
"$slow" 80 1500 >slow80.reference
expected80="$(grep '^answer:' slow80.reference)"

# start NAME PROGRAM ARGS...: runs it (linked with -lcr, or under cr_run) and sets pid.
start() {
  local name="$1"
  shift
  "$@" >"$name.out" 2>"$name.err" </dev/null &
  pid=$!
  track "$pid"
  wait_lines "$name.out" '^progress step' 2 60 "$pid"
}

# finished NAME PID [EXPECTED]: the program ran to its end with the reference answer.
finished() {
  wait "$2" || fail "$1 ended with status $?" "$(show "$1.err")" "$(show "$1.out")"
  [[ "$(grep '^answer:' "$1.out" || true)" == "${3:-$expected}" ]] || fail "$1: wrong or missing answer" "$(show "$1.out")"
}

say "case 1: the requester dies during phase 1 of a --kill checkpoint"
start case1 "$slow" 40 1500
"$CR_CHECKPOINT" --kill -f "$work/case1.ctx" "$pid" >case1.ckpt.out 2>&1 &
requester=$!
sleep 0.5
kill -9 "$requester"
wait "$requester" 2>/dev/null || true
alive "$pid" || fail "case 1: the target died with its requester"
finished case1 "$pid"
[[ ! -e case1.ctx ]] || fail "case 1: an image appeared under the final name without a commit"
leftovers="$(find . -maxdepth 1 -name 'case1.ctx.tmp.*' | wc -l)"
((leftovers == 0)) || fail "case 1: the dead requester's temporary image was left behind" "$(ls -la)"
say "case 1 passed: the target finished with the right answer"

say "case 2: a callback outlives --time"
start case2 "$slow" 80 3000
status="$(run_tool case2.ckpt.out case2.ckpt.err "$CR_CHECKPOINT" --time 1 -f "$work/case2.ctx" "$pid")"
[[ "$status" != 0 ]] || fail "case 2: cr_checkpoint succeeded despite --time 1"
grep -q -i "timed out\|time" case2.ckpt.err || fail "case 2: no time-limit message" "$(show case2.ckpt.err)"
[[ ! -e case2.ctx ]] || fail "case 2: an image was left behind"
finished case2 "$pid" "$expected80"
say "case 2 passed: $(head -n 1 case2.ckpt.err)"

if [[ "$(id -u)" == 0 ]]; then
  say "case 3: the image's file system is full"
  mnt="$work/tiny"
  mkdir -p "$mnt"
  mount -t tmpfs -o size=1m tmpfs "$mnt" || fail "case 3: cannot mount a tmpfs"
  start case3 "$slow" 40 10
  # A good small image first (the slow_callback process is small enough to fit), then a full disk.
  checkpoint "$mnt/good.ctx" "$pid"
  before="$(sha256sum "$mnt/good.ctx")"
  dd if=/dev/zero of="$mnt/filler" bs=64k 2>/dev/null || true
  status="$(run_tool case3.ckpt.out case3.ckpt.err "$CR_CHECKPOINT" --clobber -f "$mnt/good.ctx" "$pid")"
  [[ "$status" != 0 ]] || fail "case 3: the checkpoint succeeded on a full file system"
  grep -q "No space left" case3.ckpt.err || fail "case 3: no 'No space left' message" "$(show case3.ckpt.err)"
  [[ "$(sha256sum "$mnt/good.ctx")" == "$before" ]] || fail "case 3: the earlier good image changed"
  leftovers="$(find "$mnt" -name '*.tmp.*' | wc -l)"
  ((leftovers == 0)) || fail "case 3: temporary files left behind" "$(ls -la "$mnt")"
  run_tool case3.info.out case3.info.err "$CR_INFO" "$mnt/good.ctx" >/dev/null
  finished case3 "$pid"
  say "case 3 passed: $(head -n 1 case3.ckpt.err)"
else
  say "case 3 needs root (it mounts a 1 MiB tmpfs): not run as uid $(id -u)"
fi

say "case 4: the target is killed while it is checkpointed"
start case4 "$slow" 40 1500
"$CR_CHECKPOINT" -f "$work/case4.ctx" "$pid" >case4.ckpt.out 2>case4.ckpt.err &
requester=$!
sleep 0.5
kill -9 "$pid"
status=0
wait "$requester" || status=$?
((status != 0)) || fail "case 4: cr_checkpoint reported success for a dead process"
grep -q "ended before the checkpoint completed\|no process\|failed" case4.ckpt.err ||
  fail "case 4: unclear message" "$(show case4.ckpt.err)"
[[ ! -e case4.ctx ]] || fail "case 4: an image of a dead process appeared"
say "case 4 passed: $(head -n 1 case4.ckpt.err)"

say "case 5: a thread blocks the checkpoint signal (raw rt_sigprocmask), no --time"
"$blocked" 120 >case5.reference 2>&1 </dev/null &
reference_pid=$!
track "$reference_pid"
"$blocked" 120 >case5.out 2>case5.err </dev/null &
pid=$!
track "$pid"
wait_lines case5.out '^progress step' 2 60 "$pid"
grep -q '^blocker ready' case5.out || fail "case 5: the blocking thread did not start" "$(show case5.out)"
status="$(run_tool case5.ckpt.out case5.ckpt.err "$CR_CHECKPOINT" -f "$work/case5.ctx" "$pid")"
[[ "$status" != 0 && "$status" != 124 ]] || fail "case 5: cr_checkpoint exited with status $status" "$(show case5.ckpt.err)"
grep -q "thread [0-9]* (blocked_signal) did not take the checkpoint signal [0-9]* within 10 s" case5.ckpt.err ||
  fail "case 5: the message does not name the thread" "$(show case5.ckpt.err)"
[[ ! -e case5.ctx ]] || fail "case 5: an image was left behind"
now="$(count_lines case5.out '^progress step')"
wait_lines case5.out '^progress step' $((now + 2)) 60 "$pid"
wait "$pid" || fail "case 5: the program ended with status $?" "$(show case5.err)"
wait "$reference_pid" || fail "case 5: the reference run failed" "$(show case5.reference)"
[[ "$(grep '^answer:' case5.out)" == "$(grep '^answer:' case5.reference)" ]] ||
  fail "case 5: wrong answer" "$(show case5.out)"
say "case 5 passed: $(head -n 1 case5.ckpt.err)"

say "case 6: cr_restart --restore-pid fails inside its namespace; --run-on-failure runs"
"$counter" 20 >counter.reference 2>&1 </dev/null &
reference_pid=$!
track "$reference_pid"
"$CR_RUN" "$counter" 20 >case6.out 2>case6.err </dev/null &
run_pid=$!
track "$run_pid"
resolve_pid "$run_pid" "$counter"
pid="$target_pid"
wait_lines case6.out '^progress step' 2 60 "$pid"
checkpoint "$work/case6.ctx" "$pid"
# The original keeps its pid (so the restart needs a namespace); its output file goes away.
mv case6.out case6.moved.out
status="$(run_tool case6.restart.out case6.restart.err "$CR_RESTART" --restore-pid \
  --run-on-failure "touch '$work/case6.failure-ran'" "$work/case6.ctx")"
[[ "$status" != 0 && "$status" != 124 ]] || fail "case 6: cr_restart exited with status $status" "$(show case6.restart.err)"
grep -q "case6.out" case6.restart.err || fail "case 6: the message does not name the missing file" "$(show case6.restart.err)"
[[ -e case6.failure-ran ]] || fail "case 6: --run-on-failure did not run" "$(show case6.restart.err)"
wait "$run_pid" || fail "case 6: the original ended with status $?" "$(show case6.err)"
wait "$reference_pid" || fail "case 6: the reference run failed" "$(show counter.reference)"
[[ "$(grep '^answer:' case6.moved.out)" == "$(grep '^answer:' counter.reference)" ]] ||
  fail "case 6: the original's answer is wrong" "$(show case6.moved.out)"
say "case 6 passed: $(head -n 1 case6.restart.err)"
say "PASS: 6 fault cases"
