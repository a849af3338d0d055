"""Windows causes: excluded port ranges, services, System (http.sys), Docker Desktop, WSL2 relay.

A no-op everywhere but Windows (one ``platforms.WINDOWS`` test). :func:`detect_windows` holds the
logic, with the platform look-ups passed in, so it runs on recorded facts anywhere.
"""

from __future__ import annotations

from ..model import Action, Cause, Stop
from ..platforms import WINDOWS
from .actions import pick_action

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from ..model import Holder
    from ..parsers.windows import ExcludedRange
    from . import Context


def detect(ctx: Context) -> Cause | None:
    """Windows only: see the module docstring."""
    if not WINDOWS:
        return None
    return detect_windows(ctx)  # pragma: no cover - Windows only


def detect_windows(
    ctx: Context,
    *,
    excluded: Callable[[str], Sequence[ExcludedRange]] | None = None,
    services: Callable[[int], list[str]] | None = None,
) -> Cause | None:
    """The Windows-specific cause of the situation in ``ctx``, or None."""
    from ..parsers import windows as win

    holders = ctx.holders
    if not ctx.in_use:
        ranges = (excluded or win.excluded_ranges)(ctx.protocol)
        r = win.excluded_range_of(ctx.port, ranges)
        return excluded_range_cause(ctx.port, ctx.protocol, r) if r else None
    for h in holders:
        if h.pid == win.SYSTEM_PID:
            return http_sys_cause(ctx.port, h)
    for h in holders:
        name = h.name.lower()
        chain = " ".join([*h.cmdline, *(" ".join(p.cmdline) for p in h.parents)]).lower()
        if name in win.DOCKER_DESKTOP or (name in win.WSL_RELAY and "docker-desktop" in chain):
            return docker_desktop_cause(ctx, holders, h)
        if name in win.WSL_RELAY:
            return wsl_relay_cause(ctx.port, h)
    for h in holders:
        if _looks_like_service(h):
            names = (services or win.services_for_pid)(h.pid)
            if names:
                return service_cause(ctx.port, h, names)
    return None


def _looks_like_service(h: Holder) -> bool:
    """Started by the service control manager (services.exe), or a service host."""
    if h.name.lower() == "svchost.exe":
        return True
    return bool(h.parents) and h.parents[0].name.lower() == "services.exe"


def excluded_range_cause(port: int, protocol: str, r: ExcludedRange) -> Cause:
    """The port lies in a Windows excluded port range: binds fail with EACCES (WinError 10013)."""
    span = f"{r.first}-{r.last}" if r.first != r.last else str(r.first)
    show = f"netsh interface ipv4 show excludedportrange protocol={protocol}"
    if r.administered:
        summary = (
            f"Port {port} is in an excluded port range ({span}) that an administrator added: Windows "
            'refuses to bind it (EACCES, "An attempt was made to access a socket in a way forbidden '
            'by its access permissions", WinError 10013).'
        )
        actions: tuple[Action, ...] = (
            pick_action(port, first=True),
            Action(description="See the excluded ranges", command=show, safe=True, kind="advice"),
            Action(
                description="Remove the exclusion (administrator shell), if nothing needs it",
                command=(
                    f"netsh int ipv4 delete excludedportrange protocol={protocol} "
                    f"startport={r.first} numberofports={r.last - r.first + 1}"
                ),
                safe=False,
                kind="advice",
            ),
        )
    else:
        summary = (
            f"Port {port} is in an excluded port range ({span}) that Windows reserved for Hyper-V, "
            "WSL2 or Docker Desktop (winnat): nothing listens there, but every bind fails with EACCES "
            '("An attempt was made to access a socket in a way forbidden by its access permissions", '
            "WinError 10013). The ranges move at each boot."
        )
        actions = (
            pick_action(port, first=True),
            Action(description="See the excluded ranges", command=show, safe=True, kind="advice"),
            Action(
                description=(
                    "Release the dynamic reservations and keep this port for yourself (administrator "
                    "shell; restarting winnat briefly cuts WSL/Docker networking)"
                ),
                command=(
                    f"net stop winnat && netsh int ipv4 add excludedportrange protocol={protocol} "
                    f"startport={port} numberofports=1 && net start winnat"
                ),
                safe=False,
                kind="advice",
            ),
        )
    return Cause(
        kind="reserved",
        summary=summary,
        evidence=(f"excluded port range {span}{' (administered, *)' if r.administered else ''}",),
        actions=actions,
        details={"range": [r.first, r.last], "administered": r.administered, "source": "netsh"},
    )


def http_sys_cause(port: int, h: Holder) -> Cause:
    """pid 4 (System) holds the port: a URL registered with the kernel's HTTP server, http.sys."""
    return Cause(
        kind="windows-service",
        summary=(
            f"Port {port} is held by the Windows kernel (System, pid 4) for http.sys: IIS, WinRM, "
            "Reporting Services or an HttpListener/WCF program registered a URL on it. Killing pid 4 is "
            "impossible; stop the service behind the URL."
        ),
        evidence=(f"pid {h.pid} is {h.name or 'System'}", "http.sys sockets belong to pid 4"),
        actions=(
            Action(
                description=f"See which process and URL registered the port (look for :{port})",
                command="netsh http show servicestate view=requestq",
                safe=True,
                kind="advice",
            ),
            Action(
                description="If it is IIS: stop it (administrator shell)",
                command="iisreset /stop",
                safe=False,
                kind="advice",
            ),
            Action(
                description="Or stop the service that owns the URL (administrator shell)",
                command="sc stop <service>",
                safe=False,
                kind="advice",
            ),
            pick_action(port),
        ),
        details={"service": "http.sys", "protected": True, "system": True},
    )


def service_cause(port: int, h: Holder, names: list[str]) -> Cause:
    """A Windows service holds the port: stop it through the service manager, not by pid."""
    shown = ", ".join(names)
    first = names[0]
    shared = len(names) > 1
    summary = f"Port {port} is held by the Windows service {shown} ({h.name}, pid {h.pid})" + (
        ": the process hosts several services, killing it stops them all." if shared else "."
    )
    actions = [
        Action(
            description="Stop the service (administrator shell); the service manager may restart it",
            command=f"sc stop {first}",
            safe=False,
            kind="advice",
            targets=(h.pid,),
        ),
        Action(
            description="Keep it from starting at boot",
            command=f"sc config {first} start= demand",
            safe=False,
            kind="advice",
        ),
        pick_action(port),
    ]
    return Cause(
        kind="windows-service",
        summary=summary,
        evidence=(f"pid {h.pid} runs the service(s) {shown}",),
        actions=tuple(actions),
        details={"services": list(names), "protected": True, "shared": shared, "respawns": True},
    )


def wsl_relay_cause(port: int, h: Holder) -> Cause:
    """wslrelay.exe holds the port: WSL2 forwards localhost to a server inside a distribution."""
    return Cause(
        kind="application",
        summary=(
            f"Port {port} is forwarded from WSL2: wslrelay.exe (pid {h.pid}) listens on Windows' "
            "localhost for a server running inside your WSL distribution. Stop that server inside WSL."
        ),
        evidence=(f"pid {h.pid} is {h.name}, WSL2's localhost relay",),
        actions=(
            Action(
                description="See the process inside WSL",
                command=f"wsl -e ss -ltnp 'sport = :{port}'",
                safe=True,
                kind="advice",
            ),
            Action(
                description="Or stop every WSL distribution (ends all their programs)",
                command="wsl --shutdown",
                safe=False,
                kind="advice",
            ),
            pick_action(port),
        ),
        details={"protected": True, "relay": "wslrelay", "inside": "wsl"},
    )


def docker_desktop_cause(ctx: Context, holders: Sequence[Holder], h: Holder) -> Cause:
    """Docker Desktop's backend holds the port: a container publishes it (shared with macOS)."""
    port = ctx.port
    containers = published_containers(ctx, port)
    pids = tuple(x.pid for x in holders)
    ps = f"docker ps --filter publish={port}"
    actions: list[Action] = []
    details: dict[str, object] = {
        "manager": "docker",
        "desktop": True,
        "shared": True,
        "protected": True,
        "containers": containers,
    }
    stop = None
    if containers:
        names = [str(c["name"] or c["id"]) for c in containers]
        project = containers[0].get("compose_project")
        service = containers[0].get("compose_service")
        if project and service and len(containers) == 1:
            actions.append(
                Action(
                    description=f"Stop the compose service {service} of project {project}",
                    command=f"docker compose -p {project} stop {service}",
                    safe=True,
                    kind="compose-stop",
                )
            )
        actions.append(
            Action(
                description=f"Stop the container{'s' if len(names) > 1 else ''}",
                command="docker stop " + " ".join(names),
                safe=True,
                kind="docker-stop",
            )
        )
        stop = Stop("docker", ("docker", "stop", *names), pids=(h.pid,))
        who = ", ".join(f"{c['name']} ({c['image']})" for c in containers)
        summary = f"Port {port} is published by the Docker container {who}, through Docker Desktop."
    else:
        summary = (
            f"Port {port} is a container port published through Docker Desktop ({h.name}, pid {h.pid}): "
            "stop the container, not Docker."
        )
    actions.append(
        Action(description="See the container that publishes it", command=ps, safe=True, kind="advice")
    )
    actions.append(pick_action(ctx.port))
    return Cause(
        kind="docker",
        summary=summary,
        evidence=(f"pid {h.pid} is {h.name}, Docker Desktop's port forwarder",),
        actions=tuple(actions),
        details=details | {"holder_pids": list(pids)},
        stop=stop,
    )


def published_containers(ctx: Context, port: int) -> list[dict[str, object]]:
    """Containers publishing ``port``, from ``docker ps`` (details["containers"] format)."""
    from ..command import find_program, run_command

    exe = find_program("docker")
    if exe is None:
        ctx.note("the docker command is not installed: cannot name the container")
        return []
    done = run_command([exe, "ps", "--filter", f"publish={port}", "--format", "{{json .}}"], timeout=3.0)
    if not done.ok:
        ctx.note(f"Docker did not answer ({done.reason()}): cannot name the container")
        return []
    return parse_docker_ps(done.stdout)


def parse_docker_ps(text: str) -> list[dict[str, object]]:
    """Parse ``docker ps --format '{{json .}}'`` lines into details["containers"] entries."""
    import json

    out: list[dict[str, object]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            row = json.loads(line)
        except ValueError:
            continue
        labels: dict[str, str] = {}
        for item in str(row.get("Labels", "")).split(","):
            k, sep, v = item.partition("=")
            if sep:
                labels[k] = v
        out.append(
            {
                "id": row.get("ID", ""),
                "name": str(row.get("Names", "")).split(",")[0],
                "image": row.get("Image", ""),
                "ports": row.get("Ports", ""),
                "compose_project": labels.get("com.docker.compose.project"),
                "compose_service": labels.get("com.docker.compose.service"),
            }
        )
    return out
