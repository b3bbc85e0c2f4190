#!/usr/bin/env bash
# End-to-end case: a program must print exactly the same under checkpoint/restart as uninterrupted.
#
# Usage: run_case.sh --mode continue|restart [options] -- PROGRAM [ARGS...]
#   --mode continue    run under cr_run, take --checkpoints N images (cr_checkpoint --cont) while it runs
#   --mode restart     run under cr_run, then --cycles K times: cr_checkpoint --kill, cr_restart
#   --checkpoints N    (continue) default 10
#   --cycles K         (restart) default 3
#   --interval S       seconds between two checkpoints (continue), default 0.5
#   --ready REGEX      a line of the program's output that shows it is working, default '^progress step'
#   --work DIR         scratch directory (emptied first), default build/e2e-work/<mode>
#   --timeout S        deadline for the program's whole run, default 240
#   --with "ARGS"      more cr_checkpoint options for every checkpoint (e.g. "--compress", "--no-cow")
#   --restart-with "ARGS"  more cr_restart options (e.g. "--restore-pid")
# The uninterrupted reference run goes alongside. The program's stdout goes to a file; a restored
# process gets its descriptor back (same file, same offset), so the file simply continues.
# An argument @WORKDIR@ becomes a fresh directory of each run's own (the two runs go side by side).
# Tools: see lib.sh (CRCORE_CR_* or CRCORE_BIN).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,18s/^# \{0,1\}//p' "$0"; }

mode=""
checkpoints=10
cycles=3
interval=0.5
ready='^progress step'
work=""
run_timeout=240
extra=()
restart_extra=()
while (($# > 0)); do
  case "$1" in
    --mode) mode="$2"; shift 2 ;;
    --checkpoints) checkpoints="$2"; shift 2 ;;
    --cycles) cycles="$2"; shift 2 ;;
    --interval) interval="$2"; shift 2 ;;
    --ready) ready="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --timeout) run_timeout="$2"; shift 2 ;;
    --with) read -r -a extra <<<"$2"; shift 2 ;;
    --restart-with) read -r -a restart_extra <<<"$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) usage >&2; fail "unknown argument '$1'" ;;
  esac
done
(($# > 0)) || { usage >&2; fail "no program given"; }
[[ "$mode" == continue || "$mode" == restart ]] || fail "--mode must be continue or restart"
prog="$1"
[[ -x "$prog" ]] || fail "$prog is not an executable"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART"
: "${work:=$e2e_root/build/e2e-work/$mode}"
e2e_name="${e2e_name}:$mode:$(basename "$prog")"
fresh_dir "$work"
say "$* ($mode; scratch $work)"

# with_workdir DIR ARGS...: sets cmd to ARGS with @WORKDIR@ replaced by DIR (created empty).
with_workdir() {
  local dir="$1"
  shift
  fresh_dir "$dir"
  cmd=("${@//@WORKDIR@/$dir}")
}

# (a) the reference: uninterrupted, at the same time as the run under test.
with_workdir "$work/reference.dir" "$@"
"${cmd[@]}" >"$work/reference.out" 2>"$work/reference.err" </dev/null &
ref_pid=$!
track "$ref_pid"

# (b)/(c) the run under test.
out="$work/program.out"
err="$work/program.err"
with_workdir "$work/program.dir" "$@"
"$CR_RUN" "${cmd[@]}" >"$out" 2>"$err" </dev/null &
run_pid=$!
track "$run_pid"
wait_lines "$out" "$ready" 1 60 "$run_pid"
resolve_pid "$run_pid" "$prog"
pid="$target_pid"
say "running under cr_run as pid $pid"

# finish PID WHAT: waits for the program to end and checks it exited 0.
finish() {
  local p="$1" what="$2" status
  wait_gone "$p" "$run_timeout" || fail "$what did not finish within $run_timeout s" "$(show "$out")"
  reap "$p"
  [[ "$status" == 0 ]] || fail "$what exited with status $status (expected 0)" "$(show "$out")" "$(show "$err")"
}

if [[ "$mode" == continue ]]; then
  for ((i = 1; i <= checkpoints; i++)); do
    alive "$pid" || fail "the program finished after $((i - 1)) of $checkpoints checkpoints: give it a longer run" \
      "$(show "$out")"
    say "checkpoint $i/$checkpoints (--cont)"
    image="$work/cont.$i.ctx"
    checkpoint_parent="$run_pid" checkpoint "$image" "$pid" --cont "${extra[@]}"
    alive "$pid" || fail "the process ended after checkpoint $i (--cont must let it run)" "$(show "$out")" "$(show "$err")"
    if [[ -x "$CR_INFO" ]] && ((i == 1)); then
      status="$(run_tool "$image.info" "$image.info.err" "$CR_INFO" "$image")"
      [[ "$status" == 0 ]] || fail "cr_info $image exited with status $status" "$(show "$image.info.err")"
    fi
    if ((i > 1)); then
      rm -f "$work/cont.$((i - 1)).ctx"
    fi
    sleep "$interval"
  done
  finish "$run_pid" "the checkpointed program"
else
  bg_pid="$run_pid" # the child of this shell that $pid runs in: cr_run's, then cr_restart's
  for ((i = 1; i <= cycles; i++)); do
    alive "$pid" || fail "the program finished after $((i - 1)) of $cycles cycles: give it a longer run" "$(show "$out")"
    image="$work/restart.$i.ctx"
    say "cycle $i/$cycles: cr_checkpoint --kill"
    checkpoint_parent="$bg_pid" checkpoint "$image" "$pid" --kill "${extra[@]}"
    wait_gone "$pid" 30 || fail "cr_checkpoint --kill returned but process $pid is still alive"
    reap "$bg_pid"
    lines_at_kill="$(count_lines "$out" "$ready")"
    say "cycle $i/$cycles: cr_restart $image"
    log="$work/restart.$i.log"
    "$CR_RESTART" "${restart_extra[@]}" "$image" >"$log" 2>&1 </dev/null &
    bg_pid=$!
    track "$bg_pid"
    resolve_pid "$bg_pid" "$prog"
    pid="$target_pid"
    if ((i < cycles)); then
      # Let the restored process make progress before the next checkpoint.
      deadline=$((SECONDS + 60))
      while (($(count_lines "$out" "$ready") <= lines_at_kill)); do
        if ! alive "$pid"; then
          reap "$bg_pid"
          fail "cr_restart failed: the restored process ended (status $status) before printing more" \
            "$(show "$log")" "$(show "$out")" "$(show "$err")"
        fi
        ((SECONDS < deadline)) || fail "the restored process printed nothing new within 60 s" "$(show "$log")"
        sleep 0.1
      done
    fi
    rm -f "$work/restart.$((i - 1)).ctx"
  done
  wait_gone "$pid" "$run_timeout" || fail "the restarted program did not finish within $run_timeout s" "$(show "$out")"
  reap "$bg_pid"
  if [[ "$status" != 0 ]]; then
    fail "the restarted program (cr_restart) exited with status $status (expected 0)" \
      "$(show "$log")" "$(show "$out")" "$(show "$err")"
  fi
fi

wait_gone "$ref_pid" "$run_timeout" || fail "the uninterrupted run did not finish within $run_timeout s"
reap "$ref_pid"
[[ "$status" == 0 ]] || fail "the uninterrupted run exited with status $status" "$(show "$work/reference.err")"

if ! cmp -s "$work/reference.out" "$out"; then
  fail "the output differs from the uninterrupted run's" \
    "$(diff "$work/reference.out" "$out" | head -n 30 | sed 's/^/    /')"
fi
say "PASS: identical output ($(wc -l <"$out") lines, last: $(tail -n 1 "$out"))"
rm -f "$work"/*.ctx
