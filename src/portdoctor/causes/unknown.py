"""unknown: the port is in use but its holder cannot be seen, or nothing else explains it."""

from __future__ import annotations

from ..model import Action, Cause
from .actions import free_action, pick_action

TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import Context


def detect(ctx: Context) -> Cause | None:
    """The last resort: in use, and no detector recognised it."""
    if not ctx.in_use:
        return None
    hidden = ctx.finding.hidden
    holders = ctx.holders
    if hidden and not holders:
        h = hidden[0]
        owner = h.user or (f"uid {h.uid}" if h.uid is not None else "another user")
        actions = []
        if h.hint:
            actions.append(
                Action(
                    description="Show the holder (needs privileges)", command=h.hint, safe=True, kind="advice"
                )
            )
        actions.append(
            Action(
                description="Or use another port" if actions else "Use another port",
                command="portdoctor pick",
                safe=True,
                kind="pick",
            )
        )
        return Cause(
            kind="unknown",
            summary=f"Port {ctx.port} is in use by a socket owned by {owner}, whose holder cannot be seen.",
            evidence=tuple(x.reason for x in hidden),
            actions=tuple(actions),
        )
    names = ", ".join(f"{h.name} (pid {h.pid})" for h in holders) or "an unseen process"
    return Cause(
        kind="unknown",
        summary=f"Port {ctx.port} is in use by {names}.",
        evidence=tuple(f"pid {h.pid} runs as {h.user or h.uid}" for h in holders),
        actions=(
            free_action(
                ctx.port, [h.pid for h in holders], description="Stop the holders gracefully", safe=False
            ),
            pick_action(ctx.port),
        ),
    )
