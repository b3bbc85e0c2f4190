#!/usr/bin/env bash
# The crcore demo: checkpoint a running multithreaded program, kill it, restart it from its image, and
# check that it finishes with the same answer as a run that was never interrupted.
#
# Usage: scripts/demo.sh [STEPS]      (default 40 steps of the example program, about 10 s)
#   Installs the dependencies (scripts/install-deps.sh; set CRCORE_SKIP_DEPS=1 to skip) and builds into
#   build/ (scripts/build.sh) first. Works in a fresh directory under build/demo/.
# The program is crcore/examples/counter.c: 8 threads (computing over heap arrays, blocking on a pipe,
# waiting on a condition variable, spawning threads) and a final line `answer: <checksum>`.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
steps="${1:-40}"
[[ "$steps" =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/demo.sh [STEPS]" >&2; exit 2; }

bin="$root/build/bin"
step_no=0
step() {
  step_no=$((step_no + 1))
  printf '\n== %d. %s\n' "$step_no" "$*"
}
# stop MESSAGE [FILE...]: the demo stops here; says so, with the evidence.
stop() {
  local file
  printf '\nDEMO FAILED: %s\n' "$1"
  shift
  for file in "$@"; do
    if [[ -s "$file" ]]; then
      echo "--- last lines of $file:"
      tail -n 10 "$file" | sed 's/^/  | /'
    fi
  done
  [[ -n "${dir:-}" ]] && echo "(everything is kept in $dir)"
  exit 1
}
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
# Bash would print "Killed" when the checkpointed process is killed (SIGKILL cannot really be trapped).
# shellcheck disable=SC2173
trap : KILL 2>/dev/null || true
alive() { [[ -e "/proc/$1" ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
answer_of() { grep -m1 '^answer:' "$1" 2>/dev/null || true; }

if [[ "${CRCORE_SKIP_DEPS:-0}" != 1 ]]; then
  step "Install the Debian packages crcore needs (scripts/install-deps.sh)"
  scripts/install-deps.sh || stop "installing the dependencies failed (run as root, or set CRCORE_SKIP_DEPS=1)"
fi

step "Build crcore into build/ (scripts/build.sh)"
scripts/build.sh build || stop "the build failed (see the compiler output above)"
for tool in counter cr_run cr_checkpoint cr_restart cr_info; do
  [[ -x "$bin/$tool" ]] || stop "the build did not produce build/bin/$tool"
done

mkdir -p build/demo
dir="$(mktemp -d "$root/build/demo/run.XXXXXX")"
echo "working in ${dir#"$root"/}"
prog=(build/bin/counter "$steps")

step "Run the example uninterrupted, for the right answer: ${prog[*]}"
"${prog[@]}" >"$dir/uninterrupted.out" 2>"$dir/uninterrupted.err" ||
  stop "the uninterrupted run failed (exit $?)" "$dir/uninterrupted.err"
expected="$(answer_of "$dir/uninterrupted.out")"
[[ -n "$expected" ]] || stop "the uninterrupted run printed no answer" "$dir/uninterrupted.out"
echo "$expected"

step "Start it again under crcore, in the background: build/bin/cr_run ${prog[*]} > counter.out"
build/bin/cr_run "${prog[@]}" >"$dir/counter.out" 2>"$dir/counter.err" </dev/null &
pid=$!
pids+=("$pid")
echo "pid $pid; waiting until it has made some progress"
deadline=$((SECONDS + 60))
until [[ "$(grep -c '^progress step' "$dir/counter.out" 2>/dev/null)" -ge 3 ]]; do
  alive "$pid" || stop "the program ended before it made progress" "$dir/counter.out" "$dir/counter.err"
  ((SECONDS < deadline)) || stop "no progress within 60 s" "$dir/counter.out"
  sleep 0.1
done
tail -n 2 "$dir/counter.out" | sed 's/^/  | /'

step "Checkpoint it, and kill it once the image is safely written:"
echo "build/bin/cr_checkpoint --kill -f counter.ctx $pid"
status=0
timeout -k 5 120 build/bin/cr_checkpoint --kill -f "$dir/counter.ctx" "$pid" 2>"$dir/checkpoint.err" || status=$?
((status == 0)) || stop "cr_checkpoint failed (exit $status)" "$dir/checkpoint.err"
deadline=$((SECONDS + 30))
while alive "$pid"; do
  ((SECONDS < deadline)) || stop "cr_checkpoint --kill succeeded but process $pid still runs"
  sleep 0.1
done
wait "$pid" 2>/dev/null || true
echo "process $pid is gone; its output stops at: $(tail -n 1 "$dir/counter.out")"

step "Look at the image: build/bin/cr_info counter.ctx"
status=0
timeout -k 5 60 build/bin/cr_info "$dir/counter.ctx" 2>"$dir/info.err" || status=$?
((status == 0)) || stop "cr_info failed (exit $status)" "$dir/info.err"

step "Restart it from the image: build/bin/cr_restart counter.ctx"
echo "(the restored process finds its stdout again: counter.out, at the same offset)"
status=0
timeout -k 5 300 build/bin/cr_restart "$dir/counter.ctx" >"$dir/restart.log" 2>&1 </dev/null || status=$?
if ((status == 124)); then
  stop "cr_restart failed: the restored program did not finish within 300 s" "$dir/restart.log" "$dir/counter.out"
elif ((status != 0)); then
  stop "cr_restart failed: exit status $status" "$dir/restart.log" "$dir/counter.out" "$dir/counter.err"
fi
tail -n 2 "$dir/counter.out" | sed 's/^/  | /'

step "Compare the answers"
got="$(answer_of "$dir/counter.out")"
echo "uninterrupted:      $expected"
echo "checkpoint+restart: ${got:-(no answer line)}"
if [[ -z "$got" ]]; then
  stop "the restarted program printed no answer to counter.out" "$dir/counter.out" "$dir/restart.log"
elif [[ "$got" != "$expected" ]]; then
  stop "the answers differ" "$dir/counter.out"
fi
echo
echo "DEMO OK: same answer as the uninterrupted run"
rm -f "$dir/counter.ctx"
