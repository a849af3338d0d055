"""Wait until a port is free, or until something listens on it."""

from __future__ import annotations

import time

from .errors import UsageError, parse_port

FREE = "free"
LISTENING = "listening"
DEFAULT_INTERVAL = 0.1  # seconds between two looks at the kernel's socket table


def listening(port: int, protocol: str = "tcp") -> bool:
    """True when a TCP listener (or a bound UDP socket) in our network namespace is on ``port``."""
    from .find import sockets

    return any(s.listening for s in sockets(port, (protocol,), all_netns=False))


def wait(
    port: int,
    *,
    until: str = FREE,
    timeout: float,
    protocol: str = "tcp",
    interval: float = DEFAULT_INTERVAL,
) -> bool:
    """Poll until ``port`` is ``until`` ("free" or "listening"); False after ``timeout`` s.

    "listening" means a LISTEN TCP socket, or a bound UDP socket, on the port (IPv4 or IPv6);
    "free" means none. TIME_WAIT remnants and outgoing connections do not count.
    ``timeout`` 0 looks once.
    """
    port = parse_port(port)
    if until not in (FREE, LISTENING):
        raise UsageError(f"invalid state {until!r}: expected 'free' or 'listening'")
    if protocol not in ("tcp", "udp"):
        raise UsageError(f"invalid protocol {protocol!r}: expected 'tcp' or 'udp'")
    if not timeout >= 0:  # also rejects NaN
        raise UsageError(f"invalid timeout {timeout!r}: expected a number of seconds >= 0")
    want = until == LISTENING
    deadline = time.monotonic() + timeout
    while True:
        if listening(port, protocol) == want:
            return True
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(max(interval, 0.01), left))
