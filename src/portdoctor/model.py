"""The data portdoctor returns: frozen dataclasses with a ``to_dict()`` that is the JSON schema."""

from __future__ import annotations

from dataclasses import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

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


@dataclass(frozen=True)
class Socket:
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


@dataclass(frozen=True)
class ProcessRef:
    """A short description of a process: one link of a parent chain."""

    pid: int
    name: str
    cmdline: tuple[str, ...] = ()
    uid: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"pid": self.pid, "name": self.name, "cmdline": list(self.cmdline), "uid": self.uid}


@dataclass(frozen=True)
class Project:
    """The project a process belongs to: the nearest manifest above its working directory."""

    name: str | None
    root: str
    manifest: str  # "package.json", "pyproject.toml", "go.mod", "Cargo.toml"...

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {"name": self.name, "root": self.root, "manifest": self.manifest}


@dataclass(frozen=True)
class Holder:
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


@dataclass(frozen=True)
class Hidden:
    """A socket on the port whose holder we could not see, and what would show it."""

    inode: int
    uid: int | None
    user: str | None
    reason: str
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "inode": self.inode,
            "uid": self.uid,
            "user": self.user,
            "reason": self.reason,
            "hint": self.hint,
        }


@dataclass(frozen=True)
class Action:
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


CAUSE_KINDS = (
    "pm2",
    "docker",
    "nodemon",
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


@dataclass(frozen=True)
class Cause:
    """Why the port is taken, in one sentence, with the evidence and the next steps."""

    kind: str  # one of CAUSE_KINDS
    summary: str
    evidence: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    details: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (actions are listed at the top level of a diagnosis)."""
        return {
            "kind": self.kind,
            "summary": self.summary,
            "evidence": list(self.evidence),
            "details": dict(self.details),
        }


@dataclass(frozen=True)
class Diagnosis:
    """Everything portdoctor knows about one port: sockets, holders, the cause, the next steps."""

    port: int
    protocol: str  # "tcp", "udp" or "tcp+udp"
    in_use: bool
    sockets: tuple[Socket, ...] = ()
    holders: tuple[Holder, ...] = ()
    hidden: tuple[Hidden, ...] = ()
    cause: Cause | None = None
    notes: tuple[str, ...] = ()  # things worth knowing: a daemon that did not answer...

    @property
    def actions(self) -> tuple[Action, ...]:
        """The next steps, best first."""
        return self.cause.actions if self.cause else ()

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
        }
