"""orphan: a process of yours whose terminal is gone (reparented to init, no tty, session leader dead).

This is the dev server left behind when a terminal tab, an SSH connection or an IDE closed
without stopping it (or one started with ``nohup ... &``). Nothing manages it: safe to stop.
"""

from __future__ import annotations

import os

from ..model import Cause, Holder, ProcessRef
from .actions import free_action, kill_action, pick_action
from .argv import basename, is_interactive_shell

TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import Context

# Processes that adopt orphans: init systems and subreapers (PR_SET_CHILD_SUBREAPER).
_REAPERS = {
    "init",
    "systemd",
    "tini",
    "dumb-init",
    "catatonit",
    "docker-init",
    "launchd",
    "s6-svscan",
    "runit",
}


def init_like(parent: ProcessRef | None, ppid: int) -> bool:
    """True when the parent is pid 1 (whatever it is: init, a container's or a sandbox's) or a
    subreaper that adopts orphans (``systemd --user``, tini, dumb-init...)."""
    if ppid == 1:
        return True
    if parent is None:
        return ppid == 0
    first = basename(parent.cmdline[0]).lower() if parent.cmdline else parent.name.lower()
    if first == "systemd" or parent.name == "systemd":
        return "--user" in parent.cmdline or parent.pid == 1
    return first in _REAPERS or parent.name in _REAPERS


def session_state(pid: int) -> tuple[int | None, str]:
    """(session id, state of its leader): "gone", "shell" (an interactive shell), "self" (the
    process leads its own session: it called setsid) or "other"."""
    try:
        sid = os.getsid(pid)
    except (OSError, AttributeError):
        return None, "unknown"
    if sid == pid:
        return sid, "self"
    from ..platforms import current as platform

    leader = platform.process(sid) if sid > 0 else None
    if leader is None:
        return sid, "gone"
    if is_interactive_shell(leader.cmdline, leader.name):
        return sid, "shell"
    return sid, "other"


def orphaned(holder: Holder) -> tuple[bool, list[str], int | None]:
    """Whether ``holder`` lost its terminal, the evidence for it, and its session id."""
    parent = holder.parents[0] if holder.parents else None
    if holder.tty is not None or not init_like(parent, holder.ppid):
        return False, [], None
    sid, leader = session_state(holder.pid)
    if leader == "shell":
        return False, [], sid  # its shell still runs: backgrounded, not abandoned
    pname = parent.name if parent else "init"
    evidence = [
        f"its parent is {pname} (pid {holder.ppid}): its original parent exited and it was re-parented",
        "it has no controlling terminal",
    ]
    if leader == "gone":
        evidence.append(f"its session leader (pid {sid}) no longer exists")
    elif leader == "self":
        evidence.append("it leads its own session (setsid, nohup or a daemonising double fork)")
    return True, evidence, sid


def _age(started: float | None) -> str:
    if started is None:
        return ""
    import time

    seconds = max(0.0, time.time() - started)
    if seconds < 120:
        return f"{int(seconds)}s"
    if seconds < 7200:
        return f"{int(seconds // 60)}min"
    if seconds < 172800:
        return f"{int(seconds // 3600)}h"
    return f"{int(seconds // 86400)}d"


def detect(ctx: Context) -> Cause | None:
    """A holder of yours was orphaned: nothing manages it and nobody watches its output."""
    for holder in ctx.holders:
        if not ctx.is_mine(holder):
            continue
        ok, evidence, sid = orphaned(holder)
        if not ok:
            continue
        pids = tuple(h.pid for h in ctx.holders)
        age = _age(holder.started)
        where = f" in {holder.project.name}" if holder.project and holder.project.name else ""
        summary = (
            f"Port {ctx.port} is held by {holder.name} (pid {holder.pid}{where}"
            + (f", started {age} ago" if age else "")
            + "), left running after its terminal closed; it is safe to stop."
        )
        evidence = [f"pid {holder.pid} ({holder.name}) holds the listening socket", *evidence]
        if holder.cwd:
            evidence.append(f"its working directory is {holder.cwd}")
        return Cause(
            kind="orphan",
            summary=summary,
            evidence=tuple(evidence),
            actions=(free_action(ctx.port, pids), kill_action(pids), pick_action(ctx.port)),
            details={"respawns": False, "session": sid, "age": age or None},
        )
    return None
