"""time-wait: nothing listens any more; only the remnants of closed connections are on the port.

When a server closes a connection first, the kernel keeps the connection's socket in TIME_WAIT
for 60 s on Linux (TCP_TIMEWAIT_LEN), so stray packets of the old connection cannot reach a new
one. Those remnants block a new bind unless both the new socket and the old one set
SO_REUSEADDR: a server that restarts without SO_REUSEADDR (or whose previous instance did not
set it) gets EADDRINUSE for up to a minute although nothing listens. CLOSE_WAIT is different:
the peer closed, but the local process never closed its side; the socket stays as long as the
process keeps it, so the fix is in (or is stopping) that process.

The detector says for certain, with two real binds, whether a server with SO_REUSEADDR and one
without can bind now, and when the remnants expire (the kernel's timer, from sock_diag).
"""

from __future__ import annotations

from ..model import Action, Cause, Socket
from .actions import pick_action

TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import Context

TIME_WAIT_SECONDS = 60  # Linux TCP_TIMEWAIT_LEN
# States of a connection on its way out. ESTABLISHED connections on the port are listed as
# evidence beside them (a server's accepted connections that outlived its listener).
REMNANT_STATES = ("TIME_WAIT", "FIN_WAIT1", "FIN_WAIT2", "CLOSING", "LAST_ACK", "CLOSE_WAIT")


def detect(ctx: Context) -> Cause | None:
    """No listener in our namespace; closing connections (or an orphaned one) hold the port."""
    if ctx.in_use or ctx.protocol != "tcp":
        return None
    ours = [s for s in ctx.finding.sockets if not s.foreign_netns and s.port == ctx.port]
    from ..ranges import ephemeral_range

    lo, hi = ephemeral_range()
    # Outside the ephemeral range an ESTABLISHED socket on the port is a connection a server
    # accepted and kept after it stopped listening (inside it, reserved.py names the client).
    leftover = ("ESTABLISHED",) if not lo <= ctx.port <= hi else ()
    remnants = [s for s in ours if s.state in REMNANT_STATES or s.state in leftover]
    if not remnants:
        return None
    established = [s for s in ours if s.state == "ESTABLISHED" and s not in remnants]
    from ..probe import can_bind

    reuse = can_bind(ctx.port, host=ctx.host, protocol="tcp", ipv6=ctx.ipv6, reuseaddr=True)
    plain = can_bind(ctx.port, host=ctx.host, protocol="tcp", ipv6=ctx.ipv6, reuseaddr=False)
    counts = _counts(remnants)
    if reuse.ok and plain.ok:
        ctx.note(f"Port {ctx.port} has {counts} of closed connections; they do not block a bind.")
        return None

    close_wait = [s for s in remnants if s.state in ("CLOSE_WAIT", "ESTABLISHED")]
    waiting = [s for s in remnants if s not in close_wait]
    expires = [s.expires for s in waiting if s.expires is not None]
    longest = max(expires) if expires else None
    evidence = [f"no process listens on port {ctx.port}", f"{counts} on the port"]
    for s in remnants[:5]:
        evidence.append(_describe(ctx, s))
    if len(remnants) > 5:
        evidence.append(f"... and {len(remnants) - 5} more")
    for s in established[:3]:
        evidence.append(_describe(ctx, s))
    evidence.append(f"a bind with SO_REUSEADDR {_outcome(reuse.ok, reuse.message)}")
    evidence.append(f"a bind without SO_REUSEADDR {_outcome(plain.ok, plain.message)}")

    holders = sorted({p for s in close_wait + established for p in s.holders})
    when = _when(longest)
    if close_wait and not waiting:
        names = ", ".join(_holder_name(ctx, p) for p in holders) or "a process we cannot see"
        if all(s.state == "CLOSE_WAIT" for s in close_wait):
            what = f"never closed its side of {len(close_wait)} connection(s) (CLOSE_WAIT)"
        else:
            what = f"still has {_counts(close_wait)} of connections it accepted before it stopped listening"
        summary = (
            f"Nothing listens on port {ctx.port}, but {names} {what}: they hold the port until it "
            "closes them or exits."
        )
    elif reuse.ok:
        summary = (
            f"Nothing listens on port {ctx.port}; only closed connections remain ({counts}): "
            f"a server that sets SO_REUSEADDR can bind now, one that does not gets EADDRINUSE {when}."
        )
    else:
        summary = (
            f"Nothing listens on port {ctx.port}; only closed connections remain ({counts}), and they "
            f"block every new bind {when} (the previous server did not set SO_REUSEADDR)."
        )

    actions: list[Action] = []
    if reuse.ok and not plain.ok:
        actions.append(
            Action(
                description=(
                    "Set SO_REUSEADDR on your server's socket before bind() (Node, Go, nginx and "
                    "Python's socketserver do): the bind then succeeds right away"
                ),
                kind="advice",
            )
        )
    if waiting:
        bind_opt = _bind_options(ctx)
        actions.append(
            Action(
                description=f"Or wait until the remnants expire ({when})",
                command=(
                    f"until portdoctor check {ctx.port} --quiet --no-reuseaddr{bind_opt}; do sleep 1; done"
                ),
                kind="advice",
            )
        )
    if holders:
        pid_list = " ".join(str(p) for p in holders)
        actions.append(
            Action(
                description="Stop the process that keeps the connections open (SIGTERM)",
                command=f"kill {pid_list}",
                safe=all(_holder_uid(ctx, p) == ctx.my_uid for p in holders),
                kind="signal",
                targets=tuple(holders),
            )
        )
    actions.append(pick_action(ctx.port))
    return Cause(
        kind="time-wait",
        summary=summary,
        evidence=tuple(evidence),
        actions=tuple(actions),
        details={
            "states": {state: sum(1 for s in remnants if s.state == state) for state in _states(remnants)},
            "expires": longest,
            "bind_reuseaddr": reuse.to_dict(),
            "bind_plain": plain.to_dict(),
            "pids": holders,
        },
    )


def _bind_options(ctx: Context) -> str:
    from ..quoting import quote as shell_quote

    text = f" --host {shell_quote(ctx.host)}" if ctx.host is not None else ""
    return text + (" --ipv6" if ctx.ipv6 else "")


def _states(sockets: list[Socket]) -> list[str]:
    seen: list[str] = []
    for s in sockets:
        if s.state not in seen:
            seen.append(s.state)
    return seen


def _counts(sockets: list[Socket]) -> str:
    parts = []
    for state in _states(sockets):
        n = sum(1 for s in sockets if s.state == state)
        parts.append(f"{n} {state} socket{'s' if n != 1 else ''}")
    return ", ".join(parts)


def _when(seconds: float | None) -> str:
    if seconds is None:
        return f"for up to {TIME_WAIT_SECONDS} s"
    return f"for about {max(1, round(seconds))} more s"


def _outcome(ok: bool, message: str | None) -> str:
    return "succeeds now" if ok else f"fails now ({message})"


def _describe(ctx: Context, s: Socket) -> str:
    peer = s.remote_address or "?"
    peer = f"[{peer}]" if ":" in peer else peer
    text = f"{s.state} {s.address}:{s.port} <-> {peer}:{s.remote_port}"
    if s.expires is not None and s.state != "CLOSE_WAIT":
        text += f" (gone in {s.expires:.0f} s)"
    if s.holders:
        text += " held by " + ", ".join(_holder_name(ctx, p) for p in s.holders)
    return text


def _holder_name(ctx: Context, pid: int) -> str:
    for h in ctx.finding.holders:
        if h.pid == pid:
            return f"{h.name} (pid {pid})"
    return f"pid {pid}"


def _holder_uid(ctx: Context, pid: int) -> int | None:
    for h in ctx.finding.holders:
        if h.pid == pid:
            return h.uid
    return None
