#!/usr/bin/env bash
# The kmod test cases, run as root INSIDE the test guest (tests/kmod/run_kmod_tests.sh boots it): the
# host's root file system is mounted read-only, /run/tmp is the guest's own tmpfs (TMPDIR). Every line that starts
# with "KMOD-" is read by the host harness; the last one is "KMOD-TESTS: PASS" or "KMOD-TESTS: FAIL".
#
# Reads its settings from the file named by $crcore_env (written by the host harness): MODULE (crcore.ko),
# E2E (tests/e2e), PROBE (kmod_probe), COUNTER, BLCR_CLIENT, SLOW_CALLBACK, BENCH (bench/kmod_backends.sh),
# WORKLOAD (bench/workload), CRCORE_CR_* (the tools).
set -uo pipefail
# shellcheck disable=SC1090
source "${crcore_env:?the harness passes crcore_env=FILE on the kernel command line}"
export CRCORE_CR_RUN CRCORE_CR_CHECKPOINT CRCORE_CR_RESTART CRCORE_CR_INFO

# Bash reports every background job that dies of SIGKILL (cr_checkpoint --kill, kill -KILL) unless the
# signal "is trapped"; SIGKILL cannot really be caught: this only silences those notices.
trap : KILL 2>/dev/null || true
start=$SECONDS
failed=0
pids=()
note() { printf 'KMOD-NOTE %s\n' "$*"; }
pass() { printf 'KMOD-CASE %s: ok (%ds)\n' "$1" $((SECONDS - case_start)); }
failcase() {
  printf 'KMOD-CASE %s: FAIL %s\n' "$1" "$2"
  shift 2
  (($# > 0)) && printf '    %s\n' "$@"
  failed=1
}
begin() { case_start=$SECONDS; printf 'KMOD-BEGIN %s\n' "$1"; }
alive() {
  local state
  state="$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}
cleanup() { for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done; pids=(); }
wait_line() {  # FILE REGEX SECONDS
  local deadline=$((SECONDS + $3))
  until grep -q -E -- "$2" "$1" 2>/dev/null; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
kernel_problems() {  # oops, warnings, slab corruption, hung tasks: anything the debug options report
  # slub_debug reports start with "BUG <cache> (...): Redzone overwritten" and the like.
  dmesg | grep -E 'BUG[: ]|WARNING:|Oops|general protection|Call Trace|list_(add|del) corruption|refcount_t:|Redzone|Poison overwritten|Object already free|Freepointer corrupt|INFO: task .* blocked|stack-protector|Kernel panic' |
    grep -v -E 'loading out-of-tree module|module verification failed' || true
}

work=/run/tmp/kmod-work
mkdir -p "$work/bin"
# Every checkpoint and restart of the e2e scripts goes through the module, never quietly through
# the control socket.
cat >"$work/bin/cr_checkpoint" <<EOS
#!/bin/sh
exec "$CRCORE_CR_CHECKPOINT" --backend=kmod "\$@"
EOS
cat >"$work/bin/cr_restart" <<EOS
#!/bin/sh
exec "$CRCORE_CR_RESTART" --backend=kmod "\$@"
EOS
chmod +x "$work/bin/"*
KCKPT="$work/bin/cr_checkpoint"
completed() { "$PROBE" version | sed -n 's/.* completed \([0-9]*\)$/\1/p'; }

note "guest kernel $(uname -r), $(nproc) cpus, $(sed -n 's/MemTotal: *//p' /proc/meminfo)"

# 1. The module loads, the device appears, its ABI answers.
begin load
if ! out="$(insmod "$MODULE" 2>&1)"; then
  failcase load "insmod $MODULE failed" "$out"
  echo "KMOD-TESTS: FAIL"
  exit 1
fi
if [[ -c /dev/crcore ]] && "$PROBE" version | grep -q '^abi 1 clients 0 requests 0'; then
  note "$(ls -l /dev/crcore) $("$PROBE" version)"
  pass load
else
  failcase load "/dev/crcore missing or wrong ABI" "$(ls -l /dev/crcore 2>&1)" "$("$PROBE" version 2>&1)"
fi

# 2. Malformed ioctls: every one refused with its errno, nothing changes.
begin malformed
if out="$("$PROBE" malformed 2>&1)"; then pass malformed; else failcase malformed "a malformed ioctl was not refused properly" "$out"; fi
echo "$out" | sed 's/^/KMOD-NOTE   /'

# 3. The e2e cases, through the module: a multithreaded program checkpointed while it runs, and
# killed + restarted 3 times; each must print exactly what an uninterrupted run prints.
for mode in continue restart; do
  begin "counter_$mode"
  before="$(completed)"
  args=(--mode "$mode" --work "$work/counter_$mode" --with "--backend=kmod")
  [[ "$mode" == continue ]] && args+=(--checkpoints 3 --interval 2)
  [[ "$mode" == restart ]] && args+=(--cycles 3 --restart-with "--backend=kmod")
  if out="$(bash "$E2E/run_case.sh" "${args[@]}" -- "$COUNTER" 150 2>&1)"; then
    n=$(($(completed) - before))
    want=3
    if ((n >= want)); then pass "counter_$mode"; note "counter_$mode: $n checkpoints through the module"; else failcase "counter_$mode" "only $n of $want checkpoints went through the module"; fi
  else
    failcase "counter_$mode" "run_case.sh failed" "$(echo "$out" | tail -20)"
  fi
  echo "$out" | grep -E 'paused|PASS|same' | head -4 | sed 's/^/KMOD-NOTE   /'
done

# 4. The BLCR-style callback program (libcr API, -lcr): continue, then kill + restart.
begin blcr_client
before="$(completed)"
if out="$(CRCORE_E2E_BLCR_SECONDS=12 CRCORE_CR_CHECKPOINT="$KCKPT" bash "$E2E/blcr_case.sh" --work "$work/blcr" -- "$BLCR_CLIENT" 2>&1)"; then
  n=$(($(completed) - before))
  if ((n >= 2)); then pass blcr_client; else failcase blcr_client "only $n checkpoints went through the module"; fi
else
  failcase blcr_client "blcr_case.sh failed" "$(echo "$out" | tail -20)"
fi

# 5. A kmod image is an ordinary image: cr_info reads it, cr_restart (the default backend) restores it.
begin image_format
img="$work/fmt.ctx"
"$CRCORE_CR_RUN" "$COUNTER" 100 >"$work/fmt.out" 2>&1 &
pid=$!
pids+=("$pid")
if wait_line "$work/fmt.out" '^progress step' 30 && "$KCKPT" --kill -f "$img" "$pid" >"$work/fmt.ckpt" 2>&1 &&
  "$CRCORE_CR_INFO" "$img" >"$work/fmt.info" 2>&1 && grep -q -i thread "$work/fmt.info" &&
  { "$CRCORE_CR_RESTART" --backend=user --kill "$img" >"$work/fmt.rst" 2>&1; (($? == 137)); }; then
  # (cr_restart --kill becomes the restored process and kills it at once: status 128 + SIGKILL)
  pass image_format
  note "$(head -1 "$work/fmt.ckpt")"
else
  failcase image_format "checkpoint, cr_info or cr_restart failed" "$(cat "$work/fmt.ckpt" "$work/fmt.info" "$work/fmt.rst" 2>&1 | tail -8)"
fi
cleanup

# 6. Access: another user is refused by the module itself.
begin access
"$CRCORE_CR_RUN" "$COUNTER" 200 >"$work/acc.out" 2>&1 &
pid=$!
pids+=("$pid")
if wait_line "$work/acc.out" '^progress step' 30 && out="$("$PROBE" access "$pid" 2>&1)"; then pass access; else failcase access "uid 65534 was not refused" "$out"; fi

# 7. rmmod while a registered process holds the device: refused. (It goes on below, idle.)
begin rmmod_busy
if rmmod crcore 2>"$work/rmmod.err"; then
  failcase rmmod_busy "rmmod succeeded while process $pid is registered"
  insmod "$MODULE"
else
  pass rmmod_busy
  note "rmmod refused: $(cat "$work/rmmod.err")"
fi
cleanup

# 8. Concurrent requests: a second request for a process in phase 1 is refused (busy); two processes
# at once both succeed.
begin concurrent
"$CRCORE_CR_RUN" "$SLOW_CALLBACK" 400 1500 >"$work/cc.out" 2>&1 &
pid=$!
pids+=("$pid")
"$CRCORE_CR_RUN" "$COUNTER" 200 >"$work/cc2.out" 2>&1 &
pid2=$!
pids+=("$pid2")
wait_line "$work/cc.out" '^progress step' 30 && wait_line "$work/cc2.out" '^progress step' 30
"$KCKPT" -f "$work/cc.a.ctx" "$pid" >"$work/cc.a" 2>&1 &
a=$!
sleep 0.5
"$KCKPT" -f "$work/cc.b.ctx" "$pid" >"$work/cc.b" 2>&1
b_status=$?
"$KCKPT" -f "$work/cc.c.ctx" "$pid2" >"$work/cc.c" 2>&1 &
c=$!
wait "$a"
a_status=$?
wait "$c"
c_status=$?
if ((a_status == 0 && b_status != 0 && c_status == 0)) && grep -q 'in progress' "$work/cc.b" && alive "$pid" && alive "$pid2"; then
  pass concurrent
else
  failcase concurrent "statuses $a_status/$b_status/$c_status" "$(cat "$work/cc.a" "$work/cc.b" "$work/cc.c")"
fi
cleanup

# 9. The requester killed mid-request (phase 1): the process goes on, no temporary file stays, and the
# next checkpoint works.
begin requester_killed
"$CRCORE_CR_RUN" "$SLOW_CALLBACK" 400 1500 >"$work/rk.out" 2>&1 &
pid=$!
pids+=("$pid")
wait_line "$work/rk.out" '^progress step' 30
mkdir -p "$work/rk"
"$KCKPT" -f "$work/rk/img.ctx" "$pid" >"$work/rk.ckpt" 2>&1 &
req=$!
sleep 0.5
kill -KILL "$req"
wait "$req" 2>/dev/null
sleep 3 # the runtime finishes phase 1 and 2, reports, and finds no commit
left="$(find "$work/rk" -type f | wc -l)"
if alive "$pid" && ((left == 0)) && "$KCKPT" -f "$work/rk/again.ctx" "$pid" >"$work/rk.again" 2>&1; then
  pass requester_killed
else
  failcase requester_killed "alive=$(alive "$pid" && echo yes || echo no) files left=$left" "$(ls -la "$work/rk")" "$(cat "$work/rk.again" 2>&1)"
fi
cleanup

# 10. The target killed mid-checkpoint (phase 1): the requester gets "target gone", nothing leaks.
begin target_exits
"$CRCORE_CR_RUN" "$SLOW_CALLBACK" 400 3000 >"$work/te.out" 2>&1 &
pid=$!
pids+=("$pid")
wait_line "$work/te.out" '^progress step' 30
"$PROBE" request "$pid" "$work/te.ctx" >"$work/te.probe" 2>&1 &
req=$!
sleep 1
kill -KILL "$pid"
wait "$req"
if grep -q '^status 100 ' "$work/te.probe"; then pass target_exits; else failcase target_exits "the requester did not learn that the target went away" "$(cat "$work/te.probe")"; fi
cleanup

# 11. Benchmark (informational, bench/kmod_backends.sh): pause and checkpoint/restart time of the two
# backends on the same program, in this guest. Fails only if the script cannot complete.
begin bench
if out="$(bash "$BENCH" --repeat 2 --size 8 --threads 2 --bin "$(dirname "$CRCORE_CR_RUN")" --workload "$WORKLOAD" --dir "$work/bench" 2>&1)"; then
  pass bench
else
  failcase bench "bench/kmod_backends.sh failed" "$(echo "$out" | tail -5)"
fi
echo "$out" | sed 's/^/KMOD-BENCH /'

# 12. Idle: nothing registered, nothing allocated; rmmod works, and the module loads again.
begin rmmod_idle
sleep 0.5
state="$("$PROBE" version)"
if [[ "$state" == "abi 1 clients 0 requests 0 "* ]] && rmmod crcore && [[ ! -e /dev/crcore ]] && insmod "$MODULE" && "$PROBE" version >/dev/null && rmmod crcore; then
  pass rmmod_idle
else
  failcase rmmod_idle "leak or unload failure: $state" "$(lsmod | grep crcore)"
fi

# 13. The kernel log: no oops, warning, slab corruption or hung task anywhere in the run.
begin dmesg
problems="$(kernel_problems)"
if [[ -z "$problems" ]]; then pass dmesg; else failcase dmesg "the kernel reported problems" "$problems"; fi
dmesg | grep -i crcore | sed 's/^/KMOD-NOTE   /'

note "guest total $((SECONDS - start)) s"
if ((failed)); then echo "KMOD-TESTS: FAIL"; exit 1; fi
echo "KMOD-TESTS: PASS"
