"""Facts that make a port a bad pick, or explain why a bind fails: ranges and lists of ports.

- the kernel's ephemeral range (outgoing connections take their local port from it),
- ports the administrator reserved (Linux ``ip_local_reserved_ports``; Windows excluded port
  ranges come from the platform back-end through :data:`extra_reserved`),
- the privileged ports (below ``ip_unprivileged_port_start``),
- the ports browsers refuse to load (Chromium's ``kRestrictedPorts``),
- well-known services from ``/etc/services``.

Everything read from the system is cached for the life of the process; :func:`clear_cache`
forgets it (tests, long-running callers).
"""

from __future__ import annotations

from .platforms import LINUX, WINDOWS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TypeVar

    F = TypeVar("F", bound=Callable[..., Any])

_caches: list[dict[tuple[Any, ...], Any]] = []


def _cache(func: F) -> F:
    """``functools.cache`` for the facts below (importing functools costs ~2 ms of start-up)."""
    values: dict[tuple[Any, ...], Any] = {}
    _caches.append(values)

    def cached(*args: Any) -> Any:
        if args not in values:
            values[args] = func(*args)
        return values[args]

    cached.__name__, cached.__doc__, cached.__wrapped__ = func.__name__, func.__doc__, func  # type: ignore[attr-defined]
    return cached  # type: ignore[return-value]

_PROC = "/proc/sys/net/ipv4"
_SERVICES = "/etc/services"

# Chromium's kRestrictedPorts (net/base/port_util.cc), which follows the Fetch standard's
# "bad port" list (https://fetch.spec.whatwg.org/#port-blocking): a page served on one of these
# ports fails with ERR_UNSAFE_PORT (Firefox blocks the same list). Port 0 is left out.
BROWSER_RESTRICTED_PORTS: frozenset[int] = frozenset(
    (
        1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95,
        101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143, 161,
        179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554, 556, 563,
        587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060,
        5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080,
    )
)  # fmt: skip

# Used when /etc/services is missing (Windows, minimal containers): the big ones a developer
# would collide with.
BUILTIN_SERVICES: dict[int, str] = {
    21: "ftp",
    22: "ssh",
    23: "telnet",
    25: "smtp",
    53: "domain",
    80: "http",
    110: "pop3",
    143: "imap2",
    443: "https",
    465: "submissions",
    587: "submission",
    993: "imaps",
    995: "pop3s",
    1433: "ms-sql-s",
    1521: "oracle",
    2049: "nfs",
    2181: "zookeeper",
    2375: "docker",
    2376: "docker-s",
    3306: "mysql",
    3389: "ms-wbt-server",
    4369: "epmd",
    5432: "postgresql",
    5672: "amqp",
    5984: "couchdb",
    6379: "redis",
    6443: "kubernetes-api",
    8086: "influxdb",
    9042: "cassandra",
    9092: "kafka",
    9200: "elasticsearch",
    9300: "elasticsearch-transport",
    11211: "memcached",
    15672: "rabbitmq-management",
    27017: "mongodb",
}

# Platform defaults when the kernel does not say (IANA's dynamic range).
_IANA_EPHEMERAL = (49152, 65535)  # RFC 6335's dynamic ports: macOS's and Windows' default
_LINUX_DEFAULT_EPHEMERAL = (32768, 60999)

#: Hook for the platform back-end: a function returning extra reserved (first, last) port ranges,
#: e.g. Windows' excluded port ranges (``netsh int ipv4 show excludedportrange``). Set it with
#: :func:`set_extra_reserved`; its ranges count in :func:`reserved_ports` and :func:`why_unsafe`.
extra_reserved: Callable[[], Iterable[tuple[int, int]]] | None = None


def set_extra_reserved(source: Callable[[], Iterable[tuple[int, int]]] | None) -> None:
    """Register (or remove, with None) a source of extra reserved port ranges; clears the cache."""
    global extra_reserved
    extra_reserved = source
    clear_cache()


def clear_cache() -> None:
    """Forget every fact read from the system."""
    for values in _caches:
        values.clear()


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


@_cache
def ephemeral_range() -> tuple[int, int]:
    """The kernel's range of local ports for outgoing connections (first, last), inclusive."""
    if LINUX:
        text = _read(f"{_PROC}/ip_local_port_range")
        if text:
            parts = text.split()
            if len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit():
                lo, hi = int(parts[0]), int(parts[1])
                if 0 < lo <= hi <= 65535:
                    return lo, hi
        return _LINUX_DEFAULT_EPHEMERAL
    return _IANA_EPHEMERAL  # macOS, Windows (and the fallback elsewhere)


def parse_port_list(text: str) -> frozenset[int]:
    """Parse a kernel port list such as ``"8080,9000-9005"`` (bad items are skipped)."""
    out: set[int] = set()
    for item in text.replace("\n", ",").split(","):
        item = item.strip()
        if not item:
            continue
        first, _, last = item.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            continue
        lo = int(first)
        hi = int(last) if last else lo
        if 0 < lo <= hi <= 65535:
            out.update(range(lo, hi + 1))
    return frozenset(out)


@_cache
def reserved_ports() -> frozenset[int]:
    """Ports the administrator reserved: ``ip_local_reserved_ports`` and :data:`extra_reserved`."""
    ports: set[int] = set()
    if LINUX:
        ports.update(parse_port_list(_read(f"{_PROC}/ip_local_reserved_ports") or ""))
    if extra_reserved is not None:
        try:
            for lo, hi in extra_reserved():
                ports.update(range(max(lo, 1), min(hi, 65535) + 1))
        except OSError:  # pragma: no cover - the back-end could not ask the system
            pass
    return frozenset(ports)


@_cache
def unprivileged_port_start() -> int:
    """The first port an unprivileged process may bind (Linux ``ip_unprivileged_port_start``)."""
    if WINDOWS:
        return 0  # Windows has no privileged ports
    text = _read(f"{_PROC}/ip_unprivileged_port_start")
    if text and text.strip().isdigit():
        return min(int(text.strip()), 65536)
    return 1024


def parse_services(text: str, protocols: Iterable[str] = ("tcp", "udp")) -> dict[int, str]:
    """Parse /etc/services text into {port: service name} for the given protocols."""
    wanted = set(protocols)
    out: dict[int, str] = {}
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        fields = line.split()
        if len(fields) < 2:
            continue
        number, _, proto = fields[1].partition("/")
        if proto not in wanted or not number.isdigit():
            continue
        port = int(number)
        if 0 < port <= 65535:
            out.setdefault(port, fields[0])
    return out


@_cache
def well_known_services(protocol: str | None = None) -> dict[int, str]:
    """{port: service} from /etc/services (tcp and udp, or one protocol), or a built-in list."""
    protocols = ("tcp", "udp") if protocol is None else (protocol,)
    text = _read(_SERVICES)
    if text is None:
        return dict(BUILTIN_SERVICES)
    return parse_services(text, protocols)


def unsafe_kind(port: int, protocol: str = "tcp") -> str | None:
    """Why ``port`` is a bad pick, as one word, or None.

    One of "privileged", "well-known" (below 1024), "browser-restricted", "ephemeral",
    "reserved", "service" (in /etc/services).
    """
    return _unsafe(port, protocol)[0]


def why_unsafe(port: int, protocol: str = "tcp") -> str | None:
    """The reason ``port`` should not be picked for a new server, or None when it is a fine pick."""
    return _unsafe(port, protocol)[1]


def _unsafe(port: int, protocol: str) -> tuple[str | None, str | None]:
    if port < 1024:
        start = unprivileged_port_start()
        if port < start:
            return "privileged", f"privileged port (below {start}: binding it needs root)"
        return "well-known", "well-known port (below 1024)"
    if port in BROWSER_RESTRICTED_PORTS:
        return (
            "browser-restricted",
            "browsers refuse to load it (ERR_UNSAFE_PORT in Chromium and Firefox)",
        )
    lo, hi = ephemeral_range()
    if lo <= port <= hi:
        return (
            "ephemeral",
            f"in the kernel's ephemeral range {lo}-{hi} (outgoing connections take ports from it)",
        )
    if port in reserved_ports():
        return (
            "reserved",
            "reserved by the administrator (ip_local_reserved_ports or an excluded port range)",
        )
    service = well_known_services(protocol).get(port)
    if service is not None:
        return "service", f"registered to the {service} service (/etc/services)"
    return None, None
