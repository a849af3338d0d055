"""Find every socket on a port and every process holding it."""

from __future__ import annotations

from .errors import parse_port, parse_port_and_protocol, parse_protocols
from .model import TCP, Hidden, Holder, Socket
from .platforms import current as platform
from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .platforms.common import ProcessFacts


class Finding(Record):
    """The sockets on a port, the processes holding them, and what we could not see."""

    sockets: tuple[Socket, ...]
    holders: tuple[Holder, ...]
    hidden: tuple[Hidden, ...]
    unreadable: frozenset[int] = frozenset()  # pids whose fds we could not read

    @property
    def in_use(self) -> bool:
        """True when a listener or a bound UDP socket in our network namespace uses the port (the
        socket table, as found; whether the port is free is :func:`is_free`, real binds)."""
        return any(s.listening and not s.foreign_netns for s in self.sockets)


def sockets(
    port: int | str | None, protocols: str | Sequence[str] = (TCP,), *, all_netns: bool = True
) -> list[Socket]:
    """Sockets on ``port`` (all ports when None): fast, from the kernel, without holders.

    ``protocols``: "tcp", "udp" or a sequence of them. ``all_netns`` adds the sockets of other
    network namespaces (marked ``foreign_netns``); they never conflict with a bind in ours, and
    reading them costs a /proc table per namespace.
    """
    number = None if port is None else parse_port(port)
    return platform.sockets(number, parse_protocols(protocols), all_netns=all_netns)


def is_free(port: int | str, protocol: str | None = None, *, host: str | None = None) -> bool:
    """True when ``port`` is free by portdoctor's one definition: what ``check`` answers.

    That is the answer of ``check``, ``why`` and ``free``: a server binding it, with
    SO_REUSEADDR and without, on every address (``host`` None: the IPv4 wildcard and the
    dual-stack IPv6 one) gets no "address in use" (:func:`portdoctor.probe.availability`, real
    binds). A connection that outlived its listener or a TIME_WAIT remnant makes it not free; a
    privileged port nobody holds is free even when you may not bind it (``can_bind`` says
    whether your own bind works). ``port`` may be pasted text (``5353/udp``): its protocol
    and address count unless given too (``protocol`` None: the pasted one, else TCP).
    """
    from .probe import availability

    number, protocol, host = parse_port_and_protocol(port, protocol, host)
    return availability(number, protocol, host=host).free


def in_use(port: int | str, protocol: str | None = None, *, host: str | None = None) -> bool:
    """``not is_free(...)``: a bind like a server's would fail with "address in use".

    That is a listener, or connections and remnants that fail a plain bind. Not only
    "something listens": for that (the socket table alone) see :func:`listened`.
    """
    return not is_free(port, protocol, host=host)


def listened(port: int, protocol: str = TCP) -> bool:
    """True when something listens on ``port`` (TCP) or has it bound (UDP) in our namespace: the
    kernel's socket table, no bind. Fast, but not whether the port is free (:func:`is_free`)."""
    return any(s.listening for s in platform.sockets(port, (protocol,), all_netns=False))


def find(
    port: int | str | None, protocols: str | Sequence[str] = (TCP,), *, listening_only: bool = False
) -> Finding:
    """Sockets on ``port`` with the full facts of every process holding them.

    ``port`` None is every port; ``protocols`` is "tcp", "udp" or a sequence of them.
    """
    number = None if port is None else parse_port(port)
    protocols = parse_protocols(protocols)
    pids = platform.all_pids()
    found = platform.sockets(number, protocols, listening_only=listening_only, pids=pids)
    with_holders, hidden, unreadable = platform.attach_holders(found, pids)
    return Finding(
        sockets=tuple(sorted(with_holders, key=_order)),
        holders=_holders(with_holders),
        hidden=tuple(hidden),
        unreadable=frozenset(unreadable),
    )


def _order(s: Socket) -> tuple[int, bool, int, str, str, str]:
    return (s.port, s.foreign_netns, 0 if s.listening else 1, s.protocol, s.family, s.address)


def _holders(found: Sequence[Socket]) -> tuple[Holder, ...]:
    from .inspect import holder

    inodes: dict[int, list[int]] = {}
    for s in found:
        for pid in s.holders:
            inodes.setdefault(pid, []).append(s.inode)
    cache: dict[int, ProcessFacts | None] = {}
    out = []
    for pid in sorted(inodes):
        h = holder(pid, inodes[pid], cache=cache)
        if h is not None:
            out.append(h)
    return tuple(out)
