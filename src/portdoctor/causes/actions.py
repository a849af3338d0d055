"""The next steps several causes share: free the port, signal the holders, use another port."""

from __future__ import annotations

from ..model import Action

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..relaunch import Launch


def pick_action(
    port: int,
    *,
    first: bool = False,
    launch: Launch | None = None,
    here: str | None = None,
    unknown: str | None = None,
) -> Action:
    """Use another port, near this one: with ``launch``, the command that starts that server there.

    ``here`` is the user's directory (a ``cd`` is added when the server runs elsewhere);
    ``unknown`` names a server whose port flag portdoctor does not know (it says so).
    """
    verb = "Use" if first else "Or use"
    if launch is None:
        description = f"{verb} another port"
        if unknown:
            description += f" (portdoctor cannot tell how {unknown} takes its port: give it this one)"
        return Action(
            description=description, command=f"portdoctor pick --near {port}", safe=True, kind="pick"
        )
    from ..relaunch import IN_ARGUMENTS  # imported already: launch comes from it

    if launch.how == IN_ARGUMENTS:
        description = f"{verb} another port: start {launch.server} again with a free port in place of {port}"
    elif launch.convention:
        description = (
            f"{verb} another port: start it again with PORT set (if it reads PORT, as most Node servers do)"
        )
    else:
        description = f"{verb} another port: start {launch.server} again there ({launch.how})"
    return Action(
        description=description,
        command=launch.shell(f"$(portdoctor pick --near {port})", here=here),
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
