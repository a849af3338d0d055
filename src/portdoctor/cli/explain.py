"""``portdoctor explain [TEXT...]``: what a bind error means, and who holds its port.

On standard input it streams: it answers as soon as it has read a bind error (and the lines
that complete it), while the command that prints it still runs. ``npm run dev 2>&1 |
portdoctor explain`` under nodemon or ``node --watch`` never closes the pipe, so waiting for
the end of input would wait forever. It then exits, like ``head``: the command upstream gets a
broken pipe on its next write. ``--wait`` reads to the end of input first, for scripts.
"""

from __future__ import annotations

import sys

from ..errors import ExitStatus
from .common import add_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    import queue

    from .._explain import BindError

# After a bind error line, how long the output may stay quiet before we answer: a runtime
# prints its error and what completes it (stack, error object, HINT) in one burst.
QUIET = 0.5
CHUNK = 1 << 16
MAX_LINE = 1 << 20  # a longer "line" is cut in pieces (the parser reads its ends anyway)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``explain`` command."""
    p = sub.add_parser(
        "explain",
        help="recognise a runtime's 'address already in use' error and diagnose its port",
        description=(
            "Recognise the bind error a server printed (Node, Python, Go, Java, Ruby, PHP, Erlang, "
            ".NET, Docker, nginx, PostgreSQL, MySQL, Redis, Vite, Angular, Jupyter...) and diagnose "
            "the port it names. Reads standard input when no TEXT is given and answers as soon as "
            "it has read an error: 'npm run dev 2>&1 | portdoctor explain'."
        ),
    )
    p.add_argument("text", nargs="*", metavar="TEXT", help="the error text (default: stdin)")
    p.add_argument(
        "--wait",
        action="store_true",
        help="read standard input to its end before answering (default: answer at the first error)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="full command lines")
    add_json(p)
    p.set_defaults(run=run)


def _reader(fd: int, out: queue.Queue[str | None]) -> None:
    """Read ``fd`` (raw, so that no lock is held at exit) and queue its lines; None at EOF."""
    import os

    pending = b""
    while True:
        try:
            chunk = os.read(fd, CHUNK)
        except OSError:
            chunk = b""
        if not chunk:
            break
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            out.put(line.decode("utf-8", "replace"))
        while len(pending) > MAX_LINE:
            out.put(pending[:MAX_LINE].decode("utf-8", "replace"))
            pending = pending[MAX_LINE:]
    if pending:
        out.put(pending.decode("utf-8", "replace"))
    out.put(None)


def _stream(wait: bool) -> BindError | None:
    """The first bind error on stdin, answered while the writer still runs (unless ``wait``)."""
    import queue
    import threading

    from .._explain import BindErrorScanner

    if sys.stdin is None:
        return None
    if sys.stdin.isatty():
        sys.stderr.write("paste the error, then press Ctrl-D\n")
        sys.stderr.flush()
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_reader, args=(sys.stdin.fileno(), lines), daemon=True).start()
    scanner = BindErrorScanner(keep=100_000 if wait else 400)
    while True:
        try:
            line = lines.get(timeout=QUIET if scanner.pending and not wait else None)
        except queue.Empty:
            break  # the output went quiet after the error: it is complete
        if line is None:
            break
        scanner.feed(line)
        if scanner.ready and not wait:
            break
    return scanner.result()


def run(args: argparse.Namespace) -> int:
    """Exit 0: the port is free now; 1: still in use (or unknown); 2: no bind error found."""
    from .._explain import Explanation, advice, describe, diagnose_error, is_named_pipe, parse_bind_error
    from ..errors import UsageError
    from ..render import Painter, diagnosis_text, escape, print_json

    if args.text and args.text != ["-"]:
        error = parse_bind_error(" ".join(args.text))
    else:
        error = _stream(getattr(args, "wait", False))
    if error is None:
        raise UsageError(
            "no bind error recognised in the text (expected e.g. 'EADDRINUSE', "
            "'Address already in use', 'port is already allocated')"
        )
    answer = Explanation(error, advice(error), diagnose_error(error))
    d = answer.diagnosis
    if args.json:
        print_json(answer.to_dict())
    else:
        paint = Painter()
        out = [paint(escape(describe(error)), "bold"), "  " + paint(escape(error.line), "dim")]
        hint = answer.advice
        if hint:
            out.append(f"  {escape(hint)}")
        out.append("")
        if d is not None:
            out.append(diagnosis_text(d, paint, verbose=args.verbose))
        elif error.path is not None and is_named_pipe(error.path):
            out.append("A named pipe is not a port: stop the other instance of the program that opened it.")
        elif error.path is not None:
            from ..quoting import quote as shell_quote

            out.append(
                "A Unix socket is a file, not a port: see who listens on it with "
                f"'ss -xlp | grep -F -- {escape(shell_quote(error.path))}'."
            )
        else:
            out.append("The text names no port: run 'portdoctor why PORT' with the port the server used.")
        print("\n".join(out))
    sys.stdout.flush()
    return ExitStatus.IN_USE if d is None or not d.free else ExitStatus.OK
