"""Output helpers shared by every command: escaping, colour, tables, JSON.

Every string that came from another process (names, command lines, paths) goes through
:func:`escape` before it reaches a terminal: a process can put terminal control sequences
in its name and argv.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any, TextIO

    from .model import Diagnosis, Holder, Socket
    from .probe import Availability

_STYLES = {
    "bold": "1",
    "dim": "2",
    "red": "31",
    "green": "32",
    "yellow": "33",
    "blue": "34",
    "magenta": "35",
    "cyan": "36",
}


def escape(text: object) -> str:
    """Return ``text`` safe to print: control, format and bidi characters become visible escapes."""
    s = str(text)
    if s.isprintable():
        return s
    out = []
    for ch in s:
        if ch.isprintable():
            out.append(ch)
        else:
            code = ord(ch)
            if code < 0x100:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
    return "".join(out)


def escape_argv(argv: Sequence[str], limit: int | None = None) -> str:
    """Join a command line for display, escaping each argument; cut to ``limit`` characters."""
    text = " ".join(escape(a) for a in argv)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 1)] + "…"
    return text


def use_colour(stream: TextIO | None = None) -> bool:
    """Colour only on a terminal, never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    stream = stream or sys.stdout
    try:
        return stream.isatty() and os.environ.get("TERM") != "dumb"
    except (AttributeError, ValueError):
        return False


class Painter:
    """Applies ANSI styles when colour is on, and nothing otherwise."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.enabled = use_colour() if enabled is None else enabled

    def __call__(self, text: str, *styles: str) -> str:
        """Wrap ``text`` (already escaped) in the given styles."""
        if not self.enabled or not styles:
            return text
        codes = ";".join(_STYLES[s] for s in styles)
        return f"\x1b[{codes}m{text}\x1b[0m"


def terminal_width(stream: TextIO | None = None) -> int | None:
    """Columns to fit a table in: ``$COLUMNS``, else the terminal's width; None (do not cut) when
    the output is not a terminal (a pipe or a file gets whole lines, as with ps and ss)."""
    text = os.environ.get("COLUMNS", "")
    if text.isdigit() and int(text) > 0:
        return int(text)
    stream = stream or sys.stdout
    try:
        if stream.isatty():
            return os.get_terminal_size(stream.fileno()).columns
    except (AttributeError, ValueError, OSError):
        pass
    return None


def table(
    rows: Sequence[Sequence[str]],
    headers: Sequence[str],
    paint: Painter | None = None,
    *,
    width: int | None = None,
    squeeze: dict[int, int] | None = None,
) -> str:
    """Lay out escaped cells in aligned columns; the last column is not padded.

    With ``width`` and ``squeeze`` ({column index: narrowest width}), the widest of those columns
    are cut first (their cells end in "…"), never below their narrowest width, until a line fits
    in ``width`` columns or nothing more may be cut.
    """
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    if width is not None and squeeze:
        cut = {i: max(f, len(headers[i])) for i, f in squeeze.items() if widths[i] > max(f, len(headers[i]))}
        fixed = sum(w for i, w in enumerate(widths) if i not in cut) + 2 * (len(widths) - 1)

        def total(cap: int) -> int:
            return fixed + sum(max(f, min(widths[i], cap)) for i, f in cut.items())

        if cut and total(max(widths)) > width:
            lo, hi = 0, max(widths)  # the widest cap that fits (or 0: every cut column at its floor)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if total(mid) <= width else (lo, mid - 1)
            caps = {i: max(f, min(widths[i], lo)) for i, f in cut.items()}
            rows = [
                [c[: caps[i] - 1] + "…" if i in caps and len(c) > caps[i] else c for i, c in enumerate(row)]
                for row in rows
            ]
            for i, cap in caps.items():
                widths[i] = cap
    lines = []
    head = "  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip()
    lines.append(paint(head, "bold") if paint else head)
    for row in rows:
        cells = [c.ljust(widths[i]) if i < len(row) - 1 else c for i, c in enumerate(row)]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def dumps(obj: Any) -> str:
    """JSON text of ``obj`` (json is imported here, off the start-up path)."""
    import json

    # ensure_ascii: C1 controls and bidi overrides from other processes stay escaped.
    return json.dumps(obj, indent=2, ensure_ascii=True)


def print_json(obj: Any, stream: TextIO | None = None) -> None:
    """Print ``obj`` as JSON."""
    (stream or sys.stdout).write(dumps(obj) + "\n")


def when(ts: float | None) -> str:
    """A start time as a short local time, or '?'."""
    if ts is None:
        return "?"
    import time

    t = time.localtime(ts)
    if time.time() - ts < 86400:
        return time.strftime("%H:%M:%S", t)
    return time.strftime("%Y-%m-%d %H:%M", t)


def ago(ts: float | None) -> str:
    """How long ago ``ts`` was, compactly ('3m', '2h', '5d')."""
    if ts is None:
        return "?"
    import time

    secs = max(0, int(time.time() - ts))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs >= size:
            return f"{secs // size}{unit}"
    return f"{secs}s"


def lines(items: Iterable[str]) -> str:
    """Join lines with newlines."""
    return "\n".join(items)


def socket_label(s: Socket) -> str:
    """'tcp6 [::]:3000' style label of a socket's local address."""
    addr = f"[{s.address}]" if s.family == "ipv6" else s.address
    proto = s.protocol + ("6" if s.family == "ipv6" else "")
    label = f"{proto} {addr}:{s.port}"
    if s.remote_address is not None:
        raddr = f"[{s.remote_address}]" if s.family == "ipv6" else s.remote_address
        label += f" -> {raddr}:{s.remote_port}"
    return label


def binds_text(a: Availability) -> list[str]:
    """One line per bind that decided whether the port is free ("bind 0.0.0.0:80 without ...: ok")."""
    out = []
    for reuse, r in a.binds:
        where = f"[{r.host}]:{a.port}" if ":" in r.host else f"{r.host}:{a.port}"
        how = "with SO_REUSEADDR" if reuse else "without SO_REUSEADDR"
        out.append(f"bind {where} {how}: " + ("works" if r.ok else f"fails ({escape(r.message)})"))
    return out


def _forked(h: Holder) -> bool:
    """A worker started by multiprocessing (its command line says nothing of its own)."""
    return any("multiprocessing" in a for a in h.cmdline[:4])


def diagnosis_text(d: Diagnosis, paint: Painter | None = None, *, verbose: bool = False) -> str:
    """The human report of ``why``: the cause first, then sockets, holders, next steps."""
    paint = paint or Painter(False)
    out: list[str] = []
    where = f"{d.port}/{d.protocol}"
    if d.cause:
        head = paint(escape(d.cause.summary), "bold")
    elif d.in_use:
        head = paint(f"Port {where} is in use.", "bold")
    elif not d.free:
        head = paint(f"Port {where} is not free: no process listens, but a bind fails.", "bold")
    else:
        head = paint(f"Port {where} is free.", "bold", "green")
    out.append(head)
    if d.cause is None and not d.in_use and not d.free and d.availability is not None:
        out.extend(paint(f"  · {line}", "dim") for line in binds_text(d.availability))
    if d.cause and d.cause.evidence:
        for ev in d.cause.evidence:
            out.append(paint(f"  · {escape(ev)}", "dim"))
    if d.sockets:
        out.append("")
        out.append(paint("Sockets", "bold"))
        for s in d.sockets:
            who = ", ".join(str(p) for p in s.holders) if s.holders else ("-" if not s.inode else "?")
            extra = []
            if s.v6only is not None and s.family == "ipv6":
                extra.append("v6only" if s.v6only else "dual-stack")
            if s.foreign_netns:
                extra.append(f"other netns {s.netns}")
            if s.uid is not None:
                extra.append(f"uid {s.uid}")
            tail = f" ({', '.join(extra)})" if extra else ""
            out.append(f"  {escape(socket_label(s)):<32} {s.state:<11} pid {who}{tail}")
    if d.holders:
        out.append("")
        out.append(paint("Holders", "bold"))
        groups = d.groups
        shown_workers: set[int] = set()
        for g in groups:
            count = len(g.workers)
            out.append(
                f"  {escape(g.name)}: master {g.master} + {count} worker{'s' if count != 1 else ''}"
                f" ({', '.join(str(w) for w in g.workers)})"
            )
            # A worker is shown in full only when it runs something else than its master.
            master = d.holder(g.master)
            for w in g.workers:
                worker = d.holder(w)
                if worker and master and (worker.cmdline == master.cmdline or _forked(worker)):
                    shown_workers.add(w)
        for h in d.holders:
            if h.pid in shown_workers:
                continue
            out.append(
                f"  {paint(str(h.pid), 'cyan')} {paint(escape(h.name), 'bold')}"
                f"  user {escape(h.user or h.uid)}, started {when(h.started)} ({ago(h.started)} ago)"
                + (f", tty {escape(h.tty)}" if h.tty else ", no tty")
            )
            out.append(f"      cmd: {escape_argv(h.cmdline or (h.name,), None if verbose else 200)}")
            if h.cwd:
                proj = ""
                if h.project:
                    proj = f"  (project {escape(h.project.name or '?')}, {escape(h.project.manifest)})"
                out.append(f"      cwd: {escape(h.cwd)}{proj}")
            if h.parents:
                chain = " <- ".join(f"{p.pid} {escape(p.name)}" for p in h.parents)
                out.append(f"      parents: {chain}")
    if d.hidden:
        out.append("")
        out.append(paint("Hidden", "bold", "yellow"))
        for x in d.hidden:
            hint = f"; try: {escape(x.hint)}" if x.hint else ""
            out.append(f"  inode {x.inode}: {escape(x.reason)}{hint}")
            shown = x.candidates if verbose else x.candidates[:5]
            for c in shown:
                command = escape_argv(c.cmdline, None if verbose else 120) if c.cmdline else escape(c.name)
                who = f"pid {c.pid} {escape(c.name)}: {command}"
                out.append(f"      candidate (same owner, not proven): {who}")
            if len(shown) < len(x.candidates):
                out.append(f"      ... {len(x.candidates) - len(shown)} more candidates (-v lists them)")
    if d.actions:
        out.append("")
        out.append(paint("Next steps", "bold"))
        for i, a in enumerate(d.actions, 1):
            flag = "" if a.safe else paint("  (careful)", "yellow")
            out.append(f"  {i}. {escape(a.description)}{flag}")
            if a.command:
                out.append(f"       {paint(escape(a.command), 'green')}")
    for n in d.notes:
        out.append(paint(f"note: {escape(n)}", "dim"))
    return "\n".join(out)
