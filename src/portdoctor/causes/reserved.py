"""reserved: a port that is a bad home for a server even when nobody listens on it.

- In the kernel's ephemeral range: any outgoing connection may take it as its local port at any
  moment (then a bind fails with EADDRINUSE although nothing listens; this names the client).
- Reserved by the administrator: Linux ``ip_local_reserved_ports`` (the kernel never hands it to
  clients, a server may bind it: good news, reported as such), Windows excluded port ranges
  (a bind fails with permission denied).
- On the browsers' restricted list: pages served there fail with ERR_UNSAFE_PORT.

Precedence: this runs late in ORDER. When a listener holds the port its holder's cause wins;
:func:`annotate` then adds a note about the range. When nothing listens, this is a warning-level
cause (``why`` still exits 0 when the bind works).
"""

from __future__ import annotations

from ..model import Action, Cause, Socket
from ..platforms import LINUX, WINDOWS
from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..probe import BindResult
    from . import Context

# States of a client connection that occupies its local port.
_CONNECTION_STATES = ("ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "CLOSING", "LAST_ACK")


class PortFacts(Record):
    """What makes a port special: ephemeral range, administrator reservation, browser list."""

    ephemeral: bool
    ephemeral_range: tuple[int, int]
    reserved: bool
    browser_restricted: bool

    def to_dict(self) -> dict[str, object]:
        """The JSON form (merged into the cause's details)."""
        return {
            "ephemeral": self.ephemeral,
            "ephemeral_range": list(self.ephemeral_range),
            "reserved": self.reserved,
            "browser_restricted": self.browser_restricted,
        }


def facts(port: int) -> PortFacts:
    """What makes ``port`` special, read from the system (cached by portdoctor.ranges)."""
    from ..ranges import BROWSER_RESTRICTED_PORTS, ephemeral_range, reserved_ports

    lo, hi = ephemeral_range()
    return PortFacts(
        ephemeral=lo <= port <= hi,
        ephemeral_range=(lo, hi),
        reserved=port in reserved_ports(),
        browser_restricted=port in BROWSER_RESTRICTED_PORTS,
    )


def detect(ctx: Context) -> Cause | None:
    """Nothing listens; the port is ephemeral, reserved or browser-restricted (or a client holds it)."""
    if ctx.in_use:
        return None
    f = facts(ctx.port)
    conns = [
        s
        for s in ctx.finding.sockets
        if not s.foreign_netns and not s.listening and s.state in _CONNECTION_STATES and f.ephemeral
    ]
    if not (f.ephemeral or f.reserved or f.browser_restricted or conns):
        return None
    probe = ctx.bind_probe()
    lo, hi = f.ephemeral_range
    evidence: list[str] = []
    if conns:
        for s in conns[:5]:
            evidence.append(f"used as the local port of {_describe(ctx, s)}")
    if f.ephemeral:
        evidence.append(
            f"in the ephemeral range {lo}-{hi} ({_range_source()}): outgoing connections take ports from it"
        )
    if f.reserved:
        evidence.append(_reserved_source())
    if f.browser_restricted:
        evidence.append(
            "on the browsers' restricted list (Chromium's kRestrictedPorts, the Fetch 'bad port' list)"
        )
    if probe is not None:
        evidence.append(
            f"a real bind of port {ctx.port}{' with SO_REUSEADDR' if _reuse(ctx) else ''} succeeded just now"
            if probe.ok
            else f"a real bind of port {ctx.port} failed: {probe.message}"
        )
    summary = _summary(ctx, f, conns, probe, lo, hi)
    pids = tuple(sorted({p for s in conns for p in s.holders}))
    actions = [
        Action(
            description="Use another port (portdoctor pick avoids these)",
            command="portdoctor pick",
            safe=True,
            kind="pick",
        )
    ]
    if conns and pids:
        actions.append(
            Action(
                description="Or wait until the connection(s) using it close",
                command=f"until portdoctor check {ctx.port} --quiet --reuseaddr; do sleep 1; done",
                kind="advice",
                targets=pids,
            )
        )
    if f.ephemeral and not f.reserved and LINUX:
        actions.append(
            Action(
                description=(
                    f"Or reserve port {ctx.port} for servers, so no client connection takes it "
                    "(machine-wide; the command keeps the ports already reserved)"
                ),
                command=_reserve_command(ctx.port),
                safe=False,
                kind="advice",
            )
        )
    details: dict[str, object] = f.to_dict()
    details["connections"] = [
        {
            "local": f"{s.address}:{s.port}",
            "remote": f"{s.remote_address}:{s.remote_port}",
            "state": s.state,
            "pids": list(s.holders),
        }
        for s in conns
    ]
    details["bind"] = probe.to_dict() if probe is not None else None
    return Cause(
        kind="reserved", summary=summary, evidence=tuple(evidence), actions=tuple(actions), details=details
    )


def annotate(ctx: Context, cause: Cause | None) -> None:
    """When another cause won (a listener holds the port), note what else is special about it."""
    if cause is None or cause.kind == "reserved":
        return
    f = facts(ctx.port)
    if f.browser_restricted:
        ctx.note(
            f"Browsers refuse to load pages from port {ctx.port} (ERR_UNSAFE_PORT): "
            "pick another for a web server."
        )
    if f.ephemeral:
        lo, hi = f.ephemeral_range
        ctx.note(
            f"Port {ctx.port} is in the ephemeral range {lo}-{hi}: once freed, an outgoing connection may "
            "take it at any moment."
        )
    if f.reserved and WINDOWS:
        ctx.note(f"Port {ctx.port} is in an excluded port range: binding it fails with permission denied.")


def _reuse(ctx: Context) -> bool:
    """True when ctx.bind_probe() set SO_REUSEADDR (the user did not say otherwise)."""
    return ctx.reuseaddr is not False and ctx.protocol == "tcp"


def _summary(
    ctx: Context, f: PortFacts, conns: list[Socket], probe: BindResult | None, lo: int, hi: int
) -> str:
    port = ctx.port
    failed = probe is not None and not probe.ok
    # The one definition of free: a bind without SO_REUSEADDR must work too (probe.availability).
    free = ctx.availability().free
    if conns and not free and not failed:
        who = _describe(ctx, conns[0])
        return (
            f"Nothing listens on port {port}, but a connection uses it as its local port ({who}): a bind "
            "with SO_REUSEADDR works now, one without fails until that connection closes."
        )
    if conns and failed and probe is not None and probe.error == "in-use":
        who = _describe(ctx, conns[0])
        return (
            f"Nothing listens on port {port}, but it is in the ephemeral range {lo}-{hi} and an outgoing "
            f"connection uses it as its local port ({who}): a bind fails until that connection closes."
        )
    if f.reserved and failed and probe is not None and probe.error == "permission":
        return (
            f"Port {port} is in a reserved (excluded) port range: binding it fails with permission denied, "
            "although nothing listens."
        )
    if not free:
        return (
            f"Nothing listens on port {port}, but a bind without SO_REUSEADDR fails now: "
            f"'portdoctor check {port} --json' lists the binds tried."
        )
    if f.reserved and not WINDOWS:
        extra = " Browsers refuse to load it (ERR_UNSAFE_PORT)." if f.browser_restricted else ""
        return (
            f"Port {port} is free and reserved for servers (net.ipv4.ip_local_reserved_ports): the kernel "
            f"never hands it to outgoing connections, so your server can bind it.{extra}"
        )
    if f.browser_restricted:
        return (
            f"Port {port} is free, but browsers refuse to load pages from it (ERR_UNSAFE_PORT in Chromium "
            "and Firefox): fine for other protocols, not for a web server."
        )
    if conns:
        return (
            f"Port {port} is in the ephemeral range {lo}-{hi} and an outgoing connection uses it "
            f"({_describe(ctx, conns[0])}); a server bind works now, but the range belongs to clients."
        )
    return (
        f"Port {port} is free now, but it is in the ephemeral range {lo}-{hi}: any outgoing connection may "
        "take it at any moment, so a server started later can find it taken."
    )


def _describe(ctx: Context, s: Socket) -> str:
    peer = s.remote_address or "?"
    peer = f"[{peer}]" if ":" in peer else peer
    names = []
    for pid in s.holders:
        name = next((h.name for h in ctx.finding.holders if h.pid == pid), None)
        names.append(f"{name} (pid {pid})" if name else f"pid {pid}")
    who = f"{', '.join(names)}'s " if names else "a "
    return f"{who}{s.state} connection to {peer}:{s.remote_port}"


def _range_source() -> str:
    if LINUX:
        return "net.ipv4.ip_local_port_range"
    if WINDOWS:
        return "netsh int ipv4 show dynamicport tcp"
    return "the system's dynamic port range"


def _reserved_source() -> str:
    if WINDOWS:
        return "in an excluded port range (netsh int ipv4 show excludedportrange protocol=tcp)"
    return "listed in net.ipv4.ip_local_reserved_ports"


def _reserve_command(port: int) -> str:
    try:
        with open("/proc/sys/net/ipv4/ip_local_reserved_ports", encoding="utf-8") as fh:
            current = fh.read().strip()
    except OSError:
        current = ""
    value = f"{current},{port}" if current else str(port)
    return f"sudo sysctl -w net.ipv4.ip_local_reserved_ports={value}"
