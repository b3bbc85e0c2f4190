#!/usr/bin/env bash
# Multithreaded compression (--compress with worker threads): a 4-thread program with 64 MiB of numeric
# data (bench/workload) is checkpointed with --compress while it runs (the copy-on-write writer
# compresses on CRCORE_COMPRESS_THREADS=3 workers) and then with --compress --kill (the process itself
# compresses with its threads stopped). Each image must hold compressed records cut in the workers'
# 2 MiB chunks, most of them byte-shuffled, and a restart from each must give back every double: the
# workload checks all its memory when it ends ("verify OK").
#
# The restarts take both ways the compressed pages have into the restored process: the page feeder
# writing them straight into it (process_vm_writev, the default), and every piece down the pipe to the
# restart stage (CRCORE_FEEDER_PIPE_ONLY=1). An uncompressed copy-on-write image of the same memory is
# restarted with the stage's two extent readers (the default, with 16 MiB and more to read) and with one
# (CRCORE_RESTART_READERS=1).
#
# Usage: compress_threads.sh --work DIR -- WORKLOAD
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_work_args 1 "compress_threads.sh --work DIR -- WORKLOAD" "$@"
workload="${args[0]}"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART" "$CR_INFO" "$workload"
fresh_dir "$work"

# check_image IMAGE: compressed records, in chunks of the parallel writer (64 MiB => at least 32 records),
# byte-shuffled (the workload's doubles compress far better so: image-format.md, "Byte shuffle").
check_image() {
  local json records compressed shuffled
  json="$(timeout "$TOOL_TIMEOUT" "$CR_INFO" --json "$1")" || fail "cr_info refused $1"
  records="$(sed -n 's/.*"pages_records": *\([0-9]*\).*/\1/p' <<<"$json" | head -n 1)"
  compressed="$(sed -n 's/.*"compressed_records": *\([0-9]*\).*/\1/p' <<<"$json" | head -n 1)"
  shuffled="$(sed -n 's/.*"shuffled_records": *\([0-9]*\).*/\1/p' <<<"$json" | head -n 1)"
  say "  $1: $records Pages records, $compressed compressed, $shuffled of them byte-shuffled"
  ((compressed > 0)) || fail "$1 has no compressed Pages record" "$json"
  ((shuffled > 0)) || fail "$1 has no byte-shuffled Pages record" "$json"
  ((records >= 32)) || fail "$1 has $records Pages records: the memory was not cut into the workers' chunks" "$json"
}

log="$work/run.log"
CRCORE_COMPRESS_THREADS=3 "$CR_RUN" "$workload" 64 4 0 >>"$log" 2>&1 &
pid=$!
track "$pid"
checkpoint_parent="$pid"
wait_lines "$log" '^ready' 1 60 "$pid"
say "compressing while it runs (copy-on-write writer, 3 workers)"
checkpoint "$work/cow.img" "$pid" --compress
say "uncompressed, while it runs"
checkpoint "$work/plain.img" "$pid"
say "compressing with the threads stopped (--kill, 3 workers)"
checkpoint "$work/kill.img" "$pid" --compress --kill
wait_gone "$pid" 10 || fail "the process survived cr_checkpoint --kill"
reap "$pid"
check_image "$work/cow.img"
check_image "$work/kill.img"
say "the feeder writes the pages into the restored process"
CRCORE_FEEDER_DEBUG=1 restart_and_verify "$work/kill.img" 1 "$log" "$workload"
direct="$(sed -n 's/.*page feeder wrote \([0-9]*\) bytes directly.*/\1/p' "$work/restart.err" | tail -n 1)"
((${direct:-0} >= 64 * 1024 * 1024)) ||
  fail "the feeder wrote ${direct:-no} bytes into the restored process, not the 64 MiB" "$(show "$work/restart.err")"
say "every piece down the pipe to the stage"
CRCORE_FEEDER_PIPE_ONLY=1 CRCORE_FEEDER_DEBUG=1 restart_and_verify "$work/cow.img" 2 "$log" "$workload"
direct="$(sed -n 's/.*page feeder wrote \([0-9]*\) bytes directly.*/\1/p' "$work/restart.err" | tail -n 1)"
[[ "$direct" == 0 ]] || fail "with CRCORE_FEEDER_PIPE_ONLY=1 the feeder wrote ${direct:-?} bytes itself"
say "uncompressed: two extent readers, then one"
restart_and_verify "$work/plain.img" 3 "$log" "$workload"
CRCORE_RESTART_READERS=1 restart_and_verify "$work/plain.img" 4 "$log" "$workload"
say "PASS"
