# shellcheck shell=bash disable=SC2154  # bindir, stepdir, rank, child, CR_*: the supervisor's (crcore-slurm-task)
# crcore-slurm-mpi.sh: the MPI side of a --cr job step, in one place. Sourced by crcore-slurm-task.
#
# Everything that differs between a single-process task and a rank of `srun --mpi=pmix --cr` lives here;
# the rest of the supervisor (registry, requests, snapshot directories, COMPLETE markers, periodic and
# preemption checkpoints, the scontrol front end) is shared. The ranks run with crcore's MPI layer
# (plugin/, libcrmpi.so: the interface is in plugin/README.md).
#
# A global snapshot of the step (every rank asked at about the same time: the ranks' phase-1 callbacks
# talk to each other and wait for every rank):
#   1. task 0's supervisor (crcore_mpi_step_checkpoint) writes the order STEPDIR/mpi.order (id=, dir=,
#      after=, time=) and checkpoints its own rank;
#   2. every other rank's supervisor polls for a new order (crcore_mpi_rank_poll, twice a second from its
#      main loop: each supervisor checkpoints the rank it started, so this works wherever the ranks run
#      as long as the step's directory is shared) and checkpoints its rank into DIR/task.RANK.ctx, then
#      writes DIR/rank.RANK.result (status=ok or status=error, message=);
#   3. task 0 waits for every rank's result: all ok -> 0 (the caller marks DIR COMPLETE).
# After a vacate or a preemption checkpoint (AFTER=kill) every rank is stopped by its own cr_checkpoint
# --kill; task 0 then writes STEPDIR/mpi.vacated (the snapshot's path), the marker the other supervisors
# wait for before they report their killed rank as a clean end (exit 0) rather than a failure.

# crcore_mpi_step_is_mpi: true when this task is a rank of a multi-task or PMIx step (SLURM_* of srun).
crcore_mpi_step_is_mpi() {
  [[ "${SLURM_STEP_NUM_TASKS:-1}" != 1 || "${SLURM_MPI_TYPE:-none}" == pmix* ]]
}

# How long a rank's checkpoint may take when the request has no MaxWait (a rank never asked would
# otherwise keep the others waiting for ever). Seconds.
CRCORE_MPI_DEFAULT_TIME="${CRCORE_SLURM_MPI_TIME:-300}"

# crcore_mpi_find_layer: prints the path of libcrmpi.so (CRCORE_SLURM_LIBCRMPI, else next to crcore's
# bin: <prefix>/lib, <prefix>/lib64 or <prefix>/lib/<multiarch>); non-zero if there is none.
crcore_mpi_find_layer() {
  local candidate
  for candidate in "${CRCORE_SLURM_LIBCRMPI:-}" "$bindir/../lib/libcrmpi.so" "$bindir/../lib64/libcrmpi.so" \
    "$bindir"/../lib/*/libcrmpi.so; do
    if [[ -n "$candidate" && -r "$candidate" ]]; then
      readlink -f "$candidate"
      return 0
    fi
  done
  return 1
}

# crcore_mpi_close_inherited: in the subshell that becomes the rank, closes every descriptor above 2
# (but PMI_FD): slurmstepd leaves the step's TCP connection open in --mpi=pmix tasks, and a rank holding
# a TCP socket cannot be checkpointed. PMIx clients find their server through PMIX_* variables.
crcore_mpi_close_inherited() {
  local path fd
  for path in /proc/"$BASHPID"/fd/*; do
    fd="${path##*/}"
    # (no redirection on this loop: bash would keep the saved stderr in a descriptor closed here)
    if [[ "$fd" =~ ^[0-9]+$ ]] && ((fd > 2)) && [[ "$fd" != "${PMI_FD:-}" && -e "$path" ]]; then
      exec {fd}>&-
    fi
  done
}

# crcore_mpi_task_start SNAPSHOT ARGV...: starts this rank in the background and sets `child` to its pid.
# SNAPSHOT is empty for a fresh start, else the global snapshot directory to restart this rank
# (SLURM_PROCID) from. Returns non-zero, with a message on stderr, when it cannot.
crcore_mpi_task_start() {
  local snapshot="$1" layer image tool
  shift
  for tool in "$CR_RUN" "$CR_CHECKPOINT" "$CR_RESTART"; do
    if [[ ! -x "$tool" ]]; then
      printf 'crcore: %s is missing (bindir= in plugstack.conf)\n' "$tool" >&2
      return 1
    fi
  done
  if ! layer="$(crcore_mpi_find_layer)"; then
    printf 'crcore: --cr for MPI steps needs crcore'"'"'s MPI layer (libcrmpi.so), not found next to %s (set CRCORE_SLURM_LIBCRMPI)\n' \
      "$bindir" >&2
    return 1
  fi
  # The rank's environment (plugin/README.md): slurmstepd's (PMIX_*, SLURM_*, OMPI_*) plus the layer's,
  # for the rank only (not for the supervisor's own commands). A restarted rank gets it too: cr_restart
  # hands its environment to the restored process, whose libcrmpi adopts the new step's variables and
  # starts a fresh lower half; the layer is in the image already, so cr_restart is not given LD_PRELOAD.
  local rank_env=(CRCORE_MPI=1
    "GLIBC_TUNABLES=${GLIBC_TUNABLES:+$GLIBC_TUNABLES:}glibc.rtld.optional_static_tls=65536")
  # Orders already there when this supervisor starts (a requeued job's leftovers) are not for it.
  crcore_mpi_served="$(crs_info_get "$stepdir/mpi.order" id)"
  crcore_mpi_killed=0
  if [[ -z "$snapshot" ]]; then
    # bash ignores SIGINT and SIGQUIT in background commands: the program gets them back.
    (
      crcore_mpi_close_inherited
      exec env --default-signal=INT,QUIT "${rank_env[@]}" "LD_PRELOAD=$layer${LD_PRELOAD:+:$LD_PRELOAD}" \
        "$CR_RUN" -- "$@"
    ) <&0 &
  else
    image="$snapshot/task.$rank.ctx"
    if [[ ! -r "$image" ]]; then
      printf 'crcore: %s has no image for MPI rank %s (task.%s.ctx)\n' "$snapshot" "$rank" "$rank" >&2
      return 1
    fi
    if [[ "$(crs_info_get "$snapshot/snapshot.info" ntasks)" != "${SLURM_STEP_NUM_TASKS:-1}" ]]; then
      printf 'crcore: %s is a snapshot of %s MPI ranks; this step has %s (restart with -n %s)\n' "$snapshot" \
        "$(crs_info_get "$snapshot/snapshot.info" ntasks)" "${SLURM_STEP_NUM_TASKS:-1}" \
        "$(crs_info_get "$snapshot/snapshot.info" ntasks)" >&2
      return 1
    fi
    # stdin kept as is (bash gives background commands /dev/null otherwise).
    (
      crcore_mpi_close_inherited
      exec env "${rank_env[@]}" "$CR_RESTART" --quiet "$image"
    ) <&0 &
  fi
  child=$!
  return 0
}

# crcore_mpi_checkpoint_rank DIR AFTER TIME: checkpoints this supervisor's rank into DIR/task.RANK.ctx and
# writes DIR/rank.RANK.result. Returns the checkpoint's success.
crcore_mpi_checkpoint_rank() {
  local dir="$1" after="$2" time="$3" err args
  args=(--quiet -f "$dir/task.$rank.ctx" --time "$time")
  [[ "$after" == kill ]] && args+=(--kill)
  if err="$("$CR_CHECKPOINT" "${args[@]}" "$child" 2>&1)"; then
    printf 'status=ok\n' | crs_write_atomic "$dir/rank.$rank.result"
    [[ "$after" == kill ]] && crcore_mpi_killed=1
    log "MPI rank $rank: image $dir/task.$rank.ctx (then $after)"
    return 0
  fi
  child_running || err="the rank ended during the checkpoint ($err)"
  printf 'status=error\nmessage=rank %s: %s\n' "$rank" "${err//$'\n'/; }" | crs_write_atomic "$dir/rank.$rank.result"
  log "MPI rank $rank: checkpoint into $dir failed: $err"
  return 1
}

# crcore_mpi_rank_poll: run by the supervisors of ranks other than 0 at every turn of their main loop:
# serves a new order of task 0 (a checkpoint of this rank, at about the time the others take theirs).
crcore_mpi_rank_poll() {
  local order="$stepdir/mpi.order" id dir after time
  [[ -f "$order" ]] || return 0
  id="$(crs_info_get "$order" id)"
  [[ -n "$id" && "$id" != "${crcore_mpi_served:-}" ]] || return 0
  crcore_mpi_served="$id"
  dir="$(crs_info_get "$order" dir)"
  after="$(crs_info_get "$order" after)"
  time="$(crs_info_get "$order" time)"
  [[ "$time" =~ ^[1-9][0-9]*$ ]] || time="$CRCORE_MPI_DEFAULT_TIME"
  if [[ ! -d "$dir" ]]; then
    log "MPI order $id: no directory $dir (given up by task 0?)"
    return 0
  fi
  crcore_mpi_checkpoint_rank "$dir" "$after" "$time"
  return 0
}

# crcore_mpi_step_checkpoint DIR AFTER MAXWAIT: a global snapshot of the whole step into DIR (run by the
# supervisor of task 0 only). AFTER is cont or kill (vacate, preemption); MAXWAIT seconds, 0 for none.
# Returns 0 once every rank's image is committed in DIR (the caller then marks DIR COMPLETE), non-zero
# with a message on stdout/stderr otherwise (the caller removes DIR).
crcore_mpi_step_checkpoint() {
  local dir="$1" after="$2" maxwait="$3" ntasks="${SLURM_STEP_NUM_TASKS:-1}" time id deadline r result
  local missing failed=""
  time="$maxwait"
  ((time > 0)) || time="$CRCORE_MPI_DEFAULT_TIME"
  id="$(date +%s%N).$$"
  rm -f "$stepdir/mpi.vacated"
  if ! printf 'id=%s\ndir=%s\nafter=%s\ntime=%s\n' "$id" "$dir" "$after" "$time" |
    crs_write_atomic "$stepdir/mpi.order"; then
    echo "cannot write the step's checkpoint order $stepdir/mpi.order"
    return 1
  fi
  log "MPI order $id: $ntasks ranks into $dir ($after, time $time s)"
  crcore_mpi_checkpoint_rank "$dir" "$after" "$time"
  # Every rank's answer; the ranks are bounded by --time, this wait by that plus their polling.
  deadline=$((SECONDS + time + 30))
  while :; do
    missing=0
    for ((r = 0; r < ntasks; r++)); do
      [[ -f "$dir/rank.$r.result" ]] || missing=$((missing + 1))
    done
    ((missing == 0)) && break
    if ((SECONDS > deadline)); then
      rm -f "$stepdir/mpi.order"
      if ((maxwait > 0)); then
        echo "maxwait MaxWait of $maxwait s expired: $missing of $ntasks MPI ranks did not answer; no snapshot kept"
      else
        echo "$missing of $ntasks MPI ranks did not answer within $time s; no snapshot kept"
      fi
      return 1
    fi
    sleep 0.2
  done
  rm -f "$stepdir/mpi.order"
  for ((r = 0; r < ntasks; r++)); do
    result="$dir/rank.$r.result"
    if [[ "$(crs_info_get "$result" status)" != ok ]]; then
      failed+="${failed:+; }$(crs_info_get "$result" message)"
    fi
  done
  if [[ -n "$failed" ]]; then
    if ((maxwait > 0)) && [[ "$failed" == *[Tt]ime* ]]; then
      failed="maxwait MaxWait of $maxwait s expired before every MPI rank's checkpoint completed; no snapshot kept ($failed)"
    fi
    echo "$failed"
    return 1
  fi
  rm -f "$dir"/rank.*.result
  if [[ "$after" == kill ]]; then
    printf 'snapshot=%s\n' "$dir" | crs_write_atomic "$stepdir/mpi.vacated"
  fi
  return 0
}

# crcore_mpi_rank_vacated: after this rank ended: true if it was stopped by a step checkpoint with
# AFTER=kill that task 0 committed (STEPDIR/mpi.vacated written; waited for a little, task 0 collects
# the other ranks' answers first).
crcore_mpi_rank_vacated() {
  local deadline=$((SECONDS + 60))
  ((${crcore_mpi_killed:-0})) || return 1
  while ((SECONDS < deadline)); do
    [[ -f "$stepdir/mpi.vacated" ]] && return 0
    sleep 0.5
  done
  return 1
}
