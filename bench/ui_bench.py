#!/usr/bin/env python3
"""What one refresh of `portdoctor ui` costs, and what diagnosing every row costs.

Starts N listeners (by default 50, in one child process, on ports the kernel picks), then
measures the median time of the table's refresh (``listening()`` grouped into rows by
``portdoctor.ui.rows.rows_of``, what the scan thread runs every second) and of ``why()`` for
each of those ports (what the diagnosis thread runs once per port and set of holders).

    python bench/ui_bench.py [--listeners 50] [--runs 20]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

CHILD = r"""
import json, socket, sys, time
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    socks.append(s)
print(json.dumps([s.getsockname()[1] for s in socks]), flush=True)
sys.stdin.read()
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--listeners", type=int, default=50)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()

    from portdoctor.diagnose import why
    from portdoctor.listing import listening
    from portdoctor.ui.rows import rows_of

    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(args.listeners)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        ports = json.loads(child.stdout.readline())
        refresh = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            rows = rows_of(listening())
            refresh.append(time.perf_counter() - t0)
        diagnose = []
        for port in ports:
            t0 = time.perf_counter()
            why(port)
            diagnose.append(time.perf_counter() - t0)
    finally:
        child.kill()
        child.wait()
    print(f"{len(rows)} rows on this machine ({args.listeners} of them ours)")
    print(f"refresh (listening + rows): median {statistics.median(refresh) * 1000:.1f} ms")
    print(
        f"why per row: median {statistics.median(diagnose) * 1000:.1f} ms, all {sum(diagnose) * 1000:.0f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
