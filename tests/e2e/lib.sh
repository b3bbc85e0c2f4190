# shellcheck shell=bash disable=SC2034  # variables here are used by the scripts that source this file
# Shared helpers of the end-to-end harness scripts (sourced, not run).
#
# Tools: CRCORE_CR_RUN, CRCORE_CR_CHECKPOINT, CRCORE_CR_RESTART, CRCORE_CR_INFO (CTest sets them to the
# built targets); otherwise CRCORE_BIN (default: build/bin of this repository) holds them.
#
# Rules: every wait has a deadline (a deadline passed is a failure, never a measurement); every process
# a script starts is recorded with track() and killed by its pid on exit; nothing else is touched.

e2e_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
: "${CRCORE_BIN:=$e2e_root/build/bin}"
CR_RUN="${CRCORE_CR_RUN:-$CRCORE_BIN/cr_run}"
CR_CHECKPOINT="${CRCORE_CR_CHECKPOINT:-$CRCORE_BIN/cr_checkpoint}"
CR_RESTART="${CRCORE_CR_RESTART:-$CRCORE_BIN/cr_restart}"
CR_INFO="${CRCORE_CR_INFO:-$CRCORE_BIN/cr_info}"
# Deadline for one cr_checkpoint / cr_info / failing cr_restart call.
TOOL_TIMEOUT="${CRCORE_E2E_TOOL_TIMEOUT:-120}"

e2e_name="$(basename "$0" .sh)"
e2e_start=$SECONDS
e2e_pids=()

say() { printf '[%s +%ds] %s\n' "$e2e_name" $((SECONDS - e2e_start)) "$*"; }

# fail MESSAGE [DETAIL...]: the test fails here, saying why; each DETAIL is printed below the message.
fail() {
  printf '[%s +%ds] FAIL: %s\n' "$e2e_name" $((SECONDS - e2e_start)) "$1" >&2
  shift
  if (($# > 0)); then
    printf '%s\n' "$@" >&2
  fi
  exit 1
}

# show FILE [LINES]: the last lines of a file, indented, for a failure report.
show() {
  local file="$1" lines="${2:-15}"
  if [[ -s "$file" ]]; then
    echo "    --- last lines of $file:"
    tail -n "$lines" "$file" | sed 's/^/    | /'
  else
    echo "    --- $file is empty or missing"
  fi
}

track() { e2e_pids+=("$1"); }

# alive PID: the process exists and is not a zombie.
alive() {
  local state
  state="$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null)" || return 1
  [[ -n "$state" && "$state" != Z && "$state" != X ]]
}

e2e_cleanup() {
  local pid
  for pid in "${e2e_pids[@]}"; do
    if alive "$pid"; then
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}
trap e2e_cleanup EXIT
# Bash prints "line N: PID Killed ..." whenever a child dies of SIGKILL (as after cr_checkpoint --kill),
# unless that signal "is trapped". SIGKILL cannot really be caught: this only silences those notices.
# shellcheck disable=SC2173
trap : KILL 2>/dev/null || true
trap 'exit 130' INT TERM HUP

require_tools() {
  local tool
  for tool in "$@"; do
    [[ -x "$tool" ]] || fail "$tool is missing: build first (scripts/build.sh)"
  done
}

# wait_gone PID SECONDS: waits until the process has ended; false if it has not by then.
wait_gone() {
  local pid="$1" deadline=$((SECONDS + $2))
  while alive "$pid"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}

# descendants PID: PID and every process under it, one per line (parents before their children).
descendants() {
  local pids=("$1") i=0 p
  while ((i < ${#pids[@]})); do
    for p in $(ps -o pid= --ppid "${pids[i]}" 2>/dev/null); do
      pids+=("$p")
    done
    ((i += 1))
  done
  printf '%s\n' "${pids[@]}"
}

# describe_stuck PID: for the report of a step that did not end in time: PID and every process under
# it (a restarted tree's PID namespace included), each thread's state, wait channel and kernel stack,
# and the signal masks, on stderr. Rare hangs under load are only diagnosable from this.
describe_stuck() {
  local pids p t
  mapfile -t pids < <(descendants "$1")
  {
    echo "    --- processes under ${1} that did not end:"
    for p in "${pids[@]}"; do
      [[ -d "/proc/$p" ]] || continue
      echo "    | process $p: $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | head -c 120)"
      grep -E '^(NSpid|SigPnd|ShdPnd|SigBlk|SigIgn|SigCgt):' "/proc/$p/status" 2>/dev/null | sed 's/^/    |   /'
      for t in /proc/"$p"/task/*; do
        echo "    |   thread ${t##*/} $(cut -d' ' -f3 "$t/stat" 2>/dev/null) $(cat "$t/comm" 2>/dev/null) in $(cat "$t/wchan" 2>/dev/null)"
        sed 's/^/    |     /' "$t/stack" 2>/dev/null | head -n 12
      done
    done
  } >&2
}

# reap PID: sets status to the exit status of a finished child of this shell. Never call it inside $(...):
# a subshell cannot wait for its parent's children.
reap() {
  status=0
  wait "$1" || status=$?
}

# count_lines FILE REGEX: how many lines of FILE match.
count_lines() {
  local n
  n="$(grep -c -E -- "$2" "$1" 2>/dev/null)" || true
  echo "${n:-0}"
}

# wait_lines FILE REGEX COUNT SECONDS PID: waits until FILE has at least COUNT lines matching REGEX.
# Fails (with the evidence) if PID ends first or the deadline passes.
wait_lines() {
  local file="$1" regex="$2" count="$3" deadline=$((SECONDS + $4)) pid="$5"
  while (($(count_lines "$file" "$regex") < count)); do
    if ! alive "$pid"; then
      # It may have printed the line and ended between the count above and this check.
      (($(count_lines "$file" "$regex") >= count)) && return 0
      fail "process $pid ended before printing $count line(s) matching '$regex'" "$(show "$file")"
    fi
    if ((SECONDS >= deadline)); then
      fail "no $count line(s) matching '$regex' in $file within $4 s" "$(show "$file")"
    fi
    sleep 0.1
  done
}

# resolve_pid PID PROGRAM: sets target_pid to the process to checkpoint. cr_run and cr_restart become the
# program (same pid); if a launcher ever forks instead, its child running PROGRAM is the one.
resolve_pid() {
  local pid="$1" prog deadline candidate child queue
  prog="$(readlink -f "$2")"
  target_pid="$pid"
  deadline=$((SECONDS + 10))
  # The program is $pid itself (cr_run and cr_restart become it) or, with cr_restart --restore-pid,
  # a descendant (cr_restart supervises; in a PID namespace an init stands between).
  while ((SECONDS < deadline)); do
    queue=("$pid")
    while ((${#queue[@]} > 0)); do
      candidate="${queue[0]}"
      queue=("${queue[@]:1}")
      if [[ "$(readlink -f "/proc/$candidate/exe" 2>/dev/null)" == "$prog" ]]; then
        target_pid="$candidate"
        [[ "$candidate" == "$pid" ]] || track "$candidate"
        return
      fi
      for child in $(pgrep -P "$candidate" 2>/dev/null || true); do
        queue+=("$child")
      done
    done
    sleep 0.05
  done
}

# run_tool OUT ERR COMMAND...: runs a tool with a deadline, stdout to OUT and stderr to ERR; prints the
# exit status (124 = it hung and was killed).
run_tool() {
  local out="$1" err="$2" status=0
  shift 2
  timeout -k 5 "$TOOL_TIMEOUT" "$@" >"$out" 2>"$err" </dev/null || status=$?
  echo "$status"
}

# checkpoint OUTFILE PID [cr_checkpoint options...]: one successful checkpoint into OUTFILE, or a failure.
# If checkpoint_parent names the child of this shell that PID runs in, a failure reports how it ended.
checkpoint() {
  local file="$1" pid="$2" status
  shift 2
  status="$(run_tool "$file.out" "$file.err" "$CR_CHECKPOINT" "$@" -f "$file" "$pid")"
  if [[ "$status" != 0 ]]; then
    local tool_status="$status" target="process $pid is still running"
    if ! alive "$pid"; then
      target="process $pid is gone"
      if [[ -n "${checkpoint_parent:-}" ]]; then
        reap "$checkpoint_parent"
        if ((status > 128)); then
          target+=" (killed by signal $((status - 128)))"
        else
          target+=" (exit status $status)"
        fi
      fi
    fi
    fail "cr_checkpoint $* -f $file $pid exited with status $tool_status; $target" \
      "$(show "$file.err")" "$(show "$file.out")"
  fi
  [[ -s "$file" ]] || fail "cr_checkpoint exited 0 but $file is missing or empty"
  say "  $(head -n 1 "$file.out")"
}

# fresh_dir DIR: an empty scratch directory.
fresh_dir() {
  rm -rf "$1"
  mkdir -p "$1"
}

# parse_work_args COUNT USAGE ARGS...: the scripts' common command line, --work DIR -- COUNT
# arguments. Sets work and the array args; fails with USAGE otherwise.
parse_work_args() {
  local count="$1" usage="$2"
  shift 2
  work=""
  while (($# > 0)); do
    case "$1" in
      --work) work="$2"; shift 2 ;;
      --) shift; break ;;
      *) fail "unknown option $1" ;;
    esac
  done
  if [[ -z "$work" ]] || (($# != count)); then
    fail "usage: $usage"
  fi
  args=("$@")
}

# restart_and_verify IMAGE N LOG PROGRAM: restarts an image of bench/workload (PROGRAM), checks it
# answers SIGUSR1, ends it and expects its N-th "verify OK" in LOG (its stdout, reopened by
# cr_restart). Sets restarted_pid while the process runs (restart_hook, if defined, is called then).
restart_and_verify() {
  local image="$1" n="$2" log="$3" workload="$4" pid deadline caught alive_before
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
  restarted_pid="$pid"
  if declare -F restart_hook >/dev/null; then
    restart_hook "$pid"
  fi
  kill -TERM "$pid"
  wait_lines "$log" '^verify' "$n" 60 "$pid"
  (($(count_lines "$log" '^verify OK') == n)) || fail "the memory restarted from $image is wrong" "$(show "$log")"
  wait_gone "$pid" 10 || fail "the process restarted from $image did not end after verifying"
  say "  restarted from $image: verify OK"
}
