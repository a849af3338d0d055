"""Wait until a port is free, until something listens on it, or until a real bind would succeed."""

from __future__ import annotations

import time

from .errors import UsageError, parse_port, parse_protocol, parse_seconds

FREE = "free"
LISTENING = "listening"
BINDABLE = "bindable"
STATES = (FREE, LISTENING, BINDABLE)
DEFAULT_INTERVAL = 0.1  # seconds between two looks at the kernel's socket table


def bindable(port: int, protocol: str = "tcp", *, host: str | None = None, reuseaddr: bool = True) -> bool:
    """True when a real bind of ``port`` would succeed now (portdoctor.probe.availability).

    ``host`` None is every address: the IPv4 wildcard and the dual-stack IPv6 one (a machine
    without IPv6 does not count against it). ``reuseaddr`` False is a server that does not set
    SO_REUSEADDR: on Linux its bind fails while TIME_WAIT remnants of the port remain.
    """
    from .probe import availability

    return availability(port, protocol, host=host, reuseaddr=reuseaddr).bindable


def wait(
    port: int,
    *,
    until: str = FREE,
    timeout: float,
    protocol: str = "tcp",
    interval: float = DEFAULT_INTERVAL,
    host: str | None = None,
    reuseaddr: bool = True,
) -> bool:
    """Poll until ``port`` is ``until`` ("free", "listening" or "bindable"); False after ``timeout`` s.

    "listening" means a LISTEN TCP socket, or a bound UDP socket, on the port (IPv4 or IPv6);
    "free" means a server can bind and listen on it, with SO_REUSEADDR and without: a connection
    that outlived its listener or a TIME_WAIT remnant keeps it not free. "bindable"
    means a real bind on ``host`` (with SO_REUSEADDR unless ``reuseaddr`` is False) succeeds:
    see :func:`bindable`. ``host`` and ``reuseaddr`` only apply to "bindable".
    ``timeout`` 0 looks once.
    """
    port = parse_port(port)
    if until not in STATES:
        raise UsageError(f"invalid state {until!r}: expected 'free', 'listening' or 'bindable'")
    parse_protocol(protocol)
    timeout = parse_seconds(timeout)
    interval = parse_seconds(interval, what="interval")
    if until == BINDABLE:
        if host is not None:
            from .probe import can_bind

            can_bind(0, host=host, protocol=protocol)  # raises UsageError for a host that is no address
    elif host is not None or not reuseaddr:
        raise UsageError("a host and reuseaddr=False only apply to waiting until 'bindable'")
    from ._find import is_free, listened

    want = until == LISTENING
    deadline = time.monotonic() + timeout
    while True:
        reached = (
            bindable(port, protocol, host=host, reuseaddr=reuseaddr)
            if until == BINDABLE
            else (listened(port, protocol) if want else is_free(port, protocol))
        )
        if reached:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(max(interval, 0.01), left))
