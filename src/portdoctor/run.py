"""Start a command on a port that is free: decide the port, settle a conflict, run, explain.

``portdoctor run --port 3000 -- npm start`` checks port 3000 before ``npm start`` runs; when it is
busy it fails with the diagnosis, frees it, or moves to the next free port (``--on-busy``).
Without ``--port``/``--name``, the port a known server's command already names
(``python3 -m http.server 8000``, ``npx vite --port 5173``) is the one asked for. The
command gets the port in ``$PORT`` and wherever its arguments say ``{port}``. It runs with our
stdin and stdout untouched; its stderr goes through a pipe to ours (live), and when it exits
non-zero with a bind error in that output, the port it names is diagnosed.

This module is the port policy; supervisor.py starts the command and passes signals on.
"""

from __future__ import annotations

import os
import sys

from .errors import CommandNotStarted, NoFreePort, PortBusy, PortdoctorError, UsageError, parse_port
from .record import Record
from .supervisor import Outcome, execute

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from ._explain import BindError
    from ._pick import Pick
    from .model import Diagnosis

ASK = "ask"
FREE = "free"
NEXT = "next"
FAIL = "fail"
ON_BUSY = (ASK, FREE, NEXT, FAIL)

class Choice(Record):
    """The port a command will run on, where it came from, and what was done to get it."""

    port: int
    protocol: str
    source: str  # "port" (--port), "name" (the registry), "command" (CMD names it), "env" ($PORT), "picked"
    action: str | None = None  # None, or "freed" / "next" when the first port was busy
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "port": self.port,
            "protocol": self.protocol,
            "source": self.source,
            "action": self.action,
            "notes": list(self.notes),
        }


# --- the port ----------------------------------------------------------------------------------


def busy(port: int, protocol: str = "tcp", host: str | None = None) -> bool:
    """True when the port is not free by portdoctor's one definition (probe.availability): a
    server binding it, with SO_REUSEADDR or without, would get EADDRINUSE.

    ``host`` None is every address: the IPv4 wildcard and the dual-stack IPv6 one. A connection
    that outlived its listener, or a TIME_WAIT remnant, makes it busy for a server without
    SO_REUSEADDR, so it is busy here too (the same answer as ``why``, ``check`` and ``free``).
    """
    from .probe import availability

    return not availability(port, protocol, host=host).free


def initial_port(
    *,
    port: int | None = None,
    name: str | None = None,
    protocol: str = "tcp",
    env: Mapping[str, str] | None = None,
    command: Sequence[str] = (),
    cwd: str | None = None,
) -> Choice:
    """The port asked for: ``port``, the registry's port for ``name``, the port ``command`` names
    (relaunch.port_of: ``python3 -m http.server 8000``; a script from ``cwd``'s package.json),
    ``$PORT``, or a free one. When ``port`` or ``name`` overrides a port the command names, a
    note says so (the command's port argument is then rewritten: :func:`with_port`)."""
    if port is not None and name is not None:
        raise UsageError("give --port or --name, not both")
    written: int | None = None
    if command:
        from .relaunch import port_of

        written = port_of(command, cwd)
    if port is not None:
        chosen = Choice(parse_port(port), protocol, "port")
        return _overrides(chosen, written, f"--port {chosen.port}")
    from ._pick import pick

    if name is not None:
        p = pick(name=name, protocol=protocol)
        chosen = Choice(p.port, protocol, "name", notes=p.notes)
        return _overrides(chosen, written, f"the registry's port for {name}, {p.port}")
    if written is not None:
        return Choice(written, protocol, "command")
    env = os.environ if env is None else env
    text = env.get("PORT", "").strip()
    if text:
        return Choice(parse_port(text, what="$PORT"), protocol, "env")
    p = pick(protocol=protocol)
    return Choice(p.port, protocol, "picked", notes=p.notes)


def literal_port(
    argv: Sequence[str], protocol: str = "tcp", host: str | None = None, cwd: str | None = None
) -> int | None:
    """The port a command names only as a word of its arguments (``node srv.js 3000``), when that
    port is busy now; else None. For ``--on-busy next``: that word is then given the next port.

    Only where nothing else says where its port goes: no ``{port}``, no flag the relaunch table
    knows (those are read by relaunch.port_of), and exactly one number in its arguments
    (``3000``, ``host:3000``, ``--listen=3000``), at or above 1024 (a lower one is a count more
    likely than a dev server's port). A busy port that the command names is one it would fail to
    bind as written, if it is its port.
    """
    if any("{port}" in a for a in argv):
        return None
    from .relaunch import for_command

    launch = for_command(argv, cwd)
    if launch is not None and not launch.convention:
        return None
    numbers = _ports_in(argv)
    if len(numbers) != 1 or numbers[0] < 1024 or not busy(numbers[0], protocol, host):
        return None
    return numbers[0]


def _overrides(choice: Choice, written: int | None, what: str) -> Choice:
    if written is None or written == choice.port:
        return choice
    note = f"the command names port {written}; using {what} instead"
    return choice.replace(notes=(*choice.notes, note))


def settle(
    choice: Choice,
    on_busy: str = ASK,
    *,
    host: str | None = None,
    command: Sequence[str] = (),
    ask: Callable[[Diagnosis, int | None], str] | None = None,
    ask_kill: Callable[[str], bool] | None = None,
) -> Choice:
    """Return ``choice`` when its port is free; else do what ``on_busy`` says.

    ``ask`` (for ``on_busy`` "ask") gets the diagnosis and the next free port and returns
    "free", "next" or "fail"; without it "ask" is "fail". "fail" raises PortBusy (exit 1);
    "free" uses the safe free (FreeRefused: exit 3; a port it could not free: PortBusy);
    "next" moves to the closest free port above (or below) it.
    """
    if on_busy not in ON_BUSY:
        raise UsageError(f"invalid --on-busy {on_busy!r}: expected one of {', '.join(ON_BUSY)}")
    port, protocol = choice.port, choice.protocol
    if not busy(port, protocol, host):
        return choice
    from .diagnose import why

    d = why(port, protocol, host=host, reuseaddr=True, command=tuple(command))
    summary = _summary(d)
    action = on_busy
    # The question shows the diagnosis: what follows an answer must not repeat it.
    busy_note = f"port {port}/{protocol} is busy: {summary} "
    if action == ASK:
        offer = _next_port(port, protocol)
        action = FAIL if ask is None else ask(d, offer.port if offer else None)
        if ask is not None:
            busy_note = ""
    if action == FAIL:
        said = f": {summary}" if busy_note else "; the command was not run"
        raise PortBusy(f"port {port}/{protocol} is busy{said}", d)
    if action == NEXT:
        found = _next_port(port, protocol)
        if found is None:
            raise PortBusy(f"port {port}/{protocol} is busy and no free port is near it: {summary}", d)
        # Not port+1: say which ports were passed over (in use, the ephemeral range...) and why.
        from ._pick import skip_text

        moved = f" ({skip_text(found.skipped)})" if found.moved else ""
        using = f"{'U' if busy_note else 'u'}sing {found.port} instead{moved}."
        note = busy_note + using
        return choice.replace(port=found.port, action=NEXT, notes=(*choice.notes, note))
    if action == FREE:
        from ._free import free

        result = free(port, protocol=protocol, ask=ask_kill)
        if not result.freed or busy(port, protocol, host):
            raise PortBusy(f"could not free port {port}/{protocol}: {result.summary or summary}", d)
        note = f"freed port {port}/{protocol}" + (f"; it was busy: {summary}" if busy_note else "")
        return choice.replace(action=FREE, notes=(*choice.notes, note))
    raise UsageError(f"invalid choice {action!r}")


def _summary(d: Diagnosis) -> str:
    """The diagnosis in one sentence (not escaped)."""
    if d.cause is not None:
        return d.cause.summary
    return f"Port {d.port}/{d.protocol} is in use."


def _next_port(port: int, protocol: str) -> Pick | None:
    from ._pick import pick

    try:
        return pick(near=min(port + 1, 65535), protocol=protocol)
    except NoFreePort:
        return None


# --- the command -------------------------------------------------------------------------------


def command_line(argv: Sequence[str], port: int) -> list[str]:
    """``argv`` with every ``{port}`` replaced by the port."""
    text = str(port)
    return [a.replace("{port}", text) for a in argv]


def with_port(
    argv: Sequence[str], port: int, cwd: str | None = None, literal: int | None = None
) -> tuple[list[str], dict[str, str], str]:
    """The command to run on ``port``: (argv, variables to add, what was done, in one line).

    ``{port}`` in the arguments is the user's own choice and is only replaced. ``literal``
    (:func:`literal_port`) is a port a word of the arguments names: that word gets ``port``. A
    command that already names ``port`` (relaunch.port_of) runs as it is. Otherwise the server is
    looked up in the relaunch table (relaunch.py) and its own flag is set (``vite`` -> ``vite
    --port N --strictPort``; ``npm run dev`` -> ``npm run dev -- --port N``; a port the command
    names is replaced). An unknown command only gets ``PORT``, and the message says it may not
    read it.
    """
    from .quoting import join

    if any("{port}" in a for a in argv):
        final = command_line(argv, port)
        return final, {}, f"port {port}: {join(final)}"
    from .relaunch import IN_ARGUMENTS, for_command, port_of

    if literal is not None:
        written = for_command(argv, cwd, literal)
        if written is not None and written.how == IN_ARGUMENTS:
            final = written.argv_for(port)
            return final, {}, f"port {port} in place of {literal} in its arguments: {join(final)}"

    if port_of(argv, cwd) == port:
        return list(argv), {}, f"port {port}: {join(argv)}"

    launch = for_command(argv, cwd)
    if launch is None:
        name = os.path.basename(argv[0]) if argv else "the command"
        return (
            list(argv),
            {},
            f"PORT={port}; portdoctor cannot tell how {name} takes its port: if it ignores PORT, "
            "put {port} where its port goes (e.g. --port {port})",
        )
    final = launch.argv_for(port)
    env = launch.env_for(port)
    shown = launch.shell(port)
    if launch.convention:
        return final, env, f"port {port}: {shown}  (only if it reads PORT, as most Node servers do)"
    return final, env, f"port {port} through {launch.server}'s own flag: {shown}"


def environment(port: int, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The command's environment: ours (or ``base``) with ``PORT`` set."""
    env = dict(os.environ if base is None else base)
    env["PORT"] = str(port)
    return env


def bind_failure(
    outcome: Outcome, argv: Sequence[str], protocol: str = "tcp", port: int | None = None
) -> tuple[BindError | None, Diagnosis | None]:
    """The bind error in a failed command's stderr and the diagnosis of its port (or Nones).

    The port is the one the error names; when it names none (Python's ``OSError: [Errno 98]
    Address already in use``), a port number in ``argv`` that is busy now, else ``port`` (the
    one the command was given).
    """
    if outcome.status == 0 or not outcome.stderr_tail:
        return None, None
    from ._explain import parse_bind_error

    error = parse_bind_error(outcome.stderr_tail.decode("utf-8", "replace"))
    if error is None:
        return None, None
    protocol = error.protocol or protocol  # a dgram/udp4 error is about the UDP port
    target = error.port
    if target is None:
        target = next((p for p in _ports_in(argv) if busy(p, protocol)), port)
    if target is None:
        return error, None
    from .diagnose import why

    try:
        return error.replace(port=target), why(target, protocol, command=tuple(argv))
    except PortdoctorError:
        return error, None


def _ports_in(argv: Sequence[str]) -> list[int]:
    """Port numbers in a command line: ``8080``, ``--port=8080``, ``:8080``, ``0.0.0.0:8080``."""
    import re

    found: list[int] = []
    for arg in argv[1:]:
        for m in re.finditer(r"(?:^|[=:])(\d{1,5})$", arg):
            value = int(m.group(1))
            if 1 <= value <= 65535 and value not in found:
                found.append(value)
    return found


def interactive() -> bool:
    """True when both stdin and stderr are terminals (a question can be asked)."""
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


__all__ = [
    "ASK", "FAIL", "FREE", "NEXT", "ON_BUSY", "Choice", "CommandNotStarted", "Outcome", "PortBusy",
    "bind_failure", "busy", "command_line", "environment", "execute", "initial_port", "interactive",
    "literal_port", "settle", "with_port",
]  # fmt: skip
