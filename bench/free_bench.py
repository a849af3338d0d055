#!/usr/bin/env python3
"""Benchmark `portdoctor free PORT` of a cooperative server against `kill` + polling for a bind.

Each run starts a plain server (exits on SIGTERM, nothing restarts it) on a free port, then
times, in the same run and on the same machine:

- `portdoctor free PORT` (the CLI, start-up included);
- `kill PID` + polling every 1 ms until a bind (and listen) of the port succeeds: the floor;
- `portdoctor check PORT` on a free port: portdoctor's start-up, the least any CLI call costs.

    python bench/free_bench.py [--runs 15]

Prints the median of each and how far `free` is above the floor and above start-up.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import time

SERVER = (
    "import socket,sys,time\n"
    "s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
    "s.bind(('0.0.0.0',0)); s.listen()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "time.sleep(100000)\n"
)


def portdoctor_argv() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m portdoctor``."""
    script = os.path.join(os.path.dirname(sys.executable), "portdoctor")
    return [script] if os.path.exists(script) else [sys.executable, "-m", "portdoctor"]


def start_server() -> tuple[subprocess.Popen[bytes], int]:
    """A cooperative server in its own session (as a user's terminal would start it)."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    return proc, port


def bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("", port))
            s.listen()
        except OSError:
            return False
    return True


def time_free(argv: list[str]) -> float:
    proc, port = start_server()
    t0 = time.perf_counter()
    done = subprocess.run([*argv, "free", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    took = time.perf_counter() - t0
    proc.wait(timeout=30)
    if done.returncode != 0:
        raise SystemExit(f"portdoctor free {port} failed (exit {done.returncode})")
    return took


def time_kill_poll() -> float:
    proc, port = start_server()
    t0 = time.perf_counter()
    os.kill(proc.pid, signal.SIGTERM)
    while not bindable(port):
        time.sleep(0.001)
    took = time.perf_counter() - t0
    proc.wait(timeout=30)
    return took


def time_check(argv: list[str]) -> float:
    with socket.socket() as s:
        s.bind(("", 0))
        port = s.getsockname()[1]
    t0 = time.perf_counter()
    subprocess.run([*argv, "check", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--portdoctor", help="the command to run instead of the installed portdoctor")
    args = ap.parse_args()
    argv = args.portdoctor.split() if args.portdoctor else portdoctor_argv()
    time_free(argv)  # warm-up: page cache, .pyc files
    free_t, kill_t, check_t = [], [], []
    for _ in range(args.runs):  # interleaved, so a busy moment of the machine hits all three
        free_t.append(time_free(argv))
        kill_t.append(time_kill_poll())
        check_t.append(time_check(argv))
    free_m, kill_m, check_m = (statistics.median(x) * 1000 for x in (free_t, kill_t, check_t))
    print(f"median of {args.runs} runs, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    print(f"  portdoctor free PORT (cooperative server)   {free_m:8.1f} ms")
    print(f"  kill PID + poll for a successful bind       {kill_m:8.1f} ms")
    print(f"  portdoctor check PORT (start-up)            {check_m:8.1f} ms")
    print(
        f"  free - check: {free_m - check_m:.1f} ms of work beyond start-up;"
        f" free - kill+poll: {free_m - kill_m:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
