# Spack package for crcore (package API v2, Spack >= 1.0).
#
# Checked in CI without Spack by tests/spack/lint_package.py, which reads this file with
# Python's ast module. Keep variants mapped with literal define_from_variant("NAME", "variant")
# calls in cmake_args() so the lint can see them.

import os
import subprocess
import time

from spack_repo.builtin.build_systems.cmake import CMakePackage

from spack.package import *

#: CMake cache options of crcore that are deliberately NOT exposed as variants: developer
#: switches that a site build never wants (cmake_args() pins them OFF).
#: tests/spack/lint_package.py reads this tuple; every option(...) / set(... CACHE ...) in our
#: CMake files must be mapped from a variant in cmake_args(), set there with self.define(), or
#: listed here (CMAKE_* variables belong to CMake/Spack and are not checked).
#:   CRCORE_SANITIZE     ASan+UBSan development build
#:   CRCORE_BUILD_BENCH  benchmarks in bench/, not installed
INTERNAL_CMAKE_OPTIONS = ("CRCORE_SANITIZE", "CRCORE_BUILD_BENCH", "CRCORE_FUZZ", "CRCORE_KMOD_KERNEL_DIR")


class Crcore(CMakePackage):
    """crcore: transparent checkpoint/restart for Linux HPC jobs.

    Provides cr_run, cr_checkpoint, cr_restart and cr_info, the preloadable
    libcr library, and an Open MPI front end for 'mpirun -am ft-enable-cr'.
    """

    homepage = "https://github.com/crcore/crcore"
    git = "https://github.com/crcore/crcore.git"

    # GitHub handles of the people answering for this package.
    maintainers("crcore")

    # Must match the LICENSE file at the root of the crcore repository.
    license("Apache-2.0")

    version("main", branch="main")
    # Releases are tags vX.Y.Z; add each one with its commit when it is cut, e.g.
    #   version("0.1.0", tag="v0.1.0", commit="<40-hex sha of the tag>")
    # (0.1.0 will be the first tag; none exists yet.)

    variant("mpi", default=True, description="Open MPI integration (mpirun -am ft-enable-cr)")
    variant("pmix", default=True, description="Use PMIx to coordinate checkpoints of MPI jobs")
    variant("hwloc", default=True, description="Record and restore CPU/memory binding with hwloc")
    variant("slurm", default=False, description="Slurm integration (needs an external slurm)")
    variant(
        "kmod", default=False, description="Build the optional kernel module (needs kernel headers)"
    )
    variant("zstd", default=True, description="Compress checkpoint images with zstd")

    depends_on("c", type="build")
    depends_on("cxx", type="build")
    depends_on("cmake@3.25:", type="build")
    depends_on("pkgconfig", type="build")

    # Always required by cmake/CrcoreOptions.cmake.
    depends_on("xxhash")
    depends_on("cli11")
    depends_on("nlohmann-json@3:")
    depends_on("fmt")

    depends_on("mpi", when="+mpi")
    # Only Open MPI is supported today: its mpirun reads the ft-enable-cr aggregate MCA
    # parameter file that crcore installs. Any other MPI provider conflicts with +mpi.
    requires(
        "^[virtuals=mpi] openmpi",
        when="+mpi",
        msg="crcore +mpi supports only Open MPI today; use ^openmpi or ~mpi",
    )
    depends_on("pmix", when="+pmix")
    depends_on("hwloc", when="+hwloc")
    depends_on("zstd", when="+zstd")
    depends_on("slurm", when="+slurm")

    depends_on("googletest", type="test")
    # ctest also runs tests/spack/lint_package.py.
    depends_on("python@3.8:", type="test")

    conflicts("%gcc@:9", msg="crcore is C++20 code and needs GCC 10 or newer")
    requires("platform=linux target=x86_64:", msg="crcore supports x86-64 Linux only")

    # The stand-alone tests compile the installed example program.
    test_requires_compiler = True

    def cmake_args(self):
        args = [
            self.define_from_variant("CRCORE_WITH_MPI", "mpi"),
            self.define_from_variant("CRCORE_WITH_PMIX", "pmix"),
            self.define_from_variant("CRCORE_WITH_HWLOC", "hwloc"),
            self.define_from_variant("CRCORE_WITH_SLURM", "slurm"),
            self.define_from_variant("CRCORE_WITH_KMOD", "kmod"),
            self.define_from_variant("CRCORE_WITH_ZSTD", "zstd"),
            self.define("BUILD_TESTING", self.run_tests),
            self.define("CRCORE_BUILD_BENCH", False),
            self.define("CRCORE_SANITIZE", False),
            # Never write into the Open MPI package's prefix: the front end reads our own copy.
            self.define("CRCORE_OMPI_AMCA_DIR", "NONE"),
        ]
        if self.spec.satisfies("+slurm"):
            # The SPANK plugin goes to <prefix>/lib/slurm/crcore_spank.so (plugstack.conf names it
            # by its full path), the scontrol front end to <prefix>/bin. (Only declared with +slurm:
            # otherwise CMake warns that the variable is unused.)
            args.append(self.define("CRCORE_SLURM_PLUGIN_DIR", "lib/slurm"))
        if self.run_tests:
            # The package lint (ctest spack_package_lint) runs on the spec's python, not on whatever
            # python3 comes first in PATH (a pyenv shim, say).
            args.append(self.define("Python3_EXECUTABLE", self.spec["python"].command.path))
        return args

    def check(self):
        """Build-time tests of 'spack install --test=root': ctest's 'unit' label (unit tests and
        the package lint). The other labels (e2e, mpi, reliability, ...) ptrace and kill real
        processes for about 25 minutes and need a quiet machine: CI runs them, and
        'spack test run crcore' runs the end-to-end smoke tests against the installed prefix."""
        with working_dir(self.build_directory):
            ctest = Executable(join_path(self.spec["cmake"].prefix.bin, "ctest"))
            ctest("-L", "unit", "--output-on-failure", "--timeout", "600")

    def setup_run_environment(self, env):
        # Our bin/ holds, with +slurm, the scontrol front end for 'scontrol checkpoint', and
        # libexec/crcore/mpi-bin the mpirun front end that understands '-am ft-enable-cr' (as
        # share/crcore/env.sh does): both must come before the real scontrol and mpirun.
        env.prepend_path("PATH", self.prefix.bin)
        if "+mpi" in self.spec:
            env.prepend_path("PATH", join_path(self.prefix.libexec, "crcore", "mpi-bin"))
        env.set("CRCORE_ROOT", self.prefix)

    # ---- stand-alone tests: spack test run crcore --------------------------------------

    def _test_env(self):
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([self.prefix.bin, env.get("PATH", "")])
        env["CRCORE_ROOT"] = self.prefix
        if "+mpi" in self.spec:
            if os.geteuid() == 0:
                env["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
                env["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
            env["OMPI_MCA_rmaps_base_oversubscribe"] = "1"
        return env

    #: Steps of the example counter (about 0.25 s each); long enough to checkpoint mid-run.
    counter_steps = "24"

    def _build_counter(self):
        """Compile the installed counter.c example in the test stage; return its path."""
        src = join_path(self.prefix.share.crcore.examples, "counter.c")
        assert os.path.isfile(src), f"installed example missing: {src}"
        exe = os.path.abspath("counter")
        if not os.path.exists(exe):
            # The C compiler crcore was built with (CC is not always set in the test env).
            cc = os.environ.get("CC") or self.spec["c"].package.cc
            Executable(cc)("-O2", "-pthread", "-o", exe, src)
        return exe

    @staticmethod
    def _answers(text):
        # counter prints "answer: <16 hex digits>" as its last line.
        return [ln.strip() for ln in text.splitlines() if ln.startswith("answer:")]

    def _run(self, argv, timeout=300):
        return subprocess.run(
            argv,
            env=self._test_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )

    def _reference(self, counter, steps):
        """Output of an uninterrupted run of the example."""
        ref = subprocess.run(
            [counter, steps],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
        )
        assert ref.returncode == 0 and self._answers(ref.stdout), (
            f"counter failed on its own (status {ref.returncode}):\n{ref.stdout}{ref.stderr}"
        )
        return ref.stdout

    @staticmethod
    def _program_pid(pid, exe):
        """cr_run becomes the program (same pid); if it ever forks, use its child running exe."""
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                children = f.read().split()
        except OSError:
            return pid
        for child in children:
            try:
                if os.path.realpath(f"/proc/{child}/exe") == os.path.realpath(exe):
                    return int(child)
            except OSError:
                pass
        return pid

    def test_cr_checkpoint_help(self):
        """cr_checkpoint --help prints its usage"""
        for name in ("cr_run", "cr_checkpoint", "cr_restart", "cr_info"):
            assert os.access(join_path(self.prefix.bin, name), os.X_OK), f"bin/{name} missing"
        cr_checkpoint = which(self.prefix.bin.cr_checkpoint)
        out = cr_checkpoint("--help", output=str, error=str)
        assert "--kill" in out, f"unexpected 'cr_checkpoint --help' output:\n{out}"

    def test_checkpoint_restart(self):
        """checkpoint the example with --kill, restart it, compare with an uninterrupted run"""
        counter = self._build_counter()
        expected = self._reference(counter, self.counter_steps)

        image = os.path.abspath("counter.ctx")
        out_path = os.path.abspath("counter.out")
        with open(out_path, "w") as out, open("counter.err", "w") as err:
            proc = subprocess.Popen(
                [self.prefix.bin.cr_run, counter, self.counter_steps],
                env=self._test_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        try:
            deadline = time.monotonic() + 60
            while "progress step" not in open(out_path).read():
                assert proc.poll() is None, f"cr_run counter ended early ({proc.returncode})"
                assert time.monotonic() < deadline, "counter printed no progress in 60 s"
                time.sleep(0.1)
            pid = self._program_pid(proc.pid, counter)
            print(f"cr_checkpoint -f {image} --kill {pid}")
            ckpt = self._run(
                [self.prefix.bin.cr_checkpoint, "-f", image, "--kill", str(pid)], timeout=120
            )
            assert ckpt.returncode == 0, f"cr_checkpoint failed:\n{ckpt.stdout}"
            proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert os.path.getsize(image) > 0, f"cr_checkpoint wrote no image {image}"

        info = self._run([self.prefix.bin.cr_info, image])
        assert info.returncode == 0, f"cr_info {image} failed:\n{info.stdout}"
        print("".join(info.stdout.splitlines(keepends=True)[:3]))

        # The restored process writes to its original stdout, counter.out.
        print(f"cr_restart {image}")
        rst = self._run([self.prefix.bin.cr_restart, image])
        with open(out_path) as f:
            got = f.read()
        assert rst.returncode == 0, f"cr_restart failed ({rst.returncode}):\n{rst.stdout}{got}"
        assert got == expected, (
            f"output after checkpoint/restart differs from the uninterrupted run:\n"
            f"--- expected\n{expected}--- got\n{got}"
        )
        print(f"restarted run matches the uninterrupted one: {self._answers(got)[-1]}")

    def test_mpi_two_ranks(self):
        """checkpoint a 2-rank MPI job (mpirun -am ft-enable-cr, ompi-checkpoint --term), restart it
        with ompi-restart, and compare its answer with an uninterrupted run"""
        if "+mpi" not in self.spec:
            raise SkipTest("crcore was built ~mpi")
        amca = join_path(self.prefix.share.crcore, "amca-param-sets", "ft-enable-cr")
        assert os.path.isfile(amca), f"missing {amca}"
        src = join_path(self.prefix.share.crcore.examples, "mpi_ring.c")
        assert os.path.isfile(src), f"installed example missing: {src}"
        ring = os.path.abspath("mpi_ring")
        if not os.path.exists(ring):
            Executable(self.spec["mpi"].mpicc)("-O2", "-o", ring, src)
        steps = "400"
        real_mpirun = join_path(self.spec["mpi"].prefix.bin, "mpirun")
        front_end = join_path(self.prefix.libexec, "crcore", "mpi-bin", "mpirun")
        assert os.access(front_end, os.X_OK), f"missing the mpirun front end {front_end}"

        reference = self._run([real_mpirun, "-np", "2", ring, steps])
        expected = self._answers(reference.stdout)
        assert reference.returncode == 0 and len(expected) == 1, f"reference run failed:\n{reference.stdout}"
        print(f"{real_mpirun} -np 2 {ring} {steps}: {expected[0]}")

        with open("mpi_job.out", "w") as out:
            job = subprocess.Popen(
                [front_end, "-am", "ft-enable-cr", "-np", "2", ring, steps],
                env=self._test_env(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.time() + 120
            while time.time() < deadline and job.poll() is None:
                with open("mpi_job.out") as f:
                    if "step 100" in f.read():
                        break
                time.sleep(0.2)
            assert job.poll() is None, "the job ended before it could be checkpointed:\n" + open("mpi_job.out").read()
            print(f"ompi-checkpoint --term {job.pid}")
            ckpt = self._run([self.prefix.bin.join("ompi-checkpoint"), "--term", str(job.pid)], timeout=180)
            assert ckpt.returncode == 0, f"ompi-checkpoint failed:\n{ckpt.stdout}"
            # It prints the snapshot's path (and a summary line on stderr).
            paths = [ln.strip() for ln in ckpt.stdout.splitlines() if os.path.isdir(ln.strip())]
            assert paths, f"no snapshot directory in ompi-checkpoint's output:\n{ckpt.stdout}"
            snapshot = paths[0]
            job.wait(timeout=60)
        finally:
            if job.poll() is None:
                job.kill()
        first = self._answers(open("mpi_job.out").read())
        assert first == [], f"the checkpointed job was not ended by --term: {first}"

        print(f"snapshot {snapshot}; ompi-restart {snapshot}")
        restarted = self._run([self.prefix.bin.join("ompi-restart"), snapshot], timeout=300)
        got = self._answers(restarted.stdout)
        assert restarted.returncode == 0 and got == expected, (
            f"restarted job: expected {expected}, got {got} (status {restarted.returncode}):\n{restarted.stdout}"
        )
        print(f"the restarted 2-rank job matches the uninterrupted one: {got[0]}")
