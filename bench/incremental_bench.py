#!/usr/bin/env python3
"""bench/incremental_bench.py: what an incremental checkpoint costs after the program touched a little of
its memory.

For each size: start bench/workload under cr_run, take a full checkpoint (--cont), let the workload rewrite
about TOUCH percent of its memory (it rewrites 64 KiB per thread every 2 ms, in order), take an incremental
checkpoint (--incremental --kill), restart from it (cr_restart finds the full image, its parent, in the same
directory), let it run, and end it: the workload then checks every double of its memory ("verify OK").
Prints one line per size: both images' size and checkpoint time, the pause, and the restart time. Informational
only: nothing here fails on a time.

  bench/incremental_bench.py --bin BUILD/bin [--workload BUILD/bin/workload] [--sizes 1024,4096]
                             [--dir /tmp] [--touch 5] [--threads 4] [--extra "--compress"]
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

RATE_MIB_S_PER_THREAD = 64 / 1024 / 0.002 / 1.15  # 64 KiB per 2 ms, less the time the rewrite itself takes


def wait_line(path, word, count, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(path, "rb") as f:
            if f.read().count(word) >= count:
                return
        time.sleep(0.05)
    raise SystemExit(f"incremental_bench: no '{word.decode()}' in {path} within {timeout} s")


def caught_usr1(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return (int(line.split()[1], 16) >> (signal.SIGUSR1 - 1)) & 1 == 1
    except OSError:
        pass
    return False


def checkpoint(bindir, pid, image, extra):
    t0 = time.monotonic()
    p = subprocess.run([os.path.join(bindir, "cr_checkpoint"), "-f", image] + extra + [str(pid)],
                       capture_output=True, text=True)
    wall = time.monotonic() - t0
    if p.returncode != 0:
        raise SystemExit(f"incremental_bench: cr_checkpoint {' '.join(extra)} failed: {p.stderr.strip()}")
    pause = re.search(r"paused ([0-9.]+) ms", p.stdout)
    return wall, float(pause.group(1)) if pause else float("nan"), p.stdout.strip()


def one(args, size, workdir):
    log = os.path.join(workdir, f"workload-{size}.log")
    full = os.path.join(workdir, f"full-{size}.ctx")
    incr = os.path.join(workdir, f"incr-{size}.ctx")
    with open(log, "ab") as out:
        p = subprocess.Popen([os.path.join(args.bin, "cr_run"), args.workload, str(size), str(args.threads)],
                             stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    wait_line(log, b"ready", 1, 900)
    time.sleep(0.2)
    extra = args.extra.split()
    t_full = time.monotonic()
    full_s, full_pause, _ = checkpoint(args.bin, p.pid, full, ["--cont"] + extra)
    # Time for the workload to rewrite TOUCH percent of its memory (measured from the end of the full one).
    # The workload goes on writing while the full image is written: what it rewrites counts from the pause.
    time.sleep(size * args.touch / 100 / (RATE_MIB_S_PER_THREAD * args.threads))
    rewritten = min(100.0, (time.monotonic() - t_full) * RATE_MIB_S_PER_THREAD * args.threads / size * 100)
    incr_s, incr_pause, line = checkpoint(args.bin, p.pid, incr, ["--incremental", "--kill"] + extra)
    p.wait(timeout=120)
    t0 = time.monotonic()
    r = subprocess.Popen([os.path.join(args.bin, "cr_restart"), incr], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=open(log + ".restart", "ab"))
    before = open(log, "rb").read().count(b"alive")
    os.kill(r.pid, 0)
    # Restarted once the workload's SIGUSR1 handler is back (never signal cr_restart itself) and it
    # answers with "alive N".
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if r.poll() is not None:
            raise SystemExit(f"incremental_bench: the restarted workload ended; see {log}.restart")
        if caught_usr1(r.pid):
            os.kill(r.pid, signal.SIGUSR1)
            if open(log, "rb").read().count(b"alive") > before:
                break
        time.sleep(0.005)
    restart_s = time.monotonic() - t0
    time.sleep(0.2)
    os.kill(r.pid, signal.SIGTERM)
    r.wait(timeout=600)
    text = open(log, errors="replace").read()
    verify = "ok" if "verify OK" in text else "FAILED"
    full_mib = os.path.getsize(full) / 2**20
    incr_mib = os.path.getsize(incr) / 2**20
    kind = "incremental" if ": incremental," in line else "FULL"
    print(f"{size:6d} {rewritten:5.1f}% {full_mib:9.1f} {full_s:7.3f} {full_pause:8.1f} | "
          f"{incr_mib:9.1f} {100 * incr_mib / full_mib:6.1f}% {incr_s:7.3f} {incr_pause:8.1f} {kind:>11} | "
          f"{restart_s:7.3f} {verify}", flush=True)
    for f in (full, incr):
        os.unlink(f)
    return verify == "ok" and kind == "incremental"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", required=True, help="directory of cr_run, cr_checkpoint, cr_restart")
    ap.add_argument("--workload", help="bench/workload (default: BIN/workload)")
    ap.add_argument("--sizes", default="1024,4096", help="MiB, comma-separated (1024,4096)")
    ap.add_argument("--dir", default=tempfile.gettempdir(), help="where the images go (/tmp)")
    ap.add_argument("--touch", type=float, default=5.0, help="percent of the memory rewritten in between (5)")
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--extra", default="", help="more cr_checkpoint options for both checkpoints")
    args = ap.parse_args()
    args.workload = args.workload or os.path.join(args.bin, "workload")
    workdir = tempfile.mkdtemp(prefix="crcore-incr-", dir=args.dir)
    print("# full: cr_checkpoint --cont; incremental: --incremental --kill after the workload rewrote TOUCH of "
          "its memory\n# (touch: the share it rewrote between the two pauses, from its rate; it goes on "
          "writing while the full image\n# is written); restart: cr_restart of the incremental image (its chain)")
    print(f"#  MiB touch  full_MiB  full_s pause_ms |  incr_MiB  ratio  incr_s pause_ms        kind | restart_s verify")
    ok = True
    try:
        for size in [int(s) for s in args.sizes.split(",") if s]:
            ok = one(args, size, workdir) and ok
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
