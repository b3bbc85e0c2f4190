#!/usr/bin/env bash
# Thread placement across topologies: a program whose main thread is pinned to the last CPU and a
# worker to CPU 0 (tests/cases/cpu_affinity.c) is checkpointed; cr_info shows the recorded hwloc
# topology; restarted where hwloc sees a different machine (HWLOC_SYNTHETIC: 2 packages x 2 cores x
# 2 PUs), cr_restart says it maps by logical index and the threads end up where they were (the same
# logical PUs); restarted with --no-affinity, the main thread keeps cr_restart's CPUs instead.
# Usage: affinity_topology.sh --work DIR -- PROGRAM
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
parse_work_args 1 "affinity_topology.sh --work DIR -- PROGRAM" "$@"
program="${args[0]}"
require_tools "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART" "$CR_INFO" "$program"
rm -rf "$work"
mkdir -p "$work"
cd "$work" || fail "cannot enter $work"

# run TAG: the program under cr_run with the case protocol's files TAG.ready / TAG.go.
run() {
  CRCORE_CASE_READY="$work/$1.ready" CRCORE_CASE_GO="$work/$1.go" "$CR_RUN" "$program" >"$work/$1.out" 2>"$work/$1.err" &
  pid=$!
  track "$pid"
  local deadline=$((SECONDS + 60))
  until [[ -e "$work/$1.ready" ]]; do
    ((SECONDS < deadline)) && alive "$pid" || fail "$1: the program never became ready" "$(show "$work/$1.err")"
    sleep 0.02
  done
}

run plain
touch plain.go
wait "$pid" || fail "the uninterrupted run failed" "$(show plain.err)"

for mode in mapped no-affinity; do
  run "$mode"
  timeout 120 "$CR_CHECKPOINT" --kill -f "$mode.img" "$pid" >"$mode.ckpt" 2>&1 || fail "cr_checkpoint failed" "$(show "$mode.ckpt")"
  wait "$pid" 2>/dev/null
  if [[ "$mode" == mapped ]]; then
    timeout 60 "$CR_INFO" "$mode.img" >info.txt || fail "cr_info failed"
    grep -q '^topology .*PU(s)' info.txt || fail "cr_info does not show the recorded topology" "$(show info.txt)"
    say "$(grep '^topology' info.txt)"
    HWLOC_SYNTHETIC="pack:2 core:2 pu:2" "$CR_RESTART" "$mode.img" >"$mode.restart" 2>&1 &
  else
    "$CR_RESTART" --no-affinity "$mode.img" >"$mode.restart" 2>&1 &
  fi
  pid=$!
  track "$pid"
  touch "$mode.go"
  wait "$pid" || fail "$mode: the restarted program failed" "$(show "$mode.restart")"
done

grep -q "differs from this machine's (2 package(s), 4 core(s), 8 PU(s)" mapped.restart ||
  fail "cr_restart did not say it mapped onto the other topology" "$(show mapped.restart)"
cmp -s plain.out mapped.out || fail "mapped onto another topology, the threads are not where they were" \
  "$(diff plain.out mapped.out)"
# With --no-affinity the main thread keeps cr_restart's CPUs: all of them, not just the last one.
cpus=$(nproc)
if ((cpus > 1)); then
  grep -q "^main on $cpus cpu(s)" no-affinity.out || fail "--no-affinity still restored the main thread's CPUs" \
    "$(cat no-affinity.out)"
fi
say "PASS: $(cat mapped.out)"
