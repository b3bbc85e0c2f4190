#!/usr/bin/env python3
"""crcore's MPI layer benchmark: its overhead on communication, and the time to checkpoint and restart a job.

Overhead: bench/mpi/mpi_bench (built with mpicc) runs under plain `mpirun` and under
`mpirun -am ft-enable-cr` (crcore's front end and libcrmpi.so) in the same run, alternately, --repeat times
each, and the medians are compared:
  pingpong 8 B      half-round-trip latency between two ranks (latency-bound)
  pingpong 1 MiB    bandwidth between two ranks (bandwidth-bound)
  self 8 B          MPI_Send to itself then MPI_Recv, one rank: the cost of the calls, no waiting
  allreduce 8       8 doubles over --np ranks, time per call
  allreduce 64 Ki   65536 doubles, time per call
each as the mean over all iterations of a run and as its fastest of 100 batches ("best batch": on a shared
machine, the batches no other process interrupted; the steadier figure there). The ranges are over the runs.

Checkpoint and restart of a whole job (`mpi_bench hold MIB`, MIB MiB per rank, --np ranks):
  snapshot     from the request to the last rank's committed image (metadata.json's checkpoint_seconds)
  checkpoint   wall time of `ompi-checkpoint --term` (snapshot, metadata.json, then the job ended)
  restart      from the start of `ompi-restart` until the restarted job prints its next tick
  mpirun       `mpirun -np N true`: the part of a restart that is only starting a job
  launch       for scale: from `mpirun` to the first tick of a fresh job of the same size
and, for the issue's target (restart per rank within 2x of a single process), `cr_restart` of one ordinary
process of the same image size (bench/workload under cr_run) until it answers.
When the MPI layer cannot run (libcrmpi.so missing or failing), its rows say why, and the checkpoint and
restart rows are measured on ordinary processes (bench/workload under cr_run, started by mpirun with
CRCORE_MPI=1): the launcher side alone.

--overhead-only skips the checkpoint and restart timing. Prints a table; nothing here asserts a time. Exit
status 0 when the table was printed.
"""

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from mpi_env import mpi_bench_setup

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"), help="crcore build tree (build/)")
    p.add_argument("--np", type=int, default=2, help="ranks for allreduce and the checkpoint job (2)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each measurement per variant (3)")
    p.add_argument("--mib", type=int, default=64, help="MiB per rank of the checkpointed job (64)")
    p.add_argument("--dir", default=tempfile.gettempdir(), help="where snapshots go (/tmp)")
    p.add_argument("--quick", action="store_true", help="fewer iterations (a smoke run)")
    p.add_argument("--overhead-only", action="store_true",
                   help="only the communication overhead (no checkpoint/restart timing)")
    return p.parse_args()


class Bench:
    def __init__(self, a):
        self.a = a
        self.bin, self.mpibin, self.env, self.real_mpirun = mpi_bench_setup(a.build)
        self.work = tempfile.mkdtemp(prefix="crcore-mpi-bench-", dir=a.dir)
        self.program = os.path.join(self.work, "mpi_bench")
        src = os.path.join(REPO, "bench", "mpi", "mpi_bench.c")
        subprocess.run(["mpicc", "-O2", "-o", self.program, src], check=True)
        self.ft_problem = None

    def mpirun(self, ft, np):
        if ft:
            return [os.path.join(self.mpibin, "mpirun"), "-am", "ft-enable-cr", "--oversubscribe", "-np", str(np)]
        return [self.real_mpirun, "--oversubscribe", "-np", str(np)]

    def run_once(self, ft, np, args, patterns):
        r = subprocess.run(self.mpirun(ft, np) + [self.program] + args, env=self.env, capture_output=True,
                           text=True, timeout=600)
        found = [re.search(p, r.stdout) for p in patterns]
        if r.returncode != 0 or not all(found):
            raise RuntimeError(f"exit {r.returncode}: {(r.stderr or r.stdout).strip().splitlines()[-1:]}")
        return [float(m.group(1)) for m in found]

    def overhead(self):
        quick = self.a.quick
        # (program arguments, ranks, [(row, pattern)]): one run gives the mean over all iterations and the
        # fastest of 100 batches (the one least disturbed by other processes on a shared machine).
        ar = f"{self.a.np} ranks"
        cases = [
            (["pingpong", "8", "2000" if quick else "20000"], 2,
             [("pingpong 8 B latency (us)", r"latency_us ([\d.]+)"),
              ("  best batch (us)", r"best_latency_us ([\d.]+)")]),
            (["pingpong", "1048576", "50" if quick else "500"], 2,
             [("pingpong 1 MiB bandwidth (MB/s)", r"bandwidth_MBps ([\d.]+)"),
              ("  best batch (MB/s)", r"best_bandwidth_MBps ([\d.]+)")]),
            (["self", "8", "2000" if quick else "20000"], 1,
             [("self send+recv 8 B, 1 rank (us/pair)", r"us_per_pair ([\d.]+)"),
              ("  best batch (us/pair)", r"best_us_per_pair ([\d.]+)")]),
            (["allreduce", "8", "2000" if quick else "20000"], self.a.np,
             [(f"allreduce 8 doubles, {ar} (us/call)", r"us_per_call ([\d.]+)"),
              ("  best batch (us/call)", r"best_us_per_call ([\d.]+)")]),
            (["allreduce", "65536", "50" if quick else "500"], self.a.np,
             [(f"allreduce 64 Ki doubles, {ar} (us/call)", r"us_per_call ([\d.]+)"),
              ("  best batch (us/call)", r"best_us_per_call ([\d.]+)")]),
        ]
        rows = []
        for args, np, figures in cases:
            patterns = [p for _, p in figures]
            plain, ft = [], []
            for _ in range(self.a.repeat):
                plain.append(self.run_once(False, np, args, patterns))
                if self.ft_problem is None:
                    try:
                        ft.append(self.run_once(True, np, args, patterns))
                    except (RuntimeError, subprocess.TimeoutExpired) as e:
                        self.ft_problem = str(e)
            for i, (name, _) in enumerate(figures):
                p = statistics.median(run[i] for run in plain)
                spread = f"{min(run[i] for run in plain):.3f}-{max(run[i] for run in plain):.3f}"
                if not ft:
                    rows.append((name, f"{p:.3f}", "n/a", "n/a", spread, ""))
                    continue
                f = statistics.median(run[i] for run in ft)
                ft_spread = f"{min(run[i] for run in ft):.3f}-{max(run[i] for run in ft):.3f}"
                higher_is_better = "MB/s" in name
                cost = (p - f) / p if higher_is_better else (f - p) / p
                rows.append((name, f"{p:.3f}", f"{f:.3f}", f"{cost * 100:+.1f}%", spread, ft_spread))
        return rows

    def wait_line(self, path, regex, proc, timeout=300, count=1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(path, errors="replace") as f:
                if len(re.findall(regex, f.read(), re.M)) >= count:
                    return time.monotonic()
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"the job ended before '{regex}' appeared: {open(path).read()[-300:]}")
            time.sleep(0.005)
        raise RuntimeError(f"no '{regex}' in {path} within {timeout} s")

    def job_cycle(self, use_ft):
        """(launch, checkpoint, restart) seconds for one job of --np ranks holding --mib MiB each."""
        np = self.a.np
        out = os.path.join(self.work, f"job-{time.monotonic_ns()}.out")
        if use_ft:
            cmd = self.mpirun(True, np) + [self.program, "hold", str(self.a.mib), "120"]
            tick = r"^tick "
        else:
            workload = os.path.join(self.bin, "workload")
            cmd = [self.real_mpirun, "--oversubscribe", "-np", str(np), "-x", "CRCORE_MPI=1",
                   os.path.join(self.bin, "cr_run"), workload, str(self.a.mib), "1", "120"]
            tick = r"^ready"
        start = time.monotonic()
        with open(out, "w") as f:
            job = subprocess.Popen(cmd, env=self.env, stdout=f, stderr=subprocess.STDOUT)
        try:
            launch = self.wait_line(out, tick, job, count=np if not use_ft else 1) - start
            if use_ft:
                self.wait_line(out, tick, job, count=3)
            t0 = time.monotonic()
            ck = subprocess.run([os.path.join(self.bin, "ompi-checkpoint"), "--term", "--time", "120", "--dir",
                                 self.work, str(job.pid)], env=self.env, capture_output=True, text=True)
            checkpoint = time.monotonic() - t0
            if ck.returncode != 0:
                raise RuntimeError(ck.stderr.strip())
            snapshot = ck.stdout.strip().splitlines()[-1]
            with open(os.path.join(snapshot, "metadata.json")) as f:
                images = json.load(f)["checkpoint_seconds"]
            job.wait(timeout=60)
        finally:
            if job.poll() is None:
                job.kill()
                job.wait()
        rout = out + ".restart"
        t0 = time.monotonic()
        with open(rout, "w") as f:
            restarted = subprocess.Popen([os.path.join(self.bin, "ompi-restart"), "--oversubscribe", snapshot],
                                         env=self.env, stdout=f, stderr=subprocess.STDOUT)
        try:
            if use_ft:
                restart = self.wait_line(rout, r"^tick ", restarted) - t0
            else:
                restart = self.wait_answers(restarted, t0)
        finally:
            restarted.send_signal(signal.SIGTERM)
            try:
                restarted.wait(timeout=30)
            except subprocess.TimeoutExpired:
                restarted.kill()
                restarted.wait()
        shutil.rmtree(snapshot, ignore_errors=True)
        return launch, images, checkpoint, restart

    def empty_launch(self):
        """Seconds for `mpirun -np N true`: what any restart pays to start a job."""
        t0 = time.monotonic()
        subprocess.run([self.real_mpirun, "--oversubscribe", "-np", str(self.a.np), "true"], env=self.env,
                       check=True, capture_output=True)
        return time.monotonic() - t0

    def wait_answers(self, mpirun, t0):
        """The restarted plain ranks answer once every workload (a descendant of mpirun) has its SIGUSR1
        handler back; returns the seconds since t0."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            ranks = self.workload_pids(mpirun.pid)
            if len(ranks) == self.a.np and all(self.handles_usr1(p) for p in ranks):
                return time.monotonic() - t0
            if mpirun.poll() is not None:
                raise RuntimeError("the restarted job ended")
            time.sleep(0.002)
        raise RuntimeError("the restarted ranks did not come back within 300 s")

    @staticmethod
    def workload_pids(root):
        out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,comm="], capture_output=True, text=True).stdout
        children, names = {}, {}
        for line in out.splitlines():
            pid, ppid, comm = line.split(None, 2)
            children.setdefault(int(ppid), []).append(int(pid))
            names[int(pid)] = comm.strip()
        found, queue = [], [root]
        while queue:
            for c in children.get(queue.pop(), []):
                queue.append(c)
                if names.get(c) == "workload":
                    found.append(c)
        return found

    @staticmethod
    def comm(pid):
        try:
            with open(f"/proc/{pid}/comm") as f:
                return f.read().strip()
        except OSError:
            return ""

    @staticmethod
    def handles_usr1(pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                caught = next(line for line in f if line.startswith("SigCgt:")).split()[1]
            return int(caught, 16) & (1 << (signal.SIGUSR1 - 1)) != 0
        except (OSError, StopIteration):
            return False

    def single_restart(self):
        """cr_restart of one workload process of --mib MiB: seconds until it answers."""
        image = os.path.join(self.work, "single.ctx")
        out = os.path.join(self.work, "single.out")
        with open(out, "w") as f:
            p = subprocess.Popen([os.path.join(self.bin, "cr_run"), os.path.join(self.bin, "workload"),
                                  str(self.a.mib), "1", "120"], stdout=f, stderr=subprocess.STDOUT)
        self.wait_line(out, r"^ready", p)
        subprocess.run([os.path.join(self.bin, "cr_checkpoint"), "--kill", "-f", image, str(p.pid)], check=True,
                       capture_output=True)
        p.wait()
        t0 = time.monotonic()
        with open(out, "a") as f:
            r = subprocess.Popen([os.path.join(self.bin, "cr_restart"), image], stdout=f, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 300
            # cr_restart sets the signal dispositions before its stage loads the pages; the thread names
            # (the program's comm) come back after them, just before the process runs again.
            while not (self.handles_usr1(r.pid) and self.comm(r.pid) == "workload"):
                if time.monotonic() > deadline or r.poll() is not None:
                    raise RuntimeError("the single restarted process did not come back")
                time.sleep(0.002)
            return time.monotonic() - t0
        finally:
            r.send_signal(signal.SIGTERM)
            r.wait(timeout=60)
            os.unlink(image)


def main():
    a = parse_args()
    b = Bench(a)
    print(f"crcore MPI benchmark: {a.np} ranks, {a.repeat} runs per figure (median), work dir {b.work}")
    rows = b.overhead()
    print()
    print(f"{'communication (median of runs)':<44} {'plain':>12} {'ft-enable-cr':>13} {'overhead':>9}"
          f"  {'plain range':>19} {'ft-enable-cr range':>19}")
    for name, plain, ft, cost, spread, ft_spread in rows:
        print(f"{name:<44} {plain:>12} {ft:>13} {cost:>9}  {spread:>19} {ft_spread:>19}")
    if b.ft_problem:
        print(f"  ft-enable-cr could not run: {b.ft_problem}")

    print()
    if a.overhead_only:
        shutil.rmtree(b.work, ignore_errors=True)
        return 0
    use_ft = b.ft_problem is None
    cycles = []
    if use_ft:
        try:
            for _ in range(a.repeat):
                cycles.append(b.job_cycle(True))
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            print(f"checkpoint/restart of the MPI job (mpi_bench hold) failed: {str(e).strip().splitlines()[-2:]}")
            use_ft, cycles = False, []
    what = "MPI job (mpi_bench hold)" if use_ft else "ordinary ranks (workload under cr_run; no MPI layer)"
    print(f"checkpoint/restart of a job of {a.np} ranks x {a.mib} MiB: {what}")
    while len(cycles) < a.repeat:
        cycles.append(b.job_cycle(False))
    single = statistics.median(b.single_restart() for _ in range(a.repeat))
    empty = statistics.median(b.empty_launch() for _ in range(a.repeat))
    launch, images, ck, rs = (statistics.median(c[i] for c in cycles) for i in range(4))
    print(f"{'launch of a fresh job (s)':<44} {launch:>12.3f}")
    print(f"{'snapshot: all images committed (s)':<44} {images:>12.3f}")
    print(f"{'ompi-checkpoint --term, job ended (s)':<44} {ck:>12.3f}")
    print(f"{'ompi-restart until running again (s)':<44} {rs:>12.3f}")
    print(f"{'mpirun -np {0} true (s)'.format(a.np):<44} {empty:>12.3f}")
    print(f"{'cr_restart of one {0} MiB process (s)'.format(a.mib):<44} {single:>12.3f}")
    print(f"{'(restart - mpirun start) / single cr_restart':<44} {(rs - empty) / single:>12.2f}")
    shutil.rmtree(b.work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
