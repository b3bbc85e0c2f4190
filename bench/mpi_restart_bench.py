#!/usr/bin/env python3
"""Where the restart of an MPI job goes: ompi-restart against a single-process cr_restart of the same size.

For each job size (--np) and memory per rank (--mib), in the same run:
  hello         `mpirun -np N mpi_bench hello` (plain Open MPI, no crcore): from mpirun's start to each rank's
                main (launch), its MPI_Init (init), and the whole job's wall time: the launcher's fixed cost
  single        `cr_restart` of one ordinary process of the same memory (bench/workload under cr_run,
                checkpointed with --kill): from cr_restart's start until the process answers a signal
  at once       `cr_restart --kill` of that image, alone and N at once (the slowest): what N restores sharing
                the cores cost without MPI
  restart       `ompi-restart` of a snapshot of `mpi_bench hold MIB` (mpirun -am ft-enable-cr, checkpointed
                with ompi-checkpoint --term after its third tick), with CRCORE_MPI_TIMING=1: every rank
                prints where its restart went (plugin/src/upper/restart_timing.h); the job is ended as
                soon as rank 0 prints its next tick
                the snapshot is restarted both ways, alternately: as ompi-restart does by default (each rank's
                cr_restart gets the validation proof of ompi-restart's check and does not checksum its image
                again; the snapshot is left 2.5 s old first, the proofs' settling time) and with
                CRCORE_MPI_FULL_VALIDATION=1 (every rank validates its image again, as before the proofs)
The per-rank restart figure (docs/mpi.md, "Restart time") is from the rank's process start (the per-rank
launcher that mpirun starts) until the rank's application runs again (the restart callback has rebuilt
everything and opened the gate); the table gives the slowest rank's, the median over --repeat restarts of
the same snapshot. Every figure is a median of --repeat runs. Nothing here asserts a time.
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
PHASES = ["check", "mpirun", "launcher", "cr_restart", "environment", "unlink", "dlmopen", "mpi_init", "world",
          "communicators", "groups", "datatypes", "ops", "receives", "gate_open"]


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"), help="crcore build tree (build/)")
    p.add_argument("--np", default="2,4", help="job sizes, comma-separated (2,4)")
    p.add_argument("--mib", default="64,256", help="MiB per rank, comma-separated (64,256)")
    p.add_argument("--repeat", type=int, default=3, help="runs of each measurement (3)")
    p.add_argument("--dir", default=tempfile.gettempdir(), help="where snapshots and images go (/tmp)")
    p.add_argument("--json", help="also write every measurement to this file")
    return p.parse_args()


def median(values):
    return statistics.median(values) if values else float("nan")


class Bench:
    def __init__(self, a):
        self.a = a
        self.bin, self.mpibin, self.env, self.real_mpirun = mpi_bench_setup(a.build)
        self.env.pop("CRCORE_MPI_TIMING", None)
        self.work = tempfile.mkdtemp(prefix="crcore-mpi-restart-bench-", dir=a.dir)
        self.program = os.path.join(self.work, "mpi_bench")
        subprocess.run(["mpicc", "-O2", "-o", self.program, os.path.join(REPO, "bench", "mpi", "mpi_bench.c")],
                       check=True)

    # --- plain Open MPI: the launcher's fixed cost -------------------------------------------------------
    def hello(self, np):
        t0 = time.time_ns()
        r = subprocess.run([self.real_mpirun, "--oversubscribe", "-np", str(np), self.program, "hello"],
                           env=self.env, capture_output=True, text=True, timeout=120)
        wall = (time.time_ns() - t0) / 1e9
        ranks = [tuple(int(x) for x in m) for m in re.findall(r"^hello \d+ start_ns (\d+) init_ns (\d+)", r.stdout, re.M)]
        if r.returncode != 0 or len(ranks) != np:
            raise RuntimeError(f"hello job failed ({r.returncode}): {r.stderr.strip()[-300:]}")
        return {"launch": max(s - t0 for s, _ in ranks) / 1e9, "init": max(i - s for s, i in ranks) / 1e9,
                "launch_init": max(i - t0 for _, i in ranks) / 1e9, "wall": wall}

    # --- one ordinary process -------------------------------------------------------------------------
    def wait_line(self, path, regex, proc, timeout=300, count=1):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(path, errors="replace") as f:
                found = re.findall(regex, f.read(), re.M)
            if len(found) >= count:
                return time.time_ns(), found
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"ended before '{regex}' appeared: {open(path, errors='replace').read()[-300:]}")
            time.sleep(0.002)
        raise RuntimeError(f"no '{regex}' in {path} within {timeout} s")

    @staticmethod
    def handles_usr1(pid):
        try:
            with open(f"/proc/{pid}/status") as f:
                caught = next(line for line in f if line.startswith("SigCgt:")).split()[1]
            return int(caught, 16) & (1 << (signal.SIGUSR1 - 1)) != 0
        except (OSError, StopIteration):
            return False

    def single_image(self, mib):
        image = os.path.join(self.work, f"single-{mib}.ctx")
        out = os.path.join(self.work, f"single-{mib}.out")
        with open(out, "w") as f:
            p = subprocess.Popen([os.path.join(self.bin, "cr_run"), os.path.join(self.bin, "workload"), str(mib), "1"],
                                 stdout=f, stderr=subprocess.STDOUT)
        self.wait_line(out, r"^ready", p)
        subprocess.run([os.path.join(self.bin, "cr_checkpoint"), "--kill", "-f", image, str(p.pid)], check=True,
                       capture_output=True)
        p.wait()
        return image, out, os.path.getsize(out)

    def single(self, image, out, out_size):
        """Seconds from cr_restart's start until the restored process runs: its threads are back under the
        program's name, and it answers SIGUSR1 with 'alive' (written by its handler to its own stdout, the
        file `out` reopened at its checkpointed offset: cut back to that size before each restart)."""
        os.truncate(out, out_size)
        with open(out + ".restart", "w") as f:
            t0 = time.time_ns()
            r = subprocess.Popen([os.path.join(self.bin, "cr_restart"), image], stdout=f, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                try:
                    with open(f"/proc/{r.pid}/comm") as f:
                        back = f.read().strip() == "workload" and self.handles_usr1(r.pid)
                except OSError:
                    back = False
                if back:
                    break
                if time.monotonic() > deadline or r.poll() is not None:
                    raise RuntimeError("the single restarted process did not come back")
                time.sleep(0.0005)
            r.send_signal(signal.SIGUSR1)
            t1, _ = self.wait_line(out, r"^alive", r)
            return (t1 - t0) / 1e9
        finally:
            r.send_signal(signal.SIGTERM)
            r.wait(timeout=60)

    def at_once(self, image, n):
        """Seconds until the slowest of n `cr_restart --kill IMAGE` started together has ended (each restores
        the process, which then kills itself): what n restores cost when they share the machine's cores, as
        the ranks' do, without MPI. With n = 1, the same for one alone."""
        procs = []
        for _ in range(n):
            t0 = time.time_ns()
            procs.append((t0, subprocess.Popen([os.path.join(self.bin, "cr_restart"), "--kill", image],
                                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)))
        ends = []
        for t0, p in procs:
            p.wait(timeout=120)
            ends.append((time.time_ns() - t0) / 1e9)
        return max(ends)

    # --- the MPI job ----------------------------------------------------------------------------------
    def snapshot(self, np, mib):
        out = os.path.join(self.work, f"job-{np}-{mib}.out")
        cmd = [os.path.join(self.mpibin, "mpirun"), "-am", "ft-enable-cr", "--oversubscribe", "-np", str(np),
               self.program, "hold", str(mib), "600"]
        with open(out, "w") as f:
            job = subprocess.Popen(cmd, env=self.env, stdout=f, stderr=subprocess.STDOUT)
        try:
            self.wait_line(out, r"^tick ", job, count=3)
            ck = subprocess.run([os.path.join(self.bin, "ompi-checkpoint"), "--term", "--time", "300", "--dir",
                                 self.work, str(job.pid)], env=self.env, capture_output=True, text=True)
            if ck.returncode != 0:
                raise RuntimeError("ompi-checkpoint: " + ck.stderr.strip())
            job.wait(timeout=60)
            return ck.stdout.strip().splitlines()[-1]
        finally:
            if job.poll() is None:
                job.kill()
                job.wait()

    def restart(self, snapshot, np, proofs=True):
        out = os.path.join(self.work, f"restart-{time.monotonic_ns()}.out")
        err = out + ".err"
        timing = out + ".timing"
        env = dict(self.env, CRCORE_MPI_TIMING=timing)
        if not proofs:
            env["CRCORE_MPI_FULL_VALIDATION"] = "1"
        with open(out, "w") as f, open(err, "w") as e:
            t0 = time.time_ns()
            job = subprocess.Popen([os.path.join(self.bin, "ompi-restart"), "--oversubscribe", snapshot], env=env,
                                   stdout=f, stderr=e)
        try:
            t_tick, _ = self.wait_line(out, r"^tick \d+ allreduce_us (\d+)", job)
            _, ticks = self.wait_line(out, r"^tick \d+ allreduce_us (\d+)", job, count=3)
            deadline = time.monotonic() + 30
            while True:
                lines = []
                if os.path.exists(timing):
                    with open(timing, errors="replace") as f:
                        lines = re.findall(r"^crcore-mpi-timing .*$", f.read(), re.M)
                if len(lines) >= np:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{len(lines)} of {np} ranks printed their timing")
                time.sleep(0.005)
        finally:
            job.send_signal(signal.SIGTERM)
            try:
                job.wait(timeout=30)
            except subprocess.TimeoutExpired:
                job.kill()
                job.wait()
        ranks = []
        for line in lines:
            fields = dict(kv.split("=", 1) for kv in line.split()[1:])
            ranks.append({k: (int(v) if k.endswith("_ns") or k == "rank" else float(v)) for k, v in fields.items()})
        running = max(r["running_ns"] for r in ranks)
        # The first tick's Allreduce may have been entered before the checkpoint (and held there across
        # it): the first one entered after the restart is the first whose duration fits after t0.
        since = (time.time_ns() - t0) / 1e9
        fresh = [int(us) / 1e6 for us in ticks if int(us) / 1e6 < since]
        with open(err, errors="replace") as f:
            if proofs and "is not the file that was checked" in f.read():
                raise RuntimeError("a rank did not use its validation proof: " + err)
        slowest = max(ranks, key=lambda r: r["per_rank"])
        return {"ranks": ranks, "slowest": slowest, "total": (running - t0) / 1e9, "until_tick": (t_tick - t0) / 1e9,
                "first_allreduce": fresh[0] if fresh else float("nan"), "per_rank": slowest["per_rank"]}


def fmt(x):
    return f"{x:8.3f}"


def main():
    a = parse_args()
    b = Bench(a)
    nps = [int(x) for x in a.np.split(",")]
    mibs = [int(x) for x in a.mib.split(",")]
    print(f"crcore MPI restart benchmark: {a.repeat} runs per figure (median, seconds), work dir {b.work}")
    results = []
    try:
        for mib in mibs:
            image, out, out_size = b.single_image(mib)
            singles = [b.single(image, out, out_size) for _ in range(a.repeat)]
            single_bytes = os.path.getsize(image)
            together = {n: [b.at_once(image, n) for _ in range(a.repeat)] for n in [1] + nps}
            os.unlink(image)
            for np in nps:
                hellos = [b.hello(np) for _ in range(a.repeat)]
                snapshot = b.snapshot(np, mib)
                with open(os.path.join(snapshot, "metadata.json")) as f:
                    rank_bytes = max(r["image_bytes"] for r in json.load(f)["ranks"])
                settled = max(os.stat(os.path.join(snapshot, f)).st_ctime for f in os.listdir(snapshot)) + 2.5
                time.sleep(max(0.0, settled - time.time()))
                restarts, full_restarts = [], []
                for _ in range(a.repeat):
                    restarts.append(b.restart(snapshot, np))
                    full_restarts.append(b.restart(snapshot, np, proofs=False))
                shutil.rmtree(snapshot, ignore_errors=True)
                results.append({"np": np, "mib": mib, "single": singles, "single_image_bytes": single_bytes,
                                "rank_image_bytes": rank_bytes, "hello": hellos, "restart": restarts,
                                "restart_full_validation": full_restarts, "loadavg": os.getloadavg(),
                                "kill_alone": together[1], "kill_at_once": together[np]})
                report(results[-1])
    finally:
        shutil.rmtree(b.work, ignore_errors=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


def report(r):
    np, mib = r["np"], r["mib"]
    single = median(r["single"])
    hello = {k: median([h[k] for h in r["hello"]]) for k in r["hello"][0]}
    rs = r["restart"]
    per_rank = median([x["per_rank"] for x in rs])
    total = median([x["total"] for x in rs])
    print()
    print(f"== {np} ranks x {mib} MiB (rank image {r['rank_image_bytes'] / 2**20:.1f} MiB, "
          f"single image {r['single_image_bytes'] / 2**20:.1f} MiB)")
    print(f"  plain mpirun -np {np} hello: launch {hello['launch']:.3f}  MPI_Init {hello['init']:.3f}  "
          f"launch+init {hello['launch_init']:.3f}  job wall {hello['wall']:.3f}")
    print(f"  cr_restart of one {mib} MiB process (until it answers)      {fmt(single)}")
    print(f"  ompi-restart until every rank runs again                   {fmt(total)}")
    print(f"  ompi-restart until rank 0's next tick                      {fmt(median([x['until_tick'] for x in rs]))}")
    print(f"  first Allreduce after the restart                          {fmt(median([x['first_allreduce'] for x in rs]))}")
    print(f"  per-rank restart (slowest rank: process start -> running)  {fmt(per_rank)}")
    print(f"  phases of the slowest rank (its mpi_init includes waiting in the fence for the other ranks):")
    for phase in PHASES:
        values = [x["slowest"].get(phase, 0.0) for x in rs]
        print(f"    {phase:<14} {fmt(median(values))}")
    last = [max(x["ranks"], key=lambda r: r["rank_ns"] / 1e9 + sum(r.get(k, 0.0) for k in PHASES[2:7])) for x in rs]
    print(f"  the last rank into MPI_Init: its cr_restart {median([r['cr_restart'] for r in last]):.3f}, "
          f"its MPI_Init {median([r['mpi_init'] for r in last]):.3f} (no waiting for others)")
    print(f"  ratio per-rank / single cr_restart                         {per_rank / single:8.2f}")
    fr = r["restart_full_validation"]
    full_per_rank = median([x["per_rank"] for x in fr])
    print(f"  with every rank validating again (CRCORE_MPI_FULL_VALIDATION=1): per-rank {full_per_rank:.3f}, "
          f"its cr_restart {median([x['slowest'].get('cr_restart', 0.0) for x in fr]):.3f}, "
          f"ompi-restart total {median([x['total'] for x in fr]):.3f}, ratio {full_per_rank / single:.2f}")
    alone, at_once = median(r["kill_alone"]), median(r["kill_at_once"])
    print(f"  cr_restart --kill of the single image: alone {alone:.3f}, {np} at once (the slowest) {at_once:.3f} "
          f"(x{at_once / alone:.2f}); per-rank / {np} at once {per_rank / at_once:.2f}")
    print(f"  load average (1, 5, 15 min) after these runs               {' '.join(f'{x:.1f}' for x in r['loadavg'])}")
    print(f"  ratio (per-rank - hello MPI_Init) / single cr_restart      {(per_rank - hello['init']) / single:8.2f}")
    print(f"  ratio ompi-restart / hello launch+init                     {total / hello['launch_init']:8.2f}")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
