#!/usr/bin/env bash
# cr_restart's internal --image-proof (image/validation_proof.h) on an incremental chain: each image of
# the chain skips its page checksums only when the proof names that very file; any other file of the chain
# is validated fully, and a file damaged after the proof was made is refused before anything runs.
#
# Usage: image_proof_chain.sh [--work DIR] -- PROGRAM ARGS...   (PROGRAM: programs/dirty_memory)
# A full checkpoint (--cont), then an incremental one (--kill). The proofs are written here from each file's
# stat and its image id and End record (what ompi-restart's check states after validating a file):
#   - a proof for both files: no warning, the output equals an uninterrupted run's;
#   - for the newest only: the parent is validated fully (a warning names it), same output;
#   - malformed: a warning, everything validated, same output;
#   - then the parent damaged in place, and then the newest replaced by a damaged copy: each refused with
#     the checksum error and why the proof did not apply, and the output file is left as it was.
# Tools: see lib.sh (CRCORE_CR_* or CRCORE_BIN).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,14s/^# \{0,1\}//p' "$0"; }

work=""
while (($# > 0)); do
  case "$1" in
    --work) work="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) usage >&2; fail "unknown argument '$1'" ;;
  esac
done
(($# > 0)) || { usage >&2; fail "no program given"; }
prog="$1"
[[ -x "$prog" ]] || fail "$prog is not an executable"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART"
: "${work:=$e2e_root/build/e2e-work/image_proof_chain}"
e2e_name="${e2e_name}:image_proof_chain"
fresh_dir "$work"

"$@" >"$work/reference.out" 2>"$work/reference.err" </dev/null &
ref_pid=$!
track "$ref_pid"
out="$work/program.out"
"$CR_RUN" "$@" >"$out" 2>"$work/program.err" </dev/null &
run_pid=$!
track "$run_pid"
wait_lines "$out" '^progress step' 3 60 "$run_pid"
resolve_pid "$run_pid" "$prog"
pid="$target_pid"
full="$work/chain.1.ctx" newest="$work/chain.2.ctx"
checkpoint_parent="$run_pid" checkpoint "$full" "$pid" --cont
wait_lines "$out" '^progress step' 8 60 "$run_pid"
checkpoint_parent="$run_pid" checkpoint "$newest" "$pid" --incremental --kill
wait_gone "$pid" 30 || fail "cr_checkpoint --kill returned but process $pid is still alive"
reap "$run_pid"
wait_gone "$ref_pid" 120 || fail "the reference run did not finish"
reap "$ref_pid"
[[ "$status" == 0 ]] || fail "the reference run exited with status $status"
checkpointed_size="$(stat -c %s "$out")"
# Proofs are only made for files whose last change is at least 2 s old; this test writes its own, but
# keeps to the same rule.
sleep 2.5

# proof FILE...: the proof entries of the files as they are now (validation_proof.h's text form).
proof() {
  python3 - "$@" <<'PY'
import os, struct, sys
entries = []
for path in sys.argv[1:]:
    st = os.stat(path)
    with open(path, "rb") as f:
        image_id = f.read(48)[32:48]
        f.seek(st.st_size - 64 + 32)  # the End record's RecordHeader.payload_hash
        end_hash, = struct.unpack("<Q", f.read(8))
    entries.append(f"{st.st_dev}:{st.st_ino}:{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:"
                   f"{image_id.hex()}:{end_hash:016x}")
print(",".join(entries))
PY
}

# restart NAME PROOF: cr_restart --image-proof=PROOF of the newest image, to the program's end; sets status.
restart() {
  local name="$1" proof="$2"
  truncate -s "$checkpointed_size" "$out"
  "$CR_RESTART" --image-proof="$proof" "$newest" >"$work/$name.log" 2>&1 </dev/null &
  bg_pid=$!
  track "$bg_pid"
  wait_gone "$bg_pid" 120 || fail "$name: the restarted process did not finish" "$(show "$work/$name.log")"
  reap "$bg_pid"
}
same_output() {
  [[ "$status" == 0 ]] || fail "$1: the restarted process exited with status $status" "$(show "$work/$1.log")"
  cmp -s "$out" "$work/reference.out" ||
    fail "$1: the output differs from the uninterrupted run" "$(diff "$work/reference.out" "$out" | head -n 10)"
}

say "a proof for both images of the chain"
restart both "$(proof "$newest" "$full")"
same_output both
! grep -q 'not the file that was checked' "$work/both.log" || fail "a proof was not used" "$(show "$work/both.log")"

say "a proof for the newest image only: the parent is validated fully"
restart newest_only "$(proof "$newest")"
same_output newest_only
grep -q "warning: $full is not the file that was checked" "$work/newest_only.log" ||
  fail "no warning that the parent was validated fully" "$(show "$work/newest_only.log")"
! grep -q "$newest is not the file" "$work/newest_only.log" || fail "the newest image's proof was not used"

say "a malformed proof: everything validated"
restart malformed "1:2:3"
same_output malformed
grep -q 'is not a validation proof' "$work/malformed.log" || fail "no warning" "$(show "$work/malformed.log")"

# refused NAME REGEX: the restart failed with REGEX in its message, and the program's output is untouched.
refused() {
  [[ "$status" != 0 ]] || fail "$1: a damaged chain restarted" "$(show "$work/$1.log")"
  grep -q -E -- "$2" "$work/$1.log" || fail "$1: the message does not say /$2/" "$(show "$work/$1.log")"
  [[ "$(stat -c %s "$out")" == "$checkpointed_size" ]] || fail "$1: the refused restart wrote output"
  say "  refused: $(head -n 1 "$work/$1.log" | cut -c 1-220)"
}
both_proof="$(proof "$newest" "$full")"
cp -p "$full" "$work/full.intact"
size="$(stat -c %s "$full")"
printf '\x5a\xa5' | dd of="$full" bs=1 seek=$((size / 2)) conv=notrunc status=none

say "the parent damaged in place after the proof was made: refused"
restart parent_damaged "$both_proof"
refused parent_damaged "chain.1.ctx.*(checksum mismatch|record).*validation proof given did not apply: changed since it was checked"

say "the newest image replaced by a damaged copy: refused"
mv "$work/full.intact" "$full"
both_proof="$(proof "$newest" "$full")"
cp "$newest" "$work/new.ctx"
size="$(stat -c %s "$newest")"
printf '\x5a\xa5' | dd of="$work/new.ctx" bs=1 seek=$((size / 2)) conv=notrunc status=none
mv "$work/new.ctx" "$newest"
restart newest_replaced "$both_proof"
refused newest_replaced "chain.2.ctx.*validation proof given did not apply: the proof names no file with this device and inode"
say "PASS"
