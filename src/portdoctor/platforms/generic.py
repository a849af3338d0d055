"""psutil back-end: the same functions as ``linux.py`` for macOS, Windows and the BSDs.

Sockets and their holders come from one ``psutil.net_connections()`` call, which reports the pid
of each (pid, fd) pair: the holders are known as soon as the sockets are. What psutil cannot give:

- inodes (macOS, Windows): each socket gets a synthetic key instead (see :func:`socket_key`),
  stable for the same (protocol, family, local, remote, state), so holders and hidden entries
  can still point at "their" socket;
- other users' sockets on macOS without root: the system-wide table is closed to them, so we
  fall back to our own processes and ask ``netstat -an`` (which lists every socket, without
  owners) for the rest: those become :class:`~portdoctor.model.Hidden` entries that say so.

On Windows the excluded port ranges (Hyper-V, WSL, Docker Desktop) are registered with
:func:`portdoctor.ranges.set_extra_reserved` at import.
"""

from __future__ import annotations

import os
import socket as _socket
import sys
import zlib

import psutil  # type: ignore[import-untyped, unused-ignore]

from ..model import LISTEN, TCP, UDP, UNCONN, Hidden, Socket
from ..untrusted import MAX_CMDLINE, MAX_ENV, MAX_FIELDS, MAX_PROC, cap_fields
from .common import DENIED, GONE, RECYCLED, ProcessFacts, posix_username, same_start, sudo_hint

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from typing import Any


def _platform_name() -> str:
    if sys.platform == "darwin":
        return "macos"
    if sys.platform == "win32":
        return "windows"
    if "bsd" in sys.platform or sys.platform.startswith("dragonfly"):
        return "bsd"
    if sys.platform.startswith("linux"):
        return "linux"
    return sys.platform


NAME = _platform_name()
WINDOWS = NAME == "windows"
MACOS = NAME == "macos"

# Hidden-entry texts (also used by the tests and the README).
MACOS_HIDDEN_REASON = "macOS shows other users' sockets only to root"
MACOS_HIDDEN_HINT = "sudo portdoctor why {port}"

_STATES = {
    "SYN_RECV": "SYN_RECV",
    "FIN_WAIT1": "FIN_WAIT1",
    "FIN_WAIT2": "FIN_WAIT2",
    "DELETE_TCB": "CLOSE",  # Windows: the control block is being deleted
    "BOUND": "UNCONN",  # Solaris/AIX: bound, not listening
}

# The states a TCP socket stays in after its last descriptor is closed, while the kernel finishes
# the close on its own. Reported with no pid (Windows: pid 0), such a socket is a remnant that no
# process holds: inode 0, as the Linux kernel reports it; not a socket of a process we cannot see.
_REMNANT_STATES = frozenset(("TIME_WAIT", "FIN_WAIT1", "FIN_WAIT2", "CLOSING", "LAST_ACK"))

# pids whose sockets we could not list during the last sockets() call (macOS without root).
_denied: set[int] = set()


def socket_key(
    protocol: str,
    family: str,
    address: str,
    port: int,
    remote: str | None,
    remote_port: int | None,
    state: str,
) -> int:
    """A synthetic, stable stand-in for an inode where the platform gives none (never 0)."""
    text = f"{protocol}|{family}|{address}|{port}|{remote}|{remote_port}|{state}"
    return (1 << 40) | zlib.crc32(text.encode("utf-8", "surrogateescape"))


def _family(value: int) -> str:
    return "ipv6" if value == _socket.AF_INET6 else "ipv4"


def _state(protocol: str, status: str, has_remote: bool) -> str:
    if protocol == UDP:
        return "ESTABLISHED" if has_remote else UNCONN
    if status in ("", "NONE"):
        return UNCONN
    return _STATES.get(status, status)


def _connections(protocol: str, pids: Sequence[int] | None) -> list[object]:
    """psutil connections of one protocol: system-wide, or process by process when refused."""
    try:
        return list(psutil.net_connections(protocol))
    except psutil.AccessDenied:
        pass
    # macOS without root: only our own processes answer.
    out: list[object] = []
    for pid in psutil.pids() if pids is None else pids:
        try:
            conns = psutil.Process(pid).net_connections(protocol)
        except psutil.AccessDenied:
            _denied.add(pid)
            continue
        except psutil.Error:
            continue
        for c in conns:
            # Process.net_connections() entries have no pid field: add it.
            out.append(_WithPid(c, pid))
    return out


class _WithPid:
    """A per-process connection entry with the pid attached (system-wide entries carry it)."""

    __slots__ = ("_c", "pid")

    def __init__(self, conn: object, pid: int) -> None:
        self._c = conn
        self.pid = pid

    def __getattr__(self, name: str) -> object:
        return getattr(self._c, name)


def sockets(
    port: int | None,
    protocols: Sequence[str] = (TCP,),
    *,
    listening_only: bool = False,
    all_netns: bool = True,
    pids: Sequence[int] | None = None,
) -> list[Socket]:
    """Sockets whose local port is ``port`` (all ports when None), with their holders' pids.

    ``all_netns`` has no meaning outside Linux; ``pids`` limits the per-process fallback.
    """
    _denied.clear()
    merged: dict[int, tuple[Socket, set[int]]] = {}
    for protocol in protocols:
        for c in _connections(protocol, pids):
            laddr = getattr(c, "laddr", ())
            if not laddr or (port is not None and laddr[1] != port):
                continue
            raddr = getattr(c, "raddr", ())
            status = str(getattr(c, "status", "") or "")
            state = _state(protocol, status, bool(raddr))
            if listening_only and not (state == LISTEN or protocol == UDP):
                continue
            family = _family(getattr(c, "family", _socket.AF_INET))
            remote = raddr[0] if raddr else None
            remote_port = raddr[1] if raddr else None
            pid = getattr(c, "pid", None)
            # TIME_WAIT remnants, and closing sockets no process holds, belong to nobody: inode 0.
            key = (
                0
                if state == "TIME_WAIT" or (state in _REMNANT_STATES and not pid)
                else socket_key(protocol, family, laddr[0], laddr[1], remote, remote_port, state)
            )
            if key in merged:
                entry = merged[key]
            else:
                s = Socket(
                    protocol=protocol,
                    family=family,
                    address=laddr[0],
                    port=laddr[1],
                    state=state,
                    inode=key,
                    remote_address=remote,
                    remote_port=remote_port,
                )
                entry = (s, set())
                # TIME_WAIT: several remnants can look alike; keep each (keyed apart).
                merged[key if key else -len(merged) - 1] = entry
            # Windows reports pid 0 (System Idle Process) for remnants: not a holder.
            if pid and key:
                entry[1].add(int(pid))
    if MACOS and _denied and os.geteuid() != 0:
        _add_unseen(merged, port, protocols, listening_only)
    out: list[Socket] = []
    for s, holder_pids in merged.values():
        if holder_pids:
            s = s.replace(holders=tuple(sorted(holder_pids)), uid=_uid_of(min(holder_pids)))
        out.append(s)
    return out


def _add_unseen(
    merged: dict[int, tuple[Socket, set[int]]],
    port: int | None,
    protocols: Sequence[str],
    listening_only: bool,
) -> None:
    """macOS without root: add the sockets ``netstat -an`` lists that our processes do not hold."""
    from ..parsers import macos

    for protocol in protocols:
        for row in macos.netstat_sockets(protocol):
            if port is not None and row.port != port:
                continue
            if listening_only and not (row.state == LISTEN or protocol == UDP):
                continue
            if row.state == "TIME_WAIT":
                continue
            key = socket_key(
                protocol, row.family, row.address, row.port, row.remote_address, row.remote_port, row.state
            )
            if key in merged:
                continue
            merged[key] = (
                Socket(
                    protocol=protocol,
                    family=row.family,
                    address=row.address,
                    port=row.port,
                    state=row.state,
                    inode=key,
                    remote_address=row.remote_address,
                    remote_port=row.remote_port,
                ),
                set(),
            )


def attach_holders(
    found: Sequence[Socket], pids: Sequence[int] | None = None
) -> tuple[list[Socket], list[Hidden], set[int]]:
    """The sockets (their holders are already known), the ones nobody visible holds, and the
    pids we could not ask."""
    hidden: list[Hidden] = []
    for s in found:
        if s.holders or not s.inode:
            continue
        hidden.append(_hidden(s))
    return list(found), hidden, set(_denied)


def _hidden(s: Socket) -> Hidden:
    if MACOS and os.geteuid() != 0:
        return Hidden(
            inode=s.inode,
            uid=None,
            user=None,
            reason=f"{MACOS_HIDDEN_REASON}: its holder belongs to another user",
            hint=sudo_hint(s),
        )
    if WINDOWS:
        return Hidden(
            inode=s.inode,
            uid=None,
            user=None,
            reason="Windows did not name the process that owns it",
            hint=f"netstat -ano | findstr :{s.port}",
        )
    privileged = hasattr(os, "geteuid") and os.geteuid() == 0
    return Hidden(
        inode=s.inode,
        uid=None,
        user=None,
        reason=(
            "its holder is a process whose open files cannot be read even with privileges"
            if privileged
            else "its holder is a process of another user, whose open files you cannot read"
        ),
        hint=None if privileged else sudo_hint(s),
    )


# --- process facts --------------------------------------------------------------------------

_UIDS: dict[int, int | None] = {}


def _uid_of(pid: int) -> int | None:
    if WINDOWS:
        return None
    if pid not in _UIDS:
        try:
            _UIDS[pid] = psutil.Process(pid).uids().effective
        except (psutil.Error, AttributeError):
            _UIDS[pid] = None
    return _UIDS[pid]


def username(uid: int | None) -> str | None:
    """The login name of ``uid`` (cached), or None (always None on Windows: no uids there)."""
    return None if WINDOWS else posix_username(uid)


def _ask(fn: object, default: object = None) -> object:
    """Call a psutil accessor; None (or ``default``) when refused; NoSuchProcess propagates."""
    try:
        return fn()  # type: ignore[operator]
    except psutil.ZombieProcess:
        return default
    except psutil.NoSuchProcess:
        raise
    except (psutil.AccessDenied, OSError):
        return default


def process(pid: int) -> ProcessFacts | None:
    """Raw facts about ``pid`` through psutil; None when it is gone."""
    try:
        p = psutil.Process(pid)
        with p.oneshot():
            ppid = _ask(p.ppid, 0)
            name = _ask(p.name, "") or ""
            cmdline = _ask(p.cmdline, []) or []
            exe = _ask(p.exe) or None
            uid: int | None = None
            user: str | None = None
            if WINDOWS:
                user = _ask(p.username)  # type: ignore[assignment]
            else:
                uids = _ask(p.uids)
                uid = uids.effective if uids is not None else None  # type: ignore[attr-defined]
                user = username(uid)
            cwd = _ask(p.cwd) or None
            started = _ask(p.create_time)
            tty = None if WINDOWS else _ask(p.terminal)
    except psutil.NoSuchProcess:
        return None
    if isinstance(tty, str) and tty.startswith("/dev/"):
        tty = tty[5:]
    return ProcessFacts(
        pid=pid,
        ppid=int(ppid),  # type: ignore[call-overload]
        name=str(name),
        # The process chose its command line: kept as the Linux back-end keeps it (untrusted.py).
        cmdline=tuple(cap_fields((str(a) for a in cmdline), MAX_FIELDS, MAX_CMDLINE)),  # type: ignore[attr-defined]
        exe=str(exe) if exe else None,
        uid=uid,
        user=user,
        cwd=str(cwd) if cwd else None,
        started=float(started) if started is not None else None,  # type: ignore[arg-type]
        tty=str(tty) if tty else None,
    )


def start_time(pid: int) -> float | None:
    """When ``pid`` started (seconds since the epoch): with the pid, a stable process identity."""
    try:
        return float(psutil.Process(pid).create_time())
    except psutil.Error:
        return None


def environ(pid: int) -> dict[str, str] | None:
    """The environment of ``pid``, None when unreadable."""
    try:
        raw = psutil.Process(pid).environ()
    except (psutil.Error, OSError):
        return None
    # Capped as the Linux back-end caps /proc/PID/environ: MAX_PROC bytes, MAX_ENV entries.
    env: dict[str, str] = {}
    for item in cap_fields((f"{k}={v}" for k, v in raw.items()), MAX_ENV, MAX_PROC):
        key, sep, value = item.partition("=")
        if sep:
            env[key] = value
    return env


def cgroup(pid: int) -> str | None:
    """No cgroups outside Linux."""
    return None


def children(pid: int) -> list[int]:
    """Direct children of ``pid``."""
    try:
        return [c.pid for c in psutil.Process(pid).children()]
    except psutil.Error:
        return []


def all_pids() -> list[int]:
    """Every pid on the machine."""
    return list(psutil.pids())


def pipe_writers(fd: int) -> list[int]:
    """Nothing: psutil lists a process's files and sockets, not its pipes, so the writer of a
    pipe cannot be found here (``explain`` then keeps to the port its text names)."""
    return []


# --- holding a process still, and signalling it (for _free.py) -------------------------------


class Pinned:
    """A process held still by psutil (which checks its create time before each signal)."""

    def __init__(self, proc: Any) -> None:
        self.proc = proc
        self.pid: int = proc.pid

    def signal(self, kill: bool = False) -> str:
        """Terminate (kill with ``kill``) it: "sent", GONE or DENIED."""
        try:
            self.proc.kill() if kill else self.proc.terminate()
        except psutil.NoSuchProcess:
            return GONE
        except psutil.AccessDenied:
            return DENIED
        return "sent"

    def alive(self) -> bool:
        """True while the process has not exited (a zombie has)."""
        try:
            return bool(self.proc.is_running()) and self.proc.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False

    def close(self) -> None:
        """Nothing to release."""


def pin(pid: int, started: float | None) -> tuple[Pinned | None, str | None]:
    """Hold the process ``pid`` that started at ``started``; (None, GONE/RECYCLED/DENIED) when it cannot."""
    try:
        proc = psutil.Process(pid)
        if not same_start(started, proc.create_time()):
            return None, RECYCLED
        if proc.status() == psutil.STATUS_ZOMBIE:
            return None, GONE
    except psutil.NoSuchProcess:
        return None, GONE
    except psutil.AccessDenied:
        return None, DENIED
    return Pinned(proc), None


# --- stopping a process -----------------------------------------------------------------------

# Windows processes that must never be stopped: the kernel, its idle loop, and the session
# managers whose death blue-screens the machine.
WINDOWS_CRITICAL = frozenset(
    (
        "system",
        "system idle process",
        "registry",
        "smss.exe",
        "csrss.exe",
        "wininit.exe",
        "services.exe",
        "lsass.exe",
        "winlogon.exe",
        "memory compression",
    )
)


def refusal(pid: int) -> str | None:
    """Why ``pid`` must not be signalled by ``free`` (a sentence), or None when it may be."""
    if pid in (0, 4) and WINDOWS:
        return (
            "pid 4 is the Windows kernel (System): a port it holds belongs to http.sys; "
            "stop the service that registered it (netsh http show servicestate)"
        )
    facts = process(pid)
    if facts is None:
        return None
    if WINDOWS:
        if facts.name.lower() in WINDOWS_CRITICAL:
            return f"{facts.name} (pid {pid}) is a critical Windows process"
        from ..parsers import windows

        services = windows.services_for_pid(pid)
        if services:
            names = ", ".join(services)
            return f"pid {pid} runs the Windows service(s) {names}: stop them with sc stop / net stop"
    elif pid == 1:
        return "pid 1 is the init process (launchd)"
    return None


def terminate(pid: int, force: bool = False, *, timeout: float = 3.0) -> str:
    """Ask ``pid`` to exit; return what happened: "gone", "asked", "killed" or "needs-force".

    POSIX: SIGTERM, or SIGKILL with ``force``. Windows has no SIGTERM: without ``force`` this
    runs ``taskkill /PID pid``, which posts WM_CLOSE to the process's windows (a GUI app closes
    cleanly; a console program without a window cannot be asked and gets "needs-force");
    with ``force`` it is TerminateProcess (``taskkill /F``): no clean-up in the process.
    Waiting for the exit (and for the port) is the caller's job.
    """
    try:
        p = psutil.Process(pid)
        if force:
            p.kill()
            return "killed"
        if not WINDOWS:
            p.terminate()
            return "asked"
    except psutil.NoSuchProcess:
        return "gone"
    from ..command import find_program, run_command

    exe = find_program("taskkill")
    done = run_command([exe, "/PID", str(pid)], timeout=timeout) if exe else None
    if done is not None and done.ok:
        return "asked"
    if not psutil.pid_exists(pid):
        return "gone"
    return "needs-force"


def _windows_excluded() -> Iterable[tuple[int, int]]:
    from ..parsers import windows

    return windows.excluded_port_ranges()


if WINDOWS:  # pragma: no cover - Windows only
    from .. import ranges

    ranges.set_extra_reserved(_windows_excluded)

