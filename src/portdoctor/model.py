"""The data portdoctor returns: Records (record.py) whose ``to_dict()`` is the JSON schema."""

from __future__ import annotations

from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from .probe import Availability

TCP = "tcp"
UDP = "udp"

# TCP states as the kernel numbers them (include/net/tcp_states.h).
TCP_STATES = {
    1: "ESTABLISHED",
    2: "SYN_SENT",
    3: "SYN_RECV",
    4: "FIN_WAIT1",
    5: "FIN_WAIT2",
    6: "TIME_WAIT",
    7: "CLOSE",
    8: "CLOSE_WAIT",
    9: "LAST_ACK",
    10: "LISTEN",
    11: "CLOSING",
    12: "NEW_SYN_RECV",
}
LISTEN = "LISTEN"
UNCONN = "UNCONN"  # a bound, unconnected UDP socket (what ss calls UNCONN)


class Socket(Record):
    """One socket bound to a local port, as the kernel reports it."""

    protocol: str  # "tcp" or "udp"
    family: str  # "ipv4" or "ipv6"
    address: str  # local address ("0.0.0.0", "::", "127.0.0.1"...)
    port: int
    state: str  # "LISTEN", "ESTABLISHED", "TIME_WAIT", "UNCONN" (UDP)...
    uid: int | None = None  # the socket's owner (the creator's uid); None when unknown
    inode: int = 0  # 0 for TIME_WAIT remnants and where the platform gives none
    netns: int | None = None  # inode of its network namespace (Linux)
    remote_address: str | None = None
    remote_port: int | None = None
    v6only: bool | None = None  # IPv6 only (IPV6_V6ONLY); None for IPv4 or unknown
    holders: tuple[int, ...] = ()  # pids holding a file descriptor of it
    foreign_netns: bool = False  # True when in another network namespace than ours
    expires: float | None = None  # seconds until its timer fires (TIME_WAIT: until it goes away)

    @property
    def listening(self) -> bool:
        """True for a TCP listener or a bound UDP socket: what makes a port 'in use'."""
        return self.state == LISTEN or (self.protocol == UDP and self.state in (UNCONN, "ESTABLISHED"))

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this socket (see README: JSON schema)."""
        return {
            "protocol": self.protocol,
            "family": self.family,
            "address": self.address,
            "port": self.port,
            "state": self.state,
            "uid": self.uid,
            "inode": self.inode,
            "netns": self.netns,
            "foreign_netns": self.foreign_netns,
            "remote_address": self.remote_address,
            "remote_port": self.remote_port,
            "v6only": self.v6only,
            "holders": list(self.holders),
            "expires": self.expires,
        }


class ProcessRef(Record):
    """A short description of a process: one link of a parent chain."""

    pid: int
    name: str
    cmdline: tuple[str, ...] = ()
    uid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"pid": self.pid, "name": self.name, "cmdline": list(self.cmdline), "uid": self.uid}


class Project(Record):
    """The project a process belongs to: the nearest manifest above its working directory."""

    name: str | None
    root: str
    manifest: str  # "package.json", "pyproject.toml", "go.mod", "Cargo.toml"...


class Holder(Record):
    """A process that holds (a file descriptor of) a socket on the port."""

    pid: int
    ppid: int
    name: str
    cmdline: tuple[str, ...] = ()
    exe: str | None = None
    uid: int | None = None
    user: str | None = None
    cwd: str | None = None
    started: float | None = None  # seconds since the epoch
    tty: str | None = None  # controlling terminal, None when it has none
    project: Project | None = None
    parents: tuple[ProcessRef, ...] = ()  # parent first, up to pid 1
    inodes: tuple[int, ...] = ()  # the sockets of this port it holds
    cgroup: str | None = None  # Linux: its cgroup path (unified hierarchy, or the systemd one)

    @property
    def command(self) -> str:
        """The command line as one string (argv joined by spaces), or the name."""
        return " ".join(self.cmdline) if self.cmdline else self.name

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of this holder (see README: JSON schema)."""
        return {
            "pid": self.pid,
            "ppid": self.ppid,
            "name": self.name,
            "cmdline": list(self.cmdline),
            "exe": self.exe,
            "uid": self.uid,
            "user": self.user,
            "cwd": self.cwd,
            "started": self.started,
            "tty": self.tty,
            "project": self.project.to_dict() if self.project else None,
            "parents": [p.to_dict() for p in self.parents],
            "inodes": list(self.inodes),
            "cgroup": self.cgroup,
        }


class Hidden(Record):
    """A socket on the port whose holder we could not see, and what would show it."""

    inode: int
    uid: int | None
    user: str | None
    reason: str
    hint: str | None = None
    # Processes of the socket's owner whose fds we could not read: the holder is probably one of
    # them (matched by owner, not proven). Name and command line as /proc shows them to anyone.
    candidates: tuple[ProcessRef, ...] = ()


class Action(Record):
    """One next step: what to do, the shell command that does it (or None), and whether it is safe."""

    description: str
    command: str | None = None
    safe: bool = True
    kind: str = "advice"  # machine-readable: "pm2-stop", "docker-stop", "signal", "advice"...
    targets: tuple[int, ...] = ()  # pids the action would stop, if any

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "description": self.description,
            "command": self.command,
            "safe": self.safe,
            "kind": self.kind,
            "targets": list(self.targets),
        }


class Group(Record):
    """A pre-fork server: a master holding the port and the workers it forked (gunicorn -w 3,
    uvicorn --workers, nginx, Apache, PHP-FPM, Puma, a Node cluster, multiprocessing)."""

    master: int
    workers: tuple[int, ...]
    name: str  # the master's program ("gunicorn", "uvicorn", "nginx"...)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"master": self.master, "workers": list(self.workers), "name": self.name}


def cluster_of(holder: Holder, children: Sequence[tuple[int, tuple[str, ...]]]) -> Group | None:
    """A Node cluster (or alike): the master holds the listening socket and hands connections to
    workers it forked with its own command line, which hold none (Node's round-robin scheduling).
    ``children`` are (pid, command line) of the holder's children."""
    def program(argv: Sequence[str]) -> str:
        return argv[0].replace("\\", "/").rsplit("/", 1)[-1]

    if not holder.cmdline:
        return None
    # The same program (Node re-runs process.execPath: "/usr/bin/node" for a typed "node") and the
    # same arguments.
    me = (program(holder.cmdline), *holder.cmdline[1:])
    workers = tuple(pid for pid, argv in children if argv and (program(argv), *argv[1:]) == me)
    if not workers:
        return None
    return Group(master=holder.pid, workers=workers, name=me[0])


def groups_of(holders: tuple[Holder, ...]) -> tuple[Group, ...]:
    """The pre-fork groups among ``holders``: a holder whose parent also holds the port is its worker."""
    pids = {h.pid for h in holders}
    workers: dict[int, list[int]] = {}
    for h in holders:
        if h.ppid in pids and h.ppid != h.pid:
            workers.setdefault(h.ppid, []).append(h.pid)
    out = []
    for h in holders:
        if h.pid in workers and h.ppid not in pids:  # a master (not itself a worker)
            below = [*workers[h.pid]]
            for w in list(below):  # workers of workers (nginx cache loaders, gunicorn arbiters...)
                below.extend(p for p in workers.get(w, []) if p not in below)
            name = (
                h.cmdline[1] if h.cmdline and len(h.cmdline) > 1 and h.name.startswith("python") else h.name
            )
            out.append(
                Group(master=h.pid, workers=tuple(below), name=name.replace("\\", "/").rsplit("/", 1)[-1])
            )
    return tuple(out)


CAUSE_KINDS = (
    "pm2",
    "docker",
    "reloader",  # nodemon, node --watch, uvicorn --reload, Werkzeug... (the tool: details.reloader)
    "supervisord",
    "systemd",
    "ide",
    "orphan",
    "duplicate",
    "application",
    "time-wait",
    "privileged-port",
    "reserved",
    "address-mismatch",
    "dev-server",
    "unknown",
    "launchd",  # macOS: a launchd job (issue 6)
    "windows-service",  # Windows: a service (issue 6)
)


class Account(Record):
    """A local user account: who a manager's command runs as when it acts for that user."""

    uid: int
    gid: int
    name: str
    home: str
    groups: tuple[int, ...] = ()


class Stop(Record):
    """How the owner's manager stops what holds the port, resolved once by the detector.

    Either ``argv`` (the manager's stop command, its program a plain name that ``free`` looks up
    on its own PATH) or ``signal_pids`` (signal these in order: a reloader, then its child).
    ``uid`` is the user whose manager it is: ``free`` refuses another user's without --force and
    then runs the command as that user; None where the manager authorises the caller itself
    (the Docker engine, the system's systemd). ``pids`` are the processes the stop must end: the
    holders it was matched with. ``confirm`` is a read-only command of the same manager whose
    output must name one of ``pids`` right before the stop runs (``supervisorctl pid NAME``).
    """

    manager: str
    argv: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    uid: int | None = None
    pids: tuple[int, ...] = ()
    signal_pids: tuple[int, ...] = ()
    confirm: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``details.stop`` of a cause)."""
        if self.signal_pids and not self.argv:
            return {"signal_pids": list(self.signal_pids)}
        out: dict[str, Any] = {"argv": list(self.argv), "env": dict(self.env)}
        if self.uid is not None:
            out["uid"] = self.uid
        return out


class Cause(Record):
    """Why the port is taken, in one sentence, with the evidence and the next steps."""

    __slots__ = (
        "kind",
        "summary",
        "evidence",
        "actions",
        "details",
        "stop",
    )
    _unhashed = ("details",)
    kind: str  # one of CAUSE_KINDS
    summary: str
    evidence: tuple[str, ...]
    actions: tuple[Action, ...]
    details: dict[str, Any]
    stop: Stop | None  # how its manager stops it (None: signal the holders)

    def __init__(
        self,
        kind: str,
        summary: str,
        evidence: tuple[str, ...] = (),
        actions: tuple[Action, ...] = (),
        details: dict[str, Any] | None = None,
        stop: Stop | None = None,
    ) -> None:
        details = {} if details is None else details
        self._fill(locals())

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (actions are listed at the top level of a diagnosis)."""
        details = dict(self.details)
        if self.stop is not None:
            details["stop"] = self.stop.to_dict()
        return {
            "kind": self.kind,
            "summary": self.summary,
            "evidence": list(self.evidence),
            "details": details,
        }


class Diagnosis(Record):
    """Everything portdoctor knows about one port: sockets, holders, the cause, the next steps."""

    port: int
    protocol: str  # "tcp", "udp" or "tcp+udp"
    in_use: bool  # a listener (or bound UDP socket) is on the port; see ``free`` for "can I bind it"
    sockets: tuple[Socket, ...] = ()
    holders: tuple[Holder, ...] = ()
    hidden: tuple[Hidden, ...] = ()
    cause: Cause | None = None
    notes: tuple[str, ...] = ()  # things worth knowing: a daemon that did not answer...
    availability: Availability | None = None  # the real binds that decide ``free`` (probe.availability)
    clusters: tuple[Group, ...] = ()  # a master holding the socket for workers that do not (Node cluster)

    @property
    def free(self) -> bool:
        """portdoctor's one definition: a listener like the user's can bind the port now."""
        if self.availability is not None:
            return self.availability.free
        return not self.in_use

    @property
    def actions(self) -> tuple[Action, ...]:
        """The next steps, best first."""
        return self.cause.actions if self.cause else ()

    @property
    def groups(self) -> tuple[Group, ...]:
        """Pre-fork groups among the holders ("master 21158 + 3 workers"); none for a reloader
        and its child, which the cause already names."""
        if self.cause is not None and self.cause.kind == "reloader":
            return ()
        found = groups_of(self.holders)
        masters = {g.master for g in found}
        return found + tuple(g for g in self.clusters if g.master not in masters)

    def holder(self, pid: int) -> Holder | None:
        """The holder with this pid, if any."""
        for h in self.holders:
            if h.pid == pid:
                return h
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of ``why`` (see README: JSON schema)."""
        return {
            "port": self.port,
            "protocol": self.protocol,
            "in_use": self.in_use,
            "sockets": [s.to_dict() for s in self.sockets],
            "holders": [h.to_dict() for h in self.holders],
            "hidden": [h.to_dict() for h in self.hidden],
            "cause": self.cause.to_dict() if self.cause else None,
            "actions": [a.to_dict() for a in self.actions],
            "notes": list(self.notes),
            "free": self.free,
            "bind": self.availability.to_dict() if self.availability is not None else None,
            "groups": [g.to_dict() for g in self.groups],
        }
