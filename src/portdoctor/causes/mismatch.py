"""address-mismatch: something is on the port, but not where the user's bind would collide with it.

Runs first among the detectors, because it is the one case where the port "in use" is not a
problem at all. It decides with a real bind (``ctx.bind_probe()``), never from the socket table
alone: Linux's bind rules (IPV6_V6ONLY, a specific address versus the wildcard, SO_REUSEADDR)
are exactly what people get wrong.

What it reports, and when:

- The user described the bind (``--host`` and/or ``--ipv6``): when that bind succeeds although
  a listener sits on the port (a holder on 127.0.0.1 and a bind on 127.0.0.2 or another local
  address; an IPv6-only holder and an IPv4 bind; a listener in another network namespace), the
  cause is ``address-mismatch``: your bind works, here is why, and who else answers on that
  port number. When the described address is not an address of this machine the bind fails
  with EADDRNOTAVAIL, not EADDRINUSE: also ``address-mismatch`` (the port is not the problem).
- No bind described: a demanding user asks "can my server (which binds the wildcard) start?".
  A listener in our namespace on a specific address still makes a wildcard bind fail on Linux,
  so that is a real conflict: the holder's cause wins (later detectors), without notes on
  other binds (they would end every localhost dev server's report and change nothing). The
  cause is ``address-mismatch`` only when nothing in our namespace listens but a listener
  exists in another network namespace (a container's own port, ``ip netns``), and the
  wildcard bind here succeeds.
- The reverse (the user's bind fails because of a listener on another address: a dual-stack
  ``::`` holder against 0.0.0.0, a 0.0.0.0 holder against 127.0.0.1): not a mismatch. The
  holder's cause wins; when the user described that bind, a note explains why the two
  addresses collide.
"""

from __future__ import annotations

from ..model import Action, Cause, Socket
from ..platforms import LINUX

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..probe import BindResult
    from . import Context

_WILDCARDS = ("0.0.0.0", "::")
_LOOPBACK = ("127.0.0.1", "::1", "0.0.0.0", "::")


def detect(ctx: Context) -> Cause | None:
    """The user's bind does not conflict with what holds the port (or fails for another reason)."""
    ours = ctx.listeners
    foreign = [s for s in ctx.finding.sockets if s.listening and s.foreign_netns]
    described = ctx.host is not None or bool(ctx.ipv6)
    if not ours and not foreign and not described:
        return None  # nothing listens anywhere and no address to question: not our case
    probe = ctx.bind_probe()
    if probe is None:
        return None
    if described and probe.error == "address-not-available":
        return _not_local(ctx, probe)
    if not ours and not foreign:
        return None
    if probe.ok:
        if ours and not described:
            # An IPv4 wildcard bind that works beside IPv6-only listeners: the user did not say
            # which family their server binds, and most bind [::] dual-stack, which fails.
            if all(s.family == "ipv6" and s.v6only for s in ours):
                ctx.note(
                    f"Every listener on port {ctx.port} is IPv6-only (IPV6_V6ONLY): an IPv4 bind of "
                    f"0.0.0.0:{ctx.port} succeeds (checked), a dual-stack [::] bind does not; "
                    f"see 'portdoctor why {ctx.port} --host 0.0.0.0'."
                )
            return None
        return _mismatch(ctx, probe, ours, foreign)
    if probe.error == "in-use" and ours and described:
        # Only for a bind the user described: on a plain 'why 5173' the note ("a dual-stack [::]
        # also holds 0.0.0.0", "another specific address would still work") changes nothing
        # they should do, and it would end every Node or localhost dev server's report.
        _explain_collision(ctx, probe, ours)
    return None


def _mismatch(ctx: Context, probe: BindResult, ours: list[Socket], foreign: list[Socket]) -> Cause:
    where = _where(probe, ctx.port)
    evidence = [f"a real bind of {where} succeeded just now"]
    for s in ours:
        evidence.append(f"{_describe(ctx, s)}: {_why_no_conflict(s, probe)}")
    for s in foreign:
        evidence.append(f"{_describe(ctx, s)}: in another network namespace (netns {s.netns})")
    if ours:
        others = ", ".join(dict.fromkeys(_endpoint(s) for s in ours))  # a SO_REUSEPORT group: once
        summary = (
            f"Your bind of {where} would succeed: port {ctx.port} is only taken on {others}, "
            "which does not conflict with it."
        )
    else:
        summary = (
            f"Port {ctx.port} is free in this network namespace: it is only taken in another one "
            "(a container or 'ip netns'), which does not conflict with your bind."
        )
    actions = [
        Action(
            description=f"Start your server on {where}: the port is free there",
            command=None,
            safe=True,
            kind="advice",
        )
    ]
    if any(s.address in _LOOPBACK for s in ours) or (ours and probe.host in _LOOPBACK):
        pids = tuple(sorted({p for s in ours for p in s.holders}))
        actions.append(
            Action(
                description=(
                    f"Beware: clients connecting to localhost:{ctx.port} may reach the other "
                    "listener, not yours (localhost is both 127.0.0.1 and ::1); "
                    f"connect to {probe.host} explicitly"
                ),
                command=None,
                safe=True,
                kind="advice",
                targets=pids,
            )
        )
    if foreign and not ours:
        pid = next((p for s in foreign for p in s.holders), None)
        if pid is not None:
            actions.append(
                Action(
                    description="See the other namespace's listeners (run as root)",
                    command=f"sudo nsenter --target {pid} --net ss -ltnp 'sport = :{ctx.port}'",
                    safe=True,
                    kind="advice",
                    targets=(pid,),
                )
            )
    details: dict[str, object] = {
        "bind": probe.to_dict(),
        "listeners": [_endpoint(s) for s in ours],
        "foreign": [{"address": _endpoint(s), "netns": s.netns, "pids": list(s.holders)} for s in foreign],
    }
    return Cause(
        kind="address-mismatch",
        summary=summary,
        evidence=tuple(evidence),
        actions=tuple(actions),
        details=details,
    )


def _not_local(ctx: Context, probe: BindResult) -> Cause:
    where = _where(probe, ctx.port)
    return Cause(
        kind="address-mismatch",
        summary=(
            f"{probe.host} is not an address of this machine: binding {where} fails with "
            f"EADDRNOTAVAIL ({probe.message}), whatever holds port {ctx.port}."
        ),
        evidence=(f"a real bind of {where} failed: {probe.message} (errno {probe.errno})",),
        actions=(
            Action(
                description="Bind an address of this machine, or all of them (0.0.0.0 / ::)",
                command="ip -brief address" if _linux() else None,
                safe=True,
                kind="advice",
            ),
            Action(
                description="Or allow binding addresses not (yet) assigned here (Linux, machine-wide)",
                command="sudo sysctl -w net.ipv4.ip_nonlocal_bind=1",
                safe=False,
                kind="advice",
            ),
        ),
        details={"bind": probe.to_dict()},
    )


def _explain_collision(ctx: Context, probe: BindResult, ours: list[Socket]) -> None:
    """The bind failed: say why a listener on a different-looking address collides with it."""
    for s in ours:
        if s.address == probe.host:
            continue
        if s.family == "ipv6" and s.address == "::" and s.v6only is False and probe.family == "ipv4":
            ctx.note(
                f"The listener on [::]:{ctx.port} is dual-stack (IPV6_V6ONLY off): it also holds "
                f"0.0.0.0:{ctx.port}, so an IPv4 bind of port {ctx.port} fails too."
            )
        elif s.address in _WILDCARDS and probe.host not in _WILDCARDS:
            ctx.note(
                f"The listener on {_endpoint(s)} holds every address, {probe.host} included: a bind of "
                f"{probe.host}:{ctx.port} fails until it stops."
            )
        elif s.address not in _WILDCARDS and probe.host in _WILDCARDS:
            ctx.note(
                f"The listener only holds {_endpoint(s)}, but a wildcard bind ({probe.host}) needs every "
                f"address: a bind of another specific address (--host ADDR) would still work."
            )


def _why_no_conflict(s: Socket, probe: BindResult) -> str:
    if s.family == "ipv6" and s.v6only and probe.family == "ipv4":
        return "IPv6 only (IPV6_V6ONLY), so it leaves IPv4 alone"
    if s.family == "ipv4" and probe.family == "ipv6" and probe.host not in _WILDCARDS:
        return "IPv4, and your bind is an IPv6 address"
    if s.address not in _WILDCARDS:
        return f"bound to {s.address} only, a different address from {probe.host}"
    return "does not overlap your bind"


def _describe(ctx: Context, s: Socket) -> str:
    who = ", ".join(_holder_name(ctx, p) for p in s.holders) or "an unseen process"
    kind = "listener" if s.protocol == "tcp" else "bound socket"
    return f"{s.protocol.upper()} {kind} on {_endpoint(s)} held by {who}"


def _holder_name(ctx: Context, pid: int) -> str:
    for h in ctx.finding.holders:
        if h.pid == pid:
            return f"{h.name} (pid {pid})"
    return f"pid {pid}"


def _endpoint(s: Socket) -> str:
    return f"[{s.address}]:{s.port}" if ":" in s.address else f"{s.address}:{s.port}"


def _where(probe: BindResult, port: int) -> str:
    return f"[{probe.host}]:{port}" if ":" in probe.host else f"{probe.host}:{port}"


def _linux() -> bool:

    return LINUX
