#!/usr/bin/env bash
# End-to-end case for tests/e2e/blcr_client.c, a program written only against the BLCR libcr API and
# linked with -lcr (no cr_run). It counts what cr_checkpoint() returned in its thread-context and
# signal-context callbacks and prints the counts at exit; this script checks them.
#
# Usage: blcr_case.sh [--self] [--work DIR] -- BLCR_CLIENT
#   default   1) cr_checkpoint --cont: the process goes on and counts one "continue" per callback
#             2) cr_checkpoint --kill, cr_restart: the restored copy counts one "restart" per callback
#   --self    the client checkpoints itself (cr_request_checkpoint), then the image is restarted
# Tools: see lib.sh (CRCORE_CR_* or CRCORE_BIN).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,10s/^# \{0,1\}//p' "$0"; }

self=0
work=""
while (($# > 0)); do
  case "$1" in
    --self) self=1; shift ;;
    --work) work="$2"; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    --) shift; break ;;
    *) usage >&2; fail "unknown argument '$1'" ;;
  esac
done
(($# == 1)) || { usage >&2; fail "give the blcr_client executable"; }
client="$1"
[[ -x "$client" ]] || fail "$client is not an executable"
require_tools "$CR_CHECKPOINT" "$CR_RESTART"
: "${work:=$e2e_root/build/e2e-work/blcr}"
fresh_dir "$work"

seconds="${CRCORE_E2E_BLCR_SECONDS:-3}" # how long the client runs (the kmod guest, under TCG, needs longer)
cs=$((seconds * 100)) # the client's loop count: one critical section per iteration
counts() {
  echo "blcr_client: thread_cont=$1 thread_rstrt=$2 thread_fail=0 signal_cont=$3 signal_rstrt=$4 signal_fail=0 cs=$cs"
}

# expect_final FILE LINE WHAT: the client's last line must be LINE.
expect_final() {
  local last
  last="$(tail -n 1 "$1")"
  if [[ "$last" != "$2" ]]; then
    fail "$3: wrong final line" "    expected: $2" "    got:      $last" "$(show "$1")"
  fi
  say "$3: $last"
}

# restart_image IMAGE OUT LOG: restarts an image and waits for the restored client to exit 0.
restart_image() {
  local image="$1" out="$2" log="$3" rpid status
  say "cr_restart $image"
  "$CR_RESTART" "$image" >"$log" 2>&1 </dev/null &
  rpid=$!
  track "$rpid"
  wait_gone "$rpid" 60 || fail "the restored client did not finish within 60 s" "$(show "$log")" "$(show "$out")"
  reap "$rpid"
  [[ "$status" == 0 ]] || fail "cr_restart failed: exit status $status (expected the client's 0)" \
    "$(show "$log")" "$(show "$out")"
}

# start OUT [ARGS...]: starts the client (linked with libcr: no cr_run needed); sets client_pid.
start() {
  local out="$1"
  shift
  "$client" "$seconds" "$@" >"$out" 2>"$out.err" </dev/null &
  client_pid=$!
  track "$client_pid"
  wait_lines "$out" '^blcr_client: pid=' 1 30 "$client_pid"
}

if ((self == 0)); then
  say "1) checkpoint and continue"
  start "$work/cont.out"
  checkpoint "$work/cont.ctx" "$client_pid" --cont
  wait_gone "$client_pid" 60 || fail "the client did not finish within 60 s after the checkpoint"
  reap "$client_pid"
  [[ "$status" == 0 ]] || fail "the client exited with status $status" "$(show "$work/cont.out.err")"
  expect_final "$work/cont.out" "$(counts 1 0 1 0)" "checkpoint --cont"

  say "2) checkpoint --kill, then restart"
  start "$work/restart.out"
  checkpoint "$work/restart.ctx" "$client_pid" --kill
  wait_gone "$client_pid" 30 || fail "cr_checkpoint --kill returned but the client is still alive"
  reap "$client_pid"
  restart_image "$work/restart.ctx" "$work/restart.out" "$work/restart.log"
  expect_final "$work/restart.out" "$(counts 0 1 0 1)" "restart"
else
  say "the client checkpoints itself into self.ctx"
  start "$work/self.out" "$work/self.ctx"
  wait_gone "$client_pid" 60 || fail "the client did not finish within 60 s"
  reap "$client_pid"
  [[ "$status" == 0 ]] || fail "the client exited with status $status" "$(show "$work/self.out.err")"
  [[ -s "$work/self.ctx" ]] || fail "the client's own checkpoint left no image" "$(show "$work/self.out.err")"
  expect_final "$work/self.out" "$(counts 1 0 1 0)" "self checkpoint"
  restart_image "$work/self.ctx" "$work/self.out" "$work/self.log"
  expect_final "$work/self.out" "$(counts 0 1 0 1)" "restart of the self checkpoint"
fi
say "PASS"
rm -f "$work"/*.ctx
