#!/usr/bin/env bash
# An MPI program checkpointed and restarted as a whole job, compared with an uninterrupted run.
#
# Usage: mpi_case.sh --work DIR --np N --mode restart --cycles C -- PROGRAM STEPS
#        mpi_case.sh --work DIR --np N --mode continue --checkpoints K -- PROGRAM STEPS
#   restart:  the job runs under `mpirun -am ft-enable-cr`; C times: wait for progress, `ompi-checkpoint
#             --term`, `ompi-restart` the snapshot; the last job's result lines must equal those of an
#             uninterrupted plain `mpirun` run.
#   continue: K snapshots of the running job without --term; its result must be unchanged; then the first
#             snapshot is restarted after the job has ended and must reach the same result.
#   --expect-err REGEX: a line of the checkpointed jobs' standard error (run*.err) must match REGEX (with
#             CRMPI_DEBUG=1: that a path of the layer was taken).
#   --plain-ranks: the ranks are an ordinary program under cr_run, started by Open MPI's own mpirun with
#             CRCORE_MPI=1 (no MPI layer): tests ompi-checkpoint/ompi-restart on their own. Its result lines
#             are those starting 'answer:' (programs/plain_rank.c).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/mpi_lib.sh"

np=2 mode=restart cycles=1 checkpoints=1 plain=0 expect_err="" rest=()
while (($# > 0)); do
  case "$1" in
    --np) np="$2"; shift 2 ;;
    --mode) mode="$2"; shift 2 ;;
    --cycles) cycles="$2"; shift 2 ;;
    --checkpoints) checkpoints="$2"; shift 2 ;;
    --plain-ranks) plain=1; shift ;;
    --expect-err) expect_err="$2"; shift 2 ;;
    *) rest+=("$1"); shift ;;
  esac
done
parse_work_args 2 "mpi_case.sh --work DIR [--np N] [--mode restart|continue] [--cycles C] [--checkpoints K] [--expect-err REGEX] -- PROGRAM STEPS" "${rest[@]}"
program="${args[0]}" steps="${args[1]}"
require_tools "$OMPI_CHECKPOINT" "$OMPI_RESTART" "$CR_INFO" "$CR_RUN" "$CRCORE_MPI_BIN/mpirun" "$program"
fresh_dir "$work"
cd "$work"
name="$(basename "$program")"

if ((plain)); then RESULT_REGEX='^answer:'; fi
say "uninterrupted run: $REAL_MPIRUN --oversubscribe -np $np $name $steps"
start_job expected.out expected.err "$REAL_MPIRUN" --oversubscribe -np "$np" "$program" "$steps"
finish_job "$job_pid" expected.out expected.err "the uninterrupted run"
say "  $(results expected.out)"

if ((plain)); then
  say "run under crcore: $REAL_MPIRUN --oversubscribe -np $np -x CRCORE_MPI=1 cr_run $name $steps"
  start_job run0.out run0.err "$REAL_MPIRUN" --oversubscribe -np "$np" -x CRCORE_MPI=1 "$CR_RUN" "$program" "$steps"
else
  say "run under crcore: mpirun -am ft-enable-cr --oversubscribe -np $np $name $steps"
  start_job run0.out run0.err mpirun -am ft-enable-cr --oversubscribe -np "$np" "$program" "$steps"
fi
out=run0.out err=run0.err

# --expect-err: the checkpointed job's standard error shows the path the test is about.
check_expected_err() {
  [[ -n "$expect_err" ]] || return 0
  local matches
  matches="$(cat run*.err | grep -E -c -- "$expect_err" || true)"
  ((matches > 0)) || fail "no line of the checkpointed jobs' standard error (run*.err) matches '$expect_err'"
  say "run*.err: $matches line(s) match '$expect_err'"
}

if [[ "$mode" == restart ]]; then
  for ((cycle = 1; cycle <= cycles; ++cycle)); do
    wait_progress "$out" 2 "$job_pid"
    say "cycle $cycle: ompi-checkpoint --term $job_pid (after '$(grep progress "$out" | tail -n 1)')"
    take_snapshot "$job_pid" "checkpoint$cycle.out" --term
    wait_gone "$job_pid" 30 || fail "the job $job_pid still runs 30 s after ompi-checkpoint --term"
    reap "$job_pid"
    say "cycle $cycle: ompi-restart $(basename "$snapshot")"
    start_job "run$cycle.out" "run$cycle.err" "$OMPI_RESTART" --oversubscribe "$snapshot"
    out="run$cycle.out" err="run$cycle.err"
    if ((cycle < cycles)); then
      wait_progress "$out" 1 "$job_pid"
    fi
  done
  finish_job "$job_pid" "$out" "$err" "the job restarted $cycles time(s)"
  compare_results expected.out "$out" "the job restarted $cycles time(s)"
  check_expected_err
  say "PASS: $cycles checkpoint/restart cycle(s), same results as the uninterrupted run"
else
  first=""
  for ((k = 1; k <= checkpoints; ++k)); do
    wait_progress "$out" 1 "$job_pid"
    say "checkpoint $k of the running job $job_pid"
    take_snapshot "$job_pid" "checkpoint$k.out"
    first="${first:-$snapshot}"
  done
  finish_job "$job_pid" "$out" "$err" "the job checkpointed $checkpoints time(s)"
  compare_results expected.out "$out" "the job checkpointed $checkpoints time(s)"
  say "restart of the first snapshot after the job ended: $(basename "$first")"
  start_job restart.out restart.err "$OMPI_RESTART" --oversubscribe "$first"
  finish_job "$job_pid" restart.out restart.err "the job restarted from its first snapshot"
  compare_results expected.out restart.out "the job restarted from its first snapshot"
  check_expected_err
  say "PASS: $checkpoints snapshots while running, and a restart from the first, same results"
fi
