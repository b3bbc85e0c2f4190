#!/usr/bin/env bash
# Compares crcore's two checkpoint backends on the same process: the user backend (the runtime stops
# its threads with tgkill) and the kernel-module backend (/dev/crcore triggers phase 1 and phase 2 and
# captures the registers). Needs the crcore module loaded: on the hosts this project is built on that
# means inside the test guest, where tests/kmod/guest_tests.sh runs it (the kmod lane prints its table).
#
# Usage: kmod_backends.sh [--repeat N] [--size MIB] [--threads T] --bin DIR --workload PATH --dir DIR
# For each backend, N times alternately: a checkpoint with --cont (pause_ms and total_ms as
# cr_checkpoint reports them), a checkpoint with --kill, and cr_restart --kill of that image (restart_s,
# wall clock). Prints one line per backend with the medians; informational, it never fails on a time.
set -euo pipefail
repeat=5 size=16 threads=4 bin="" workload="" dir=""
while (($# > 0)); do
  case "$1" in
    --repeat) repeat="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --bin) bin="$2"; shift 2 ;;
    --workload) workload="$2"; shift 2 ;;
    --dir) dir="$2"; shift 2 ;;
    *) echo "kmod_backends.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
[[ -x "$bin/cr_checkpoint" && -x "$workload" && -n "$dir" ]] || { echo "kmod_backends.sh: give --bin, --workload, --dir" >&2; exit 2; }
[[ -c /dev/crcore ]] || { echo "kmod_backends.sh: /dev/crcore is missing: load crcore.ko first" >&2; exit 1; }
mkdir -p "$dir"
trap : KILL 2>/dev/null || true # no "Killed" notices for the --kill checkpoints and restarts
median() { sort -n | awk '{v[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print v[(NR+1)/2]; else printf "%.3f\n", (v[NR/2]+v[NR/2+1])/2}'; }
wait_ready() {
  local deadline=$((SECONDS + 120))
  until grep -q '^ready' "$1"; do
    ((SECONDS < deadline)) || { echo "kmod_backends.sh: the workload never got ready" >&2; exit 1; }
    sleep 0.1
  done
}
declare -A pause total restart
for ((i = 0; i < repeat; ++i)); do
  for backend in user kmod; do
    out="$dir/$backend.$i.out"
    "$bin/cr_run" "$workload" "$size" "$threads" >"$out" 2>&1 &
    pid=$!
    wait_ready "$out"
    line="$("$bin/cr_checkpoint" --backend="$backend" --cont --clobber -f "$dir/$backend.cont.ctx" "$pid")"
    pause[$backend]+="$(sed -n 's/.*paused \([0-9.]*\) ms.*/\1/p' <<<"$line") "
    total[$backend]+="$(sed -n 's/.*total \([0-9.]*\) ms.*/\1/p' <<<"$line") "
    "$bin/cr_checkpoint" --backend="$backend" --kill --clobber -q -f "$dir/$backend.ctx" "$pid"
    wait "$pid" 2>/dev/null || true
    t0=$(date +%s.%N)
    ("$bin/cr_restart" --kill "$dir/$backend.ctx" >/dev/null 2>&1) 2>/dev/null || true # ends in SIGKILL
    t1=$(date +%s.%N)
    restart[$backend]+="$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') "
  done
done
printf '%-8s %6s %8s %10s %10s %10s\n' backend MiB threads pause_ms ckpt_ms restart_s
for backend in user kmod; do
  printf '%-8s %6s %8s %10s %10s %10s\n' "$backend" "$size" "$threads" \
    "$(tr ' ' '\n' <<<"${pause[$backend]}" | grep . | median)" \
    "$(tr ' ' '\n' <<<"${total[$backend]}" | grep . | median)" \
    "$(tr ' ' '\n' <<<"${restart[$backend]}" | grep . | median)"
done
rm -f "$dir"/*.ctx
