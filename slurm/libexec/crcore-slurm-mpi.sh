# shellcheck shell=bash
# crcore-slurm-mpi.sh: the MPI side of a --cr job step, in one place. Sourced by crcore-slurm-task.
#
# Everything that differs between a single-process task and a rank of `srun --mpi=pmix --cr` lives in
# these three functions; the rest of the supervisor (registry, requests, snapshot directories, COMPLETE
# markers, periodic and preemption checkpoints, the scontrol front end) is shared.
#
# STATUS: the MPI layer (plugin/, mpi_glue/: issues #6 and #7) is not in the tree yet. Until it is,
# crcore_mpi_task_start refuses with a clear message, so a --cr MPI step fails at once rather than run
# without checkpoint support. What the MPI layer must provide to plug in here (docs/slurm.md, "MPI steps"):
#   1. crcore_mpi_task_start: the environment of a rank (LD_PRELOAD of the MPI layer's library, its
#      variables) and the way to start a rank fresh or from its image in a global snapshot;
#   2. crcore_mpi_step_checkpoint: the per-job trigger that takes a global snapshot of every rank of the
#      step into one directory and returns when it is committed (or failed / MaxWait expired).

# crcore_mpi_step_is_mpi: true when this task is a rank of a multi-task or PMIx step (SLURM_* of srun).
crcore_mpi_step_is_mpi() {
  [[ "${SLURM_STEP_NUM_TASKS:-1}" != 1 || "${SLURM_MPI_TYPE:-none}" == pmix* ]]
}

# crcore_mpi_task_start SNAPSHOT ARGV...: starts this rank in the background and sets `child` to its pid.
# SNAPSHOT is empty for a fresh start, else the global snapshot directory to restart this rank
# (SLURM_PROCID) from. Returns non-zero, with a message on stderr, when it cannot.
crcore_mpi_task_start() {
  local snapshot="$1"
  shift
  # --- to be filled in by the MPI layer (issues #6/#7) -----------------------------------------------
  # Expected shape:
  #   export LD_PRELOAD="<MPI layer library>${LD_PRELOAD:+:$LD_PRELOAD}" CRCORE_MPI_...=...
  #   if [[ -z "$snapshot" ]]; then env --default-signal=INT,QUIT "$CR_RUN" -- "$@" <&0 &
  #   else <restart this rank from "$snapshot" (its image and the global metadata)> <&0 &; fi
  #   child=$!
  printf 'crcore: --cr for MPI steps (%s tasks, --mpi=%s) needs crcore'"'"'s MPI layer, which this build does not have yet; run single-task steps with --cr, or MPI jobs without it\n' \
    "${SLURM_STEP_NUM_TASKS:-?}" "${SLURM_MPI_TYPE:-none}" >&2
  : "$snapshot"
  return 1
}

# crcore_mpi_step_checkpoint DIR AFTER MAXWAIT: a global snapshot of the whole step into DIR (run by the
# supervisor of task 0 only). AFTER is cont or kill (vacate, preemption); MAXWAIT seconds, 0 for none.
# Returns 0 once every rank's image is committed in DIR (the caller then marks DIR COMPLETE), non-zero
# with a message on stdout/stderr otherwise (the caller removes DIR).
crcore_mpi_step_checkpoint() {
  local dir="$1" after="$2" maxwait="$3"
  # --- to be filled in by the MPI layer: fire the per-job trigger, wait for the global snapshot ---------
  echo "checkpointing MPI steps needs crcore's MPI layer (not in this build); nothing written to $dir ($after, $maxwait)"
  return 1
}
