#!/usr/bin/env python3
"""Benchmark ``parse_bind_error`` on long lines: the time of a 1 MB line against a 1 KB one.

Issue 11: a 16 KB log line before a Node EADDRINUSE line took 6.5 s, 20 KB 16 s, 100 KB minutes
(the patterns backtracked over the whole line). The parser now bounds the work per line; this
prints, for several kinds of filler line (plain text, text full of trigger words, a JSON record
full of "address already in use", colon-separated numbers that look like host:port), the
median time of parsing ``FILLER + "\\n" + a Node error`` at each size, and the ratio of the
1 MB time to the 1 KB time. It also times 10 000 and 100 000 ordinary log lines before the
error, and the corpus in tests/fixtures/bind_errors.

    python bench/explain_long_lines.py [--runs 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from portdoctor._explain import parse_bind_error  # noqa: E402

ERROR = "Error: listen EADDRINUSE: address already in use :::3000\n"
SIZES = (1024, 16 * 1024, 100 * 1024, 1024 * 1024)
FILLERS = {
    "plain text": "lorem ipsum dolor sit amet ",
    "trigger words": "listen bind error port in use failed ",
    "json, in-use words": '{"level":"info","msg":"address already in use? no","n":1},',
    "host:port lookalikes": "10.0.0.1:80 [::1]:443 *:6379 null:3001 ",
}


def median_time(text: str, runs: int) -> float:
    """Median seconds of parsing ``text`` (one warm-up first); checks the answer each time."""
    times = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        error = parse_bind_error(text)
        elapsed = time.perf_counter() - t0
        if error is None or error.port != 3000:
            raise SystemExit(f"wrong answer: {error!r}")
        if i:
            times.append(elapsed)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    print(f"parse_bind_error(FILLER_LINE + '\\n' + {ERROR.strip()!r}), median of {args.runs} runs")
    header = "filler".ljust(22) + "".join(f"{s // 1024:>9} KB" for s in SIZES) + "   1 MB / 1 KB"
    print(header)
    worst = 0.0
    for name, unit in FILLERS.items():
        row = []
        for size in SIZES:
            line = (unit * (size // len(unit) + 1))[:size]
            row.append(median_time(line + "\n" + ERROR, args.runs))
        ratio = row[-1] / row[0]
        worst = max(worst, ratio)
        print(name.ljust(22) + "".join(f"{t * 1000:>9.2f} ms" for t in row) + f"   {ratio:>8.1f}x")
    print(f"worst ratio 1 MB / 1 KB: {worst:.1f}x")

    # Many ordinary lines before the error: a log read with --wait.
    for count in (10_000, 100_000):
        log = "".join(
            f"2024-01-01 12:00:{i % 60:02d} INFO GET /api/items/{i} 200 in 3 ms (error=none, port 80)\n"
            for i in range(count)
        )
        t0 = time.perf_counter()
        error = parse_bind_error(log + ERROR)
        elapsed = time.perf_counter() - t0
        if error is None or error.port != 3000:
            raise SystemExit(f"wrong answer: {error!r}")
        per_line = elapsed / count * 1e6
        print(f"{count} log lines + the error: {elapsed * 1000:.0f} ms ({per_line:.1f} us per line)")

    fixtures = ROOT / "tests" / "fixtures" / "bind_errors"
    index = json.loads((fixtures / "index.json").read_text())
    texts = [(fixtures / name).read_text() for name in index]
    t0 = time.perf_counter()
    for _ in range(args.runs):
        for text in texts:
            parse_bind_error(text)
    per_text = (time.perf_counter() - t0) / (args.runs * len(texts))
    print(f"corpus: {len(texts)} texts, {per_text * 1000:.2f} ms per text")
    return 0


if __name__ == "__main__":
    sys.exit(main())
