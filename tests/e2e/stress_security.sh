#!/usr/bin/env bash
# Stress and security of the checkpoint path.
#   stress:   200 consecutive checkpoints of one running multithreaded process (which creates and
#             joins threads all the time), two requests at once; then its answer is the uninterrupted
#             one and it holds no more descriptors and no more than 4 MiB more resident memory than
#             before the first checkpoint
#   security: (root only) an ordinary user created for the test is refused on root's process and on a
#             second ordinary user's process, both by cr_checkpoint and by the target's runtime itself
#             when spoken to directly; images are 0600
#
# Usage: stress_security.sh --work DIR -- COUNTER_PROGRAM
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_work_args 1 "stress_security.sh --work DIR -- COUNTER_PROGRAM" "$@"
counter="${args[0]}"
require_tools "$CR_RUN" "$CR_CHECKPOINT"
fresh_dir "$work"
cd "$work"
steps=260
"$counter" "$steps" >reference.out & # the reference runs alongside
reference=$!
track "$reference"

"$CR_RUN" "$counter" "$steps" >program.out 2>program.err </dev/null &
run_pid=$!
track "$run_pid"
resolve_pid "$run_pid" "$counter"
pid="$target_pid"
wait_lines program.out '^progress step' 2 60 "$pid"
fds_before="$(ls "/proc/$pid/fd" | wc -l)"
rss_before="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")"

say "200 consecutive checkpoints of process $pid"
for ((i = 1; i <= 200; i++)); do
  status="$(run_tool ckpt.out ckpt.err "$CR_CHECKPOINT" --clobber -q -f "$work/stress.ctx" "$pid")"
  [[ "$status" == 0 ]] || fail "checkpoint $i of 200 failed" "$(show ckpt.err)"
done
perm="$(stat -c %a stress.ctx)"
[[ "$perm" == 600 ]] || fail "the image is mode $perm, not 600"

say "two requests at once"
"$CR_CHECKPOINT" -q -f "$work/both.1.ctx" "$pid" >both.1.out 2>&1 &
first=$!
"$CR_CHECKPOINT" -q -f "$work/both.2.ctx" "$pid" >both.2.out 2>&1 &
second=$!
status1=0
status2=0
wait "$first" || status1=$?
wait "$second" || status2=$?
# The runtime serves one request at a time: the second waits for the first.
((status1 == 0 && status2 == 0)) || fail "concurrent requests: statuses $status1 and $status2" \
  "$(show both.1.out)" "$(show both.2.out)"

# The runtime closes its side of the last request just after the requester exits: let it settle.
for ((i = 0; i < 50; i++)); do
  fds_after="$(ls "/proc/$pid/fd" | wc -l)"
  ((fds_after == fds_before)) && break
  sleep 0.1
done
rss_after="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")"
((fds_after == fds_before)) || fail "descriptors: $fds_before before, $fds_after after 202 checkpoints" \
  "$(ls -la "/proc/$pid/fd")"
((rss_after <= rss_before + 4096)) || fail "resident memory grew from $rss_before KiB to $rss_after KiB"
say "descriptors $fds_before -> $fds_after, resident memory $rss_before -> $rss_after KiB"

if [[ "$(id -u)" == 0 ]]; then
  user=crcore-e2e
  id "$user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$user" ||
    fail "cannot create the test user $user"
  say "user $user asks for root's process $pid"
  status=0
  runuser -u "$user" -- "$CR_CHECKPOINT" -f /tmp/crcore-e2e-foreign.ctx "$pid" >foreign.out 2>&1 || status=$?
  ((status != 0)) || fail "an ordinary user checkpointed root's process"
  grep -q "belongs to another user" foreign.out || fail "unclear refusal" "$(show foreign.out)"
  [[ ! -e /tmp/crcore-e2e-foreign.ctx ]] || fail "a foreign request left an image"
  # The runtime checks the caller too, whatever the tool says: speak to it directly.
  cat >direct.py <<'PY'
import os, socket, struct, sys
pid = int(sys.argv[1])
ns = int(sys.argv[2])  # the target's PID namespace (an ordinary user cannot read it in /proc)
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(f"\0crcore.{ns}.{pid}")
r, w = os.pipe()
request = struct.pack("<IIIIIi", 0x51524352, 1, 0, 0, 0, 1)
try:
    socket.send_fds(s, [request], [w])
except (BrokenPipeError, ConnectionResetError):
    pass  # refused before it read anything: the answer is queued all the same
reply = s.recv(1024)
magic, version, status = struct.unpack_from("<III", reply)
message = reply[48:].split(b"\0")[0].decode()
print(f"status {status}: {message}")
sys.exit(0 if status == 6 else 1)
PY
  runuser -u "$user" -- python3 "$work/direct.py" "$pid" "$(stat -L -c %i "/proc/$pid/ns/pid")" >direct.out 2>&1 ||
    fail "the runtime did not refuse a foreign caller (status 6, Refused)" "$(show direct.out)"
  say "refused: $(head -n 1 foreign.out); runtime: $(head -n 1 direct.out)"

  # Another ordinary user's process: refused the same way (not only root's is protected).
  other=crcore-e2e2
  id "$other" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$other" ||
    fail "cannot create the second test user $other"
  runuser -u "$other" -- "$CR_RUN" "$counter" 400 >/dev/null 2>other.err </dev/null &
  other_run=$!
  track "$other_run"
  resolve_pid "$other_run" "$counter"
  other_pid="$target_pid"
  # Its runtime listens once it has started (an abstract socket crcore.NS.PID).
  deadline=$((SECONDS + 30))
  until grep -q "@crcore\.[0-9]*\.$other_pid\$" /proc/net/unix; do
    ((SECONDS < deadline)) || fail "user $other's process $other_pid has no crcore runtime listening" "$(show other.err)"
    sleep 0.1
  done
  say "user $user asks for user $other's process $other_pid"
  status=0
  runuser -u "$user" -- "$CR_CHECKPOINT" -f /tmp/crcore-e2e-foreign2.ctx "$other_pid" >foreign2.out 2>&1 || status=$?
  ((status != 0)) || fail "an ordinary user checkpointed another user's process"
  grep -q "belongs to another user" foreign2.out || fail "unclear refusal" "$(show foreign2.out)"
  [[ ! -e /tmp/crcore-e2e-foreign2.ctx ]] || fail "a foreign request left an image"
  runuser -u "$user" -- python3 "$work/direct.py" "$other_pid" "$(stat -L -c %i "/proc/$other_pid/ns/pid")" >direct2.out 2>&1 ||
    fail "the runtime of $other's process did not refuse $user (status 6, Refused)" "$(show direct2.out)"
  alive "$other_pid" || fail "user $other's process died of the refused requests" "$(show other.err)"
  kill -KILL "$other_pid" 2>/dev/null || true
  say "refused: $(head -n 1 foreign2.out); runtime: $(head -n 1 direct2.out)"
else
  say "security cases need root (they create a user): not run as uid $(id -u)"
fi

wait "$reference" || fail "the reference run failed"
expected="$(grep '^answer:' reference.out)"
wait "$run_pid" || fail "the program ended with status $?" "$(show program.err)"
[[ "$(grep '^answer:' program.out)" == "$expected" ]] || fail "wrong answer after 202 checkpoints" "$(show program.out)"
say "PASS: 202 checkpoints, the uninterrupted answer, no leak; foreign callers refused"
