#!/usr/bin/env bash
# The crcore MPI demo: run an unmodified MPI program (built with mpicc) under `mpirun -am ft-enable-cr`,
# take a global snapshot of the whole job with `ompi-checkpoint --term`, restart it with `ompi-restart`,
# and check that it ends with the same results as an uninterrupted run.
#
# Usage: scripts/demo_mpi.sh [NP] [STEPS]      (default 4 ranks, 80 steps of about 50 ms)
#   Installs the dependencies (scripts/install-deps.sh; CRCORE_SKIP_DEPS=1 skips it) and builds into build/
#   (scripts/build.sh) first. Works in a fresh directory under build/demo/. Needs the rank library
#   (plugin/, libcrmpi.so).
# The program is tests/mpi/programs/collectives.c: every MPI collective in a loop, checking its own results,
# then "result collectives ranks=N hash=... errors=0" from rank 0.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
np="${1:-4}" steps="${2:-80}"
[[ "$np" =~ ^[1-9][0-9]*$ && "$steps" =~ ^[1-9][0-9]*$ ]] || { echo "usage: scripts/demo_mpi.sh [NP] [STEPS]" >&2; exit 2; }

step_no=0
step() {
  step_no=$((step_no + 1))
  printf '\n== %d. %s\n' "$step_no" "$*"
}
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
    kill -TERM "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
alive() { [[ -e "/proc/$1" ]] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
result_of() { grep '^result ' "$1" 2>/dev/null || true; }
# wait_progress FILE COUNT PID: until FILE has COUNT progress lines.
wait_progress() {
  local deadline=$((SECONDS + 120))
  until [[ "$(grep -c '^progress step' "$1" 2>/dev/null)" -ge "$2" ]]; do
    alive "$3" || stop "the job ended before it made progress" "$1" "${1%.out}.err"
    ((SECONDS < deadline)) || stop "no progress within 120 s" "$1"
    sleep 0.1
  done
}

if [[ "${CRCORE_SKIP_DEPS:-0}" != 1 ]]; then
  step "Install the Debian packages crcore needs (scripts/install-deps.sh)"
  scripts/install-deps.sh || stop "installing the dependencies failed (run as root, or set CRCORE_SKIP_DEPS=1)"
fi
step "Build crcore into build/ (scripts/build.sh)"
scripts/build.sh build || stop "the build failed (see the compiler output above)"
program="$root/build/tests/mpi/bin/collectives"
[[ -x "$program" ]] || stop "the build did not produce $program"

step "Load crcore's environment: . build/share/crcore/env.sh (its mpirun front end first on PATH)"
# shellcheck source=/dev/null
. build/share/crcore/env.sh
echo "mpirun is now $(command -v mpirun)"
if ((EUID == 0)); then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  echo "(as root: OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)"
fi
export OMPI_MCA_btl=self,vader

mkdir -p build/demo
dir="$(mktemp -d "$root/build/demo/mpi.XXXXXX")"
cd "$dir"
echo "working in ${dir#"$root"/}"

step "Run the job uninterrupted, without crcore: mpirun --oversubscribe -np $np collectives $steps"
mpirun --oversubscribe -np "$np" "$program" "$steps" >uninterrupted.out 2>uninterrupted.err ||
  stop "the uninterrupted run failed" uninterrupted.err
expected="$(result_of uninterrupted.out)"
[[ -n "$expected" ]] || stop "the uninterrupted run printed no result" uninterrupted.out
echo "$expected"

step "Start it under crcore: mpirun -am ft-enable-cr --oversubscribe -np $np collectives $steps &"
mpirun -am ft-enable-cr --oversubscribe -np "$np" "$program" "$steps" >job.out 2>job.err </dev/null &
job=$!
pids+=("$job")
echo "mpirun pid $job; waiting until the job has made some progress"
wait_progress job.out 3 "$job"
tail -n 1 job.out | sed 's/^/  | /'

step "Checkpoint every rank into one global snapshot, and end the job: ompi-checkpoint --term $job"
status=0
timeout -k 5 120 ompi-checkpoint --term --time 60 "$job" >checkpoint.out 2>checkpoint.err || status=$?
((status == 0)) || stop "ompi-checkpoint failed (exit $status)" checkpoint.err job.err
snapshot="$(tail -n 1 checkpoint.out)"
cat checkpoint.err
wait "$job" 2>/dev/null || true
echo "the job is gone; its output stops at: $(tail -n 1 job.out)"

step "Look at the snapshot: cr_info $(basename "$snapshot")"
cr_info "$snapshot" || stop "cr_info failed"

step "Restart the job from it: ompi-restart --oversubscribe $(basename "$snapshot")"
status=0
timeout -k 5 300 ompi-restart --oversubscribe "$snapshot" >restart.out 2>restart.err </dev/null || status=$?
((status == 0)) || stop "the restarted job failed (exit $status)" restart.err restart.out
tail -n 2 restart.out | sed 's/^/  | /'

step "Compare the results"
got="$(result_of restart.out)"
echo "uninterrupted:      $expected"
echo "checkpoint+restart: ${got:-(no result line)}"
[[ -n "$got" && "$got" == "$expected" ]] || stop "the results differ" restart.out
echo
echo "DEMO OK: the restarted MPI job gives the same result as the uninterrupted run"
rm -rf "$snapshot"
