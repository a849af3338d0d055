"""macOS causes: the AirPlay Receiver (ControlCenter) on 5000/7000, Docker Desktop, launchd jobs.

A no-op everywhere but macOS (one ``platforms.MACOS`` test). :func:`detect_macos` holds the logic,
with the launchd look-up passed in, so it runs on recorded facts anywhere.
"""

from __future__ import annotations

from ..model import Action, Cause, Stop
from ..platforms import MACOS
from .actions import pick_action

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ..model import Holder
    from ..parsers.macos import LaunchdJob
    from . import Context


def detect(ctx: Context) -> Cause | None:
    """macOS only: see the module docstring."""
    if not MACOS:
        return None
    return detect_macos(ctx)  # pragma: no cover - macOS only


def detect_macos(
    ctx: Context, *, launchd_job: Callable[[int], LaunchdJob | None] | None = None
) -> Cause | None:
    """The macOS-specific cause of the situation in ``ctx``, or None."""
    from ..parsers import macos as mac

    holders = ctx.holders
    if not holders:
        return None
    for h in holders:
        if mac.is_control_center(h.name, h.exe):
            return airplay_cause(ctx.port, h)
    for h in holders:
        if h.name in mac.DOCKER_DESKTOP:
            from .windows import docker_desktop_cause

            return docker_desktop_cause(ctx, holders, h)
    for h in holders:
        # launchd (pid 1) is the parent of every job it runs; a server started from a shell
        # has the shell as its parent, so only then is `launchctl list` worth asking.
        if h.ppid != 1:
            continue
        job = (launchd_job or mac.launchd_job)(h.pid)
        if job is not None:
            return launchd_cause(ctx.port, h, job, my_uid=ctx.my_uid)
        if h.uid == 0 and ctx.my_uid != 0:
            ctx.note(
                f"pid {h.pid} is a root process started by launchd: `sudo launchctl list` shows "
                "the system jobs"
            )
    return None


def airplay_cause(port: int, h: Holder) -> Cause:
    """ControlCenter holds the port: the AirPlay Receiver (5000 and 7000 since Monterey)."""
    from ..parsers import macos as mac

    known = port in mac.AIRPLAY_PORTS
    summary = (
        f"Port {port} is taken by macOS's AirPlay Receiver (ControlCenter, pid {h.pid})"
        + (", which listens on 5000 and 7000 since macOS Monterey." if known else ".")
        + " Turn the receiver off, or use another port."
    )
    return Cause(
        kind="application",
        summary=summary,
        evidence=(f"pid {h.pid} is {h.name}" + (f" ({h.exe})" if h.exe else ""),),
        actions=(
            Action(
                description=f"Turn off AirPlay Receiver: {mac.AIRPLAY_FIX} "
                f"(on macOS 12: {mac.AIRPLAY_FIX_MONTEREY})",
                command=None,
                safe=True,
                kind="advice",
            ),
            pick_action(port),
        ),
        details={"protected": True, "application": "AirPlay Receiver", "process": "ControlCenter"},
    )


def launchd_cause(port: int, h: Holder, job: LaunchdJob, *, my_uid: int) -> Cause:
    """A launchd job holds the port: stop it through launchctl (or brew services), not by pid."""
    from ..parsers import macos as mac

    system = h.uid == 0
    domain = "system" if system else f"gui/{h.uid if h.uid is not None else my_uid}"
    target = f"{domain}/{job.label}"
    sudo = "sudo " if system and my_uid != 0 else ""
    formula = mac.homebrew_formula(job.label)
    actions: list[Action] = []
    stop_argv: list[str]
    if formula:
        stop_argv = ["brew", "services", "stop", formula]
        actions.append(
            Action(
                description=f"Stop the Homebrew service {formula} (it stays stopped)",
                command=f"{sudo}brew services stop {formula}",
                safe=True,
                kind="advice",
                targets=(h.pid,),
            )
        )
    else:
        stop_argv = ["launchctl", "bootout", target]
    actions.append(
        Action(
            description=(
                f"Unload the launchd job {job.label} until the next login or boot "
                "(killing the process alone lets launchd start it again if it is KeepAlive)"
            ),
            command=f"{sudo}launchctl bootout {target}",
            safe=True,
            kind="advice",
            targets=(h.pid,),
        )
    )
    actions.append(
        Action(
            description="See how launchd runs it",
            command=f"launchctl print {target}",
            safe=True,
            kind="advice",
        )
    )
    actions.append(pick_action(port))
    return Cause(
        kind="launchd",
        summary=f"Port {port} is held by the launchd job {job.label} ({h.name}, pid {h.pid}).",
        evidence=(f"pid {h.pid} is the running instance of launchd job {job.label} ({domain})",),
        actions=tuple(actions),
        details={
            "manager": "launchd",
            "label": job.label,
            "domain": domain,
            "homebrew_formula": formula,
            "respawns": True,
        },
        stop=Stop("launchd", tuple(stop_argv), uid=h.uid, pids=(h.pid,)),
    )
