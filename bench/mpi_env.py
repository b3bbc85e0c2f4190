"""What the MPI benchmarks (run_mpi_bench.py, mpi_restart_bench.py) share: where a build's crcore tools are,
and the environment their mpirun runs in (crcore's MPI tools first on PATH; root allowed; shared memory
and self transports only, as the tests use them)."""
import os
import shutil


def mpi_bench_setup(build):
    """(bin, mpibin, env, real_mpirun) for the crcore build directory BUILD."""
    bindir = os.path.join(build, "bin")
    mpibin = os.path.join(build, "libexec", "crcore", "mpi-bin")
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([mpibin, bindir, env.get("PATH", "")])
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_btl="self,vader", OMPI_MCA_btl_base_warn_component_unused="0")
    real_mpirun = shutil.which("mpirun", path="/usr/bin") or "mpirun"
    return bindir, mpibin, env, real_mpirun
