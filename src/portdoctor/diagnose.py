"""Turn what ``find`` saw into a Diagnosis: the cause, the evidence, the next steps."""

from __future__ import annotations

from .errors import parse_port_and_protocol
from .model import TCP, UDP, Diagnosis

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from .model import Group, Holder


def why(
    port: int | str,
    protocol: str | None = None,
    *,
    host: str | None = None,
    ipv6: bool | None = None,
    reuseaddr: bool | None = None,
    cwd: str | None = None,
    command: Sequence[str] = (),
) -> Diagnosis:
    """Who holds ``port``, why, and what to do about it.

    ``port`` may be pasted text (``3000/udp``, ``127.0.0.1:3000``): its protocol and address
    count unless ``protocol`` / ``host`` are given (``protocol`` None: the pasted one, else TCP).
    ``host``, ``ipv6`` and ``reuseaddr`` describe the bind the user wants to make, so the
    diagnosis can say for certain whether it would succeed (a real bind probe). ``cwd`` and
    ``command`` describe the user's own project, to recognise a second instance of it.
    """
    from ._find import find
    from .causes import Context, detect

    number, protocol, host = parse_port_and_protocol(port, protocol, host)
    finding = find(number, (protocol,))
    ctx = Context(
        port=number,
        protocol=protocol,
        finding=finding,
        host=host,
        ipv6=ipv6,
        reuseaddr=reuseaddr,
        command=tuple(command),
    )
    if cwd is not None:
        ctx.cwd = cwd
    cause = detect(ctx)
    if not finding.in_use:
        other = _other_protocol(number, UDP if protocol == TCP else TCP)
        if other:
            ctx.note(other)
    return Diagnosis(
        port=number,
        protocol=protocol,
        in_use=finding.in_use,
        sockets=finding.sockets,
        holders=finding.holders,
        hidden=finding.hidden,
        cause=cause,
        notes=tuple(ctx.notes),
        availability=ctx.availability(),
        clusters=_clusters(finding.holders),
    )


# Runtimes whose cluster workers get connections from a master that alone holds the socket.
_CLUSTER_RUNTIMES = ("node", "nodejs", "bun", "deno")


def _clusters(holders: tuple[Holder, ...]) -> tuple[Group, ...]:
    """Node-style clusters among the holders: their workers hold no socket, so only the master's
    children tell them (one /proc read per child, and only for a runtime that does this)."""
    from .model import cluster_of
    from .platforms import current as platform

    out = []
    for h in holders:
        program = (h.cmdline[0] if h.cmdline else h.name).replace("\\", "/").rsplit("/", 1)[-1]
        if program not in _CLUSTER_RUNTIMES:
            continue
        children = []
        for pid in platform.children(h.pid)[:256]:
            facts = platform.process(pid)
            if facts is not None:
                children.append((pid, facts.cmdline))
        group = cluster_of(h, children)
        if group is not None:
            out.append(group)
    return tuple(out)


def _other_protocol(port: int, protocol: str) -> str | None:
    """When ``port`` is free but the other protocol's port is held: say so, and by whom.

    UDP and TCP ports are separate, but a user who asks about 9100 and gets "free" while a
    UDP server answers there is misled. A cheap socket query first; holders only if one is there.
    """
    from .platforms import current as platform

    try:
        found = platform.sockets(port, (protocol,), listening_only=True, all_netns=False)
    except Exception:  # the hint is a courtesy: never fail the diagnosis for it
        return None
    if not found:
        return None
    from ._find import find

    finding = find(port, (protocol,), listening_only=True)
    from .model import groups_of

    workers = {g.master: len(g.workers) for g in groups_of(finding.holders)}
    below = {w for g in groups_of(finding.holders) for w in g.workers}
    who = ", ".join(
        f"pid {h.pid} ({h.name}" + (f" + {workers[h.pid]} workers" if h.pid in workers else "") + ")"
        for h in finding.holders[:3]
        if h.pid not in below
    )
    who = who or "a process we cannot see"
    flag = " --udp" if protocol == UDP else ""
    other = TCP if protocol == UDP else UDP
    return (
        f"port {port}/{other} is free, but port {port}/{protocol} is held by {who}: "
        f"if that is the one you mean, see 'portdoctor why {port}{flag}'"
    )
