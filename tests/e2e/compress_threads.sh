#!/usr/bin/env bash
# Multithreaded compression (--compress with worker threads): a 4-thread program with 64 MiB of numeric
# data (bench/workload) is checkpointed with --compress while it runs (the copy-on-write writer
# compresses on CRCORE_COMPRESS_THREADS=3 workers) and then with --compress --kill (the process itself
# compresses with its threads stopped). Each image must hold compressed records cut in the workers'
# 2 MiB chunks, and a restart from each must give back every double: the workload checks all its
# memory when it ends ("verify OK").
#
# Usage: compress_threads.sh --work DIR -- WORKLOAD
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_work_args 1 "compress_threads.sh --work DIR -- WORKLOAD" "$@"
workload="${args[0]}"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART" "$CR_INFO" "$workload"
fresh_dir "$work"

# check_image IMAGE: compressed records, in chunks of the parallel writer (64 MiB => at least 32 records).
check_image() {
  local json records compressed
  json="$(timeout "$TOOL_TIMEOUT" "$CR_INFO" --json "$1")" || fail "cr_info refused $1"
  records="$(sed -n 's/.*"pages_records": *\([0-9]*\).*/\1/p' <<<"$json" | head -n 1)"
  compressed="$(sed -n 's/.*"compressed_records": *\([0-9]*\).*/\1/p' <<<"$json" | head -n 1)"
  say "  $1: $records Pages records, $compressed compressed"
  ((compressed > 0)) || fail "$1 has no compressed Pages record" "$json"
  ((records >= 32)) || fail "$1 has $records Pages records: the memory was not cut into the workers' chunks" "$json"
}

# restart_and_verify IMAGE N: restarts the image, checks it answers, ends it and expects its N-th
# "verify OK" in the program's log (its stdout, reopened by cr_restart).
restart_and_verify() {
  local image="$1" n="$2" pid deadline caught alive_before
  alive_before="$(count_lines "$log" '^alive')"
  "$CR_RESTART" "$image" >>"$work/restart.err" 2>&1 &
  track $!
  resolve_pid $! "$workload"  # cr_restart may supervise the restored process (its original pid free)
  pid="$target_pid"
  deadline=$((SECONDS + 60))
  while (($(count_lines "$log" '^alive') == alive_before)); do
    alive "$pid" || fail "the process restarted from $image ended" "$(show "$log")" "$(show "$work/restart.err")"
    ((SECONDS < deadline)) || fail "the process restarted from $image did not answer SIGUSR1" "$(show "$log")"
    # SIGUSR1 only once the restored program catches it again (its default action ends the process).
    caught="$(sed -n 's/^SigCgt:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)" || true
    if [[ -n "$caught" ]] && (((16#$caught & (1 << 9)) != 0)); then
      kill -USR1 "$pid" 2>/dev/null || true
    fi
    sleep 0.2
  done
  kill -TERM "$pid"
  wait_lines "$log" '^verify' "$n" 60 "$pid"
  (($(count_lines "$log" '^verify OK') == n)) || fail "the memory restarted from $image is wrong" "$(show "$log")"
  wait_gone "$pid" 10 || fail "the process restarted from $image did not end after verifying"
  say "  restarted from $image: verify OK"
}

log="$work/run.log"
CRCORE_COMPRESS_THREADS=3 "$CR_RUN" "$workload" 64 4 0 >>"$log" 2>&1 &
pid=$!
track "$pid"
checkpoint_parent="$pid"
wait_lines "$log" '^ready' 1 60 "$pid"
say "compressing while it runs (copy-on-write writer, 3 workers)"
checkpoint "$work/cow.img" "$pid" --compress
say "compressing with the threads stopped (--kill, 3 workers)"
checkpoint "$work/kill.img" "$pid" --compress --kill
wait_gone "$pid" 10 || fail "the process survived cr_checkpoint --kill"
reap "$pid"
check_image "$work/cow.img"
check_image "$work/kill.img"
restart_and_verify "$work/kill.img" 1
restart_and_verify "$work/cow.img" 2
say "PASS"
