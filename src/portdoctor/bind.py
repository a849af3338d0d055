"""Bind a socket, and when the port is taken say who holds it, in the exception itself.

    from portdoctor.bind import listen_or_explain
    server = listen_or_explain("127.0.0.1", 8000)
    # PortInUseError: [Errno 98] Address already in use: 127.0.0.1:8000 is held by
    #   pid 4242 (node): node server.js -- Port 8000 is held by your own process node ...

``PortInUseError`` is an ``OSError`` with the errno of the failed bind, so code that checks
``exc.errno == errno.EADDRINUSE`` or catches ``OSError`` keeps working.
"""

from __future__ import annotations

import errno as _errno
import socket

from .errors import PortInUseError, PortPermissionError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._explain import BindError
    from .model import Diagnosis

# The bind failures we explain; any other OSError propagates unchanged.
EXPLAINED = (_errno.EADDRINUSE, _errno.EACCES, _errno.EADDRNOTAVAIL)
_KINDS = {
    _errno.EADDRINUSE: "in-use",
    _errno.EACCES: "permission",
    _errno.EADDRNOTAVAIL: "address-not-available",
}


def _host_port(address: Any) -> tuple[str, int] | None:
    if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[1], int):
        return str(address[0]), address[1]
    return None


def _holders_line(d: Diagnosis) -> str | None:
    from .render import escape, escape_argv

    if d.holders:
        parts = []
        for h in d.holders[:3]:
            command = escape_argv(h.cmdline, 120) if h.cmdline else escape(h.name)
            parts.append(f"pid {h.pid} ({escape(h.name)}): {command}")
        more = f" and {len(d.holders) - 3} more" if len(d.holders) > 3 else ""
        return "held by " + "; ".join(parts) + more
    if d.hidden:
        users = sorted({h.user or str(h.uid) for h in d.hidden if h.user or h.uid is not None})
        who = f" of user {', '.join(users)}" if users else ""
        return f"held by a process{who} we cannot see (run as root to name it)"
    return None


def explain_failure(exc: OSError, address: Any, protocol: str = "tcp") -> PortInUseError:
    """The PortInUseError for a failed bind of ``address``: its message says who holds the port."""
    from ._explain import BindError, advice
    from .render import escape

    code = exc.errno if exc.errno is not None else _errno.EADDRINUSE
    strerror = exc.strerror or _errno.errorcode.get(code, "bind failed")
    hp = _host_port(address)
    where = f"{hp[0] or '*'}:{hp[1]}" if hp else str(address)
    parts = [f"{strerror}: {escape(where)}"]
    diagnosis: Diagnosis | None = None
    if hp is not None and code == _errno.EADDRINUSE and hp[1] > 0:
        try:
            from .diagnose import why

            host = hp[0] or None
            try:
                diagnosis = why(hp[1], protocol, host=host)
            except ValueError:  # a host name the probe cannot use: the port alone
                diagnosis = why(hp[1], protocol)
        except Exception as err:  # noqa: BLE001 - the bind error matters more than ours
            parts.append(f"(portdoctor could not diagnose the port: {escape(err)})")
        if diagnosis is not None:
            held = _holders_line(diagnosis)
            if held:
                parts.append(f"is {held}")
            if diagnosis.cause is not None:
                parts.append(f"-- {escape(diagnosis.cause.summary)}")
            if diagnosis.actions and diagnosis.actions[0].command:
                parts.append(f"(try: {escape(diagnosis.actions[0].command)})")
    elif code != _errno.EADDRINUSE:
        error: BindError = BindError(
            port=hp[1] if hp else None,
            kind=_KINDS.get(code, "unknown"),
            runtime="python",
            address=hp[0] if hp and hp[0] else None,
            line=str(exc),
        )
        hint = advice(error)
        if hint:
            parts.append(f"-- {hint}")
    cls = PortPermissionError if code == _errno.EACCES else PortInUseError
    return cls(code, " ".join(parts), address, diagnosis)


def bind_or_explain(sock: socket.socket, address: Any) -> None:
    """``sock.bind(address)``; on EADDRINUSE/EACCES/EADDRNOTAVAIL raise a PortInUseError."""
    try:
        sock.bind(address)
    except OSError as exc:
        if exc.errno not in EXPLAINED or sock.family not in (socket.AF_INET, socket.AF_INET6):
            raise
        protocol = "udp" if sock.type == socket.SOCK_DGRAM else "tcp"
        raise explain_failure(exc, address, protocol) from exc


def listen_or_explain(
    host: str | None,
    port: int,
    *,
    backlog: int | None = None,
    reuse_port: bool = False,
    dualstack_ipv6: bool = False,
) -> socket.socket:
    """A listening TCP socket on ``host:port`` (like ``socket.create_server``), or PortInUseError.

    ``host`` None or "" is every IPv4 address; an address with a colon is IPv6. Sets
    SO_REUSEADDR on POSIX, as servers do, so a port left in TIME_WAIT is not reported as taken.
    """
    host = host or ""
    family = socket.AF_INET6 if ":" in host or dualstack_ipv6 else socket.AF_INET
    if dualstack_ipv6 and not host:
        host = "::"
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        import os

        if os.name == "posix":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if dualstack_ipv6 else 1)
        bind_or_explain(sock, (host, port))
        if backlog is None:
            sock.listen()
        else:
            sock.listen(backlog)
    except BaseException:
        sock.close()
        raise
    return sock
