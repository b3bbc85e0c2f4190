#!/usr/bin/env bash
# cr_restart --restore-pid while the checkpointed process still runs and holds its pid: the copy
# must get the same pid inside a PID namespace of its own, stay checkpointable from outside, and
# finish with the uninterrupted answer. Also exercises --relocate (the copy writes to another file).
#
# Usage: restore_pid_namespace.sh --work DIR -- PROGRAM STEPS
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_work_args 2 "restore_pid_namespace.sh --work DIR -- PROGRAM STEPS" "$@"
prog="${args[0]}"
steps="${args[1]}"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART"
fresh_dir "$work"
cd "$work"

say "reference run"
"$prog" "$steps" >reference.out
expected="$(grep '^answer:' reference.out)"

say "original under cr_run"
"$CR_RUN" "$prog" "$steps" >original.out 2>original.err </dev/null &
run_pid=$!
track "$run_pid"
resolve_pid "$run_pid" "$prog"
pid="$target_pid"
wait_lines original.out '^progress step' 2 60 "$pid"
checkpoint "$work/image.ctx" "$pid"

# The copy's stdout: the original's file as it is now, under another name.
cp original.out copy.out
say "cr_restart --restore-pid while process $pid still runs"
"$CR_RESTART" --restore-pid --relocate "$work/original.out=$work/copy.out" "$work/image.ctx" \
  >restart.log 2>&1 </dev/null &
restart_pid=$!
track "$restart_pid"
copy=""
deadline=$((SECONDS + 30))
while [[ -z "$copy" ]] && ((SECONDS < deadline)); do
  for candidate in $(pgrep -f -x "$prog $steps" || true); do
    [[ "$candidate" == "$pid" ]] && continue
    nspid="$(awk '/^NSpid:/ {print $NF}' "/proc/$candidate/status" 2>/dev/null || true)"
    if [[ "$nspid" == "$pid" ]]; then
      copy="$candidate"
    fi
  done
  sleep 0.1
done
[[ -n "$copy" ]] || fail "no restored copy with pid $pid inside its own PID namespace" "$(show restart.log)"
track "$copy"
say "the copy is process $copy here and $pid in its namespace; checkpointing it from outside"
checkpoint "$work/copy.ctx" "$copy"

wait "$run_pid" || fail "the original ended with status $?" "$(show original.err)"
wait "$restart_pid" || fail "the restored copy ended with status $?" "$(show restart.log)"
for out in original.out copy.out; do
  got="$(grep '^answer:' "$out" || true)"
  [[ "$got" == "$expected" ]] || fail "$out: '$got', expected '$expected'" "$(show "$out")"
done
say "PASS: both the original and its namespaced copy answered $expected"
