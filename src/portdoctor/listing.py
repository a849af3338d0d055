"""Every listening socket on the machine with its holder: the data behind ``portdoctor ls``."""

from __future__ import annotations

from .model import TCP, Holder, Socket
from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


class Listener(Record):
    """One row of ``ls``: a listening socket and one process holding it (or none seen)."""

    socket: Socket
    holder: Holder | None
    hidden: bool = False  # a holder exists but we could not see it

    @property
    def user(self) -> str | None:
        """The holder's user, else the socket's owner (known even when the holder is hidden)."""
        if self.holder is not None and self.holder.user:
            return self.holder.user
        from .platforms import current as platform

        uid = self.holder.uid if self.holder is not None and self.holder.uid is not None else self.socket.uid
        name = platform.username(uid) if uid is not None else None
        return name or (str(uid) if uid is not None else None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of a row (see README)."""
        return {
            "socket": self.socket.to_dict(),
            "holder": self.holder.to_dict() if self.holder else None,
            "hidden": self.hidden,
            "user": self.user,
            "command": " ".join(self.holder.cmdline) if self.holder else None,  # COMMAND, whole
        }


def listening(protocols: str | Sequence[str] = (TCP,), *, all_netns: bool = False) -> list[Listener]:
    """Every listening socket (bound, for UDP) with its holders, one row per (socket, holder).

    ``protocols`` is "tcp", "udp" or a sequence of them.
    """
    from ._find import find

    finding = find(None, protocols, listening_only=True)
    hidden = {h.inode for h in finding.hidden}
    by_pid = {h.pid: h for h in finding.holders}
    rows: list[Listener] = []
    for s in finding.sockets:
        if not s.listening or (s.foreign_netns and not all_netns):
            continue
        if s.protocol == "udp" and s.state != "UNCONN":
            continue  # a connected UDP socket is a client's, not a server's (as in ss -ul)
        if not s.holders:
            rows.append(Listener(s, None, s.inode in hidden))
        for pid in s.holders:
            rows.append(Listener(s, by_pid.get(pid)))
    rows.sort(
        key=lambda r: (
            r.socket.port,
            r.socket.protocol,
            r.socket.family,
            r.socket.address,
            r.holder.pid if r.holder else 0,
        )
    )
    return rows
