"""Recognise the "address already in use" errors that runtimes print, and the port they name.

``parse_bind_error(text)`` reads the output of a server that failed to start (a Node stack
trace, a Python traceback, nginx's log line, a Docker daemon error...) and returns what it
says: the kind of failure, the runtime that printed it, the port and the address. Matching is
table-driven: :data:`RULES` lists one compiled pattern per known message, most specific first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

IN_USE = "in-use"
PERMISSION = "permission"
NOT_AVAILABLE = "address-not-available"
UNKNOWN = "unknown"
KINDS = (IN_USE, PERMISSION, NOT_AVAILABLE, UNKNOWN)


@dataclass(frozen=True)
class BindError:
    """A failed bind found in a runtime's output."""

    port: int | None
    kind: str  # one of KINDS
    runtime: str  # "node", "python", "go", "java", "nginx", "docker"... or "unknown"
    address: str | None  # the host part, when the text names it ("0.0.0.0", "::", "localhost")
    line: str  # the line that names the error
    platform: str | None = None  # "linux", "macos" or "windows" when the errno gives it away

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the ``error`` object of ``portdoctor explain --json``)."""
        return {
            "kind": self.kind,
            "runtime": self.runtime,
            "port": self.port,
            "address": self.address,
            "line": self.line,
            "platform": self.platform,
        }


@dataclass(frozen=True)
class Rule:
    """One known error message: a pattern, the runtime that prints it, the kind of failure.

    Named groups: ``port`` and ``addr`` (where the message names them), ``reason`` (the
    failure text, classified by :func:`classify` when ``kind`` is None).
    """

    runtime: str
    pattern: re.Pattern[str]
    kind: str | None = None


def _r(runtime: str, pattern: str, kind: str | None = None) -> Rule:
    return Rule(runtime, re.compile(pattern, re.IGNORECASE | re.MULTILINE), kind)


# host:port where the host may be an IPv4 address, a bracketed or bare IPv6 address, a name or
# empty (":8080"); the port is the digits after the last colon.
_HOSTPORT = r"(?P<addr>\[[0-9a-f:.%\w]*\]|[\w.*:%-]*?):(?P<port>\d{1,5})"
_URL = r"[a-z][a-z0-9+.-]*://(?P<addr>\[[^\]\s]*\]|[^:/\s]+|\*|\+)(?::(?P<port>\d{1,5}))?"
_PYTUPLE = r"\(\s*['\"](?P<addr>[^'\"]*)['\"]\s*,\s*(?P<port>\d{1,5})\s*(?:,[^)]*)?\)"

# Most specific first: the first rule that matches anywhere in the text wins.
RULES: tuple[Rule, ...] = (
    # Docker: the daemon's messages embed a Go listen error, so they come before Go's.
    _r("docker", r"Bind for " + _HOSTPORT + r" failed: port is already allocated", IN_USE),
    _r(
        "docker",
        r"failed to bind (?:host )?port (?:for )?"
        + _HOSTPORT
        + r"(?::[\d.]+:\d+)?(?:/(?:tcp|udp|sctp))?: (?P<reason>.*)$",
    ),
    _r(
        "docker",
        r"Ports are not available: (?:exposing port (?:TCP|UDP) \S+ -> \S+: )?"
        r"listen (?:tcp|udp)[46]? " + _HOSTPORT + r": bind: (?P<reason>.*)$",
    ),
    _r("docker", r"Bind for " + _HOSTPORT + r": unexpected error \(Failure (?P<reason>E[A-Z]+)\)"),
    _r(
        "docker",
        r"Error starting userland proxy: listen (?:tcp|udp)[46]? " + _HOSTPORT + r": bind: (?P<reason>.*)$",
    ),
    # Vite prints its own message instead of Node's.
    _r("vite", r"Port (?P<port>\d{1,5}) is (?:already )?in use, trying another one", IN_USE),
    _r("vite", r"^\s*Error: Port (?P<port>\d{1,5}) is already in use\s*$", IN_USE),
    # Node (and everything on it: Express, Next.js, webpack-dev-server...).
    _r("node", r"\blisten (?P<reason>E[A-Z]+): [a-z ]+?(?: " + _HOSTPORT + r")?\s*$"),
    _r("node", r"\b(?:bind|listen) (?P<reason>EADDRINUSE|EACCES|EADDRNOTAVAIL)\b"),
    # Python: uvicorn/asyncio name the address; werkzeug (Flask) and Django add their own lines.
    _r(
        "uvicorn",
        r"^ERROR:\s+\[Errno (?P<reason>\d+)\] error while attempting to bind on address " + _PYTUPLE,
    ),
    _r("python", r"\[Errno (?P<reason>\d+)\] error while attempting to bind on address " + _PYTUPLE),
    _r("flask", r"^Port (?P<port>\d{1,5}) is in use by another program", IN_USE),
    _r("django", r"^Error: That port is already in use\.", IN_USE),
    _r("django", r"^Error: You don't have permission to access that port\.", PERMISSION),
    _r("django", r"^Error: That IP address can't be assigned to\.", NOT_AVAILABLE),
    _r("gunicorn", r"\[ERROR\] Connection in use: " + _PYTUPLE, IN_USE),
    _r("gunicorn", r"Can't connect to " + _PYTUPLE, UNKNOWN),
    _r("python", r"\[WinError (?P<reason>100(?:48|13|49))\][^\n]*"),
    _r(
        "python",
        r"\[Errno (?P<reason>98|48|13|99|49|10048|10013|10049)\] "
        r"(?:Address already in use|Permission denied|Cannot assign requested address"
        r"|Can't assign requested address)"
        r"(?: \(while attempting to bind on address " + _PYTUPLE + r"\))?\s*$",
    ),
    # Go (net.Listen): "listen tcp 127.0.0.1:8080: bind: address already in use".
    _r("go", r"\blisten (?:tcp|udp)[46]? " + _HOSTPORT + r": bind: (?P<reason>.*)$"),
    # Java: Spring Boot names the port; the JDK does not.
    _r("spring", r"Web server failed to start\. Port (?P<port>\d{1,5}) was already in use", IN_USE),
    _r("spring", r"PortInUseException: Port (?P<port>\d{1,5}) is already in use", IN_USE),
    _r(
        "spring",
        r"connector configured to listen on port (?P<port>\d{1,5}) failed to start\. "
        r"The port may already be in use",
        IN_USE,
    ),
    _r("java", r"Failed to start connector \[Connector\[[A-Z/.\d]+-(?P<port>\d{1,5})\]\]", UNKNOWN),
    _r("java", r"java\.net\.(?:BindException|SocketException): (?P<reason>[^\n(]*)"),
    _r("java", r"NativeIoException: bind\(\.\.\) failed: (?P<reason>.*)$"),
    # Ruby: Puma, WEBrick, TCPServer.
    _r(
        "ruby",
        r"(?P<reason>[A-Za-z' ]+) - bind\(2\) for \"?(?P<addr>[^\"\s]*)\"? "
        r"port (?P<port>\d{1,5})",
    ),
    _r("ruby", r"(?P<reason>[A-Za-z' ]+) - bind\(2\) for " + _HOSTPORT),
    _r("ruby", r"Errno::(?P<reason>EADDRINUSE|EACCES|EADDRNOTAVAIL)\b"),
    # .NET Kestrel.
    _r("dotnet", r"Failed to bind to address " + _URL + r"[^:\s]*:? ?(?P<reason>[^\n]*)$"),
    _r("dotnet", r"AddressInUseException", IN_USE),
    _r("dotnet", r"SocketException \((?P<reason>\d+)\)"),
    # nginx, Apache httpd.
    _r("nginx", r"bind\(\) to " + _HOSTPORT + r" failed \((?P<reason>\d+: [^)]*)\)"),
    _r(
        "apache",
        r"\((?P<reason>\d+)\)[^:\n]*: (?:AH00072: )?make_sock: could not bind to address " + _HOSTPORT,
    ),
    # PostgreSQL: the bind line names the address, the HINT the port.
    _r("postgresql", r"could not bind IPv[46] address \"(?P<addr>[^\"]*)\": (?P<reason>.*)$"),
    _r("postgresql", r"Is another postmaster already running on port (?P<port>\d{1,5})", IN_USE),
    # Redis.
    _r(
        "redis",
        r"Could not create server TCP listening socket " + _HOSTPORT + r": (?:bind: )?(?P<reason>.*)$",
    ),
    _r("redis", r"Failed listening on port (?P<port>\d{1,5}) \((?:tcp|tls)\)", UNKNOWN),
    # Windows, whatever the runtime.
    _r("windows", r"(?P<reason>Only one usage of each socket address)[^\n]*"),
    _r("windows", r"(?P<reason>An attempt was made to access a socket in a way forbidden)[^\n]*"),
    _r("windows", r"(?P<reason>The requested address is not valid in its context)[^\n]*"),
    _r("windows", r"\b(?P<reason>WSAEADDRINUSE|WSAEACCES|WSAEADDRNOTAVAIL)\b"),
    # Last resort: the C library's messages and errno names, runtime unknown.
    _r("unknown", r"\b(?P<reason>EADDRINUSE|EADDRNOTAVAIL)\b"),
    _r("unknown", r"\b(?P<reason>address already in use|cannot assign requested address)\b"),
    _r("unknown", r"\bbind(?:\(\))?:? (?:failed: )?(?P<reason>permission denied|EACCES)\b"),
)

# errno values and words -> kind. Linux, macOS/BSD, Windows (WSA) numbers.
_ERRNO_KINDS = {
    "98": IN_USE,
    "48": IN_USE,
    "10048": IN_USE,
    "13": PERMISSION,
    "10013": PERMISSION,
    "99": NOT_AVAILABLE,
    "49": NOT_AVAILABLE,
    "10049": NOT_AVAILABLE,
}
_ERRNO_PLATFORMS = {
    "98": "linux",
    "99": "linux",
    "48": "macos",
    "49": "macos",
    "10048": "windows",
    "10013": "windows",
    "10049": "windows",
}
_WORDS = (
    (
        IN_USE,
        (
            "eaddrinuse",
            "already in use",
            "address in use",
            "already allocated",
            "only one usage of each socket address",
        ),
    ),
    (
        PERMISSION,
        (
            "eacces",
            "permission denied",
            "forbidden by its access permissions",
            "access denied",
            "operation not permitted",
        ),
    ),
    (
        NOT_AVAILABLE,
        ("eaddrnotavail", "assign requested address", "not valid in its context", "can't be assigned"),
    ),
)

# Where the error line names no port: other places a port shows up, strongest first.
_PORT_HINTS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bport[\s:=]+(?P<port>\d{1,5})\b",  # "Port 5000 is in use", Node's "port: 3000"
        _PYTUPLE,  # ('127.0.0.1', 8000)
        r"(?:^|\s)--?(?:port|p|listen|bind|b)[=\s]+(?:" + _HOSTPORT + r"|(?P<bare>\d{1,5}))\b",
        r"\b(?:runserver|http\.server|serve)\s+(?:" + _HOSTPORT + r"|(?P<bare2>\d{1,5}))\b",
        _URL,  # http://127.0.0.1:8000/
        r"(?:^|[\s'\"(=])(?P<addr>\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]*\]|localhost|\*)?"
        r":(?P<port>\d{1,5})\b",
    )
)


def classify(reason: str) -> str:
    """The kind of a failure text: an errno number or name, or the C library's words."""
    text = reason.strip().lower()
    number = re.match(r"\d+", text)
    if number and number.group() in _ERRNO_KINDS:
        return _ERRNO_KINDS[number.group()]
    for kind, words in _WORDS:
        if any(w in text for w in words):
            return kind
    return UNKNOWN


def _platform(reason: str, text: str) -> str | None:
    number = re.match(r"\d+", reason.strip())
    if number and number.group() in _ERRNO_PLATFORMS:
        return _ERRNO_PLATFORMS[number.group()]
    if re.search(
        r"\[WinError \d+\]|WSAE[A-Z]+|Only one usage of each socket|forbidden by its "
        r"access permissions|not valid in its context",
        text,
    ):
        return "windows"
    if "AirPlay Receiver" in text:
        return "macos"
    m = re.search(r"\[Errno (\d+)\]|\((\d+): [A-Z][a-z]|SocketException \((\d+)\)", text)
    if m:
        return _ERRNO_PLATFORMS.get(m.group(1) or m.group(2) or m.group(3))
    return None


def _port(value: str | None) -> int | None:
    if value is None:
        return None
    number = int(value)
    return number if 0 < number <= 65535 else None


def _address(value: str | None) -> str | None:
    if not value or value == "*":  # Go's ":8080", Redis' "*:6379": every address
        return None
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    return value or None


def _line_at(text: str, pos: int) -> tuple[int, str]:
    """(line number, stripped line) of the character at ``pos``."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    return text.count("\n", 0, pos), text[start : end if end >= 0 else len(text)].strip()


def _port_near(lines: list[str], index: int) -> tuple[int | None, str | None]:
    """The port (and its host) named closest to line ``index`` (the error's own line first)."""
    best: tuple[int, int, int] | None = None
    found: tuple[int | None, str | None] = (None, None)
    for strength, pattern in enumerate(_PORT_HINTS):
        for n, line in enumerate(lines):
            for m in pattern.finditer(line):
                groups = m.groupdict()
                port = _port(groups.get("port") or groups.get("bare") or groups.get("bare2"))
                if port is None:
                    continue
                # Nearest line first, then the stronger hint; at equal distance a line above
                # the error wins (a port printed before the failure is the one it tried).
                key = (abs(n - index), strength, 0 if n <= index else 1)
                if best is None or key < best:
                    best, found = key, (port, _address(groups.get("addr")))
    return found


def parse_bind_error(text: str) -> BindError | None:
    """The bind failure ``text`` reports, or None when it holds none we recognise."""
    if not text:
        return None
    matches: list[tuple[Rule, re.Match[str]]] = []
    for rule in RULES:
        m = rule.pattern.search(text)
        if m is not None:
            matches.append((rule, m))
    if not matches:
        return None
    rule, m = matches[0]
    groups = m.groupdict()
    reason = groups.get("reason") or ""
    kind = rule.kind or classify(reason or m.group())
    index, line = _line_at(text, m.start())
    port = _port(groups.get("port"))
    address = _address(groups.get("addr"))
    # A later, less specific rule may name what the first did not (PostgreSQL's HINT names
    # the port, Flask's second line too); take it from the one closest to the error line.
    for _, other in matches[1:]:
        other_groups = other.groupdict()
        if port is None and _port(other_groups.get("port")) is not None:
            port = _port(other_groups.get("port"))
        if address is None and _address(other_groups.get("addr")):
            address = _address(other_groups.get("addr"))
        if kind == UNKNOWN and other_groups.get("reason"):
            kind = classify(other_groups["reason"])
    if port is None:
        port, near_address = _port_near(text.splitlines(), index)
        address = address or near_address
    return BindError(
        port=port,
        kind=kind,
        runtime=rule.runtime,
        address=address,
        line=line,
        platform=_platform(reason, text),
    )


def advice(error: BindError) -> str | None:
    """One line on what a permission or address failure means; None for ports in use."""
    if error.kind == PERMISSION:
        if error.platform == "windows":
            return (
                "Windows refused the bind: the port may sit in a range reserved for Hyper-V/WSL "
                "(netsh interface ipv4 show excludedportrange protocol=tcp) or be held exclusively "
                "by another program"
            )
        if error.port is None or error.port < 1024:
            return (
                "ports below 1024 need root or CAP_NET_BIND_SERVICE on Linux (or a lower "
                "net.ipv4.ip_unprivileged_port_start); use a port above 1023 or grant the "
                "capability"
            )
        return "a security policy (SELinux, AppArmor, a seccomp profile) refused the bind"
    if error.kind == NOT_AVAILABLE:
        where = f"{error.address} is" if error.address else "the address is"
        return (
            f"{where} not an address of any network interface here: bind to 0.0.0.0, :: or "
            "127.0.0.1, or check the address (a container's IP, a VPN that is down)"
        )
    return None


def describe(error: BindError) -> str:
    """A short sentence naming the failure: 'port 3000 is already in use (node)'."""
    port = f"port {error.port}" if error.port is not None else "the port"
    what = {
        IN_USE: f"{port} is already in use",
        PERMISSION: f"permission denied to bind {port}",
        NOT_AVAILABLE: f"cannot bind {port}: address not available",
    }.get(error.kind, f"binding {port} failed")
    if error.address and error.kind != NOT_AVAILABLE:
        what += f" on {error.address}"
    elif error.address:
        what += f" ({error.address})"
    return f"{what} ({error.runtime})" if error.runtime != "unknown" else what
