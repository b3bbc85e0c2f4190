#!/usr/bin/env python3
"""crcore checkpoint/restart benchmark: crcore against CRIU and against the machine's own limits.

For each memory size (default 1024 and 4096 MiB) it runs bench/workload (THREADS threads, default 4)
and measures, for crcore in every mode and for CRIU:

  pause      how long the running program was stopped by a checkpoint it survives (cr_checkpoint's own
             "paused" figure; CRIU: the "Frozen time" of `criu dump --leave-running --display-stats`)
  stall      the same pause as the program felt it (the longest gap between two of its rewrites)
  checkpoint wall time of that checkpoint command, from its start to its exit (image written and fsynced)
  image      disk usage of the image (du)
  restart    from the start of cr_restart / `criu restore -d` until the restored program answers: it has
             its SIGUSR1 handler back (seen in /proc/PID/status), is sent SIGUSR1 and has written "alive"

then checks the program's memory after the restart (the workload verifies every double when it ends).
The machine's limits are measured in the same run: sequential write+fsync of SIZE MiB to the image
directory and to /dev/shm (fio if installed, else dd), memcpy, and filling SIZE MiB of fresh memory.

Writes a table to stdout, bench.csv and bench.png to --out. Nothing here ever fails on a time: the exit
status is 0 when the table was printed and no crcore step failed. Run with --help for the options.
"""

import argparse
import csv
import ctypes
import json
import math
import mmap
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# crcore's modes: a name and the extra cr_checkpoint arguments. A mode is added here and nowhere else.
# A mode whose flags `cr_checkpoint --help` does not mention is skipped ("cow" needs --cow, "nocow" --no-cow).
# When cr_checkpoint copies on write by default (it offers --no-cow), "plain" and "compress" are shown as
# "cow" and "cow+compress".
CRCORE_MODES = [
    ("plain", []),
    ("compress", ["--compress"]),
    ("cow", ["--cow"]),
    ("cow+compress", ["--cow", "--compress"]),
    ("nocow", ["--no-cow"]),
    ("nocow+compress", ["--no-cow", "--compress"]),
]
DEFAULT_MODES = "plain,compress,cow,nocow"

# CRIU builds tried when the default `criu` cannot run here (bench/README.md: building CRIU from source).
FALLBACK_CRIU = ["/tmp/criu-src/criu/criu", "/usr/local/sbin/criu"]

SIGUSR1_BIT = 1 << (signal.SIGUSR1 - 1)
POLL = 0.0005  # seconds between polls of /proc and of the workload's log

started_pids = set()  # every process this script started and may have to kill on exit
work_dirs = []  # image directories to remove on exit


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------------------
# Processes


def proc_state(pid):
    """'R', 'S', 'Z'... of a process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def sig_caught(pid):
    """The SigCgt mask of a live process, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("SigCgt:"):
                    return int(line.split()[1], 16)
    except FileNotFoundError:
        pass
    return None


def alive(pid):
    s = proc_state(pid)
    return s is not None and s not in ("Z", "X")


def reap(pid, popen=None, timeout=120.0):
    """Wait for a process we started (directly, or inherited as subreaper) to exit; its status or None."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None:
            rc = popen.poll()
            if rc is not None:
                started_pids.discard(pid)
                return rc
        else:
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
                if got == pid:
                    started_pids.discard(pid)
                    return os.waitstatus_to_exitcode(status)
            except ChildProcessError:  # not our child (no subreaper): poll /proc
                if not alive(pid):
                    started_pids.discard(pid)
                    return None
        time.sleep(0.005)
    return None


def kill_ours(pid, names=("workload", "cr_restart", "criu")):
    """SIGKILL a process this script started, if it still exists and is still ours (not a reused pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
        with open(f"/proc/{pid}/comm") as f:
            comm = f.read().strip()
    except OSError:
        return
    if comm in names or any(n.encode() in cmd for n in names):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def cleanup():
    for pid in list(started_pids):
        kill_ours(pid)
    for pid in list(started_pids):
        try:
            os.waitpid(pid, 0)
        except ChildProcessError:
            pass
    started_pids.clear()
    for d in work_dirs:
        shutil.rmtree(d, ignore_errors=True)
    work_dirs.clear()


def on_signal(signum, frame):
    cleanup()
    sys.exit(128 + signum)


def become_subreaper():
    """Processes restored by `criu restore -d` are orphaned when criu exits: adopt them so they can be
    reaped and never linger."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except OSError:
        return False


def count_lines(path, word):
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.startswith(word))
    except FileNotFoundError:
        return 0


def wait_for_line(path, word, count, pid, timeout):
    deadline = time.monotonic() + timeout
    while count_lines(path, word) < count:
        if not alive(pid):
            raise StepError(f"process {pid} ended before printing '{word.decode()}'")
        if time.monotonic() > deadline:
            raise StepError(f"no '{word.decode()}' from process {pid} within {timeout:.0f} s")
        time.sleep(POLL)


def wait_answering(pid, logpath, t0, timeout):
    """Restart is complete when the restored program answers: its SIGUSR1 handler is installed again, it
    is sent SIGUSR1 and writes 'alive'. Returns seconds since t0."""
    before = count_lines(logpath, b"alive")
    deadline = t0 + timeout
    while True:
        mask = sig_caught(pid)
        if mask is not None and mask & SIGUSR1_BIT and alive(pid):
            break
        if time.monotonic() > deadline:
            raise StepError(f"restored process {pid} never installed its SIGUSR1 handler")
        if mask is None and time.monotonic() > t0 + 5:
            raise StepError(f"restored process {pid} does not exist")
        time.sleep(POLL)
    os.kill(pid, signal.SIGUSR1)
    while count_lines(logpath, b"alive") <= before:
        if not alive(pid):
            raise StepError(f"restored process {pid} died before answering")
        if time.monotonic() > deadline:
            raise StepError(f"restored process {pid} did not answer SIGUSR1")
        time.sleep(POLL)
    return time.monotonic() - t0


class StepError(Exception):
    pass


def request_gap(pid, logpath):
    """Sends SIGUSR2 and returns the workload's answer: the longest time (s) any of its threads took
    between two rewrites since the previous SIGUSR2, as the program itself felt it."""
    before = count_lines(logpath, b"gap ")
    os.kill(pid, signal.SIGUSR2)
    deadline = time.monotonic() + 10
    while count_lines(logpath, b"gap ") <= before:
        if not alive(pid) or time.monotonic() > deadline:
            raise StepError(f"process {pid} did not answer SIGUSR2")
        time.sleep(POLL)
    with open(logpath, "rb") as f:
        last = [l for l in f.read().splitlines() if l.startswith(b"gap ")][-1]
    return int(last.split()[1]) * 1e-6


# ---------------------------------------------------------------------------------------------------------
# Limits of the machine


def write_limit(directory, mib):
    """Sequential write of MIB MiB into a new file then fsync, in bytes/s: fio (its own runtime, which
    includes the final fsync) if installed, else dd timed from outside. fio runs with --fallocate=none:
    by default it reserves the whole file with posix_fallocate before its timed writes, which on tmpfs
    allocates every page beforehand and so measures overwriting (3.4-4.5 GB/s on the build machine)
    where a new image file has its pages allocated as it is written (1.4-1.7 GB/s)."""
    path = os.path.join(directory, f".crcore-bench-limit.{os.getpid()}")
    try:
        if shutil.which("fio"):
            out = subprocess.run(
                ["fio", "--name=seqwrite", f"--filename={path}", "--rw=write", "--bs=4M",
                 f"--size={mib}M", "--ioengine=psync", "--fallocate=none", "--end_fsync=1",
                 "--output-format=json"],
                check=True, capture_output=True, text=True).stdout
            job = json.loads(out[out.index("{"):])["jobs"][0]
            return float(job["write"]["bw_bytes"]), "fio"
        t0 = time.monotonic()
        subprocess.run(["dd", "if=/dev/zero", f"of={path}", "bs=4M", f"count={max(1, mib // 4)}",
                        "conv=fsync", "status=none"], check=True)
        return max(1, mib // 4) * 4 * 2**20 / (time.monotonic() - t0), "dd"
    except (subprocess.CalledProcessError, ValueError, KeyError) as e:
        log(f"bench: cannot measure the write limit of {directory}: {e}")
        return float("nan"), "none"
    finally:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def memory_write_limit(directory, mib):
    """Writing MIB MiB of this process's own memory (populated anonymous memory, as a checkpointed
    program's, not one small buffer written again and again as fio does) into a new file in DIRECTORY,
    then fsync, bytes/s: what any checkpoint writer must do at least (one copy from memory to the file)."""
    n = mib * 2**20
    m = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    pattern = bytes(range(256)) * (16 * 1024)  # 4 MiB
    for o in range(0, n, len(pattern)):
        m[o:o + len(pattern)] = pattern[:n - o]
    path = os.path.join(directory, f".crcore-bench-memwrite.{os.getpid()}")
    view = memoryview(m)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            t0 = time.perf_counter()
            o = 0
            while o < n:
                o += os.write(fd, view[o:o + (8 << 20)])
            os.fsync(fd)
            return n / (time.perf_counter() - t0)
        finally:
            os.close(fd)
    except OSError as e:
        log(f"bench: cannot measure the memory write limit of {directory}: {e}")
        return float("nan")
    finally:
        view.release()
        m.close()
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def memcpy_limit():
    """memcpy between two warm 256 MiB buffers, bytes/s (best of 5)."""
    n = 256 * 2**20
    a = bytearray(b"\x5a" * n)
    b = bytearray(n)
    b[:] = a
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        b[:] = a
        best = min(best, time.perf_counter() - t0)
    return n / best


def fresh_fill_limit(mib):
    """Copying MIB MiB into freshly mapped anonymous memory (page faults and zeroing included), bytes/s:
    what any eager restore must do at least once."""
    chunk = b"\x5a" * (4 * 2**20)
    m = mmap.mmap(-1, mib * 2**20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    t0 = time.perf_counter()
    for _ in range(mib // 4):
        m.write(chunk)
    dt = time.perf_counter() - t0
    m.close()
    return (mib // 4) * len(chunk) / dt


# ---------------------------------------------------------------------------------------------------------
# Measurements


def measure_limits(size, workdir):
    wd, tool_name = write_limit(workdir, size)
    shm, _ = write_limit("/dev/shm", size) if os.path.isdir("/dev/shm") else (float("nan"), "")
    return {"write_dir": wd, "write_shm": shm, "write_tool": tool_name, "fresh_fill": fresh_fill_limit(size),
            "memwrite_dir": memory_write_limit(workdir, size)}


def du_bytes(path):
    if os.path.isdir(path):
        return sum(du_bytes(os.path.join(path, n)) for n in os.listdir(path))
    try:
        return os.stat(path).st_blocks * 512
    except FileNotFoundError:
        return 0


def rm(path):
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def parse_duration(text, word):
    m = re.search(word + r"\s+([0-9.]+)\s*(us|µs|ms|s)\b", text)
    if not m:
        return None
    return float(m.group(1)) * {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0}[m.group(2)]


def timed(cmd, **kw):
    t0 = time.monotonic()
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    return time.monotonic() - t0, p


# What cr_run --hugepages sets: glibc's malloc advises its memory MADV_HUGEPAGE.
HUGEPAGES_TUNABLE = "glibc.malloc.hugetlb=1"


class Crcore:
    tool = "crcore"

    def __init__(self, bindir, hugepages=False):
        self.hugepages = hugepages
        self.run = os.path.join(bindir, "cr_run")
        self.ckpt = os.path.join(bindir, "cr_checkpoint")
        self.restart = os.path.join(bindir, "cr_restart")

    def start(self, argv, logpath):
        with open(logpath, "ab") as out, open(logpath + ".err", "ab") as err:
            p = subprocess.Popen([self.run] + (["--hugepages"] if self.hugepages else []) + argv,
                                 stdin=subprocess.DEVNULL, stdout=out, stderr=err, start_new_session=True)
        started_pids.add(p.pid)
        return p.pid, p

    def checkpoint(self, pid, image, extra, kill):
        cmd = [self.ckpt, "--clobber", "-f", image] + extra + (["--kill"] if kill else []) + [str(pid)]
        wall, p = timed(cmd)
        out = p.stdout + p.stderr
        if p.returncode != 0:
            raise StepError(f"cr_checkpoint {' '.join(extra)} failed ({p.returncode}): {out.strip()[-400:]}")
        return {"wall": wall, "pause": parse_duration(out, "paused"), "total": parse_duration(out, "total"),
                "line": out.strip().splitlines()[-1] if out.strip() else ""}

    def restore(self, image, pid, logpath):
        t0 = time.monotonic()
        with open(logpath + ".restart", "ab") as rl:
            p = subprocess.Popen([self.restart, image], stdin=subprocess.DEVNULL, stdout=rl, stderr=rl)
        started_pids.add(p.pid)
        try:
            return p.pid, p, wait_answering(p.pid, logpath, t0, timeout=600)
        except StepError as e:
            with open(logpath + ".restart", "rb") as f:
                tail = f.read().decode(errors="replace").strip()[-400:]
            raise StepError(f"{e}; cr_restart said: {tail}")


class Criu:
    tool = "criu"

    def __init__(self, exe, hugepages=False):
        self.exe = exe
        self.hugepages = hugepages

    def start(self, argv, logpath):
        env = dict(os.environ)
        if self.hugepages:  # the same memory as cr_run --hugepages gives the workload
            env["GLIBC_TUNABLES"] = ":".join(filter(None, [env.get("GLIBC_TUNABLES"), HUGEPAGES_TUNABLE]))
        with open(logpath, "ab") as out, open(logpath + ".err", "ab") as err:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env)
        started_pids.add(p.pid)
        return p.pid, p

    def checkpoint(self, pid, image, extra, kill):
        rm(image)
        os.makedirs(image)
        cmd = [self.exe, "dump", "-t", str(pid), "-D", image, "--shell-job", "--display-stats",
               "-o", "dump.log"] + extra + ([] if kill else ["--leave-running"])
        wall, p = timed(cmd)
        out = p.stdout + p.stderr
        if p.returncode != 0:
            raise StepError(f"criu dump failed ({p.returncode}): {criu_log_tail(image, 'dump.log')}")
        frozen = parse_duration(out, "Frozen time:")
        # CRIU leaves its image in the page cache; cr_checkpoint returns only once its image is fsynced.
        # Count the same work for both: fsync CRIU's image files and add that to its checkpoint time.
        t0 = time.monotonic()
        for name in os.listdir(image):
            fd = os.open(os.path.join(image, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        sync = time.monotonic() - t0
        return {"wall": wall + sync, "unsynced": wall, "pause": frozen, "total": None, "line": ""}

    def restore(self, image, pid, logpath):
        t0 = time.monotonic()
        p = subprocess.run([self.exe, "restore", "-D", image, "--shell-job", "-d", "-o", "restore.log"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise StepError(f"criu restore failed ({p.returncode}): {criu_log_tail(image, 'restore.log')}")
        started_pids.add(pid)
        return pid, None, wait_answering(pid, logpath, t0, timeout=600)


def criu_log_tail(image_dir, name):
    try:
        with open(os.path.join(image_dir, name), errors="replace") as f:
            lines = [l for l in f.read().splitlines() if "Error" in l or "error" in l]
        return " | ".join(lines[-3:]) or "(no error lines in its log)"
    except OSError:
        return "(no log)"


def criu_usable(exe, workdir):
    """None if CRIU can dump and restore a tiny process here, else why not."""
    path = shutil.which(exe) if not os.path.sep in exe else exe
    if not path or not os.access(path, os.X_OK):
        return f"no CRIU at '{exe}' (install Debian's criu, or set CRIU=/path/to/criu)"
    if os.geteuid() != 0:
        return "CRIU needs root here"
    p = subprocess.run([path, "check"], capture_output=True, text=True)
    if p.returncode != 0:
        why = [l for l in (p.stdout + p.stderr).splitlines() if l.strip()]
        return f"`{path} check` failed: {' | '.join(why[-3:])}"
    d = os.path.join(workdir, "criu-trial")
    os.makedirs(d)
    sleeper = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    started_pids.add(sleeper.pid)
    try:
        p = subprocess.run([path, "dump", "-t", str(sleeper.pid), "-D", d, "--shell-job", "-o", "dump.log"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return f"trial `criu dump` failed: {criu_log_tail(d, 'dump.log')}"
        sleeper.wait()
        p = subprocess.run([path, "restore", "-D", d, "--shell-job", "-d", "-o", "restore.log"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return f"trial `criu restore` failed: {criu_log_tail(d, 'restore.log')}"
        if not alive(sleeper.pid):
            return "trial `criu restore` returned but the process is not running"
        return None
    finally:
        kill_ours(sleeper.pid, ("sleep",))
        reap(sleeper.pid, timeout=10)
        started_pids.discard(sleeper.pid)
        rm(d)


def run_one(tool, mode, extra, size, args, workdir):
    """One tool and mode on one size: start the workload, then REPEAT cycles of (checkpoint that the
    program survives; checkpoint that kills it; restart), then end the program and check its memory."""
    tag = f"{tool.tool}-{mode}-{size}"
    logpath = os.path.join(workdir, tag + ".log")
    image = os.path.join(workdir, tag + (".ctx" if tool.tool == "crcore" else ".d"))
    row = {"tool": tool.tool, "mode": mode, "size_mib": size, "threads": args.threads, "error": ""}
    samples = {k: [] for k in ("pause_s", "stall_s", "ckpt_s", "ckpt_total_s", "ckpt_unsynced_s", "kill_ckpt_s",
                               "image_bytes", "restart_s")}
    pid, popen = None, None
    try:
        t0 = time.monotonic()
        pid, popen = tool.start([args.workload, str(size), str(args.threads)], logpath)
        wait_for_line(logpath, b"ready", 1, pid, timeout=900)
        row["fill_s"] = time.monotonic() - t0
        # The stall the program feels with no checkpoint at all, over half a second, for comparison.
        time.sleep(0.1)
        request_gap(pid, logpath)
        time.sleep(0.5)
        row["stall_base_s"] = request_gap(pid, logpath)
        for cycle in range(args.repeat):
            time.sleep(0.1)
            request_gap(pid, logpath)  # starts the stall measurement afresh
            c = tool.checkpoint(pid, image, extra, kill=False)
            time.sleep(0.05)
            samples["stall_s"].append(request_gap(pid, logpath))
            samples["pause_s"].append(c["pause"])
            samples["ckpt_s"].append(c["wall"])
            samples["ckpt_total_s"].append(c["total"])
            samples["ckpt_unsynced_s"].append(c.get("unsynced"))
            if c["line"]:
                row["ckpt_line"] = c["line"]
            rm(image)
            if not alive(pid):
                raise StepError("the program did not survive a checkpoint without --kill")
            c = tool.checkpoint(pid, image, extra, kill=True)
            samples["kill_ckpt_s"].append(c["wall"])
            samples["image_bytes"].append(du_bytes(image))
            t_gone = time.monotonic()
            reap(pid, popen, timeout=60)
            if alive(pid):
                raise StepError("the program still runs after a checkpoint with --kill")
            row["kill_exit_s"] = time.monotonic() - t_gone
            pid, popen, rs = tool.restore(image, pid, logpath)
            samples["restart_s"].append(rs)
            rm(image)
        time.sleep(0.2)  # let it run a little on the restored memory
        os.kill(pid, signal.SIGTERM)
        reap(pid, popen, timeout=600)
        with open(logpath, errors="replace") as f:
            text = f.read()
        row["verify"] = "ok" if "verify OK" in text else ("FAILED" if "verify FAILED" in text else "none")
        if row["verify"] != "ok":
            row["error"] = "memory check after restart: " + (
                next((l for l in text.splitlines() if l.startswith("verify")), "no verdict printed"))
    except StepError as e:
        row["error"] = str(e)
        row["verify"] = "-"
        log(f"bench: {tag}: {e}")
    finally:
        if pid is not None and alive(pid):
            kill_ours(pid)
            reap(pid, popen, timeout=60)
        rm(image)
    for k, v in samples.items():
        v = [x for x in v if x is not None]
        row[k] = statistics.median(v) if v else None
    return row


# ---------------------------------------------------------------------------------------------------------
# Reporting


def ratio(a, b):
    if a is None or b is None or b == 0 or (isinstance(b, float) and math.isnan(b)):
        return None
    return a / b


def add_ratios(rows, limits):
    peers = {r["size_mib"]: r for r in rows if r["tool"] == "criu" and not r["error"]}
    for r in rows:
        lim = limits[r["size_mib"]]
        mem = r["size_mib"] * 2**20
        peer = peers.get(r["size_mib"])
        for k in ("pause_s", "ckpt_s", "image_bytes", "restart_s"):
            r[f"{k}_vs_criu"] = ratio(r.get(k), peer.get(k)) if peer else None
        r["limit_pause_s"] = mem / lim["memcpy"]
        # The checkpoint's limit: writing the program's memory to the image's file system (the better of
        # that and fio's figure, which rewrites one 4 MiB buffer and so reads no memory).
        r["limit_ckpt_s"] = (r["image_bytes"] or mem) / max(lim["write_dir"], lim.get("memwrite_dir", 0) or 0)
        r["limit_restart_s"] = mem / lim["fresh_fill"]
        r["pause_s_vs_limit"] = ratio(r.get("pause_s"), r["limit_pause_s"])
        r["ckpt_s_vs_limit"] = ratio(r.get("ckpt_s"), r["limit_ckpt_s"])
        r["restart_s_vs_limit"] = ratio(r.get("restart_s"), r["limit_restart_s"])


def fmt(v, spec):
    if v is None or (isinstance(v, float) and math.isnan(v)):
        width = re.match(r"\d*", spec).group(0)
        return "-".rjust(int(width) if width else 1)
    return format(v, spec)


def print_table(rows, limits, args):
    print()
    print(f"# {os.uname().nodename}, {os.cpu_count()} cpus, load average {args.load[0]:.1f} at the start and"
          f" {args.load[1]:.1f} at the end (a shared machine: figures above ~{os.cpu_count()} are noisy)")
    print(f"# limits measured in this run (threads {args.threads}, image dir {args.dir}):")
    rng = lambda lim, k: "-".join(f"{v / 1e9:.2f}" for v in lim[k + "_range"])
    for size, lim in sorted(limits.items()):
        print(f"#   {size} MiB: write+fsync {rng(lim, 'write_dir')} GB/s to {args.dir} ({lim['write_tool']}),"
              f" {rng(lim, 'write_shm')} GB/s to /dev/shm; {size} MiB of memory written there"
              f" {rng(lim, 'memwrite_dir')} GB/s; memcpy {lim['memcpy'] / 1e9:.1f} GB/s;"
              f" fresh-memory fill {rng(lim, 'fresh_fill')} GB/s")
    print("#   (each: worst-best of one measurement before the tools ran and one after; the ratios use the best)")
    hdr = (f"{'tool':<7} {'mode':<16} {'MiB':>5} {'pause_ms':>9} {'stall_ms':>8} {'ckpt_s':>7} {'image_MiB':>9}"
           f" {'restart_s':>9}"
           f" | {'vs CRIU: pause':>14} {'ckpt':>5} {'image':>5} {'rst':>5}"
           f" | {'vs limit: pause':>15} {'ckpt':>5} {'rst':>5} | verify")
    print(hdr)
    for r in rows:
        pause_ms = None if r.get("pause_s") is None else r["pause_s"] * 1e3
        img = None if r.get("image_bytes") is None else r["image_bytes"] / 2**20
        stall_ms = None if r.get("stall_s") is None else r["stall_s"] * 1e3
        print(f"{r['tool']:<7} {r['mode']:<16} {r['size_mib']:>5} {fmt(pause_ms, '9.1f')} {fmt(stall_ms, '8.1f')}"
              f" {fmt(r.get('ckpt_s'), '7.3f')}"
              f" {fmt(img, '9.1f')} {fmt(r.get('restart_s'), '9.3f')}"
              f" | {fmt(r.get('pause_s_vs_criu'), '14.2f')} {fmt(r.get('ckpt_s_vs_criu'), '5.2f')}"
              f" {fmt(r.get('image_bytes_vs_criu'), '5.2f')} {fmt(r.get('restart_s_vs_criu'), '5.2f')}"
              f" | {fmt(r.get('pause_s_vs_limit'), '15.2f')} {fmt(r.get('ckpt_s_vs_limit'), '5.2f')}"
              f" {fmt(r.get('restart_s_vs_limit'), '5.2f')} | {r.get('verify', '-')}")
    base = [r["stall_base_s"] for r in rows if r.get("stall_base_s") is not None]
    if base:
        print(f"# stall_ms with no checkpoint (0.5 s of the same workload): median"
              f" {statistics.median(base) * 1e3:.1f}, max {max(base) * 1e3:.1f} ms")
    for r in rows:
        if r["error"]:
            print(f"# {r['tool']} {r['mode']} {r['size_mib']} MiB: {r['error']}")
    sys.stdout.flush()


CSV_FIELDS = ["tool", "mode", "size_mib", "threads", "pause_s", "stall_s", "stall_base_s", "ckpt_s", "ckpt_total_s",
              "ckpt_unsynced_s", "kill_ckpt_s", "kill_exit_s", "image_bytes", "restart_s", "verify", "pause_s_vs_criu",
              "ckpt_s_vs_criu", "image_bytes_vs_criu", "restart_s_vs_criu", "limit_pause_s", "limit_ckpt_s",
              "limit_restart_s", "pause_s_vs_limit", "ckpt_s_vs_limit", "restart_s_vs_limit", "fill_s", "write_dir_Bps", "memwrite_dir_Bps",
              "write_shm_Bps", "memcpy_Bps", "fresh_fill_Bps", "image_dir", "error", "ckpt_line"]


def write_csv(path, rows, limits, args):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            lim = limits[r["size_mib"]]
            out = dict(r, write_dir_Bps=lim["write_dir"], memwrite_dir_Bps=lim["memwrite_dir"],
                       write_shm_Bps=lim["write_shm"],
                       memcpy_Bps=lim["memcpy"], fresh_fill_Bps=lim["fresh_fill"], image_dir=args.dir)
            w.writerow({k: ("" if out.get(k) is None else out.get(k)) for k in CSV_FIELDS})


def plot(csv_path, png_path):
    """Three panels (pause, checkpoint, restart) of grouped bars per size, the limits as black ticks."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(csv_path) as f:
        rows = list(csv.DictReader(f))
    num = lambda r, k: float(r[k]) if r.get(k) not in (None, "") else float("nan")
    sizes = sorted({int(r["size_mib"]) for r in rows})
    series = []
    for r in rows:
        key = f"{r['tool']} {r['mode']}"
        if key not in series:
            series.append(key)
    panels = [("pause_s", "limit_pause_s", "pause (s)"), ("ckpt_s", "limit_ckpt_s", "checkpoint (s)"),
              ("restart_s", "limit_restart_s", "restart (s)")]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.5))
    width = 0.8 / max(1, len(series))
    for ax, (key, lkey, title) in zip(axes, panels):
        for i, s in enumerate(series):
            xs, ys, lims = [], [], []
            for j, size in enumerate(sizes):
                for r in rows:
                    if f"{r['tool']} {r['mode']}" == s and int(r["size_mib"]) == size:
                        xs.append(j + (i - (len(series) - 1) / 2) * width)
                        ys.append(num(r, key))
                        lims.append(num(r, lkey))
            ax.bar(xs, ys, width, label=s)
            ax.hlines(lims, [x - width / 2 for x in xs], [x + width / 2 for x in xs], colors="black",
                      linestyles="dashed")
        ax.set_xticks(range(len(sizes)), [f"{s} MiB" for s in sizes])
        ax.set_title(title)
        if key == "pause_s":
            ax.set_yscale("log")  # copy-on-write pauses are a hundredth of the others'
            ax.set_title("pause (s, log scale)")
    axes[0].legend(fontsize=8)
    fig.suptitle("crcore vs CRIU; dashed: the machine's limit for that bar (memcpy of the memory / write+fsync of "
                 "its image / filling fresh memory)",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)


def make_plot(csv_path, png_path):
    try:
        plot(csv_path, png_path)
        return f"plot: {png_path}"
    except ImportError:
        pass
    # The python3 on PATH may lack matplotlib when Debian's has it (python3-matplotlib).
    for py in ("/usr/bin/python3",):
        if os.path.exists(py) and os.path.realpath(py) != os.path.realpath(sys.executable):
            p = subprocess.run([py, os.path.abspath(__file__), "--plot-only", csv_path, png_path],
                               capture_output=True, text=True)
            if p.returncode == 0:
                return f"plot: {png_path}"
    return "plot: skipped, no matplotlib (apt-get install python3-matplotlib)"


# ---------------------------------------------------------------------------------------------------------


def find_bindir(given):
    if given:
        return os.path.abspath(given)
    for d in (os.path.join(REPO, "build", "bin"),):
        if os.path.exists(os.path.join(d, "cr_checkpoint")):
            return d
    w = shutil.which("cr_checkpoint")
    return os.path.dirname(w) if w else os.path.join(REPO, "build", "bin")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="1024,4096", help="memory sizes in MiB, comma-separated (1024,4096)")
    ap.add_argument("--threads", type=int, default=4, help="workload threads (4)")
    ap.add_argument("--dir", default="/tmp", help="directory for the images (/tmp; /dev/shm for memory)")
    ap.add_argument("--out", default=os.path.join(REPO, "build", "bench"), help="where bench.csv and bench.png go")
    ap.add_argument("--bin", help="directory of cr_run, cr_checkpoint, cr_restart (build/bin, else PATH)")
    ap.add_argument("--workload", help="the workload program (BIN/workload)")
    ap.add_argument("--modes", default=DEFAULT_MODES,
                    help=f"crcore modes, comma-separated, from {', '.join(m for m, _ in CRCORE_MODES)} "
                         f"(those the cr_checkpoint at hand does not offer are skipped) ({DEFAULT_MODES})")
    ap.add_argument("--criu", default=None,
                    help=f"CRIU program (env CRIU, else criu; if that cannot run, {', '.join(FALLBACK_CRIU)})")
    ap.add_argument("--no-criu", action="store_true", help="run crcore alone")
    ap.add_argument("--repeat", type=int, default=1, help="checkpoint/restart cycles per run; medians reported (1)")
    ap.add_argument("--no-plot", action="store_true", help="write no PNG")
    ap.add_argument("--hugepages", action="store_true",
                    help="the workload's memory in transparent huge pages, for both tools (crcore: cr_run "
                         "--hugepages; CRIU: the same GLIBC_TUNABLES); modes are labelled +thp")
    ap.add_argument("--plot-only", nargs=2, metavar=("CSV", "PNG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.criu_given = args.criu is not None or "CRIU" in os.environ
    if args.criu is None:
        args.criu = os.environ.get("CRIU", "criu")

    if args.plot_only:
        plot(*args.plot_only)
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    bindir = find_bindir(args.bin)
    args.workload = os.path.abspath(args.workload or os.path.join(bindir, "workload"))
    for exe in ("cr_run", "cr_checkpoint", "cr_restart"):
        if not os.access(os.path.join(bindir, exe), os.X_OK):
            log(f"bench: no {exe} in {bindir} (build crcore, or pass --bin)")
            return 2
    if not os.access(args.workload, os.X_OK):
        log(f"bench: no workload at {args.workload} (build the `workload` target, or pass --workload)")
        return 2
    args.dir = os.path.abspath(args.dir)
    os.makedirs(args.dir, exist_ok=True)
    os.makedirs(args.out, exist_ok=True)

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    become_subreaper()
    workdir = tempfile.mkdtemp(prefix="crcore-bench-", dir=args.dir)
    work_dirs.append(workdir)

    try:
        crcore = Crcore(bindir, args.hugepages)
        helptext = subprocess.run([crcore.ckpt, "--help"], capture_output=True, text=True).stdout
        wanted = [m.strip() for m in args.modes.split(",") if m.strip()]
        modes = []
        for name, extra in CRCORE_MODES:
            if name not in wanted:
                continue
            missing = [a for a in extra if a not in helptext]
            if missing:
                if name in ("plain", "compress"):
                    log(f"bench: cr_checkpoint has no {' '.join(missing)}: mode {name} skipped")
                continue
            label = name
            if "--no-cow" in helptext and "--no-cow" not in extra:
                label = {"plain": "cow", "compress": "cow+compress"}.get(name, name)
            modes.append((label + ("+thp" if args.hugepages else ""), extra))
        unknown = set(wanted) - {n for n, _ in CRCORE_MODES}
        if unknown:
            log(f"bench: unknown modes {', '.join(sorted(unknown))} ignored")

        criu = None
        if args.no_criu:
            log("bench: CRIU not run (--no-criu)")
        else:
            why = criu_usable(args.criu, workdir)
            if why and not args.criu_given:
                # Debian 12's criu 3.17 fails on newer kernels (vdso); a CRIU built from source may work.
                for other in FALLBACK_CRIU:
                    if os.access(other, os.X_OK) and not criu_usable(other, workdir):
                        log(f"bench: {args.criu}: {why.rstrip('.')}; using {other} instead")
                        args.criu, why = other, None
                        break
            if why:
                print(f"CRIU cannot run here: {why.rstrip('.')}. Running crcore alone.", flush=True)
            else:
                criu = Criu(shutil.which(args.criu) or args.criu, args.hugepages)
                v = subprocess.run([criu.exe, "--version"], capture_output=True, text=True).stdout.split()
                log(f"bench: CRIU {v[1] if len(v) > 1 else '?'} at {criu.exe} works")

        load_start = os.getloadavg()[0]
        limits = {}
        mc = memcpy_limit()
        rows = []
        for size in sizes:
            log(f"bench: {size} MiB: measuring the machine's limits")
            lim = measure_limits(size, workdir)
            for name, extra in modes:
                log(f"bench: {size} MiB: crcore {name}")
                rows.append(run_one(crcore, name, extra, size, args, workdir))
            if criu:
                log(f"bench: {size} MiB: criu")
                rows.append(run_one(criu, "dump+thp" if args.hugepages else "dump", [], size, args, workdir))
            # Measured again after the tools ran, and the better of the two kept: on a shared machine
            # one measurement can land in someone else's burst.
            log(f"bench: {size} MiB: measuring the machine's limits again")
            again = measure_limits(size, workdir)
            for k in ("write_dir", "write_shm", "fresh_fill", "memwrite_dir"):
                lim[k + "_range"] = (min(lim[k], again[k]), max(lim[k], again[k]))
                lim[k] = max(lim[k], again[k])
            lim["memcpy"] = max(mc, memcpy_limit())
            limits[size] = lim

        add_ratios(rows, limits)
        args.load = (load_start, os.getloadavg()[0])
        print_table(rows, limits, args)
        csv_path = os.path.join(args.out, "bench.csv")
        write_csv(csv_path, rows, limits, args)
        print(f"# csv: {csv_path}")
        if not args.no_plot:
            print("# " + make_plot(csv_path, os.path.join(args.out, "bench.png")))
        failed = [r for r in rows if r["tool"] == "crcore" and r["error"]]
        return 1 if failed else 0
    finally:
        cleanup()


if __name__ == "__main__":
    sys.exit(main())
