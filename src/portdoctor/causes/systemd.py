"""systemd: the holder runs in a service unit (or systemd holds the socket for a .socket unit).

The unit comes from the holder's cgroup path: ``/system.slice/nginx.service`` (system),
``/user.slice/user-1000.slice/user@1000.service/app.slice/myapp.service`` (user unit). Scopes
(login sessions, terminals, containers: ``session-3.scope``, ``docker-<id>.scope``) are not
units to stop, and neither are login services a shell was started under (``ssh.service``
without pam_systemd): those fall through to the other detectors.
"""

from __future__ import annotations

import os
import re

from ..model import Action, Cause, Holder, Stop
from ..platforms.linux import cgroup_paths
from ..quoting import join as shell_join
from .actions import pick_action

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from . import Context

_USER_MANAGER = re.compile(r"^user@(\d+)\.service$")
# A unit name systemctl takes as a name, never as an option (systemd.unit(5): ASCII, "@", "\\").
_UNIT_NAME = re.compile(r"[A-Za-z0-9:_.@\\][A-Za-z0-9:_.@\\-]{0,254}\.(?:service|socket)")
# Units a login shell may run inside when pam_systemd is missing: never the thing to stop.
_LOGIN_UNITS = re.compile(
    r"^(ssh|sshd|dropbear|telnet|getty@.*|serial-getty@.*|console-getty|container-getty@.*|"
    r"systemd-logind|cron|crond|anacron|atd|gdm|lightdm|sddm|display-manager|xrdp|xrdp-sesman|"
    r"tmux.*|screen.*|systemd-nspawn@.*|user-runtime-dir@.*)\.service$"
)


def unit_of_path(path: str | None) -> tuple[str, bool, int | None] | None:
    """The service unit a cgroup path belongs to: (unit, user_unit, uid of the user manager).

    None for the root cgroup, scopes (sessions, terminals, containers), the user manager itself,
    desktop app launches (``app-...@....service``) and paths outside systemd's tree."""
    if not path:
        return None
    parts = [p for p in path.split("/") if p]
    unit: str | None = None
    user_uid: int | None = None
    for part in parts:
        m = _USER_MANAGER.match(part)
        if m and user_uid is None and unit is None:
            # Only the first: below it, the user may name cgroups as they like ('user@0.service').
            user_uid = int(m.group(1))
            continue
        if part.endswith(".scope"):
            return None  # a session, terminal or container scope: not a service
        if part.endswith(".service") and unit is None:
            unit = part
        # anything below the service is a sub-cgroup the service delegated (keep the service)
    if unit is None or not _UNIT_NAME.fullmatch(unit):
        return None
    if user_uid is not None and unit.startswith("app-") and "@" in unit:
        return None  # a desktop app launch (KDE/GNOME), not a user service
    if _LOGIN_UNITS.match(unit):
        return None
    return unit, user_uid is not None, user_uid


def unit_of_cgroup_file(text: str) -> tuple[str, bool, int | None] | None:
    """The service unit of /proc/PID/cgroup contents (v2 or v1), or None."""
    for path in cgroup_paths(text):
        found = unit_of_path(path)
        if found:
            return found
    return None


def socket_unit_from_env(env: Mapping[str, str], pid: int, unit: str | None) -> str | None:
    """The .socket unit that passed its socket to ``pid`` (LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES).

    LISTEN_FDNAMES defaults to the socket unit's name; otherwise the service's own name with a
    .socket suffix is systemd's default pairing."""
    if "LISTEN_FDS" not in env:
        return None
    listen_pid = env.get("LISTEN_PID", "")
    if listen_pid and listen_pid != str(pid):
        return None
    for name in env.get("LISTEN_FDNAMES", "").split(":"):
        if name.endswith(".socket") and _UNIT_NAME.fullmatch(name):
            return name
    if unit and unit.endswith(".service"):
        # foo@1-10.0.0.1:22.service is an instance of an Accept=yes template: its socket is foo.socket
        return unit[: -len(".service")].split("@", 1)[0] + ".socket"
    return None


def socket_unit_from_list(text: str, port: int) -> tuple[str, str | None] | None:
    """(socket unit, unit it activates) listening on ``port``, from `systemctl list-sockets` output."""
    suffix = f":{port}"
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0].endswith(suffix) and fields[1].endswith(".socket"):
            activates = fields[2] if len(fields) > 2 and "." in fields[2] else None
            return fields[1], activates
    return None


def is_systemd(holder: Holder) -> bool:
    """True when the holder is systemd itself (pid 1, or a ``systemd --user`` manager)."""
    if holder.name != "systemd" and not (holder.cmdline and os.path.basename(holder.cmdline[0]) == "systemd"):
        return False
    return holder.pid == 1 or "--user" in holder.cmdline


def _systemctl(args: list[str], ctx: Context) -> str | None:
    from ..command import find_program, run_command

    exe = find_program("systemctl")
    if exe is None:
        return None
    out = run_command([exe, *args], timeout=2.5)
    if out.returncode is None:
        ctx.note(f"systemctl: {out.error}")
        return None
    return out.stdout if out.ok else None


def _triggers(socket_unit: str, unit: str, user: bool, ctx: Context) -> bool:
    """True when systemd says ``socket_unit`` activates ``unit`` (the environment only claims it)."""
    out = _systemctl([*(["--user"] if user else []), "show", "-p", "Triggers", "--value", socket_unit], ctx)
    return out is not None and unit in out.split()


def _restart_policy(unit: str, user: bool, ctx: Context) -> str | None:
    out = _systemctl([*(["--user"] if user else []), "show", "-p", "Restart", "--value", unit], ctx)
    if out is None:
        return None
    return out.strip() or None


def detect(ctx: Context) -> Cause | None:
    """A holder runs in a systemd service unit, or systemd holds a .socket unit's socket."""
    for holder in ctx.holders:
        if is_systemd(holder):
            user = holder.pid != 1
            out = _systemctl([*(["--user"] if user else []), "list-sockets", "--all", "--no-legend"], ctx)
            found = socket_unit_from_list(out, ctx.port) if out else None
            socket_unit, service = found if found else (None, None)
            return _cause(ctx, holder, service, user, holder.uid if user else None, socket_unit, waiting=True)
        from ..platforms import current as platform

        text = None
        if platform.NAME == "linux":
            from ..untrusted import read_proc

            raw = read_proc(f"/proc/{holder.pid}/cgroup", 1 << 16)
            text = raw.decode("utf-8", "replace") if raw is not None else None
        found_unit = unit_of_cgroup_file(text) if text else unit_of_path(holder.cgroup)
        if found_unit is None:
            continue
        unit, user, uid = found_unit
        if holder.tty:
            continue  # a service does not have a terminal: a shell started inside a service's cgroup
        env = ctx.environ(holder.pid) or {}
        socket_unit = socket_unit_from_env(env, holder.pid, unit)
        if socket_unit and not _triggers(socket_unit, unit, user, ctx):
            socket_unit = None  # the holder's environment named a socket unit systemd does not pair with it
        return _cause(ctx, holder, unit, user, uid, socket_unit)
    return None


def _cause(
    ctx: Context,
    holder: Holder,
    unit: str | None,
    user: bool,
    uid: int | None,
    socket_unit: str | None,
    waiting: bool = False,
) -> Cause:
    from .application import service_of

    units = [u for u in (socket_unit, unit) if u]
    argv = ["systemctl"]
    if user:
        argv.append("--user")
        if uid is not None and uid != ctx.my_uid:
            from ..platforms import current as platform

            argv.append(f"--machine={platform.username(uid) or uid}@")
    stop_argv = [*argv, "stop", *units] if units else []
    sudo = "sudo " if not user and ctx.my_uid != 0 else ""
    scope = "user unit" if user else "system unit"
    known = service_of(holder)
    evidence = [f"pid {holder.pid} ({holder.name}) holds the listening socket"]
    if waiting:
        evidence.append("systemd itself holds the socket: socket activation, the service starts on demand")
        what = socket_unit or "a .socket unit"
        summary = f"Port {ctx.port} is held by systemd for {what} (socket activation); stop the socket unit."
    else:
        evidence.append(f"its cgroup is {holder.cgroup}: the {scope} {unit}")
        if socket_unit:
            evidence.append(f"socket-activated: LISTEN_FDS is set (socket unit {socket_unit})")
        summary = (
            f"Port {ctx.port} is held by {holder.name} (pid {holder.pid}) of the systemd {scope} {unit}"
            + (f", started by {socket_unit}" if socket_unit else "")
            + "; stop it with systemctl, not kill."
        )
    restart = _restart_policy(unit, user, ctx) if unit and not waiting else None
    if restart:
        evidence.append(f"Restart={restart}")
    respawns = bool(socket_unit) or restart is None or restart != "no"
    safe = user and (uid is None or uid == ctx.my_uid) and known is None
    actions = []
    if stop_argv:
        actions.append(
            Action(
                description=f"Stop the {scope}" + (" and its socket" if socket_unit else ""),
                command=sudo + shell_join(stop_argv),
                safe=safe,
                kind="systemctl-stop",
                targets=tuple(h.pid for h in ctx.holders),
            )
        )
        if not user:
            actions.append(
                Action(
                    description="Keep it from starting at boot too",
                    command=f"{sudo}systemctl disable {' '.join(units)}",
                    safe=False,
                    kind="advice",
                )
            )
    else:
        actions.append(
            Action(
                description="Find the socket unit listening on the port",
                command="systemctl list-sockets" if not user else "systemctl --user list-sockets",
                kind="advice",
            )
        )
    actions.append(pick_action(ctx.port))
    details: dict[str, object] = {
        "manager": "systemd",
        "unit": unit,
        "user_unit": user,
        "socket_unit": socket_unit,
        "respawns": respawns,
        "restart": restart,
    }
    if known is not None:
        details["protected"] = True
        details["service"] = known
    stop = None
    if stop_argv:
        stop = Stop(
            "systemd",
            tuple(stop_argv),
            uid=uid if user else None,  # a system unit: systemd decides who may stop it
            pids=tuple(h.pid for h in ctx.holders),
        )
    return Cause(
        kind="systemd",
        summary=summary,
        evidence=tuple(evidence),
        actions=tuple(actions),
        details=details,
        stop=stop,
    )
