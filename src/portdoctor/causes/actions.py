"""The next steps several causes share: free the port, signal the holders, use another port."""

from __future__ import annotations

from ..model import Action

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def pick_action(port: int, *, first: bool = False) -> Action:
    """Use another port, near this one."""
    return Action(
        description="Use another port" if first else "Or use another port",
        command=f"portdoctor pick --near {port}",
        safe=True,
        kind="pick",
    )


def free_action(
    port: int,
    pids: Sequence[int],
    *,
    description: str = "Stop it gracefully (SIGTERM) and wait for the port to be released",
    safe: bool = True,
    force: bool = False,
) -> Action:
    """``portdoctor free PORT``: the safe stop (``--force`` where it would refuse otherwise)."""
    return Action(
        description=description,
        command=f"portdoctor free {port}" + (" --force" if force else ""),
        safe=safe,
        kind="free",
        targets=tuple(pids),
    )


def kill_action(
    pids: Sequence[int], *, description: str = "Or send SIGTERM yourself", safe: bool = True
) -> Action:
    """``kill PID...``: SIGTERM by hand."""
    return Action(
        description=description,
        command="kill " + " ".join(str(p) for p in pids),
        safe=safe,
        kind="signal",
        targets=tuple(pids),
    )
