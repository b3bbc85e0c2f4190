#!/usr/bin/env bash
# The command-line tools refuse bad requests cleanly: a non-zero exit status of their own (not a crash,
# not a hang), a message on stderr, no file left behind, and no harm to the target process.
#
# Usage: cli_errors.sh [--work DIR] -- COUNTER
#   COUNTER is crcore/examples/counter (built as build/bin/counter): a live target and a source of real images.
# Tools: see lib.sh (CRCORE_CR_* or CRCORE_BIN).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,7s/^# \{0,1\}//p' "$0"; }

work=""
while (($# > 0)); do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) usage >&2; fail "unknown argument '$1'" ;;
  esac
done
(($# == 1)) || { usage >&2; fail "give the counter executable"; }
counter="$1"
[[ -x "$counter" ]] || fail "$counter is not an executable"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART" "$CR_INFO"
: "${work:=$e2e_root/build/e2e-work/cli}"
fresh_dir "$work"
TOOL_TIMEOUT=60

cases=0
failures=()

# refused NAME COMMAND...: COMMAND must fail cleanly. It runs in an empty directory, which must still be
# empty afterwards (no image, no temporary file).
refused() {
  local name="$1" dir="$work/case.$1" status first
  shift
  cases=$((cases + 1))
  fresh_dir "$dir"
  status="$(cd "$dir" && run_tool "$work/$name.out" "$work/$name.err" "$@")"
  first="$(head -n 1 "$work/$name.err")"
  if [[ "$status" == 0 ]]; then
    failures+=("$name: exited 0 (expected a failure)")
  elif ((status == 124 || status == 137)); then
    failures+=("$name: hung (killed after $TOOL_TIMEOUT s)")
  elif ((status >= 128)); then
    failures+=("$name: died from signal $((status - 128)) instead of reporting an error")
  elif [[ -z "$first" ]]; then
    failures+=("$name: exited $status without a message on stderr")
  elif [[ -n "$(ls -A "$dir")" ]]; then
    failures+=("$name: left files behind: $(find "$dir" -mindepth 1 -printf '%P ')")
  else
    say "ok   $name (exit $status: $first)"
    return 0
  fi
  say "FAIL ${failures[-1]}"
  show "$work/$name.err" 5
}

# still_alive NAME PID: the refused request must not have harmed its target.
still_alive() {
  cases=$((cases + 1))
  if alive "$2"; then
    say "ok   $1"
  else
    failures+=("$1: process $2 is gone")
    say "FAIL ${failures[-1]}"
  fi
}

# A pid that no process has: a child that has already been reaped.
sh -c 'exit 0' &
dead_pid=$!
wait "$dead_pid" || true
[[ ! -e "/proc/$dead_pid" ]] || fail "pid $dead_pid was reused at once; run again"

say "cr_checkpoint: requests it must refuse"
refused checkpoint_no_such_pid "$CR_CHECKPOINT" -f x.ctx "$dead_pid"
refused checkpoint_no_such_pid_default_file "$CR_CHECKPOINT" "$dead_pid"
refused checkpoint_unknown_flag "$CR_CHECKPOINT" --no-such-flag "$$"
refused checkpoint_no_pid "$CR_CHECKPOINT"

sleep 300 >/dev/null 2>&1 &
plain_pid=$!
track "$plain_pid"
refused checkpoint_not_under_crcore "$CR_CHECKPOINT" -f x.ctx "$plain_pid"
refused checkpoint_kill_not_under_crcore "$CR_CHECKPOINT" --kill -f x.ctx "$plain_pid"
still_alive not_under_crcore_target_unharmed "$plain_pid"
kill -KILL "$plain_pid" 2>/dev/null || true

"$CR_RUN" "$counter" 400 >"$work/counter.out" 2>"$work/counter.err" </dev/null &
counter_pid=$!
track "$counter_pid"
wait_lines "$work/counter.out" '^progress step' 1 60 "$counter_pid"
refused checkpoint_missing_directory "$CR_CHECKPOINT" --kill -f "$work/no/such/dir/x.ctx" "$counter_pid"
refused checkpoint_unwritable_directory "$CR_CHECKPOINT" --kill -f /proc/crcore-e2e.ctx "$counter_pid"
still_alive unwritable_target_unharmed "$counter_pid"
# Incremental images are per process: a scope checkpoint refuses --incremental before stopping anything.
refused checkpoint_incremental_tree "$CR_CHECKPOINT" --incremental --tree --kill -f x.ctx "$counter_pid"
still_alive incremental_tree_target_unharmed "$counter_pid"

say "a real image, for the damaged copies"
good="$work/good.ctx"
checkpoint "$good" "$counter_pid" --cont
kill -KILL "$counter_pid" 2>/dev/null || true
cases=$((cases + 1))
info_status="$(run_tool "$work/good.info" "$work/good.info.err" "$CR_INFO" "$good")"
if [[ "$info_status" == 0 && -s "$work/good.info" ]]; then
  say "ok   info_good_image (cr_info prints $(wc -l <"$work/good.info") lines)"
else
  failures+=("info_good_image: cr_info of a good image exited $info_status or printed nothing")
  say "FAIL ${failures[-1]}"
  show "$work/good.info.err" 5
fi

size="$(stat -c %s "$good")"
head -c $((size / 2)) "$good" >"$work/half.ctx"
head -c 64 "$good" >"$work/header-only.ctx"
: >"$work/empty.ctx"
echo "this is not an image" >"$work/text.ctx"
# flipped COPY OFFSET: a copy of the good image with one byte inverted.
flipped() {
  local byte
  cp "$good" "$1"
  byte="$(od -An -tu1 -j "$2" -N1 "$good" | tr -d ' ')"
  # shellcheck disable=SC2059 # the format is an octal escape, on purpose
  printf "\\$(printf '%03o' $((byte ^ 255)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
  cmp -s "$good" "$1" && fail "could not flip byte $2 of $1"
  return 0
}
flipped "$work/flip-middle.ctx" $((size / 2))
flipped "$work/flip-header.ctx" 12
flipped "$work/flip-end.ctx" $((size - 2))

say "cr_restart: images it must refuse"
refused restart_missing_file "$CR_RESTART" "$work/no-such.ctx"
refused restart_unknown_flag "$CR_RESTART" --no-such-flag "$good"
for bad in half header-only empty text flip-middle flip-header flip-end; do
  refused "restart_$bad" "$CR_RESTART" "$work/$bad.ctx"
done

say "cr_info: files it must refuse"
refused info_missing_file "$CR_INFO" "$work/no-such.ctx"
refused info_unknown_flag "$CR_INFO" --no-such-flag "$good"
for bad in half header-only empty text flip-middle flip-header flip-end; do
  refused "info_$bad" "$CR_INFO" "$work/$bad.ctx"
done

if ((${#failures[@]} > 0)); then
  fail "${#failures[@]} of $cases checks failed" "${failures[@]/#/    }"
fi
say "PASS: all $cases checks"
rm -f "$work"/*.ctx
