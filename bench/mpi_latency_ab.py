#!/usr/bin/env python3
"""Interleaved A/B runs of one latency figure: plain mpirun against builds of the MPI layer.

On a shared machine whole-run figures move by several percent from one minute to the next, more than the
layer's cost on a small ping-pong. This runs `mpi_bench MODE SIZE ITERATIONS` once per variant per round,
in a random order each round, for --rounds rounds, and prints per variant the median and the minimum over
the runs of each run's fastest batch ("best batch"), and the median of the runs' means, each against plain.

A variant is NAME=LIBDIR[:VAR=VALUE...]: LIBDIR holds a libcrmpi.so (and crcore/libcrmpi_lower.so beside it,
as a build's lib/ does), given to the ranks with the settings of the build's ft-enable-cr parameter file
(what `mpirun -am ft-enable-cr` passes), its LD_PRELOAD naming LIBDIR's library, plus the extra
environment given. Without --variant: the build's own lib/ ("layer").

Example (the layer against itself with direct receives off, and against a kept older build):
  bench/mpi_latency_ab.py --rounds 60 --variant layer=build/lib \\
      --variant no-direct=build/lib:CRCORE_MPI_DIRECT_RECEIVE=0 --variant before=/tmp/old-lib
Prints a table; asserts nothing.
"""

import argparse
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

from mpi_env import mpi_bench_setup

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIGURES = {  # mode: (best batch, mean of the run)
    "pingpong": (r"best_latency_us ([\d.]+)", r" latency_us ([\d.]+)"),
    "self": (r"best_us_per_pair ([\d.]+)", r" us_per_pair ([\d.]+)"),
    "allreduce": (r"best_us_per_call ([\d.]+)", r" us_per_call ([\d.]+)"),
}


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--build", default=os.path.join(REPO, "build"), help="crcore build tree (build/)")
    p.add_argument("--rounds", type=int, default=40, help="runs of each variant (40)")
    p.add_argument("--mode", choices=sorted(FIGURES), default="pingpong", help="mpi_bench mode (pingpong)")
    p.add_argument("--size", type=int, default=8, help="message bytes or allreduce doubles (8)")
    p.add_argument("--iterations", type=int, default=200000, help="iterations per run (200000)")
    p.add_argument("--np", type=int, default=2, help="ranks for allreduce (2)")
    p.add_argument("--variant", action="append", default=[], help="NAME=LIBDIR[:VAR=VALUE...] (repeatable)")
    return p.parse_args()


def layer_settings(build):
    """The VAR=VALUE settings the build's ft-enable-cr parameter file gives the ranks (mca_base_env_list)."""
    path = os.path.join(build, "share", "crcore", "amca-param-sets", "ft-enable-cr")
    with open(path) as f:
        for line in f:
            key, _, value = line.partition("=")
            if key.strip() == "mca_base_env_list":
                return [s.strip() for s in value.strip().split(";") if s.strip()]
    sys.exit(f"mpi_latency_ab: no mca_base_env_list in {path}")


def variants(a):
    specs = a.variant or [f"layer={os.path.join(a.build, 'lib')}"]
    out = [("plain", None, [])]
    for spec in specs:
        name, _, rest = spec.partition("=")
        libdir, *extra = rest.split(":")
        library = os.path.join(libdir, "libcrmpi.so")
        if not name or not os.path.exists(library):
            sys.exit(f"mpi_latency_ab: bad variant {spec!r}: NAME=LIBDIR with LIBDIR/libcrmpi.so")
        out.append((name, library, extra))
    return out


def main():
    a = parse_args()
    _, _, env, real_mpirun = mpi_bench_setup(a.build)
    work = tempfile.mkdtemp(prefix="crcore-mpi-ab-")
    try:
        return compare(a, env, real_mpirun, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def compare(a, env, real_mpirun, work):
    program = os.path.join(work, "mpi_bench")
    subprocess.run(["mpicc", "-O2", "-o", program, os.path.join(REPO, "bench", "mpi", "mpi_bench.c")], check=True)
    np = 1 if a.mode == "self" else (2 if a.mode == "pingpong" else a.np)
    settings = layer_settings(a.build)
    best_pattern, mean_pattern = FIGURES[a.mode]
    todo = variants(a)
    best = {name: [] for name, _, _ in todo}
    means = {name: [] for name, _, _ in todo}
    for _ in range(a.rounds):
        for name, library, extra in random.sample(todo, len(todo)):
            command = [real_mpirun, "--oversubscribe", "-np", str(np)]
            if library is not None:
                for setting in settings + extra:
                    if setting.startswith("LD_PRELOAD="):
                        setting = f"LD_PRELOAD={library}"
                    command += ["-x", setting]
            command += [program, a.mode, str(a.size), str(a.iterations)]
            r = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
            b, m = re.search(best_pattern, r.stdout), re.search(mean_pattern, r.stdout)
            if r.returncode != 0 or b is None or m is None:
                sys.exit(f"mpi_latency_ab: {name} failed (exit {r.returncode}): {(r.stderr or r.stdout)[-400:]}")
            best[name].append(float(b.group(1)))
            means[name].append(float(m.group(1)))
    with open("/proc/loadavg") as f:
        load = f.read().split()[0]
    print(f"mpi_bench {a.mode} {a.size} {a.iterations}, {np} rank(s), {a.rounds} runs per variant in random order "
          f"(load average at the end {load})")
    print(f"{'variant':<12} {'best batch: median':>19} {'min':>8} {'run mean: median':>17}")
    base_best = statistics.median(best["plain"])
    base_mean = statistics.median(means["plain"])
    for name, _, _ in todo:
        b, m = statistics.median(best[name]), statistics.median(means[name])
        print(f"{name:<12} {b:>10.4f} ({(b - base_best) / base_best * 100:+5.1f}%) {min(best[name]):>8.4f} "
              f"{m:>8.4f} ({(m - base_mean) / base_mean * 100:+5.1f}%)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
