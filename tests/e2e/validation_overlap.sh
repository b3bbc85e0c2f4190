#!/usr/bin/env bash
# cr_restart checks the page checksums while the restart stage loads the pages (docs/restart.md §1, "The
# page checksums, while the pages load"), and a damaged page payload is still refused before the program
# runs: status 1, the message naming the image and the damaged record, no output of the restored program.
#   1. an intact image restarts and its memory is right (the overlap, the default);
#   2. a byte of an uncompressed page payload damaged: refused by the stage on the validator's verdict;
#   3. the same image with CRCORE_RESTART_VALIDATE=first: refused before anything changes (the old order);
#   4. a byte of a compressed page payload damaged: refused (the feeder fails too: the verdict decides);
#   5. with --run-on-failure, and 6. for a process holding a file lock (taken again before the stage, which
#      others see): no overlap, every checksum first, before anything changes; the hook runs.
#
# Usage: validation_overlap.sh [--work DIR] -- PAGE_PAYLOADS
#   PAGE_PAYLOADS is tests/e2e/programs/page_payloads.c built (build/tests/e2e/page_payloads).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_work_args 1 "validation_overlap.sh --work DIR -- PAGE_PAYLOADS" "$@"
program="${args[0]}"
[[ -x "$program" ]] || fail "$program is not an executable"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART"
command -v python3 >/dev/null || fail "python3 is needed to find a page payload in an image"
fresh_dir "$work"
TOOL_TIMEOUT=60
mib=24
steps=20

# image NAME [cr_checkpoint options] [-- program arguments]: runs the program, checkpoints it with --kill into
# $work/NAME.ctx once it is ready; its output is $work/NAME.out.
image() {
  local name="$1" pid
  shift
  local ckpt=()
  while (($# > 0)) && [[ "$1" != -- ]]; do
    ckpt+=("$1")
    shift
  done
  (($# > 0)) && shift
  "$CR_RUN" "$program" "$mib" "$steps" "$@" >"$work/$name.out" 2>"$work/$name.err" </dev/null &
  pid=$!
  track "$pid"
  wait_lines "$work/$name.out" '^ready' 1 60 "$pid"
  checkpoint_parent="$pid" checkpoint "$work/$name.ctx" "$pid" --kill "${ckpt[@]}"
  reap "$pid"
}

# damage COPY FROM COMPRESSED: a copy of FROM with one byte inverted in the middle of the page bytes of its
# largest Pages record that is (1) or is not (0) compressed.
damage() {
  local copy="$1" from="$2" compressed="$3" offset byte
  offset="$(python3 - "$from" "$compressed" <<'PY'
import struct, sys
path, compressed = sys.argv[1], sys.argv[2] == "1"
data = open(path, "rb").read()
offset = struct.unpack_from("<I", data, 12)[0]  # FileHeader.header_size
best = None
while offset + 40 <= len(data):
    magic, kind, flags, _, _, stored, raw, _ = struct.unpack_from("<IHHIIQQQ", data, offset)
    payload = offset + 40
    if kind == 5 and bool(flags & 1) == compressed and stored > 16 and (best is None or stored > best[1]):
        best = (payload, stored)
    if kind == 0x7FFF:
        break
    offset = payload + stored
if best is None:
    sys.exit("no such Pages record in " + path)
print(best[0] + 16 + (best[1] - 16) // 2)
PY
)" || fail "cannot find a page payload to damage in $from"
  cp "$from" "$copy"
  byte="$(od -An -tu1 -j "$offset" -N1 "$from" | tr -d ' ')"
  # shellcheck disable=SC2059 # the format is an octal escape, on purpose
  printf "\\$(printf '%03o' $((byte ^ 255)))" | dd of="$copy" bs=1 seek="$offset" conv=notrunc status=none
  cmp -s "$from" "$copy" && fail "could not damage byte $offset of $copy"
  say "  $copy: byte $offset inverted"
}

# refused NAME IMAGE OUTPUT [cr_restart options]: cr_restart IMAGE must fail with status 1, say that the
# image's Pages record has a payload checksum mismatch, and the restored program must print nothing.
refused() {
  local name="$1" img="$2" out="$3" before status
  shift 3
  before="$(wc -l <"$out")"
  status="$(run_tool "$work/$name.stdout" "$work/$name.stderr" "$CR_RESTART" "$@" "$img")"
  [[ "$status" == 1 ]] || fail "$name: cr_restart exited $status, not 1" "$(show "$work/$name.stderr")"
  grep -q "^cr_restart: $img: record [0-9]* (Pages) at offset [0-9]*: payload checksum mismatch$" \
    "$work/$name.stderr" || fail "$name: no message naming the image and the damaged record" \
    "$(show "$work/$name.stderr")"
  [[ "$(wc -l <"$out")" == "$before" ]] || fail "$name: the restored program printed something" "$(show "$out")"
  [[ ! -s "$work/$name.stdout" ]] || fail "$name: output on cr_restart's stdout" "$(show "$work/$name.stdout")"
}
overlapped() { grep -q "abandoned before the program ran" "$work/$1.stderr"; }

say "1. an intact image restarts (pages checked while they load)"
image plain
status="$(run_tool "$work/restart-plain.stdout" "$work/restart-plain.stderr" "$CR_RESTART" "$work/plain.ctx")"
[[ "$status" == 0 ]] || fail "cr_restart of an intact image exited $status" "$(show "$work/restart-plain.stderr")"
if ! grep -q "^step $steps$" "$work/plain.out" || ! grep -q "^memory OK$" "$work/plain.out"; then
  fail "the restarted program did not finish with its memory intact" "$(show "$work/plain.out")"
fi
say "  restarted: memory OK"

say "2. a damaged uncompressed page payload: refused on the validator's verdict"
image raw
damage "$work/raw-damaged.ctx" "$work/raw.ctx" 0
refused overlap "$work/raw-damaged.ctx" "$work/raw.out"
overlapped overlap || fail "the overlapped check did not run (the stage said nothing)" "$(show "$work/overlap.stderr")"
say "  refused: $(grep -m1 checksum "$work/overlap.stderr")"

say "3. the same with CRCORE_RESTART_VALIDATE=first: refused before anything changes"
CRCORE_RESTART_VALIDATE=first refused first "$work/raw-damaged.ctx" "$work/raw.out"
overlapped first && fail "CRCORE_RESTART_VALIDATE=first still overlapped" "$(show "$work/first.stderr")"
[[ "$(wc -l <"$work/first.stderr")" == 1 ]] || fail "more than the one message" "$(show "$work/first.stderr")"
status="$(CRCORE_RESTART_VALIDATE=sometimes run_tool /dev/null "$work/bad-order.stderr" "$CR_RESTART" "$work/raw.ctx")"
if [[ "$status" != 1 ]] || ! grep -q "CRCORE_RESTART_VALIDATE='sometimes'" "$work/bad-order.stderr"; then
  fail "an unknown CRCORE_RESTART_VALIDATE was not refused (status $status)" "$(show "$work/bad-order.stderr")"
fi
say "  refused first; an unknown order refused"

say "4. a damaged compressed page payload: refused"
image zstd --compress
damage "$work/zstd-damaged.ctx" "$work/zstd.ctx" 1
refused compressed "$work/zstd-damaged.ctx" "$work/zstd.out"
overlapped compressed || fail "the overlapped check did not run" "$(show "$work/compressed.stderr")"
say "  refused: $(grep -m1 checksum "$work/compressed.stderr")"

say "5. --run-on-failure: every checksum first, the hook runs"
refused hook "$work/raw-damaged.ctx" "$work/raw.out" --run-on-failure "touch $work/hook-ran"
overlapped hook && fail "overlapped although a hook must run on failure" "$(show "$work/hook.stderr")"
[[ -e "$work/hook-ran" ]] || fail "--run-on-failure did not run"
say "  refused first, hook ran"

say "6. a file lock (taken again before the stage): every checksum first"
image locked -- "$work/lock.file"
damage "$work/locked-damaged.ctx" "$work/locked.ctx" 0
refused locked "$work/locked-damaged.ctx" "$work/locked.out"
overlapped locked && fail "overlapped although the restart takes a lock first" "$(show "$work/locked.stderr")"
[[ "$(wc -l <"$work/locked.stderr")" == 1 ]] || fail "more than the one message" "$(show "$work/locked.stderr")"
say "  refused first"

say "PASS"
rm -f "$work"/*.ctx
