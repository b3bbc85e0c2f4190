#!/usr/bin/env bash
# cr_run --hugepages: a 4-thread program with 64 MiB of malloc'd numeric data (bench/workload) runs
# with glibc.malloc.hugetlb=1, so its blocks are advised MADV_HUGEPAGE. It is checkpointed twice while
# it runs (the copy-on-write writer; after each, the runtime collapses the huge pages the writer's copy
# split), then with --kill. A restart from each image must give back every double ("verify OK") and
# the MADV_HUGEPAGE advice of the blocks (VmFlags "hg" in smaps, "hg" in the image's regions).
#
# Usage: hugepages.sh --work DIR -- WORKLOAD
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_work_args 1 "hugepages.sh --work DIR -- WORKLOAD" "$@"
workload="${args[0]}"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART" "$CR_INFO" "$workload"
fresh_dir "$work"

# advised_kib PID: the size of the process's mappings advised MADV_HUGEPAGE (malloc's blocks, which
# the kernel may merge into fewer mappings), in KiB.
advised_kib() {
  awk '/^Size:/ { size = $2 } /^VmFlags:/ && / hg/ { total += size } END { print total + 0 }' "/proc/$1/smaps"
}

# The 4 blocks of 16 MiB, at least, must be advised.
expect_advised() {
  local kib
  kib="$(advised_kib "$1")"
  ((kib >= 65536)) || fail "$2: $kib KiB advised MADV_HUGEPAGE, expected the 64 MiB of the blocks"
  say "  $2: $kib KiB advised MADV_HUGEPAGE"
}

restart_hook() { expect_advised "$1" "restarted process"; }

log="$work/run.log"
"$CR_RUN" --hugepages "$workload" 64 4 0 >>"$log" 2>&1 &
pid=$!
track "$pid"
checkpoint_parent="$pid"
wait_lines "$log" '^ready' 1 60 "$pid"
tr '\0' '\n' <"/proc/$pid/environ" | grep -qx 'GLIBC_TUNABLES=glibc.malloc.hugetlb=1' ||
  fail "cr_run --hugepages did not set GLIBC_TUNABLES" "$(tr '\0' '\n' <"/proc/$pid/environ" | grep GLIBC || true)"
expect_advised "$pid" "running process"
say "two checkpoints while it runs (copy-on-write writer)"
checkpoint "$work/cow1.img" "$pid"
checkpoint "$work/cow2.img" "$pid"
expect_advised "$pid" "after two checkpoints"
say "a checkpoint with --kill"
checkpoint "$work/kill.img" "$pid" --kill
wait_gone "$pid" 10 || fail "the process survived cr_checkpoint --kill"
reap "$pid"
for image in cow1 cow2 kill; do
  kib="$("$CR_INFO" --json --regions "$work/$image.img" | python3 -c '
import json, sys
regions = json.load(sys.stdin)["regions"]
print(sum(r["size"] for r in regions if "hg" in r["advice"]) // 1024)')"
  ((kib >= 65536)) || fail "$image.img: $kib KiB of regions advised hg, expected the 64 MiB of the blocks"
done
restart_and_verify "$work/kill.img" 1 "$log" "$workload"
restart_and_verify "$work/cow2.img" 2 "$log" "$workload"
say "PASS"
