#!/usr/bin/env bash
# Faults placed exactly where they hurt, with CRCORE_FAULT (docs/reliability.md): nothing is lost,
# nothing is left stopped, no half image passes for a good one, no temporary file stays behind.
#   writer-*     the copy-on-write writer child is SIGKILLed before any record, in the middle of
#                the Pages records, after the last record (before its fsync), after its fsync
#                (before it reports): cr_checkpoint fails naming the dead writer; the target runs on
#                to its uninterrupted answer and checkpoints fine afterwards; the earlier image under
#                the same name is byte-identical, passes cr_info and restarts to the same answer
#   requester-*  cr_checkpoint --kill is SIGKILLed after creating its temporary file, after sending
#                the request, after the answer (before the rename), after the rename (before the
#                commit): the target is never killed and finishes with its answer; no temporary file
#                is left (the one nobody but the dead requester knew of is removed by the next
#                cr_checkpoint to that name); an image under the final name is only ever a complete one
#   target-*     the checkpointed process itself is SIGKILLed in its second checkpoint: as phase 1
#                begins (before its callbacks), in phase 2 (every thread stopped, nothing written), in
#                the middle of the Pages records it writes itself (--no-cow), with its image written in
#                place but not flushed or renamed (--no-cow), and while its copy-on-write writer writes:
#                cr_checkpoint fails clearly, the process is dead (killed by signal 9), the earlier image
#                under the same name is byte-identical, passes cr_info and restarts to the same answer,
#                no temporary file is left
#   eio-*        the image's device fails writes, or fsync, with EIO (eio_fs, a FUSE file system of
#                ours; an injected write failure if FUSE is not usable here): the checkpoint fails
#                with "Input/output error", the target runs on, the earlier image is untouched
#
# Usage: fault_injection.sh --work DIR -- SLOW_CALLBACK_PROGRAM EIO_FS_PROGRAM|none
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

parse_work_args 2 "fault_injection.sh --work DIR -- SLOW_CALLBACK_PROGRAM EIO_FS_PROGRAM|none" "$@"
slow="${args[0]}"
eio_fs="${args[1]}"
require_tools "$CR_CHECKPOINT" "$CR_RESTART" "$CR_INFO"
fresh_dir "$work"
cd "$work"
mnt=""
# On exit: lib.sh's cleanup (kills every tracked process), then the mount (lazily: a killed
# process may still be closing its files there).
cleanup_mount() {
  e2e_cleanup
  if [[ -n "$mnt" ]]; then
    umount -l "$mnt" 2>/dev/null || true
  fi
}
trap 'cleanup_mount' EXIT

steps=40
"$slow" "$steps" 10 >reference.out
expected="$(grep '^answer:' reference.out)"
faults=0

# start NAME [ENV=VALUE...]: runs slow_callback with that environment; sets pid.
start() {
  local name="$1"
  shift
  env "$@" "$slow" "$steps" 10 >"$name.out" 2>"$name.err" </dev/null &
  pid=$!
  track "$pid"
  wait_lines "$name.out" '^progress step' 2 60 "$pid"
}

# runs_on NAME PID: the target is alive and still makes progress (no thread of it is left stopped).
runs_on() {
  alive "$2" || fail "$1: the target died" "$(show "$1.err")"
  local now
  now="$(count_lines "$1.out" '^progress step')"
  wait_lines "$1.out" '^progress step' $((now + 2)) 60 "$2"
}

# finished NAME PID: the program ran to its end with the uninterrupted answer.
finished() {
  wait "$2" || fail "$1 ended with status $?" "$(show "$1.err")" "$(show "$1.out")"
  [[ "$(grep '^answer:' "$1.out" || true)" == "$expected" ]] || fail "$1: wrong or missing answer" "$(show "$1.out")"
}

# no_temporaries DIR NAME: no temporary image is left in DIR (waits up to 30 s: the runtime removes
# a dead requester's file once it sees the connection close).
no_temporaries() {
  local deadline=$((SECONDS + 30))
  while (($(find "$1" -maxdepth 1 -name '*.tmp.*' | wc -l) > 0)); do
    ((SECONDS < deadline)) || fail "$2: a temporary image was left behind" "$(ls -la "$1")"
    sleep 0.1
  done
}

# restarts NAME IMAGE: the image restarts (as a new process, writing a copy of the output) and
# finishes with the uninterrupted answer.
restarts() {
  cp "$1.out" "$1.copy.out"
  local status
  status="$(run_tool "$1.restart.out" "$1.restart.err" "$CR_RESTART" --relocate "$work/$1.out=$work/$1.copy.out" "$2")"
  [[ "$status" == 0 ]] || fail "$1: restart of $2 ended with status $status" "$(show "$1.restart.err")"
  [[ "$(grep '^answer:' "$1.copy.out" || true)" == "$expected" ]] ||
    fail "$1: the restarted image gave a wrong or no answer" "$(show "$1.copy.out")"
}

for phase in before-records mid-pages before-fsync after-fsync; do
  name="writer-$phase"
  say "$name: the copy-on-write writer is killed ($phase) in the second checkpoint"
  start "$name" "CRCORE_FAULT=writer-$phase@2"
  checkpoint "$work/$name.ctx" "$pid"
  before="$(sha256sum <"$name.ctx")"
  status="$(run_tool "$name.ckpt.out" "$name.ckpt.err" "$CR_CHECKPOINT" --clobber -f "$work/$name.ctx" "$pid")"
  faults=$((faults + 1))
  [[ "$status" != 0 ]] || fail "$name: cr_checkpoint succeeded with a dead writer"
  grep -q "image writer (process [0-9]*) was killed by signal 9" "$name.ckpt.err" || fail "$name: unclear message" "$(show "$name.ckpt.err")"
  runs_on "$name" "$pid"
  [[ "$(sha256sum <"$name.ctx")" == "$before" ]] || fail "$name: the earlier image changed"
  no_temporaries . "$name"
  run_tool "$name.info.out" "$name.info.err" "$CR_INFO" "$name.ctx" >/dev/null
  [[ -s "$name.info.out" ]] || fail "$name: cr_info refuses the earlier image" "$(show "$name.info.err")"
  checkpoint "$work/$name.after.ctx" "$pid" # the runtime is not wedged: the next checkpoint works
  finished "$name" "$pid"
  restarts "$name" "$name.ctx"
  say "$name passed: $(head -n 1 "$name.ckpt.err")"
done

for step in after-create after-request after-response after-rename; do
  name="requester-$step"
  say "$name: cr_checkpoint --kill is killed $step"
  start "$name"
  status="$(CRCORE_FAULT="requester-$step" run_tool "$name.ckpt.out" "$name.ckpt.err" \
    "$CR_CHECKPOINT" --kill -f "$work/$name.ctx" "$pid")"
  faults=$((faults + 1))
  ((status == 137)) || fail "$name: cr_checkpoint was not killed (status $status)" "$(show "$name.ckpt.err")"
  runs_on "$name" "$pid"
  if [[ "$step" == after-create ]]; then
    # Nobody but the dead requester knew of this file: the next checkpoint to the name removes it.
    (($(find . -maxdepth 1 -name "$name.ctx.tmp.*" | wc -l) == 1)) || fail "$name: expected one orphan" "$(ls -la)"
    checkpoint "$work/$name.ctx" "$pid"
  fi
  no_temporaries . "$name"
  if [[ "$step" == after-rename || "$step" == after-create ]]; then
    # Renamed before the requester died: complete and flushed (the process was not killed: no commit).
    run_tool "$name.info.out" "$name.info.err" "$CR_INFO" "$name.ctx" >/dev/null
    [[ -s "$name.info.out" ]] || fail "$name: the image under the final name is not valid" "$(show "$name.info.err")"
  else
    [[ ! -e "$name.ctx" ]] || fail "$name: an image appeared under the final name without a commit"
  fi
  finished "$name" "$pid"
  [[ "$step" != after-rename ]] || restarts "$name" "$name.ctx"
  say "$name passed"
done

# The target itself dies at each phase of its second checkpoint (CRCORE_FAULT=target-*; writer-mid-pages
# with --no-cow, where the process writes its image itself).
for spec in "target-phase1 target-phase1" "target-phase2 target-phase2" "target-mid-write writer-mid-pages --no-cow" \
  "target-after-write-in-place target-after-write --no-cow" "target-after-write-cow target-after-write"; do
  read -r name fault options <<<"$spec"
  say "$name: the target is killed ($fault${options:+ with $options}) in its second checkpoint"
  start "$name" "CRCORE_FAULT=$fault@2"
  checkpoint "$work/$name.ctx" "$pid"
  before="$(sha256sum <"$name.ctx")"
  # shellcheck disable=SC2086 # $options: zero or one word
  status="$(run_tool "$name.ckpt.out" "$name.ckpt.err" "$CR_CHECKPOINT" --clobber $options -f "$work/$name.ctx" "$pid")"
  faults=$((faults + 1))
  [[ "$status" != 0 ]] || fail "$name: cr_checkpoint succeeded though the target died"
  grep -q "ended before the checkpoint completed\|no process\|died\|killed\|failed" "$name.ckpt.err" ||
    fail "$name: unclear message" "$(show "$name.ckpt.err")"
  grep -q "fault injection armed: $fault@2" "$name.err" || fail "$name: the fault was not armed" "$(show "$name.err")"
  wait_gone "$pid" 30 || fail "$name: the target is still alive after its fault"
  reap "$pid"
  ((status == 137)) || fail "$name: the target ended with status $status, not killed by signal 9" "$(show "$name.err")"
  [[ "$(sha256sum <"$name.ctx")" == "$before" ]] || fail "$name: the earlier image changed"
  no_temporaries . "$name"
  run_tool "$name.info.out" "$name.info.err" "$CR_INFO" "$name.ctx" >/dev/null
  [[ -s "$name.info.out" ]] || fail "$name: cr_info refuses the earlier image" "$(show "$name.info.err")"
  restarts "$name" "$name.ctx"
  say "$name passed: $(head -n 1 "$name.ckpt.err")"
done

# eio_case NAME SWITCH [cr_checkpoint options]: a good image on the device, then the device breaks.
eio_case() {
  local name="$1" switch="$2"
  shift 2
  say "$name: the image's device fails ($switch) $*"
  start "$name" ${inject:+"CRCORE_FAULT=write-eio@2"}
  checkpoint "$dir/$name.ctx" "$pid"
  local before
  before="$(sha256sum <"$dir/$name.ctx")"
  [[ -n "$inject" ]] || echo "$switch_value" >"$backing/$switch"
  status="$(run_tool "$name.ckpt.out" "$name.ckpt.err" "$CR_CHECKPOINT" --clobber "$@" -f "$dir/$name.ctx" "$pid")"
  rm -f "$backing/$switch"
  faults=$((faults + 1))
  [[ "$status" != 0 ]] || fail "$name: the checkpoint succeeded on a failing device"
  grep -q "Input/output error" "$name.ckpt.err" || fail "$name: no 'Input/output error' message" "$(show "$name.ckpt.err")"
  runs_on "$name" "$pid"
  [[ "$(sha256sum <"$dir/$name.ctx")" == "$before" ]] || fail "$name: the earlier image changed"
  no_temporaries "$dir" "$name"
  finished "$name" "$pid"
  say "$name passed: $(head -n 1 "$name.ckpt.err")"
}

inject=""
backing="$work/backing"
mkdir -p "$backing"
dir="$backing"
if [[ "$eio_fs" != none && "$(id -u)" == 0 && -c /dev/fuse ]]; then
  mnt="$work/eio"
  mkdir -p "$mnt"
  "$eio_fs" "$backing" "$mnt" -f 2>eio_fs.err &
  eio_pid=$!
  track "$eio_pid"
  deadline=$((SECONDS + 30))
  until mountpoint -q "$mnt"; do
    if ((SECONDS >= deadline)) || ! alive "$eio_pid"; then
      say "eio_fs cannot mount here ($(head -n 1 eio_fs.err 2>/dev/null)): injecting the write failures instead"
      mnt=""
      break
    fi
    sleep 0.1
  done
  [[ -z "$mnt" ]] || dir="$mnt"
fi
if [[ "$dir" == "$backing" ]]; then
  inject=1
  say "no FUSE error device: the writer's failure is injected (CRCORE_FAULT=write-eio)"
  switch_value=""
  eio_case eio-write-injected .eio-write
else
  switch_value=0
  eio_case eio-write .eio-write
  eio_case eio-write-no-cow .eio-write --no-cow
  switch_value=1
  eio_case eio-fsync .eio-fsync
fi
say "PASS: $faults faults injected"
