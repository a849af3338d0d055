"""Turn what ``find`` saw into a Diagnosis: the cause, the evidence, the next steps."""

from __future__ import annotations

from .errors import UsageError, parse_port
from .model import TCP, UDP, Diagnosis

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


def why(
    port: int | str,
    protocol: str = TCP,
    *,
    host: str | None = None,
    ipv6: bool | None = None,
    reuseaddr: bool | None = None,
    cwd: str | None = None,
    command: Sequence[str] = (),
) -> Diagnosis:
    """Who holds ``port``, why, and what to do about it.

    ``host``, ``ipv6`` and ``reuseaddr`` describe the bind the user wants to make, so the
    diagnosis can say for certain whether it would succeed (a real bind probe). ``cwd`` and
    ``command`` describe the user's own project, to recognise a second instance of it.
    """
    from .causes import Context, detect
    from .find import find

    number = parse_port(port)
    if protocol not in (TCP, UDP):
        raise UsageError(f"invalid protocol {protocol!r}: expected 'tcp' or 'udp'")
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
    )
