#!/usr/bin/env bash
# The checkpoint/restart case list (tests/cases/README.md has the protocol and the cases).
#
# Usage: run_cases.sh [--work DIR] [--jobs N] [--keep] [--cow] [NAME...]
# Every case listed in tests/cases/CASES and tests/cases/*/CASES (`name scope expect description`;
# a subdirectory with its own CMakeLists.txt, like tree/, runs its cases itself)
# is built from tests/cases/[DIR/]NAME.c (or run as NAME.sh) and run twice: once uninterrupted, and
# once checkpointed (cr_checkpoint --kill, with --tree/--pgid/--sid for those scopes) when it says it
# is ready, restarted (cr_restart) and told to go on; its stdout must be the same both times. A case
# expecting `refuse:WORD` must instead see the checkpoint fail with a message containing WORD and the
# program then finish normally. One line per case, then `N passed, N failed`; exit 1 on any failure.
# --cow: checkpoint every case with the copy-on-write writer (--cont, then killed here).
# NAME...: run only these cases. Tools: as tests/e2e/lib.sh (CRCORE_CR_* or CRCORE_BIN).
set -u -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
: "${CRCORE_BIN:=$root/build/bin}"
CR_RUN="${CRCORE_CR_RUN:-$CRCORE_BIN/cr_run}"
CR_CHECKPOINT="${CRCORE_CR_CHECKPOINT:-$CRCORE_BIN/cr_checkpoint}"
CR_RESTART="${CRCORE_CR_RESTART:-$CRCORE_BIN/cr_restart}"
CC="${CC:-cc}"
STEP_TIMEOUT="${CRCORE_CASE_TIMEOUT:-60}"  # deadline of each step of a case (never a measurement)

work="${TMPDIR:-/tmp}/crcore-cases.$$"
jobs=4
keep=0
cow=0
only=()
while (($# > 0)); do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --keep) keep=1; shift ;;
    --cow) cow=1; shift ;;
    -h | --help) sed -n '2,13p' "$0"; exit 0 ;;
    -*) echo "run_cases.sh: unknown option $1" >&2; exit 2 ;;
    *) only+=("$1"); shift ;;
  esac
done
for tool in "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART"; do
  [[ -x "$tool" ]] || { echo "run_cases.sh: $tool is missing: build first (scripts/build.sh)" >&2; exit 2; }
done
rm -rf "$work"
mkdir -p "$work"
work="$(cd "$work" && pwd)"

# ---- one case ----

# alive PID: exists and is not a zombie.
alive() {
  local state
  state="$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

# wait_file PATH PID: until PATH exists (true), or PID has ended / the deadline passed (false).
wait_file() {
  local deadline=$((SECONDS + STEP_TIMEOUT))
  while [[ ! -e "$1" ]]; do
    if ! alive "$2" || ((SECONDS > deadline)); then
      [[ -e "$1" ]]
      return
    fi
    sleep 0.02
  done
}

# finish PID: waits for a child of this shell with a deadline; its status, or 124 on timeout (killed).
finish() {
  local pid="$1" deadline=$((SECONDS + STEP_TIMEOUT))
  while alive "$pid"; do
    if ((SECONDS > deadline)); then
      kill -KILL "$pid" 2>/dev/null
      wait "$pid" 2>/dev/null
      return 124
    fi
    sleep 0.02
  done
  wait "$pid" 2>/dev/null
}

# launch DIR TAG COMMAND...: starts COMMAND with the protocol's files DIR/TAG.ready and DIR/TAG.go,
# stdout in DIR/TAG.out, stderr in DIR/TAG.err, in a session of its own; sets $launched.
# A case marked `case: under-pty` in its source runs under script(1), on a pseudo-terminal.
launch() {
  local dir="$1" tag="$2"
  shift 2
  rm -f "$dir/$tag.ready" "$dir/$tag.go"
  if [[ "$pty" == 1 ]]; then
    local line
    printf -v line '%q ' "$@"
    CRCORE_CASE_READY="$dir/$tag.ready" CRCORE_CASE_GO="$dir/$tag.go" \
      setsid script -qec "exec $line 2>$(printf %q "$dir/$tag.err")" /dev/null </dev/null >"$dir/$tag.out" 2>&1 &
  else
    CRCORE_CASE_READY="$dir/$tag.ready" CRCORE_CASE_GO="$dir/$tag.go" \
      setsid "$@" </dev/null >"$dir/$tag.out" 2>"$dir/$tag.err" &
  fi
  launched=$!
}

# The pid the case wrote into its ready file (case.h), else the launched one.
case_pid() {
  local pid
  pid="$(head -n1 "$1" 2>/dev/null | tr -dc 0-9)"
  echo "${pid:-$2}"
}

# run_one NAME SCOPE EXPECT PROGRAM...: prints "PASS ..." or "FAIL ...: why" (one line) and a log.
run_one() {
  local name="$1" scope="$2" expect="$3"
  shift 3
  local dir="$work/$name"
  mkdir -p "$dir"
  cd "$dir" || return 1
  pty=0
  if [[ -f "$dir/under-pty" ]]; then pty=1; fi
  # 1. Uninterrupted.
  launch "$dir" plain "$CR_RUN" "$@"
  local pid=$launched status
  if ! wait_file "$dir/plain.ready" "$pid"; then
    finish "$pid"; status=$?
    echo "FAIL $name: the uninterrupted run never became ready (exit $status; see $dir/plain.err)"
    return
  fi
  touch "$dir/plain.go"
  finish "$pid"; status=$?
  if ((status != 0)); then
    echo "FAIL $name: the uninterrupted run exited with $status (see $dir/plain.err)"
    return
  fi
  # 2. Checkpointed while the resource is live.
  launch "$dir" ckpt "$CR_RUN" "$@"
  pid=$launched
  if ! wait_file "$dir/ckpt.ready" "$pid"; then
    finish "$pid"; status=$?
    echo "FAIL $name: the checkpointed run never became ready (exit $status; see $dir/ckpt.err)"
    return
  fi
  local target scope_args=()
  target="$(case_pid "$dir/ckpt.ready" "$pid")"
  case "$scope" in
    single) ;;
    tree) scope_args=(--tree) ;;
    pgid) scope_args=(--pgid); target="$(ps -o pgid= -p "$target" | tr -d ' ')" ;;
    sid) scope_args=(--sid); target="$(ps -o sid= -p "$target" | tr -d ' ')" ;;
    *) echo "FAIL $name: unknown scope $scope"; kill -KILL "$pid"; return ;;
  esac
  rm -f "$dir/image"
  # A case marked `case: copy-on-write` is checkpointed while it goes on (the forked writer), then
  # killed here; every other case is checkpointed with --kill (written in place), unless --cow asks
  # for the copy-on-write writer everywhere.
  local after=--kill
  [[ -f "$dir/copy-on-write" || "$cow" == 1 ]] && after=--cont
  timeout -s KILL "$STEP_TIMEOUT" "$CR_CHECKPOINT" "$after" "${scope_args[@]}" -f "$dir/image" "$target" \
    >"$dir/checkpoint.log" 2>&1
  status=$?
  if ((status == 0)) && [[ "$after" == --cont ]]; then
    kill -KILL "$target" 2>/dev/null
  fi
  if [[ "$expect" == refuse:* ]]; then
    local word="${expect#refuse:}"
    if ((status == 0)); then
      kill -KILL "$pid" 2>/dev/null
      echo "FAIL $name: the checkpoint succeeded; expected a refusal mentioning '$word'"
      return
    fi
    if ! grep -qi -- "$word" "$dir/checkpoint.log"; then
      kill -KILL "$pid" 2>/dev/null
      echo "FAIL $name: refused without mentioning '$word': $(tr '\n' ' ' <"$dir/checkpoint.log")"
      return
    fi
    touch "$dir/ckpt.go"
    finish "$pid"; status=$?
    if ((status != 0)); then
      echo "FAIL $name: after the refusal the program exited with $status (see $dir/ckpt.err)"
      return
    fi
    if ! cmp -s "$dir/plain.out" "$dir/ckpt.out"; then
      echo "FAIL $name: after the refusal the output differs (diff $dir/plain.out $dir/ckpt.out)"
      return
    fi
    echo "PASS $name (refused: $(grep -i -m1 -- "$word" "$dir/checkpoint.log" | cut -c1-160))"
    return
  fi
  if ((status != 0)); then
    kill -KILL "$pid" 2>/dev/null
    echo "FAIL $name: cr_checkpoint failed ($status): $(tr '\n' ' ' <"$dir/checkpoint.log" | cut -c1-300)"
    return
  fi
  finish "$pid" >/dev/null
  # A case may leave commands for this point, between the kill and the restart (case.h
  # case_after_kill(): e.g. removing its SysV objects, so that the restart must recreate them).
  if [[ -f "$dir/after-kill" ]] && ! bash "$dir/after-kill" >>"$dir/checkpoint.log" 2>&1; then
    echo "FAIL $name: its after-kill commands failed (see $dir/checkpoint.log)"
    return
  fi
  # 3. Restarted: its stdout is the same file again (reopened at its offset), or a new terminal.
  local before=""
  if [[ "$pty" == 1 ]]; then
    before="$(cat "$dir/ckpt.out")"
  fi
  launch "$dir" restart "$CR_RESTART" "$dir/image"
  pid=$launched
  if [[ "$pty" == 0 ]]; then
    # The restored process writes into ckpt.out (reopened by path); restart.out holds cr_restart's own.
    :
  fi
  # The restored process polls the go file of the checkpointed run.
  touch "$dir/ckpt.go"
  finish "$pid"; status=$?
  if ((status != 0)); then
    echo "FAIL $name: the restarted program exited with $status (see $dir/restart.err)"
    return
  fi
  local got="$dir/ckpt.out"
  if [[ "$pty" == 1 ]]; then
    printf '%s' "$before" >"$dir/restarted.out"
    cat "$dir/restart.out" >>"$dir/restarted.out"
    got="$dir/restarted.out"
  fi
  if ! cmp -s "$dir/plain.out" "$got"; then
    echo "FAIL $name: the output after restart differs (diff $dir/plain.out $got)"
    return
  fi
  echo "PASS $name"
}

# ---- the list ----

declare -a names scopes expects sources
while read -r list; do
  sub="$(dirname "$list")"
  while read -r name scope expect _; do
    [[ -z "$name" || "$name" == \#* ]] && continue
    if ((${#only[@]} > 0)); then
      wanted=0
      for o in "${only[@]}"; do [[ "$o" == "$name" ]] && wanted=1; done
      ((wanted)) || continue
    fi
    if [[ -f "$sub/$name.c" ]]; then
      src="$sub/$name.c"
    elif [[ -f "$sub/$name.sh" ]]; then
      src="$sub/$name.sh"
    else
      echo "FAIL $name: no $sub/$name.c or .sh"
      src=""
    fi
    names+=("$name"); scopes+=("$scope"); expects+=("$expect"); sources+=("$src")
  done <"$list"
done < <(
  ls "$here/CASES"
  # A subdirectory with a CMakeLists.txt of its own builds and runs its cases itself (tests/cases/tree:
  # e2e_tree_cases, programs linked with libcr, one pid namespace per case): not run twice here.
  for list in "$here"/*/CASES; do
    [[ -f "$list" && ! -f "$(dirname "$list")/CMakeLists.txt" ]] && echo "$list"
  done
)
if [[ -z "${names[*]+set}" ]]; then
  echo "run_cases.sh: no case to run (no case named ${only[*]:-} in $here/CASES; tree cases run as e2e_tree_cases)" >&2
  exit 2
fi

# Build (in parallel), then run (in parallel, `jobs` at a time), printing each result as it comes.
build_one() {
  local name="$1" src="$2" dir="$work/$1"
  mkdir -p "$dir"
  if grep -q 'case: under-pty' "$src"; then touch "$dir/under-pty"; fi
  if grep -q 'case: copy-on-write' "$src"; then touch "$dir/copy-on-write"; fi
  case "$src" in
    *.c) "$CC" -O1 -g -Wall -pthread -I"$here" -o "$dir/$name" "$src" -lrt >"$dir/build.log" 2>&1 ;;
    *.sh) cp "$src" "$dir/$name" && chmod +x "$dir/$name" ;;
  esac
}
results="$work/results"
: >"$results"
run_case_job() {
  local i="$1" line
  local name="${names[$i]}" src="${sources[$i]}"
  if [[ -z "$src" ]]; then
    line="FAIL $name: no program"
  elif ! build_one "$name" "$src"; then
    line="FAIL $name: does not build (see $work/$name/build.log)"
  else
    line="$(run_one "$name" "${scopes[$i]}" "${expects[$i]}" "$work/$name/$name")"
  fi
  echo "$line"
  echo "$line" >>"$results"
}

start=$SECONDS
running=0
for i in "${!names[@]}"; do
  run_case_job "$i" &
  running=$((running + 1))
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
done
wait
passed="$(grep -c '^PASS' "$results")"
failed="$(grep -c '^FAIL' "$results")"
total=${#names[@]}
if ((passed + failed != total)); then
  failed=$((total - passed))
fi
echo "$passed passed, $failed failed ($((SECONDS - start)) s)"
if ((failed == 0 && keep == 0)); then
  rm -rf "$work"
fi
((failed == 0))
