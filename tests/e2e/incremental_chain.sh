#!/usr/bin/env bash
# End-to-end case for incremental images: a full checkpoint, then three with --incremental (the last
# one --kill), each restarted in turn (newest first) to the end of the program, whose output must equal
# an uninterrupted run's. Also: the incremental images are smaller than the full one; cr_info shows the
# chain; a chain with a missing parent is refused before anything runs.
#
# Usage: incremental_chain.sh [--work DIR] [--with "ARGS"] [--tracking auto|hash] -- PROGRAM ARGS...
#   --with "ARGS"   more cr_checkpoint options for every checkpoint ("--no-cow", "--compress")
#   --tracking M    CRCORE_DIRTY_TRACKING for the program (hash: the fallback of kernels without
#                   userfaultfd's asynchronous write-protect)
# PROGRAM prints "progress step N ..." lines (tests/e2e/programs/dirty_memory.c).
# Tools: see lib.sh (CRCORE_CR_* or CRCORE_BIN).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,12s/^# \{0,1\}//p' "$0"; }

work=""
extra=()
tracking=auto
while (($# > 0)); do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    --with) read -r -a extra <<<"$2"; shift 2 ;;
    --tracking) tracking="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) usage >&2; fail "unknown argument '$1'" ;;
  esac
done
(($# > 0)) || { usage >&2; fail "no program given"; }
prog="$1"
[[ -x "$prog" ]] || fail "$prog is not an executable"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART" "$CR_INFO"
: "${work:=$e2e_root/build/e2e-work/incremental}"
e2e_name="${e2e_name}:incremental:$(basename "$prog")"
fresh_dir "$work"
say "$* (tracking $tracking, cr_checkpoint ${extra[*]:-} ; scratch $work)"

"$@" >"$work/reference.out" 2>"$work/reference.err" </dev/null &
ref_pid=$!
track "$ref_pid"

out="$work/program.out"
CRCORE_DIRTY_TRACKING="$tracking" "$CR_RUN" "$@" >"$out" 2>"$work/program.err" </dev/null &
run_pid=$!
track "$run_pid"
wait_lines "$out" '^progress step' 3 60 "$run_pid"
resolve_pid "$run_pid" "$prog"
pid="$target_pid"

images=("$work/chain.1.ctx" "$work/chain.2.ctx" "$work/chain.3.ctx" "$work/chain.4.ctx")
for i in 1 2 3 4; do
  opts=(--cont)
  ((i > 1)) && opts+=(--incremental)
  ((i == 4)) && opts=(--incremental --kill)
  wait_lines "$out" '^progress step' $((3 + 5 * i)) 60 "$run_pid"
  say "checkpoint $i: ${opts[*]} ${extra[*]:-}"
  checkpoint_parent="$run_pid" checkpoint "${images[$((i - 1))]}" "$pid" "${opts[@]}" "${extra[@]}"
  kind="$(head -n 1 "${images[$((i - 1))]}.out")"
  if ((i == 1)); then
    [[ "$kind" == *": full,"* ]] || fail "the first checkpoint is not a full image" "$kind"
  else
    [[ "$kind" == *": incremental,"* ]] || fail "checkpoint $i --incremental wrote no incremental image" "$kind"
  fi
done
wait_gone "$pid" 30 || fail "cr_checkpoint --kill returned but process $pid is still alive"
reap "$run_pid"

# Each incremental image holds the pages changed since its parent (5 steps of about 5% each): much less
# memory than the full image (compared in raw page bytes, cr_checkpoint's "MiB of memory": compression
# shrinks this program's full image far more than its scattered changes).
memory_kib() { sed -n 's/.*(\([0-9.]*\) MiB of memory).*/\1/p' "$1.out" | awk '{ printf "%d", $1 * 1024 }'; }
full_kib="$(memory_kib "${images[0]}")"
for i in 2 3 4; do
  kib="$(memory_kib "${images[$((i - 1))]}")"
  ((kib * 2 < full_kib)) || fail "incremental image $i holds $kib KiB of memory, not much less than the full one ($full_kib)"
done
say "memory in the images (KiB): $(for f in "${images[@]}"; do printf '%s ' "$(memory_kib "$f")"; done)"

# cr_info shows the chain.
info="$work/chain.4.info"
status="$(run_tool "$info" "$info.err" "$CR_INFO" "${images[3]}")"
[[ "$status" == 0 ]] || fail "cr_info ${images[3]} exited with status $status" "$(show "$info.err")"
grep -q "incremental" "$info" || fail "cr_info does not say the image is incremental" "$(show "$info")"
grep -q "chain.1.ctx" "$info" || fail "cr_info does not show the chain down to chain.1.ctx" "$(show "$info")"

wait_gone "$ref_pid" 120 || fail "the reference run did not finish"
reap "$ref_pid"
[[ "$status" == 0 ]] || fail "the reference run exited with status $status"

# A missing parent: refused, with the reason, before the process exists.
mkdir -p "$work/away"
mv "${images[1]}" "$work/away/"
log="$work/missing.log"
status=0
"$CR_RESTART" "${images[3]}" >"$log" 2>&1 </dev/null || status=$?
[[ "$status" != 0 ]] || fail "cr_restart of a chain without its parent succeeded" "$(show "$log")"
grep -q "is not in" "$log" || fail "cr_restart did not say the parent is missing" "$(show "$log")"
mv "$work/away/$(basename "${images[1]}")" "${images[1]}"

# Restart from every image, newest first: each run continues to the end and writes the same output.
for i in 4 3 2 1; do
  say "cr_restart ${images[$((i - 1))]}"
  log="$work/restart.$i.log"
  "$CR_RESTART" "${images[$((i - 1))]}" >"$log" 2>&1 </dev/null &
  bg_pid=$!
  track "$bg_pid"
  wait_gone "$bg_pid" 120 || fail "the process restarted from image $i did not finish" "$(show "$log")"
  reap "$bg_pid"
  [[ "$status" == 0 ]] || fail "the process restarted from image $i exited with status $status" "$(show "$log")" \
    "$(show "$out")"
  cmp -s "$out" "$work/reference.out" ||
    fail "restarted from image $i, the output differs from the uninterrupted run" \
      "$(diff "$work/reference.out" "$out" | head -n 10)"
done
say "PASS"
