#!/usr/bin/env python3
"""Benchmark `portdoctor why PORT` against ss, lsof and fuser on a busy machine, in one run.

Builds a busy machine (by default 1000 processes x 100 open files: a parent opens the files, then
forks the others, which inherit them), one extra process listening on the port, and prints the
median wall time of each tool and portdoctor's ratio to each. Also measures start-up on the quiet
machine: `portdoctor why PORT` against the same interpreter's `python -c pass`.

    python bench/bench.py [--procs 1000] [--fds 100] [--runs 7]

Needs root for a complete picture (every tool then reads every process), and ss / lsof / fuser
on PATH (missing tools are reported and skipped).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time


def interleaved_medians(
    commands: list[list[str]], runs: int, env: dict[str, str] | None = None
) -> list[float]:
    """Median wall time of each command, run in turns (one of each per round, after a warm-up):
    a shared machine's drift then moves every command alike, not just the ones run later."""
    for argv in commands:
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(runs):
        for argv, mine in zip(commands, times):
            t0 = time.perf_counter()
            subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
            mine.append(time.perf_counter() - t0)
    return [statistics.median(mine) for mine in times]


def portdoctor_argv() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m portdoctor``."""
    script = os.path.join(os.path.dirname(sys.executable), "portdoctor")
    if os.path.exists(script):
        return [script]
    found = shutil.which("portdoctor")
    return [found] if found else [sys.executable, "-m", "portdoctor"]


def start_listener() -> tuple[subprocess.Popen[bytes], int]:
    """A real server process holding a free port."""
    code = (
        "import socket,sys,time\n"
        "s=socket.socket(); s.bind(('0.0.0.0',0)); s.listen()\n"
        "print(s.getsockname()[1], flush=True)\n"
        "time.sleep(100000)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, port


def build_busy(procs: int, fds: int) -> int:
    """Fork a process tree of ``procs`` sleepers each holding ``fds`` open files; return its leader."""
    leader = os.fork()
    if leader:
        return leader
    # The leader: open the files (a mix of regular files, pipes and sockets), then fork.
    os.setsid()
    opened = []
    for i in range(fds):
        kind = i % 4
        if kind == 0:
            opened.append(socket.socket())
        elif kind == 1:
            r, w = os.pipe()
            opened.extend((r, w))
        else:
            opened.append(os.open("/dev/null", os.O_RDONLY))
    for _ in range(procs - 1):
        if os.fork() == 0:
            signal.pause()
            os._exit(0)
    signal.pause()
    os._exit(0)


def count_processes() -> int:
    return sum(1 for n in os.listdir("/proc") if n.isdigit())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--procs", type=int, default=1000)
    ap.add_argument("--fds", type=int, default=100)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()

    pd = portdoctor_argv()
    env = dict(os.environ, NO_COLOR="1")
    # Measure what a user runs: an installed package has its bytecode compiled.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    import portdoctor

    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", os.path.dirname(portdoctor.__file__)], check=False
    )
    listener, port = start_listener()
    try:
        print(f"# quiet machine: {count_processes()} processes")
        bare, why_quiet, check_quiet = interleaved_medians(
            [[sys.executable, "-c", "pass"], [*pd, "why", str(port)], [*pd, "check", str(port)]],
            args.runs * 3,
            env,
        )
        rows = [
            ("python -c pass", bare, ""),
            (f"portdoctor why {port}", why_quiet, f"{why_quiet / bare:5.2f}x python -c pass"),
            (f"portdoctor check {port}", check_quiet, f"{check_quiet / bare:5.2f}x python -c pass"),
        ]
        for label, secs, note in rows:
            print(f"{label:<32} {secs * 1000:8.1f} ms   {note}")

        leader = build_busy(args.procs, args.fds)
        try:
            deadline = time.time() + 120
            while count_processes() < args.procs and time.time() < deadline:
                time.sleep(0.2)
            time.sleep(1.0)
            print(
                f"\n# busy machine: {count_processes()} processes, ~{args.procs * args.fds} fds in the tree"
            )
            tools = {
                "portdoctor why": [*pd, "why", str(port)],
                "ss -tlnp": ["ss", "-tlnp", f"sport = :{port}"],
                "lsof -i": ["lsof", "-nP", f"-i:{port}"],
                "fuser": ["fuser", f"{port}/tcp"],
                # every listener: portdoctor ls against ss -tlnp without a filter
                "portdoctor ls": [*pd, "ls"],
                "ss -tlnp (all)": ["ss", "-tlnp"],
            }
            present = {}
            for name, argv in tools.items():
                if shutil.which(argv[0]) is None and not os.path.exists(argv[0]):
                    print(f"{name:<16} not installed")
                    continue
                present[name] = argv
            # in turns, as on the quiet machine: a drift of the machine moves every tool alike
            medians = interleaved_medians(list(present.values()), args.runs, env)
            results = dict(zip(present, medians))
            for name, secs in results.items():
                print(f"{name:<16} {secs * 1000:8.1f} ms")
            ours = results.get("portdoctor why")
            if ours:
                print()
                for name in ("ss -tlnp", "lsof -i", "fuser"):
                    if name in results:
                        print(f"portdoctor why / {name:<9} = {ours / results[name]:.2f}x")
            if "portdoctor ls" in results and "ss -tlnp (all)" in results:
                ratio = results["portdoctor ls"] / results["ss -tlnp (all)"]
                print(f"portdoctor ls  / ss -tlnp (every listener) = {ratio:.2f}x")
        finally:
            os.killpg(leader, signal.SIGKILL)
            os.waitpid(leader, 0)
    finally:
        listener.kill()
        listener.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
