"""Cheap pre-tests that spare importing a detector when no holder could match it.

Importing a detector costs ~0.3-2 ms (its module, its regexes, its manager's client); on a plain
dev server most of them would only say "not me". Each gate here is a *necessary* condition of
its detector (a superset of what the detector itself checks, using names, parent chains and
cgroup paths already in the Finding), so skipping a detector whose gate is false never loses a
cause. Detectors without a gate are always asked.
"""

from __future__ import annotations

from ..platforms import MACOS, WINDOWS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..model import Holder
    from . import Context


def _windows(ctx: Context) -> bool:
    return WINDOWS


def _macos(ctx: Context) -> bool:
    return MACOS


def docker_evidence(ctx: Context) -> bool:
    """docker-proxy, the engine, or a process in a container (cgroup or containerd shim)."""
    from ..managers import DOCKER_ENGINE_NAMES, DOCKER_PROXY_NAMES

    names = DOCKER_ENGINE_NAMES | DOCKER_PROXY_NAMES
    for h in ctx.holders:
        if h.name in names or (h.cgroup and "docker" in h.cgroup):
            return True
        if any(p.name.startswith("containerd-shim") for p in h.parents):
            return True
    return False


def pm2_evidence(ctx: Context) -> bool:
    """PM2's God Daemon holds the port or is an ancestor, or PM2 set the holder's environment."""
    from ..managers import may_be_pm2_daemon

    for h in ctx.holders:
        if may_be_pm2_daemon(h.name, h.cmdline) or any(
            may_be_pm2_daemon(p.name, p.cmdline) for p in h.parents
        ):
            return True
        env = ctx.environ(h.pid) or {}
        if "pm_id" in env and "PM2_HOME" in env:
            return True
    return False


def _mentions(h: Holder, word: str) -> bool:
    return any(word in p.name or any(word in a for a in p.cmdline) for p in h.parents)


def _supervisord(ctx: Context) -> bool:
    """supervisord is an ancestor of a holder."""
    return any(_mentions(h, "supervisord") for h in ctx.holders)


def _systemd(ctx: Context) -> bool:
    """systemd holds the socket, or a holder's cgroup file names a .service unit."""
    from ..untrusted import read_proc

    for h in ctx.holders:
        if "systemd" in h.name or (h.cmdline and "systemd" in h.cmdline[0]):
            return True
        if h.cgroup and ".service" in h.cgroup:
            return True
        text = read_proc(f"/proc/{h.pid}/cgroup", 1 << 16)
        if text is not None and b".service" in text:
            return True
    return False


def _mismatch(ctx: Context) -> bool:
    """The bind was described (--host, --ipv6), a listener is in another network namespace, or
    the user's bind works beside the listeners: mismatch.detect returns None in every other case.
    (The bind probe is the one the detector would make, cached in the context.)"""
    if ctx.host is not None or ctx.ipv6:
        return True
    if any(s.listening and s.foreign_netns for s in ctx.finding.sockets):
        return True
    if not ctx.listeners:
        return False
    probe = ctx.bind_probe()
    return probe is not None and probe.ok


def _yours_with(
    ctx: Context,
    recognise: Callable[[Sequence[str], str], object],
    env_says: Callable[[dict[str, str]], bool],
) -> bool:
    """A holder of yours that ``recognise`` (a recogniser of causes/argv.py) knows by its command
    line or a parent's, or whose environment ``env_says`` is telling."""
    for h in ctx.holders:
        if not ctx.is_mine(h):
            continue
        if recognise(h.cmdline, h.name) or any(recognise(p.cmdline, p.name) for p in h.parents):
            return True
        if env_says(ctx.environ(h.pid) or {}):
            return True
    return False


def _reloader(ctx: Context) -> bool:
    """A holder of yours is a reloader or runs under one (its command line or a parent's), or the
    Werkzeug/Django reloader set its environment (reloader.find_reloader's evidence)."""
    from .argv import reloader_name

    def run_main(env: dict[str, str]) -> bool:
        return env.get("WERKZEUG_RUN_MAIN") == "true" or env.get("RUN_MAIN") == "true"

    return _yours_with(ctx, reloader_name, run_main)


def _ide(ctx: Context) -> bool:
    """A holder of yours, or a process above it, is a part of an IDE, or VS Code's debugger set its
    environment (ide.find_session's evidence)."""
    from .argv import ide_of

    return _yours_with(ctx, ide_of, lambda env: "VSCODE_INSPECTOR_OPTIONS" in env)


def _application(ctx: Context) -> bool:
    """A holder is a known service by its command line, or runs as another user."""
    from .argv import service_name

    for h in ctx.holders:
        if service_name(h.name, h.cmdline):
            return True
        if (h.uid is not None or h.user is not None) and not ctx.is_mine(h):
            return True
    return False


def _held(ctx: Context) -> bool:
    """A process holds the listening socket: the detectors that look only at holders need one."""
    return bool(ctx.holders)


GATES: dict[str, Callable[[Context], bool]] = {
    "mismatch": _mismatch,
    "windows": _windows,
    "macos": _macos,
    "docker": docker_evidence,
    "pm2": pm2_evidence,
    "supervisord": _supervisord,
    "systemd": _systemd,
    "reloader": _reloader,
    "ide": _ide,
    "application": _application,
    # Each of these starts with "for holder in ctx.holders" or "if not ctx.holders: return None".
    "duplicate": _held,
    "orphan": _held,
    "devserver": _held,
}


def _below_unprivileged(ctx: Context) -> bool:
    """The port needs privileges to bind (privileged.annotate has nothing to say otherwise)."""
    if WINDOWS:
        return False
    from ..ranges import unprivileged_port_start

    return 0 < ctx.port < unprivileged_port_start()


# The same for the annotators (causes.ANNOTATORS), which add notes whatever cause won.
ANNOTATOR_GATES: dict[str, Callable[[Context], bool]] = {"privileged": _below_unprivileged}
