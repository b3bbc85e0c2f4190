#!/usr/bin/env bash
# The process-tree cases (tests/cases/tree/CASES) under the case protocol, until the shared case
# runner (tests/cases/run_cases.sh) runs them: each case once uninterrupted (GO right after READY),
# then once as: READY, cr_checkpoint --kill with the case's scope, cr_restart of the scope, GO; its
# stdout must equal the uninterrupted run's. A refuse:WORD case instead needs the checkpoint to fail
# with WORD in its message, and the case to finish as if nothing happened.
#
# Usage: tree_cases.sh --work DIR -- CASES CASE_BIN_DIR
#   CASES         tests/cases/tree/CASES
#   CASE_BIN_DIR  where the case programs are built (build/tests/cases/tree); NAME.sh cases run
#                 from CASES's directory with bash
#   CRCORE_TREE_CASES="a b"  runs only these cases
#   CRCORE_TREE_CASES_COW=1  checkpoints with the copy-on-write writers (--cont: the scope goes on while
#                            each process's forked copy writes its image), then kills the scope here
# Prints one line per case and "N passed, N failed".
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_work_args 2 "tree_cases.sh --work DIR -- CASES CASE_BIN_DIR" "$@"
cases_file="${args[0]}"
bin_dir="$(cd "${args[1]}" && pwd)"
cases_dir="$(cd "$(dirname "$cases_file")" && pwd)"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART"
fresh_dir "$work"
CASE_TIMEOUT=60

# wait_file PATH PID: until PATH exists; false if PID ends first or the deadline passes.
wait_file() {
  local deadline=$((SECONDS + CASE_TIMEOUT))
  while [[ ! -e "$1" ]]; do
    alive "$2" || return 1
    ((SECONDS < deadline)) || return 1
    sleep 0.01
  done
}

# finish PID: waits (with a deadline) for a child of this shell; sets status.
finish() {
  if ! wait_gone "$1" "$CASE_TIMEOUT"; then
    describe_stuck "$1"
    kill_scope tree "$1"  # a restart's whole tree: its PID namespace outlives cr_restart
  fi
  reap "$1"
}

# kill_scope SCOPE PID: SIGKILL to every process of the scope checkpointed from PID (tree: PID and
# everything under it; pgid, sid: every process of PID's group or session but this script's own).
kill_scope() {
  local scope="$1" pids p
  case "$scope" in
    tree) mapfile -t pids < <(descendants "$2") ;;
    pgid) mapfile -t pids < <(pgrep -g "$(ps -o pgid= -p "$2" | tr -d ' ')") ;;
    sid) mapfile -t pids < <(pgrep -s "$(ps -o sid= -p "$2" | tr -d ' ')") ;;
  esac
  for p in "${pids[@]}"; do
    [[ "$p" == "$$" || "$p" == "$BASHPID" ]] || kill -KILL "$p" 2>/dev/null || true
  done
}

# start DIR NAME: runs the case under cr_run in DIR, stdout appended to DIR/out; sets pid.
start() {
  local dir="$1" name="$2" cmd
  if [[ -x "$bin_dir/$name" ]]; then
    cmd=("$bin_dir/$name")
  else
    cmd=(bash "$cases_dir/$name.sh")
  fi
  (cd "$dir" && CRCORE_CASE_READY="$dir/READY" CRCORE_CASE_GO="$dir/GO" exec "$CR_RUN" "${cmd[@]}" \
    >>"$dir/out" 2>>"$dir/err" </dev/null) &
  pid=$!
  track "$pid"
}

# run_case NAME SCOPE EXPECT: sets verdict ("" = pass).
run_case() {
  local name="$1" scope="$2" expect="$3" base="$work/$1" t0=$SECONDS
  verdict=""
  mkdir -p "$base/plain" "$base/ckpt"
  # 1. Uninterrupted.
  start "$base/plain" "$name"
  if ! wait_file "$base/plain/READY" "$pid"; then
    finish "$pid"
    verdict="no READY from the uninterrupted run (status $status)"
    return
  fi
  touch "$base/plain/GO"
  finish "$pid"
  if [[ "$status" != 0 ]]; then
    verdict="the uninterrupted run exited with status $status"
    return
  fi
  # 2. Checkpointed, killed, restarted (or refused).
  start "$base/ckpt" "$name"
  local case_pid="$pid"
  if ! wait_file "$base/ckpt/READY" "$pid"; then
    finish "$pid"
    verdict="no READY (status $status)"
    return
  fi
  local cstatus after=--kill
  [[ "${CRCORE_TREE_CASES_COW:-0}" == 1 ]] && after=--cont
  cstatus="$(run_tool "$base/checkpoint.out" "$base/checkpoint.err" "$CR_CHECKPOINT" "$after" "--$scope" "$case_pid" \
    -f "$base/ckpt/ctx")"
  if [[ "$expect" == refuse:* ]]; then
    local word="${expect#refuse:}"
    if [[ "$cstatus" == 0 ]]; then
      verdict="the checkpoint succeeded; it should have been refused ($word)"
    elif ! grep -q -- "$word" "$base/checkpoint.err"; then
      verdict="the checkpoint failed without '$word' in its message: $(head -c 300 "$base/checkpoint.err")"
    fi
    touch "$base/ckpt/GO"
    finish "$case_pid"
    if [[ -z "$verdict" && "$status" != 0 ]]; then
      verdict="after the refusal the case exited with status $status"
    fi
  else
    if [[ "$cstatus" != 0 ]]; then
      touch "$base/ckpt/GO"
      finish "$case_pid"
      verdict="cr_checkpoint failed: $(head -c 400 "$base/checkpoint.err")"
      return
    fi
    if [[ "$after" == --cont ]]; then
      kill_scope "$scope" "$case_pid"
    fi
    finish "$case_pid"  # killed by the checkpoint (or just above)
    (cd "$base/ckpt" && exec "$CR_RESTART" "$base/ckpt/ctx" >>"$base/ckpt/out" 2>>"$base/ckpt/err" </dev/null) &
    local restart_pid=$!
    track "$restart_pid"
    touch "$base/ckpt/GO"
    finish "$restart_pid"
    if [[ "$status" != 0 ]]; then
      verdict="cr_restart exited with status $status: $(tail -c 400 "$base/ckpt/err")"
      return
    fi
  fi
  if [[ -z "$verdict" ]] && ! cmp -s "$base/plain/out" "$base/ckpt/out"; then
    verdict="its output differs from the uninterrupted run's: $(diff "$base/plain/out" "$base/ckpt/out" | head -n 8 | tr '\n' '|' || true)"
  fi
}

passed=0
failed=0
while read -r name scope expect description; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  if [[ -n "${CRCORE_TREE_CASES:-}" && " $CRCORE_TREE_CASES " != *" $name "* ]]; then
    continue
  fi
  t0=$SECONDS
  run_case "$name" "$scope" "$expect"
  if [[ -z "$verdict" ]]; then
    passed=$((passed + 1))
    printf 'PASS %-24s %-5s %-20s %3ds  %s\n' "$name" "$scope" "$expect" $((SECONDS - t0)) "$description"
  else
    failed=$((failed + 1))
    printf 'FAIL %-24s %-5s %-20s %3ds  %s\n' "$name" "$scope" "$expect" $((SECONDS - t0)) "$verdict"
  fi
done <"$cases_file"
echo "$passed passed, $failed failed"
((failed == 0 && passed > 0))
