# shellcheck shell=bash disable=SC2034  # sourced by the scripts of tests/mpi
# Helpers of the MPI tests, on top of tests/e2e/lib.sh (say, fail, show, track, wait_lines, reap...).
#
# Tools: CRCORE_BIN (built bin/: cr_run, ompi-checkpoint, ompi-restart, cr_info), CRCORE_MPI_BIN (the
# directory holding crcore's mpirun front end, libexec/crcore/mpi-bin), REAL_MPIRUN (Open MPI's own).
# As root the ranks need OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM), set here.
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"

: "${CRCORE_MPI_BIN:=$e2e_root/build/libexec/crcore/mpi-bin}"
: "${REAL_MPIRUN:=/usr/bin/mpirun}"
OMPI_CHECKPOINT="$CRCORE_BIN/ompi-checkpoint"
OMPI_RESTART="$CRCORE_BIN/ompi-restart"
export PATH="$CRCORE_MPI_BIN:$CRCORE_BIN:$PATH"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Keep Open MPI quiet and off the network: shared-memory and self transports only, no warnings about
# the interfaces of the machine.
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_base_warn_component_unused=0
# Deadline for one job (a whole uninterrupted run, or a restarted one to its end).
JOB_TIMEOUT="${CRCORE_MPI_JOB_TIMEOUT:-120}"

# start_job OUT ERR COMMAND...: starts a job in the background (its pid in job_pid, tracked).
start_job() {
  local out="$1" err="$2"
  shift 2
  "$@" >"$out" 2>"$err" </dev/null &
  job_pid=$!
  track "$job_pid"
}

# finish_job PID OUT ERR WHAT: waits (up to JOB_TIMEOUT) for the job to end with status 0.
finish_job() {
  local pid="$1" out="$2" err="$3" what="$4"
  if ! wait_gone "$pid" "$JOB_TIMEOUT"; then
    fail "$what did not end within $JOB_TIMEOUT s" "$(show "$out")" "$(show "$err")"
  fi
  reap "$pid"
  ((status == 0)) || fail "$what exited with status $status" "$(show "$out")" "$(show "$err")"
}

# take_snapshot PID OUTFILE [ompi-checkpoint options]: one successful global checkpoint; sets snapshot to
# the directory it printed.
take_snapshot() {
  local pid="$1" out="$2" tool_status
  shift 2
  tool_status="$(run_tool "$out" "$out.err" "$OMPI_CHECKPOINT" --time 60 --dir "$work" "$@" "$pid")"
  if [[ "$tool_status" != 0 ]]; then
    fail "ompi-checkpoint${*:+ $*} $pid exited with status $tool_status" "$(show "$out.err" 30)" "$(show "$out")"
  fi
  snapshot="$(tail -n 1 "$out")"
  [[ -d "$snapshot" && -f "$snapshot/metadata.json" ]] ||
    fail "ompi-checkpoint exited 0 but printed no complete snapshot ('$snapshot')" "$(show "$out.err")"
  say "  snapshot $snapshot: $(tail -n 1 "$out.err")"
  local info_status
  info_status="$(run_tool "$out.info" "$out.info.err" "$CR_INFO" "$snapshot")"
  [[ "$info_status" == 0 ]] || fail "cr_info $snapshot exited with status $info_status" "$(show "$out.info.err")" \
    "$(show "$out.info")"
}

# rank_pid JOB RANK: the pid of rank RANK of job JOB (a child of mpirun with OMPI_COMM_WORLD_RANK=RANK).
rank_pid() {
  local job="$1" rank="$2" p
  for p in $(pgrep -P "$job"); do
    if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$rank"; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

# results FILE: the lines of FILE the comparison is about (RESULT_REGEX, default '^result ').
results() { grep -E -- "${RESULT_REGEX:-^result }" "$1" | sort || true; }

# compare_results EXPECTED ACTUAL WHAT: the result lines must be the same, and there must be some.
compare_results() {
  local expected="$1" actual="$2" what="$3"
  [[ -n "$(results "$expected")" ]] || fail "the uninterrupted run printed no result line" "$(show "$expected")"
  if [[ "$(results "$expected")" != "$(results "$actual")" ]]; then
    fail "$what printed other results than the uninterrupted run" \
      "    expected:" "$(results "$expected" | sed 's/^/    | /')" "    got:" \
      "$(results "$actual" | sed 's/^/    | /')" "$(show "$actual")"
  fi
  if grep -q 'errors=[1-9]' "$actual"; then
    fail "$what found errors in its own checks" "$(show "$actual")"
  fi
}

# wait_progress FILE MORE PID: waits for MORE new 'progress' lines in FILE (beyond those seen so far);
# fails with the job's output and errors (FILE with .err for .out) if the job ends first or time runs out.
wait_progress() {
  local file="$1" more="$2" pid="$3" regex='^progress' target deadline=$((SECONDS + JOB_TIMEOUT))
  target=$(($(count_lines "$file" "$regex") + more))
  while (($(count_lines "$file" "$regex") < target)); do
    if ! alive "$pid"; then
      fail "the job ($pid) ended before printing $target progress line(s)" "$(show "$file")" "$(show "${file%.out}.err")"
    fi
    if ((SECONDS >= deadline)); then
      fail "no $target progress line(s) in $file within $JOB_TIMEOUT s" "$(show "$file")" "$(show "${file%.out}.err")"
    fi
    sleep 0.1
  done
}
