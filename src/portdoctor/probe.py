"""A real bind probe: would a server binding this address and port succeed right now?

The kernel's socket table says who is on a port; only a bind says whether *your* bind would
work (SO_REUSEADDR, IPV6_V6ONLY, a specific address versus the wildcard, reserved ports and
privileged ports all change the answer). :func:`can_bind` makes that bind, and for TCP also
``listen()``, then closes the socket at once.
"""

from __future__ import annotations

import _socket as socket  # the C module: the socket package's enums cost ~3 ms of start-up
import errno as _errno

from .errors import UsageError, parse_port, parse_protocol
from .platforms import WINDOWS
from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

IN_USE = "in-use"
PERMISSION = "permission"
ADDRESS_NOT_AVAILABLE = "address-not-available"


# errno -> BindResult.error; the rest of OSErrors are reported with error=None.
_ERRORS = {
    _errno.EADDRINUSE: IN_USE,
    _errno.EACCES: PERMISSION,
    _errno.EPERM: PERMISSION,
    _errno.EADDRNOTAVAIL: ADDRESS_NOT_AVAILABLE,
    _errno.EAFNOSUPPORT: ADDRESS_NOT_AVAILABLE,  # no IPv6 (or IPv4) on this machine
}
if WINDOWS:  # pragma: no cover - Windows reports WSA codes in OSError.winerror
    _ERRORS.update(
        {
            10048: IN_USE,
            10013: PERMISSION,
            10049: ADDRESS_NOT_AVAILABLE,
            10047: ADDRESS_NOT_AVAILABLE,
        }
    )


class BindResult(Record):
    """The outcome of one bind probe."""

    ok: bool
    errno: int | None  # the OS error number when the bind failed
    error: str | None  # "in-use", "permission", "address-not-available", or None
    host: str  # the address that was bound ("0.0.0.0", "::", "127.0.0.1"...)
    family: str  # "ipv4" or "ipv6"
    message: str | None = None  # the OS's words for the failure


def can_bind(
    port: int,
    *,
    host: str | None = None,
    protocol: str = "tcp",
    ipv6: bool | None = None,
    reuseaddr: bool = True,
) -> BindResult:
    """Bind (and for TCP listen on) ``host:port`` for a moment; say whether it worked and why not.

    ``host`` None is the wildcard: ``0.0.0.0``, or ``::`` when ``ipv6`` is true. An IPv6 wildcard
    is bound dual-stack (IPV6_V6ONLY off), as Node and most servers do, so it also fails when
    only an IPv4 listener holds the port. ``reuseaddr`` sets SO_REUSEADDR as most servers do
    (it lets a bind succeed over TIME_WAIT remnants); on Windows it is never set, because there
    it would let the bind steal a port in use. Never raises for a port in use, a permission
    problem or an address that is not local; raises UsageError for a host that is not an address.
    """
    port = parse_port(port, allow_zero=True)  # 0: any free port, as bind() takes it
    parse_protocol(protocol)
    family, address, scope = _address(host, ipv6)
    family_name = "ipv6" if family == socket.AF_INET6 else "ipv4"
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    try:
        sock = socket.socket(family, kind)
    except OSError as exc:
        return _failure(exc, address, family_name)
    try:
        if reuseaddr and not WINDOWS:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and hasattr(socket, "IPV6_V6ONLY"):
            # Dual-stack for the wildcard and IPv4-mapped addresses, like a typical server.
            v6only = 0 if address == "::" or address.lower().startswith("::ffff:") else 1
            try:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
            except OSError:  # pragma: no cover - some platforms refuse to change it
                pass
        bind_to: tuple[Any, ...] = (address, port, 0, scope) if family == socket.AF_INET6 else (address, port)
        sock.bind(bind_to)
        if kind == socket.SOCK_STREAM:
            sock.listen(1)
    except OSError as exc:
        return _failure(exc, address, family_name)
    finally:
        sock.close()
    return BindResult(ok=True, errno=None, error=None, host=address, family=family_name, message=None)


def _failure(exc: OSError, host: str, family: str) -> BindResult:
    code = getattr(exc, "winerror", None) if WINDOWS else None
    code = code or exc.errno
    error = _ERRORS.get(code) if code is not None else None
    message = exc.strerror or str(exc)
    if error == ADDRESS_NOT_AVAILABLE and code == _errno.EAFNOSUPPORT:
        message = f"{family.replace('ip', 'IP')} is not available on this machine"
    return BindResult(ok=False, errno=code, error=error, host=host, family=family, message=message)


def is_localhost(host: str | None) -> bool:
    """True for "localhost" as a user may write it ("localhost", "[localhost]", any case)."""
    return host is not None and host.strip().strip("[]").lower() == "localhost"


def _address(host: str | None, ipv6: bool | None) -> tuple[int, str, int]:
    """(family, numeric address, IPv6 scope id) for a host given by the user."""
    if host is None or host in ("", "*"):
        return (socket.AF_INET6, "::", 0) if ipv6 else (socket.AF_INET, "0.0.0.0", 0)
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if text.lower() == "localhost":
        return (socket.AF_INET6, "::1", 0) if ipv6 else (socket.AF_INET, "127.0.0.1", 0)
    import ipaddress

    name, _, zone = text.partition("%")
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        raise UsageError(f"invalid host {host!r}: expected an IP address (or 'localhost')") from None
    if ip.version == 4:
        if ipv6:
            return socket.AF_INET6, f"::ffff:{ip}", 0
        return socket.AF_INET, str(ip), 0
    if ipv6 is False:
        raise UsageError(f"invalid host {host!r}: an IPv6 address, but IPv4 was asked for")
    scope = 0
    if zone:
        try:
            scope = int(zone) if zone.isdigit() else socket.if_nametoindex(zone)
        except OSError:
            raise UsageError(f"invalid host {host!r}: no network interface {zone!r}") from None
    return socket.AF_INET6, str(ip), scope


class Availability(Record):
    """portdoctor's one answer to "is this port free?": would a listener like the user's bind it?

    ``free`` is True when no bind like the user's fails because the port is taken: on every
    address family the server will use (the IPv4 wildcard and the dual-stack IPv6 one when no
    host is given), with SO_REUSEADDR and without it (for TCP, unless the user said which).
    A connection that outlived its listener, or a FIN_WAIT2/TIME_WAIT remnant, makes the bind
    without SO_REUSEADDR fail: the port is then not free, although ``reusable`` may be True.
    Failures that are not about the port being taken (no permission for a low port, an address
    that is not local) do not make it "in use"; ``bindable`` is False for them.
    """

    port: int
    protocol: str
    free: bool  # no bind like the user's fails with "address in use"
    reusable: bool  # a bind with SO_REUSEADDR is not refused as "in use" (TCP; = free for UDP)
    bindable: bool  # every bind tried succeeded
    binds: tuple[tuple[bool, BindResult], ...]  # (with SO_REUSEADDR?, outcome) for every bind tried

    @property
    def blocked(self) -> BindResult | None:
        """The first bind refused because the port is taken (None when the port is free)."""
        return next((r for _, r in self.binds if r.error == IN_USE), None)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (see README: JSON schema, "bind")."""
        return {
            "free": self.free,
            "reusable": self.reusable,
            "bindable": self.bindable,
            "binds": [dict(r.to_dict(), reuseaddr=reuse) for reuse, r in self.binds],
        }


def availability(
    port: int,
    protocol: str = "tcp",
    *,
    host: str | None = None,
    ipv6: bool | None = None,
    reuseaddr: bool | None = None,
) -> Availability:
    """Whether ``port`` is free for a listener like the user's, decided by real binds (see Availability).

    ``host`` None binds the wildcard of each family the server may use (``ipv6`` None: both; a
    machine without IPv6 does not count against it), "localhost" both loopback addresses;
    ``reuseaddr`` None tries a TCP bind with SO_REUSEADDR and one without (UDP: only without,
    its SO_REUSEADDR means sharing).
    """
    if reuseaddr is None:
        modes: tuple[bool, ...] = (True, False) if protocol == "tcp" else (False,)
    else:
        modes = (reuseaddr,)
    # "localhost" is 127.0.0.1 or ::1 depending on the resolver and the runtime (Node 17+ takes
    # the resolver's first answer, browsers try ::1 first): a port taken on either is not free.
    both = host is None or is_localhost(host)
    families: tuple[bool | None, ...] = (False, True) if both and ipv6 is None else (ipv6,)
    binds: list[tuple[bool, BindResult]] = []
    for v6 in families:
        for reuse in modes:
            result = can_bind(port, host=host, protocol=protocol, ipv6=v6, reuseaddr=reuse)
            optional = v6 and both and len(families) > 1
            if optional and result.error == ADDRESS_NOT_AVAILABLE:
                continue  # no IPv6 on this machine: a server cannot use it either
            binds.append((reuse, result))
    free = all(r.error != IN_USE for _, r in binds)
    counted = [r for reuse, r in binds if reuse or protocol != "tcp" or reuseaddr is False]
    reusable = all(r.error != IN_USE for r in counted)
    bindable = all(r.ok for _, r in binds)
    return Availability(port, protocol, free, reusable, bindable, tuple(binds))
