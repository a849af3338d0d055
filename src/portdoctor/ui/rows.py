"""The rows of ``portdoctor ui``: listeners grouped one row per port, as escaped display strings.

No Textual here: this module turns ``portdoctor.listening()`` into plain values that the app
draws and the tests check. A row is one (protocol, port): the forked workers of a pre-fork
server share one socket, and an SO_REUSEPORT group has one socket per process, but both are one
port to diagnose and to free, so both are one row.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..render import ago, escape

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ..listing import Listener
    from ..model import Diagnosis, Holder

#: The cause in a word, for the CAUSE column (the kinds not named here are shown as they are).
WORDS = {
    "nodemon": "reloader",
    "dev-server": "devserver",
    "systemd": "service",
    "supervisord": "supervisor",
    "launchd": "service",
    "windows-service": "service",
    "application": "app",
    "time-wait": "timewait",
    "privileged-port": "privileged",
    "address-mismatch": "mismatch",
    "unknown": "unknown",
}
HIDDEN = "hidden"
PENDING = "…"


@dataclass(frozen=True)
class Row:
    """One port of the table: its sockets' addresses and the processes holding them."""

    protocol: str
    port: int
    addresses: tuple[str, ...]  # display form: "127.0.0.1", "[::]"
    pids: tuple[int, ...]  # the group's leader first
    uids: tuple[int, ...]  # of the holders, else of the sockets (hidden holders)
    users: tuple[str, ...]  # escaped
    name: str  # escaped name of the leader ("" when hidden)
    project: str  # escaped project name of the leader
    started: float | None  # the leader's start time
    hidden: bool  # a socket whose holder we cannot see
    sockets: int  # how many sockets (more than one: SO_REUSEPORT or IPv4 + IPv6)
    fingerprint: tuple[tuple[int, float | None], ...]  # who holds it: a change means a new diagnosis

    @property
    def key(self) -> str:
        """The row's identity in the table: 'tcp/3000'."""
        return f"{self.protocol}/{self.port}"

    @property
    def address(self) -> str:
        """The addresses as one cell: the first, and '+N' for the others."""
        if not self.addresses:
            return ""
        more = len(self.addresses) - 1
        return self.addresses[0] + (f"+{more}" if more else "")

    @property
    def pid_text(self) -> str:
        """'4242', '4242+3' for a group, '?' for a hidden holder."""
        if not self.pids:
            return "?" if self.hidden else "-"
        more = len(self.pids) - 1
        return str(self.pids[0]) + (f"+{more}" if more else "")

    @property
    def user(self) -> str:
        """The holders' users, comma-separated."""
        return ",".join(self.users)

    def uptime(self) -> str:
        """How long the leader has been running ('3m'), '' when unknown."""
        return ago(self.started) if self.started is not None else ""

    def mine(self, uid: int) -> bool:
        """True when one of its holders (or, hidden, its sockets) belongs to ``uid``."""
        return uid in self.uids

    def haystack(self, cause: str) -> str:
        """What the filter looks in: port, protocol, address, pids, user, name, project, cause."""
        parts = [str(self.port), self.protocol, *self.addresses, *map(str, self.pids), *self.users]
        parts += [self.name, self.project, cause]
        if self.hidden:
            parts.append(HIDDEN)
        return " ".join(parts).lower()


def matches(row: Row, cause: str, query: str) -> bool:
    """True when every word of ``query`` is in the row's port, name, project, user, cause..."""
    hay = row.haystack(cause)
    return all(word in hay for word in query.lower().split())


def cause_word(d: Diagnosis | None, row: Row | None = None) -> str:
    """The CAUSE cell: one word for the diagnosis, 'hidden' for an unseen holder, '…' before."""
    if d is not None and d.cause is not None:
        if d.cause.kind == "unknown" and row is not None and row.hidden and not row.pids:
            return HIDDEN
        return WORDS.get(d.cause.kind, d.cause.kind)
    if row is not None and row.hidden and not row.pids:
        return HIDDEN
    return PENDING if d is None else ""


def suggested(d: Diagnosis) -> str | None:
    """The next step to copy: the first action that has a command."""
    for a in d.actions:
        if a.command:
            return a.command
    return None


def rows_of(listeners: Iterable[Listener]) -> list[Row]:
    """Group ``listening()`` rows into one Row per (protocol, port), sorted by port."""
    groups: dict[tuple[str, int], list[Listener]] = {}
    for r in listeners:
        groups.setdefault((r.socket.protocol, r.socket.port), []).append(r)
    return [_row(proto, port, group) for (proto, port), group in sorted(groups.items(), key=_order)]


def _order(item: tuple[tuple[str, int], object]) -> tuple[int, str]:
    (proto, port), _ = item
    return port, proto


def _row(protocol: str, port: int, group: Sequence[Listener]) -> Row:
    addresses: dict[str, None] = {}
    inodes: set[int] = set()
    holders: dict[int, Holder] = {}
    hidden = False
    socket_uids: dict[int, None] = {}
    for r in group:
        s = r.socket
        addr = f"[{s.address}]" if s.family == "ipv6" else s.address
        addresses[escape(addr)] = None
        inodes.add(s.inode)
        if s.uid is not None:
            socket_uids[s.uid] = None
        if r.holder is not None:
            holders.setdefault(r.holder.pid, r.holder)
        elif r.hidden:
            hidden = True
    pids = set(holders)
    # The leader: a holder whose parent is not in the group (the master of a pre-fork server);
    # the oldest first when there are several (an SO_REUSEPORT group of unrelated processes).
    ordered = sorted(
        holders.values(), key=lambda h: (h.ppid in pids, h.started if h.started is not None else 0.0, h.pid)
    )
    leader = ordered[0] if ordered else None
    users: dict[str, None] = {}
    uids: dict[int, None] = {}
    for h in ordered:
        users[escape(h.user if h.user is not None else (h.uid if h.uid is not None else "?"))] = None
        if h.uid is not None:
            uids[h.uid] = None
    if hidden or not ordered:
        for uid in socket_uids:
            uids.setdefault(uid, None)
            if not ordered:
                users.setdefault(escape(_user_name(uid)), None)
    project = ""
    if leader is not None and leader.project is not None:
        project = escape(leader.project.name or os.path.basename(leader.project.root))
    return Row(
        protocol=protocol,
        port=port,
        addresses=tuple(addresses),
        pids=tuple(h.pid for h in ordered),
        uids=tuple(uids),
        users=tuple(users),
        name=escape(leader.name) if leader is not None else "",
        project=project,
        started=leader.started if leader is not None else None,
        hidden=hidden,
        sockets=len(inodes),
        fingerprint=tuple(sorted((h.pid, h.started) for h in ordered)) + (((-1, None),) if hidden else ()),
    )


def _user_name(uid: int) -> str:
    try:
        import pwd
    except ImportError:  # Windows
        return str(uid)
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)
