"""The command upstream of a pipe: which port a server meant when its error names none.

Django's ``Error: That port is already in use.``, Python's ``OSError: [Errno 98] Address already
in use`` (``python3 -m http.server``, uvicorn --reload) name no port. Read from a pipe
(``python3 manage.py runserver 2>&1 | portdoctor explain``), the command that wrote them is
still there to ask, as someone who knows would: find the processes holding the write end of the
pipe (``platforms.current.pipe_writers``; Linux only), read the port each one's command line
names (:func:`relaunch.port_of`: ``runserver 0:9000``), else its server's documented default
(:func:`relaunch.default_port`: Django's 8000), and keep the answer only when every writer that
names a port names the same one: a wrapper chain (``npm run dev`` -> ``sh -c`` -> ``node
vite.js``, Django's autoreloader and its child) gives one answer, two servers give none.

A writer that fails at once (http.server) may be gone before portdoctor has started, so the
caller takes :func:`writers` more than once (at start, when the error line arrives) and merges
the readings (:func:`merge`). What is read of a writer (argv, cwd, environment) is another
process's input: read capped by the back-end, never run, escaped when shown.
"""

from __future__ import annotations

from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

COMMAND = "command"  # the port is written in the writer's command line
DEFAULT = "default"  # the writer's server binds this port when none is written


class Writer(Record):
    """A process that held the write end of the pipe, as it was when it was seen."""

    pid: int
    started: float | None  # with the pid, its identity (an exec keeps both)
    cmdline: tuple[str, ...]
    cwd: str | None
    env: tuple[tuple[str, str], ...] | None  # its environment (None: unreadable)

    def to_dict(self) -> dict[str, object]:
        """JSON form: pid, command line and directory (not the environment)."""
        return {"pid": self.pid, "cmdline": list(self.cmdline), "cwd": self.cwd}


class Origin(Record):
    """Where the port of an error that names none came from: a writer of the pipe."""

    port: int
    source: str  # COMMAND or DEFAULT
    writer: Writer
    server: str | None = None  # the server whose default it is ("django"), for DEFAULT

    def to_dict(self) -> dict[str, object]:
        """JSON form (``explain --json``'s ``writer``, with ``server``)."""
        return {**self.writer.to_dict(), "server": self.server}


def writers(fd: int = 0) -> list[Writer]:
    """The processes holding the write end of the pipe ``fd`` reads, now ([] when it is no pipe,
    on a platform that cannot tell, or when they are gone)."""
    from .platforms import current as platform

    found: list[Writer] = []
    for pid in platform.pipe_writers(fd):
        facts = platform.process(pid)
        if facts is None or facts.kernel_thread or not facts.cmdline:
            continue
        env = platform.environ(pid)
        found.append(
            Writer(
                pid=pid,
                started=facts.started,
                cmdline=facts.cmdline,
                cwd=facts.cwd,
                env=None if env is None else tuple(env.items()),
            )
        )
    return found


def merge(earlier: Iterable[Writer], later: Iterable[Writer]) -> list[Writer]:
    """Both readings, the later one of a process seen twice (after an exec its argv is the
    server's), each process once, in the order first seen."""
    out: dict[tuple[int, float | None], Writer] = {}
    for w in [*earlier, *later]:
        out[(w.pid, w.started)] = w
    return list(out.values())


def reading(writer: Writer) -> Origin | None:
    """The port ``writer``'s command names, else its server's default; None when neither."""
    from .relaunch import default_port, port_of

    port = port_of(writer.cmdline, writer.cwd)
    if port is not None:
        return Origin(port, COMMAND, writer)
    env: Mapping[str, str] | None = dict(writer.env) if writer.env is not None else None
    default = default_port(writer.cmdline, writer.cwd, env)
    if default is not None:
        return Origin(default.port, DEFAULT, writer, default.server)
    return None


def origin(found: Iterable[Writer]) -> Origin | None:
    """The one port the writers mean: every writer that names a port (or has a default) names
    the same; None when none does, or two differ. A port written in a command line is shown
    before a default (``npm run dev`` reads its script; the ``node vite.js`` under it names it)."""
    readings = [r for r in (reading(w) for w in found) if r is not None]
    if not readings or len({r.port for r in readings}) != 1:
        return None
    return next((r for r in readings if r.source == COMMAND), readings[0])


__all__ = ["COMMAND", "DEFAULT", "Origin", "Writer", "merge", "origin", "reading", "writers"]
