"""dev-server: a plain process of your own holds the port (no manager, not a known service)."""

from __future__ import annotations

from ..model import Cause
from .actions import free_action, kill_action, pick_action

TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import Context


def detect(ctx: Context) -> Cause | None:
    """Your own process holds the port and nothing more specific explains it."""
    holders = ctx.holders
    if not holders or not all(ctx.is_mine(h) for h in holders):
        return None
    pids = tuple(h.pid for h in holders)
    main = holders[0]
    from ..relaunch import known_as

    known = known_as(main)  # "npm run dev in shop-web (vite)": what the user typed
    if known and known.endswith(")"):
        who = f"your own {known[:-1]}, pid {main.pid})"
    elif known:
        who = f"your own {known} (pid {main.pid})"
    else:
        where = f" in {main.project.name}" if main.project and main.project.name else ""
        who = f"your own process {main.name} (pid {main.pid}){where}"
    summary = f"Port {ctx.port} is held by {who}; it is safe to stop it if you no longer need it."
    from ..model import groups_of

    workers = {g.master: len(g.workers) for g in groups_of(tuple(holders))}
    below = {w for g in groups_of(tuple(holders)) for w in g.workers}
    evidence = [
        f"pid {h.pid} ({h.name})"
        + (f" and its {workers[h.pid]} workers" if h.pid in workers else "")
        + " run as you"
        if h.pid in workers
        else f"pid {h.pid} ({h.name}) runs as you"
        for h in holders
        if h.pid not in below
    ]
    if main.tty:
        evidence.append(f"it still has a terminal ({main.tty}): it may be running in another window")
    return Cause(
        kind="dev-server",
        summary=summary,
        evidence=tuple(evidence),
        actions=(free_action(ctx.port, pids), kill_action(pids), pick_action(ctx.port)),
    )
