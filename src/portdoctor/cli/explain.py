"""``portdoctor explain [TEXT...]``: what a bind error means, and who holds its port.

On standard input it streams: it answers as soon as it has read a bind error (and the lines
that complete it), while the command that prints it still runs. ``npm run dev 2>&1 |
portdoctor explain`` under nodemon or ``node --watch`` never closes the pipe, so waiting for
the end of input would wait forever. It then exits, like ``head``: the command upstream gets a
broken pipe on its next write. ``--wait`` reads to the end of input first, for scripts.

When the error names no port (Django's "That port is already in use.", Python's "[Errno 98]
Address already in use") and standard input is a pipe, the port is read from the command
writing to it (upstream.py). That command may exit right after its error, so its writers are
looked at first thing, again as the error line arrives, and once more at the end if needed.
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
    from ..upstream import Writer

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


class _Writers:
    """The processes writing to our standard input, as seen each time :meth:`look` is called."""

    def __init__(self, fd: int) -> None:
        """Looks once at once: a writer that fails at start may be gone soon."""
        self.fd = fd
        self.seen: list[Writer] = []
        self.look()

    def look(self) -> None:
        from ..upstream import merge, writers

        self.seen = merge(self.seen, writers(self.fd))


_EARLY: list[_Writers] = []


def look_upstream(argv: list[str]) -> None:
    """Before the arguments are parsed (cli._main): look at the writers of a piped standard input
    once, as early as the program can, for ``run`` to start from. ``python3 -m http.server``
    fails ~30 ms after it starts: argparse alone costs several of them."""
    _EARLY.clear()  # (a run in this process whose arguments failed to parse left its own)
    if any(a != "explain" and not a.startswith("-") for a in argv):
        return  # TEXT given: standard input is not read
    fd = _pipe_in()
    if fd is not None:
        _EARLY.append(_Writers(fd))


def _pipe_in() -> int | None:
    """The fd of standard input when it is a pipe (its writer can be asked), else None."""
    import os
    import stat

    try:
        fd = sys.stdin.fileno() if sys.stdin is not None else None
        return fd if fd is not None and stat.S_ISFIFO(os.fstat(fd).st_mode) else None
    except (OSError, ValueError, AttributeError):
        return None


def _stream(wait: bool, watch: _Writers | None = None) -> BindError | None:
    """The first bind error on stdin, answered while the writer still runs (unless ``wait``).
    ``watch`` looks at the pipe's writers when the first error line arrives."""
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
        before = scanner.pending
        scanner.feed(line)
        if watch is not None and scanner.pending and not before:
            watch.look()  # the error line: its writer has just printed it, and may exit
        if scanner.ready and not wait:
            break
    return scanner.result()


def run(args: argparse.Namespace) -> int:
    """Exit 0: the port is free now; 1: still in use (or unknown); 2: no bind error found."""
    watch: _Writers | None = None
    if not (args.text and args.text != ["-"]):
        fd = _pipe_in()
        if fd is not None:
            # First thing, before the parser's imports: a server that fails at once is gone soon.
            watch = _EARLY.pop() if _EARLY else _Writers(fd)  # (seen before the arguments were parsed)

    from .._explain import (
        TCP,
        UDP,
        Explanation,
        advice,
        describe,
        diagnose_error,
        is_named_pipe,
        parse_bind_error,
    )
    from ..errors import UsageError
    from ..render import Painter, diagnosis_text, escape, escape_argv, print_json

    if args.text and args.text != ["-"]:
        error = parse_bind_error(" ".join(args.text))
    else:
        error = _stream(getattr(args, "wait", False), watch)
    if error is None:
        raise UsageError(
            "no bind error recognised in the text (expected e.g. 'EADDRINUSE', "
            "'Address already in use', 'port is already allocated')"
        )
    origin = None
    if watch is not None and error.port is None and error.path is None and error.protocol in (TCP, UDP):
        from ..upstream import origin as origin_of

        origin = origin_of(watch.seen)
        if origin is None:
            watch.look()  # a writer that started late (sh -c 'sleep 1; exec server'), or kept running
            origin = origin_of(watch.seen)
    answer = Explanation(error, advice(error), diagnose_error(error, origin.port if origin else None), origin)
    d = answer.diagnosis
    if args.json:
        print_json(answer.to_dict())
    else:
        paint = Painter()
        heading = describe(error if origin is None else error.replace(port=origin.port))
        out = [paint(escape(heading), "bold"), "  " + paint(escape(error.line), "dim")]
        if origin is not None:
            from ..relaunch import as_typed

            shown = as_typed(origin.writer.cmdline, origin.writer.cwd)  # (venv/bin/uvicorn: uvicorn)
            command = escape_argv(shown or origin.writer.cmdline, None if args.verbose else 100)
            uses = f"uses {origin.port}"
            if origin.server is not None:
                uses += f", the default port of {origin.server}"
            out.append(
                f"  The text names no port; the command writing it (pid {origin.writer.pid}: "
                f"{command}) {uses}."
            )
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
