"""privileged-port: the bind fails with EACCES (permission denied), not EADDRINUSE.

On Linux a port below ``net.ipv4.ip_unprivileged_port_start`` (1024 unless changed) can only be
bound by root or a process with CAP_NET_BIND_SERVICE; other Unixes use 1024 (macOS lets anyone
bind since 10.14, which the real bind probe shows). The port may be perfectly free: the error
people see is "permission denied", and they go looking for a holder that does not exist.

Precedence: when a listener holds the port, its holder's cause wins (this detector runs late)
and :func:`annotate` adds a note that freeing the port will not be enough.
"""

from __future__ import annotations

import os

from ..model import Action, Cause
from ..platforms import LINUX, WINDOWS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import Context

CAP_NET_BIND_SERVICE = 10  # include/uapi/linux/capability.h
# Interpreters: a capability on one of these is granted to every script it runs.
_INTERPRETERS = ("python", "node", "ruby", "perl", "php", "java", "bash", "sh", "deno", "bun")


def cap_eff(status_text: str) -> int | None:
    """The effective capability mask from the text of /proc/PID/status, or None."""
    for line in status_text.splitlines():
        if line.startswith("CapEff:"):
            try:
                return int(line.split(":", 1)[1].strip(), 16)
            except ValueError:
                return None
    return None


def can_bind_privileged() -> bool:
    """True when this process may bind ports below the unprivileged start (root or the capability)."""
    if WINDOWS:
        return True
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return True
    try:
        with open("/proc/self/status", encoding="utf-8", errors="replace") as f:
            mask = cap_eff(f.read())
    except OSError:
        return False
    return mask is not None and bool(mask >> CAP_NET_BIND_SERVICE & 1)


def detect(ctx: Context) -> Cause | None:
    """Nothing holds the port, but the user may not bind it: it is below the unprivileged start."""
    if WINDOWS or ctx.in_use:
        return None
    from ..ranges import unprivileged_port_start

    start = unprivileged_port_start()
    if ctx.port == 0 or ctx.port >= start:
        return None
    probe = ctx.bind_probe()
    if probe is not None:
        if probe.error != "permission":
            return None  # the bind works (root, capability, macOS) or fails for another reason
    elif can_bind_privileged():
        return None
    evidence = [
        f"port {ctx.port} is below {start} (net.ipv4.ip_unprivileged_port_start)"
        if LINUX
        else f"port {ctx.port} is below {start}, the first unprivileged port",
        f"you run as uid {ctx.my_uid}, not root, without CAP_NET_BIND_SERVICE",
        "nothing listens on the port",
    ]
    if probe is not None:
        evidence.append(f"a real bind of port {ctx.port} failed: {probe.message} (errno {probe.errno})")
    return Cause(
        kind="privileged-port",
        summary=(
            f"Port {ctx.port} is free, but it is a privileged port (below {start}): binding it as an "
            "unprivileged user fails with EACCES (permission denied), not EADDRINUSE."
        ),
        evidence=tuple(evidence),
        actions=_actions(ctx, start),
        details={
            "unprivileged_port_start": start,
            "bind": probe.to_dict() if probe is not None else None,
        },
    )


def annotate(ctx: Context, cause: Cause | None) -> None:
    """When another cause won, note that the port also needs privileges once it is free."""
    if cause is None or cause.kind == "privileged-port" or WINDOWS:
        return
    from ..ranges import unprivileged_port_start

    start = unprivileged_port_start()
    if 0 < ctx.port < start and not can_bind_privileged():
        ctx.note(
            f"Even once it is free, port {ctx.port} is below {start}: binding it needs root or "
            "CAP_NET_BIND_SERVICE (you would get EACCES)."
        )


def _actions(ctx: Context, start: int) -> tuple[Action, ...]:
    binary, interpreter = _binary(ctx)
    setcap_note = (
        f" ({binary} is an interpreter: every script it runs gets the capability)" if interpreter else ""
    )
    suggestion = ctx.port + 8000 if ctx.port + 8000 < 65536 and ctx.port + 8000 >= start else None
    pick = f"Use a port from {start} up (e.g. {suggestion})" if suggestion else f"Use a port from {start} up"
    actions = [Action(description=pick, command="portdoctor pick", safe=True, kind="pick")]
    if LINUX:
        actions.append(
            Action(
                description=f"Or give the server's binary the capability to bind low ports{setcap_note}",
                command=f"sudo setcap 'cap_net_bind_service=+ep' {binary}",
                safe=not interpreter,
                kind="advice",
            )
        )
        actions.append(
            Action(
                description=(
                    f"Or let every user bind ports from {ctx.port} up (machine-wide; persist it in "
                    "/etc/sysctl.d/)"
                ),
                command=f"sudo sysctl -w net.ipv4.ip_unprivileged_port_start={ctx.port}",
                safe=False,
                kind="advice",
            )
        )
    actions.append(
        Action(
            description=(
                f"Or run the server on a high port behind a reverse proxy (nginx, caddy) or a "
                f"published container port (docker run -p {ctx.port}:8080) that listens on {ctx.port}"
            ),
            kind="advice",
        )
    )
    return tuple(actions)


def _binary(ctx: Context) -> tuple[str, bool]:
    """The real path of the command the user wants to run, and whether it is an interpreter."""
    if not ctx.command:
        return "/path/to/your/server", False
    import shutil

    from ..quoting import quote

    found = shutil.which(ctx.command[0]) or ctx.command[0]
    real = os.path.realpath(found)  # setcap refuses symlinks
    name = os.path.basename(real).lower()
    interpreter = name.rstrip("0123456789.-") in _INTERPRETERS  # python3.11, node18...
    return quote(real), interpreter
