"""application: a known service (nginx, postgres, redis...) or another user's process holds the port.

Such a holder is protected: portdoctor advises another port first, and how to stop the service
properly; ``portdoctor free`` refuses it without --force. A process is recognised by its name and
command line, which any user can choose (``exec -a sshd ...``): the step that stops the system's
service is offered only when the holder provably is that service (:func:`not_the_service`).
"""

from __future__ import annotations

import os

from ..model import Action, Cause, Holder
from ..platforms import MACOS
from .argv import SERVICES, service_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import Context


def service_of(holder: Holder) -> str | None:
    """The known service ``holder`` is, or None."""
    return service_name(holder.name, holder.cmdline)


# Services run by a language runtime: the program is the runtime (java, beam.smp), so only the
# systemd unit the holder runs in can prove which service it is.
_HOSTED = frozenset({"elasticsearch", "opensearch", "kafka", "zookeeper", "cassandra", "rabbitmq"})
_RUNTIMES = ("java", "beam.smp")
# Other names a service's program has (beside its key and its unit).
_PROGRAMS = {"postmaster": ("postgres",), "grafana": ("grafana-server",), "grafana-server": ("grafana",)}
# The characters of a unit name systemctl takes as a name (not an option, a glob or a path).
_UNIT_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:_.@-")


def _service_unit(unit: str) -> bool:
    """True for NAME.service, NAME of 1 to 250 plain characters (no pattern: re costs ~5 ms)."""
    stem = unit[: -len(".service")] if unit.endswith(".service") else ""
    return 1 <= len(stem) <= 250 and _UNIT_CHARS.issuperset(stem)


NOBODY = 65534  # the overflow account daemons drop to (dnsmasq): a system account too


def _uid_min() -> int:
    """The first uid of a login account (UID_MIN of /etc/login.defs); daemons' accounts are below."""
    if MACOS:
        return 501
    try:
        with open("/etc/login.defs", encoding="utf-8", errors="replace") as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0] == "UID_MIN" and parts[1].isdigit():
                    return int(parts[1])
    except OSError:
        pass
    return 1000


def _system_unit(cgroup: str | None) -> str | None:
    """The system service unit of a cgroup path (``/system.slice/nginx.service`` -> nginx.service)."""
    parts = [p for p in (cgroup or "").split("/") if p]
    if not parts or parts[0] != "system.slice":
        return None
    return next((p for p in parts[1:] if p.endswith(".service")), None)


def _program_names(key: str) -> set[str]:
    """Names the program (``readlink /proc/PID/exe``) of service ``key`` may have: its key, its
    unit, its aliases, and what its command on portdoctor's own PATH really is (redis-server is a
    link to redis-check-rdb)."""
    from ..command import find_program

    names = {key, SERVICES[key][1], *_PROGRAMS.get(key, ())}
    for name in list(names):
        found = find_program(name)
        if found:
            names.add(os.path.basename(os.path.realpath(found)))
    return names


def _owned_safely(path: str, owners: set[int]) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    return st.st_uid in owners and not st.st_mode & 0o022


def not_the_service(holder: Holder, key: str, my_uid: int | None = None) -> tuple[str | None, str | None]:
    """(why ``holder`` is not provably service ``key``, None) or (None, the systemd unit it runs in).

    Proof is what another user cannot fake: it runs as root or a system account (a uid below
    UID_MIN, or nobody; on macOS also your own, as Homebrew services run); its program, as the
    kernel names it (``/proc/PID/exe``, not argv), is the service's, owned by root (on macOS also
    by you) and writable by nobody else, in such a directory; and where systemd runs, its cgroup
    is a system unit of that service. The unit is None where systemd does not run.
    """
    label = SERVICES[key][0]
    uid = holder.uid
    mine = MACOS and my_uid is not None and uid == my_uid
    if uid is None:
        return "its user cannot be seen", None
    if not (uid == 0 or 0 < uid < _uid_min() or uid == NOBODY or mine):
        who = f"{holder.user} (uid {uid})" if holder.user else f"uid {uid}"
        return f"it runs as {who}, not root or a system account", None
    exe = holder.exe
    if not exe:
        return "its program cannot be read", None
    exe = exe.removesuffix(" (deleted)")
    base = os.path.basename(exe)
    hosted = key in _HOSTED
    if hosted:
        match = base in _RUNTIMES
    else:
        match = base in _program_names(key) or (key == "php-fpm" and base.startswith("php-fpm"))
    if not match:
        return f"its program is {exe}, not {label}'s", None
    owners = {0, uid} if mine else {0}
    from ..platforms import LINUX

    where = f"/proc/{holder.pid}/exe" if LINUX else exe
    folder = f"/proc/{holder.pid}/root{os.path.dirname(exe)}" if LINUX else os.path.dirname(exe)
    if not (_owned_safely(where, owners) and _owned_safely(folder, owners)):
        return f"its program {exe} is not root's, or others can change it", None
    if LINUX and os.path.isdir("/run/systemd/system"):
        unit = _system_unit(holder.cgroup)
        stem = unit.removesuffix(".service").split("@", 1)[0] if unit else None
        names = {key, SERVICES[key][1], *_PROGRAMS.get(key, ())}
        if unit is None or stem not in names or not _service_unit(unit):
            return f"it does not run in {label}'s systemd unit (cgroup {holder.cgroup or '?'})", None
        return None, unit
    if hosted:
        return f"its program is the {base} runtime, and no systemd unit says which service it runs", None
    return None, None


def _stop_service(key: str, port: int, sudo: str, unit: str | None) -> Action:
    label, default_unit, formula, native = SERVICES[key]
    if unit is not None:
        return Action(
            description=f"Or stop {label} properly if you do not need it",
            command=f"{sudo}systemctl stop {unit}",
            safe=False,
            kind="systemctl-stop",
        )
    if MACOS and formula:
        return Action(
            description=f"Or stop {label} if you do not need it (Homebrew service)",
            command=f"brew services stop {formula}",
            safe=False,
            kind="advice",
        )
    if native:
        return Action(
            description=f"Or stop {label} properly if you do not need it",
            command=sudo + native.format(port=port),
            safe=False,
            kind="advice",
        )
    return Action(
        description=f"Or stop {label} properly if you do not need it (its init script)",
        command=f"{sudo}service {default_unit} stop",  # (no systemd unit was seen: unit is None)
        safe=False,
        kind="advice",
    )


def detect(ctx: Context) -> Cause | None:
    """A known service, or a process of another user, holds the port: protect it."""
    holders = ctx.holders
    if not holders:
        return None
    known = [(h, service_of(h)) for h in holders]
    service = next(((h, s) for h, s in known if s), None)
    foreign = [h for h in holders if (h.uid is not None or h.user is not None) and not ctx.is_mine(h)]
    if service is None and not foreign:
        return None
    main = service[0] if service else foreign[0]
    owner = main.user or (f"uid {main.uid}" if main.uid is not None else "an unknown user")
    sudo = "sudo " if main.uid != ctx.my_uid and ctx.my_uid != 0 else ""
    from ..invocation import sudo_command

    pids = tuple(h.pid for h in holders)
    evidence = [
        f"pid {h.pid} ({h.name}) holds the listening socket, running as {h.user or h.uid}" for h in holders
    ]
    actions = [
        Action(
            description="Use another port (leave the service running)",
            command=f"portdoctor pick --near {ctx.port}",
            safe=True,
            kind="pick",
        )
    ]
    key = service[1] if service is not None else None
    named_like = unit = None
    if key is not None:
        label = SERVICES[key][0]
        why_not, unit = not_the_service(main, key, ctx.my_uid)
        if why_not is not None:
            named_like, key = key, None
    if key is not None:
        mine = ctx.is_mine(main)
        summary = (
            f"Port {ctx.port} is held by {label} ({main.name}, pid {main.pid}, user {owner}), a service "
            "other things may depend on; use another port, or stop the service properly."
        )
        evidence.append(f"{main.name} is a known service ({label}): its program is {main.exe}")
        actions.append(_stop_service(key, ctx.port, sudo, unit))
    elif named_like is not None:
        # Its name is its own word: say what is true, and offer no step that stops the service.
        mine = ctx.is_mine(main)
        uid = f" (uid {main.uid})" if main.uid is not None and main.user else ""
        theirs = "" if mine else ", not you"
        summary = (
            f"Port {ctx.port} is held by a process named {main.name} (pid {main.pid}), run by user "
            f"{owner}{uid}{theirs}; nothing proves it is the {label} service ({why_not}), so no "
            "service stop is offered: use another port"
            + (", or ask them (or an administrator) to stop it." if not mine else ".")
        )
        evidence.append(f"{main.name} is named like {label}, but {why_not}")
    else:
        mine = False
        summary = (
            f"Port {ctx.port} is held by {main.name} (pid {main.pid}) of user {owner}, not you; "
            "use another port, or ask them (or an administrator) to stop it."
        )
        evidence.append(f"you are {'root' if ctx.my_uid == 0 else f'uid {ctx.my_uid}'}, it runs as {owner}")
    actions.append(
        Action(
            description="Or stop it anyway (it is protected: needs --force)",
            command=sudo_command("free", str(ctx.port), "--force", *_udp(ctx.protocol))
            if sudo
            else f"portdoctor free {ctx.port} --force",
            safe=False,
            kind="free",
            targets=pids,
        )
    )
    return Cause(
        kind="application",
        summary=summary,
        evidence=tuple(evidence),
        actions=tuple(actions),
        details={
            "protected": True,
            "service": key,
            "named_like": named_like,
            "owner": owner,
            "owned_by_you": mine,
        },
    )


def _udp(protocol: str) -> tuple[str, ...]:
    return ("--udp",) if protocol == "udp" else ()
