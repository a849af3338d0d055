"""Recognise the "address already in use" errors that runtimes print, and the port they name.

``parse_bind_error(text)`` reads the output of a server that failed to start (a Node stack
trace, a Python traceback, nginx's log line, a Docker daemon error, a dev server that moved to
another port...) and returns what it says: the kind of failure, the runtime that printed it, the
port, the address, the protocol, or the Unix socket file. :class:`BindErrorScanner` does the same
on a stream, line by line, and says when it has read enough to answer.

How it reads, and why it stays linear on any input:

- Text is cut into lines; colour codes (raw ``ESC[32m``, shown as ``←[32m`` or ``^[[32m``, or
  with the ESC lost: ``[32m``) and box-drawing borders are removed first.
- The work per line is bounded. Of a line longer than 64 KiB only the first and last 32 KiB
  are read. A line is looked at only if it holds one of :data:`_COARSE` (a few plain substring
  searches), and a rule is tried only if the line holds one of its needles. A line longer than
  :data:`_MAX_LINE` is never matched whole: only windows of :data:`_WINDOW` characters around
  the first and last hits of each coarse word are (at most :data:`_MAX_VIEWS` characters in
  all), so the regular expressions always run over a bounded string. Every pattern starts with
  a literal and uses bounded repeats, so a window costs a bounded amount of work: the parse is
  linear in the number of lines, and a 1 MB line costs about what a 64 KB one does.
- A bare errno or strerror (``[Errno 99]``, ``EADDRNOTAVAIL``) is not taken for a bind error
  when the lines around it show a client's ``connect()`` and no bind or listen.
- :data:`RULES` lists one pattern per known message, most specific first. Patterns read the
  structure of the message (syscall, errno name or number, the address token, the port), and
  the address token is split by :func:`_split_target`, not by a regular expression.
- The error line's own port wins; when it names none, the nearest port-looking hint around it
  (a Node error object's ``port: 5000``, PostgreSQL's HINT, Minecraft's "Starting ... on
  *:25565", Erlang's ``{port,8088}``) is taken, the line above first.
"""

from __future__ import annotations

import re
from collections import deque

from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from .model import Diagnosis
    from .upstream import Origin

IN_USE = "in-use"
PERMISSION = "permission"
NOT_AVAILABLE = "address-not-available"
UNKNOWN = "unknown"
KINDS = (IN_USE, PERMISSION, NOT_AVAILABLE, UNKNOWN)

TCP = "tcp"
UDP = "udp"
UNIX = "unix"  # a Unix domain socket file, not a port

_MAX_LINE = 4096  # a line up to this long is searched whole
_LONG_LINE = 32 * 1024  # of a line longer than twice this, only the head and tail are read
_WINDOW = 600  # characters kept either side of a trigger in a longer line
_HITS_PER_TRIGGER = 8  # hits looked at per coarse word in one long line (half from each end)
_MAX_VIEWS = 4 * 4096  # characters of a long line matched in all (in windows around triggers)
_NEIGHBOURS = 40  # lines either side of the error line searched for a port or the protocol


class BindError(Record):
    """A failed bind found in a runtime's output."""

    port: int | None
    kind: str  # one of KINDS
    runtime: str  # "node", "python", "go", "java", "nginx", "docker"... or "unknown"
    address: str | None  # the host part, when the text names it ("0.0.0.0", "::", "localhost")
    line: str  # the line that names the error (colour codes removed)
    platform: str | None = None  # "linux", "macos" or "windows" when the errno gives it away
    protocol: str = TCP  # "tcp", "udp", or "unix" for a Unix socket file
    path: str | None = None  # the Unix socket file, when protocol is "unix"
    moved_on: bool = False  # the server did not stop: it went on on another port
    new_port: int | None = None  # that other port, when the text names it


class Rule(Record):
    """One known error message: a pattern, the runtime that prints it, the kind of failure.

    Named groups: ``target`` (an address token, split by :func:`_split_target`), ``port``,
    ``addr``, ``path``, ``proto``, ``reason`` (failure text, classified by :func:`classify`
    when ``kind`` is None) and ``errno``. ``needle`` is a lower-case literal the line must hold
    for the pattern to be tried. ``strict`` rules count only when the reason is a known kind
    (``java.net.SocketException: Connection reset`` is no bind error). ``moved_on``: the server
    goes on on another port.
    """

    runtime: str
    pattern: re.Pattern[str]
    needles: tuple[str, ...]
    kind: str | None = None
    strict: bool = False
    moved_on: bool = False
    weak: bool = False  # only adds facts (a port, an address) to a stronger match nearby
    bare: bool = False  # a bare errno or strerror: also what a client's connect() prints


def _r(
    runtime: str,
    needle: str | tuple[str, ...],
    pattern: str,
    kind: str | None = None,
    *,
    strict: bool = False,
    moved_on: bool = False,
    weak: bool = False,
    bare: bool = False,
    case: bool = False,
) -> Rule:
    flags = 0 if case else re.IGNORECASE
    needles = (needle,) if isinstance(needle, str) else needle
    return Rule(runtime, re.compile(pattern, flags), needles, kind, strict, moved_on, weak, bare)


# An address token: "127.0.0.1:3000", ":::3000", "[::1]:8080", "*:6379", "null:3001",
# "tcp://0.0.0.0:80", "unix:/run/app.sock", "/tmp/app.sock", "0.0.0.0:80/tcp". Bounded.
_T = r"(?P<target>\[[0-9A-Za-z:.%]{0,64}\](?::\d{1,5})?|\\\\[.?]\\pipe\\[^\s\"']{1,200}|[\w.*:%/@+~-]{1,300})"
_Q = r"(?:\s?\\?[\"'«»“”]\s?)?"  # an optional quote, maybe escaped (\"127.0.0.1\"), maybe French « »
_PYTUPLE = r"\(\s*['\"](?P<addr>[^'\"]{0,100})['\"]\s*,\s*(?P<port>\d{1,5})\s*(?:,[^)]{0,100})?\)"
_URL = r"[a-z][a-z0-9+.-]{0,15}://(?P<addr>\[[^\]\s]{0,64}\]|[^:/\s]{1,200}|\*|\+)(?::(?P<port>\d{1,5}))?"
_REASON = r"(?P<reason>[^\n]{0,300})"
_ERRNO_WORD = r"(?P<reason>EADDRINUSE|EACCES|EADDRNOTAVAIL|EPERM)"

# Most specific first: a message that embeds another (Docker embeds Go's; uvicorn asyncio's)
# comes before it.
RULES: tuple[Rule, ...] = (
    # Docker: the daemon's messages embed a Go listen error.
    _r("docker", "bind for", r"Bind for " + _T + r" failed: port is already allocated", IN_USE),
    _r(
        "docker",
        "failed to bind",
        r"failed to bind (?:host )?port (?:for )?(?P<addr>\[[^\]\s]{0,64}\]|[\w.-]{0,100}):"
        r"(?P<port>\d{1,5})(?::[\d.]{1,40}:\d{1,5})?(?:/(?P<proto>tcp|udp|sctp))?: " + _REASON,
    ),
    _r(
        "docker",
        "ports are not available",
        r"Ports are not available: (?:exposing port (?P<proto>TCP|UDP) \S{1,100} -> \S{1,100}: )?"
        r"listen (?:tcp|udp)[46]? " + _T + r": bind: " + _REASON,
    ),
    _r("docker", "bind for", r"Bind for " + _T + r": unexpected error \(Failure (?P<reason>E[A-Z]{1,20})\)"),
    _r(
        "docker",
        "userland proxy",
        r"Error starting userland proxy: listen (?P<proto>tcp|udp)[46]? " + _T + r": bind: " + _REASON,
    ),
    # Dev servers in their own words: some stop, some move on to another port.
    _r(
        "vite",
        "trying another one",
        r"Port (?P<port>\d{1,5}) is (?:already )?in use, trying another one",
        IN_USE,
        moved_on=True,
    ),
    _r("vite", "is already in use", r"\bError: Port (?P<port>\d{1,5}) is already in use\b", IN_USE),
    _r(
        "create-react-app",
        "already running on port",
        r"Something is already running on port (?P<port>\d{1,5})",
        IN_USE,
        moved_on=True,
    ),
    _r("angular", "--port", r"Port (?P<port>\d{1,5}) is already in use\. Use '--port'", IN_USE),
    _r(
        "jupyter",
        "trying another port",
        r"The port (?P<port>\d{1,5}) is already in use, trying another port",
        IN_USE,
        moved_on=True,
    ),
    _r(
        "hugo",
        "attempting to use an available port",
        r"port (?P<port>\d{1,5}) already in use, attempting to use an available port",
        IN_USE,
        moved_on=True,
    ),
    _r(
        "next",
        "instead",
        r"\bPort (?P<port>\d{1,5}) is in use, trying \d{1,5} instead",
        IN_USE,
        moved_on=True,
    ),
    _r(
        "storybook",
        "is not available",
        r"\bPort (?P<port>\d{1,5}) is not available\. Would you like to run Storybook on port",
        IN_USE,
        moved_on=True,
    ),
    _r(
        "gatsby",
        "already running at port",
        r"Something is already running at port (?P<port>\d{1,5})",
        IN_USE,
        moved_on=True,
    ),
    _r(
        "quarkus",
        "seems to be in use",
        r"\bPort (?P<port>\d{1,5}) seems to be in use by another process",
        IN_USE,
    ),
    _r(
        "tensorboard",
        "could not bind to port",
        r"TensorBoard could not bind to port (?P<port>\d{1,5}), it was already in use",
        IN_USE,
    ),
    _r(
        "gradio",
        "cannot find empty port",
        r"Cannot find empty port in range: (?P<port>\d{1,5})-\d{1,5}",
        IN_USE,
    ),
    _r(
        "bun",
        "failed to start server",
        r"Failed to start server\. Is port (?P<port>\d{1,5}) in use\?",
        IN_USE,
    ),
    _r(
        "elixir",
        "bandit",
        r"with Bandit [\d.]{1,20} at \S{1,100} failed, port (?P<port>\d{1,5}) already in use",
        IN_USE,
    ),
    # Node (and everything on it): "listen EADDRINUSE: address already in use :::3000", before
    # Node 10 "listen EADDRINUSE :::5000", cluster workers "bind EADDRINUSE null:3001", dgram
    # "bind EADDRINUSE 0.0.0.0:41234", a Unix socket "listen EADDRINUSE: ... /tmp/app.sock".
    _r(
        "node",
        ("eaddr", "eacces", "eperm"),
        r"\b(?P<syscall>listen|bind) " + _ERRNO_WORD + r"\b(?::(?: [a-z]{1,20}){0,8})?(?: " + _T + r")?",
        case=True,
    ),
    # Node's error object alone: code: 'EADDRNOTAVAIL', syscall: 'listen', address, port.
    _r(
        "node",
        "code:",
        r"\bcode: ['\"](?P<reason>EADDRINUSE|EACCES|EADDRNOTAVAIL)['\"]",
        case=True,
        bare=True,
    ),
    # Python: uvicorn/asyncio name the address; werkzeug (Flask) and Django add their own lines.
    _r(
        "uvicorn",
        "error while attempting to bind",
        r"\bERROR:\s{1,10}\[Errno (?P<errno>\d{1,5})\] error while attempting to bind on address "
        + _PYTUPLE
        + r"(?::\s?"
        + _REASON
        + ")?",
        case=True,
    ),
    _r(
        "python",
        "error while attempting to bind",
        r"\[Errno (?P<errno>\d{1,5})\] error while attempting to bind on address "
        + _PYTUPLE
        + r"(?::\s?"
        + _REASON
        + ")?",
    ),
    _r(
        "uwsgi",
        "another instance of uwsgi",
        r"another instance of uWSGI is running on the same address \(" + _T + r"\)",
        IN_USE,
    ),
    _r(
        "flask", "in use by another program", r"\bPort (?P<port>\d{1,5}) is in use by another program", IN_USE
    ),
    _r("django", "that port is already in use", r"\bError: That port is already in use\.", IN_USE),
    _r(
        "django",
        "permission to access that port",
        r"\bError: You don't have permission to access that port\.",
        PERMISSION,
    ),
    _r("django", "can't be assigned to", r"\bError: That IP address can't be assigned to\.", NOT_AVAILABLE),
    _r(
        "gunicorn",
        "connection in use",
        r"\[ERROR\] Connection in use: (?:" + _PYTUPLE + "|" + _Q + _T + ")",
        IN_USE,
    ),
    _r("gunicorn", "can't connect to", r"\bCan't connect to " + _PYTUPLE, UNKNOWN, weak=True),
    _r("twisted", "couldn't listen on", r"Couldn't listen on " + _T + r": " + _REASON),
    _r("python", "winerror", r"\[WinError (?P<errno>100(?:48|13|49))\]", bare=True),
    _r(
        "python",
        "errno",
        r"\[Errno (?P<errno>98|48|13|99|49|10048|10013|10049)\] "
        r"(?P<reason>Address already in use|Permission denied|Cannot assign requested address"
        r"|Can't assign requested address|Only one usage of each socket address[^\n]{0,100})"
        r"(?: \(while attempting to bind on address " + _PYTUPLE + r"\))?\s*(?:$|\n)",
        bare=True,
    ),
    _r("deno", "addrinuse", r"\bAddrInUse: (?P<reason>Address already in use)", IN_USE, case=True),
    # Rust's io::Error printed with {:?}: Os { code: 98, kind: AddrInUse, message: "..." }.
    _r(
        "rust",
        "kind: addr",
        # Not PermissionDenied: a file's permission error prints the same way.
        r"\bOs \{ code: (?P<errno>\d{1,5}), kind: (?:AddrInUse|AddrNotAvailable)\b",
        case=True,
    ),
    # Rust std / tokio: "Address already in use (os error 98)".
    _r(
        "rust",
        "os error",
        r"(?P<reason>Address already in use|Cannot assign requested address|Can't assign requested address"
        r"|Only one usage of each socket address[^()\n]{0,80}|"
        r"An attempt was made to access a socket[^()\n]{0,100})"
        r" \(os error (?P<errno>98|48|10048|99|49|10049|10013)\)",
        bare=True,
    ),
    # Go (net.Listen): "listen tcp 127.0.0.1:8080: bind: address already in use".
    _r("go", "listen", r"\blisten (?P<proto>tcp|udp|unix)[46]? " + _T + r": bind: " + _REASON),
    # JVM: Jetty, Spring Boot, Tomcat, Netty, Minecraft, the JDK itself.
    _r(
        "jetty",
        "connector@",
        r"FAILED \w{0,40}Connector@(?:[0-9a-f]{1,16}(?:\{[^{}\n]{0,60}\})?\{)?"
        + _T
        + r"\}?: java\.net\.BindException: "
        + _REASON,
    ),
    _r(
        "spring",
        "web server failed to start",
        r"Web server failed to start\. Port (?P<port>\d{1,5}) was already in use",
        IN_USE,
    ),
    _r(
        "spring",
        "portinuseexception",
        r"PortInUseException: Port (?P<port>\d{1,5}) is already in use",
        IN_USE,
    ),
    _r(
        "spring",
        "failed to start. the port may already be in use",
        r"connector configured to listen on port (?P<port>\d{1,5}) failed to start\. "
        r"The port may already be in use",
        IN_USE,
    ),
    _r(
        "java",
        "connector[",
        r"Failed to (?:start|initialize) (?:connector|component)"
        r" \[Connector\[\"?[\w/.]{1,40}-(?P<port>\d{1,5})\"?\]\]",
        UNKNOWN,
        weak=True,
    ),
    _r("minecraft", "failed to bind to port", r"FAILED TO BIND TO PORT", UNKNOWN),
    _r("netty", "failed:", r"NativeIoException: bind\(\.\.\) failed: " + _REASON),
    _r(
        "java",
        "exception:",
        r"java\.net\.(?:BindException|SocketException): (?:\[/?" + _T + r"\] )?(?P<reason>[^\n(<]{0,200})"
        r"(?:<[\w.-]{0,100}>:(?P<port>\d{1,5}))?",
        strict=True,
    ),
    # Ruby: Puma, WEBrick, TCPServer, fluentd (whose log escapes the quotes).
    _r(
        "ruby",
        "bind(2)",
        r"(?P<reason>Address already in use|Permission denied|Cannot assign requested address"
        r"|Can't assign requested address|[A-Za-z' ]{1,60}?) - bind\(2\) for "
        + _Q
        + r"(?P<addr>[^\"\\\s]{0,100})"
        + _Q
        + r" ?port (?P<port>\d{1,5})",
    ),
    _r("ruby", "bind(2)", r"(?P<reason>[A-Za-z' ]{1,60}?) - bind\(2\) for " + _Q + _T),
    _r(
        "puma",
        "already a server bound to",
        r"There is already a server bound to: " + _Q + r"(?P<path>[^\s\"']{1,300})",
        IN_USE,
    ),
    _r(
        "ruby",
        "address already in use - ",
        r"Address already in use - (?:(?:connect|bind)\(2\) for )?" + _Q + r"(?P<path>/[^\s\"'\\]{1,300})",
        IN_USE,
    ),
    _r("ruby", "errno::", r"Errno::(?P<reason>EADDRINUSE|EACCES|EADDRNOTAVAIL)\b"),
    # .NET Kestrel.
    _r(
        "dotnet",
        "failed to bind to address",
        r"Failed to bind to address " + _URL + r"[^:\s]{0,100}:? ?" + _REASON,
    ),
    _r("dotnet", "addressinuseexception", r"AddressInUseException", IN_USE),
    _r("dotnet", "socketexception (", r"SocketException \((?P<errno>\d{1,5})\)", strict=True),
    # nginx, Apache httpd, PHP-FPM, socat.
    _r(
        "nginx",
        "bind() to",
        r"bind\(\) to " + _T + r" failed \((?P<errno>\d{1,5}): (?P<reason>[^)\n]{0,200})\)",
    ),
    _r(
        "apache",
        "make_sock",
        r"\((?:OS )?(?P<errno>\d{1,5})\)[^:\n]{0,100}: (?:AH00072: )?make_sock: could not bind to address "
        + _T,
    ),
    _r(
        "php-fpm",
        "unable to bind listening socket",
        r"unable to bind listening socket for address '(?P<target>[^'\n]"
        r"{1,300})': (?P<reason>[^(\n]{0,200})(?:\((?P<errno>\d{1,5})\))?",
    ),
    _r(
        "haproxy",
        "cannot bind",
        r"cannot bind (?:UNIX )?socket (?:\((?P<reason>[^)\n]{1,100})\) )?(?:for )?\[" + _T + r"\]",
    ),
    _r(
        "stunnel",
        "binding service",
        r"Binding service \[[^\]\n]{0,100}\] to "
        + _T
        + r": (?P<reason>[^(\n]{0,200})(?:\((?P<errno>\d{1,5})\))?",
    ),
    _r("coturn", "bind fd", r"\bbind fd \d{1,6} to <" + _T + r">: errno=(?P<errno>\d{1,5})"),
    _r("ssh", "bind [", r"^\s{0,10}bind \[(?P<addr>[^\]\s]{1,100})\]:(?P<port>\d{1,5}): " + _REASON),
    _r("ssh", "cannot listen to port", r"cannot listen to port: (?P<port>\d{1,5})", UNKNOWN, weak=True),
    _r("socat", "socat[", r"socat\[\d{1,10}\] E \"(?P<path>[^\"\n]{1,300})\" exists", IN_USE),
    _r(
        "socat",
        " e bind(",
        r"\bE bind\(\d{1,6}, \{(?:LEN=\d{1,4} )?AF=\d{1,3} " + _Q + _T + _Q + r"\}, \d{1,4}\): " + _REASON,
    ),
    # PostgreSQL: the bind line names the address, the HINT the port (in English, French, German).
    _r(
        "postgresql",
        "could not bind",
        r"could not bind (?P<proto>IPv[46]|Unix) (?:address "
        + _Q
        + r"(?P<addr>[^\"»\n]{0,100})"
        + _Q
        + r"|socket)(?: at \"[^\"]{0,300}\")?: "
        + _REASON,
    ),
    _r(
        "postgresql",
        "n'a pas pu lier",
        r"n'a pas pu lier (?P<proto>IPv[46]|Unix) à l'adresse "
        + _Q
        + r"(?P<addr>[^\"»\s]{0,100})"
        + _Q
        + r"\s?: "
        + _REASON,
    ),
    _r(
        "postgresql",
        "nicht binden",
        r"konnte (?P<proto>IPv[46]|Unix)-Adresse "
        + _Q
        + r"(?P<addr>[^\"«\s]{0,100})"
        + _Q
        + r" nicht binden: "
        + _REASON,
    ),
    _r(
        "postgresql",
        "无法绑定",
        r"无法绑定(?P<proto>IPv[46]|Unix)地址" + _Q + r"(?P<addr>[^\"\s]{0,100})" + _Q + r":\s?" + _REASON,
    ),
    _r(
        "postgresql",
        "postmaster",
        r"another postmaster already running on port (?P<port>\d{1,5})",
        UNKNOWN,
        weak=True,
    ),
    _r(
        "postgresql",
        "postmaster",
        r"Un autre postmaster fonctionne-t.il déjà sur le port (?P<port>\d{1,5})",
        UNKNOWN,
        weak=True,
    ),
    _r(
        "postgresql",
        "could not create listen socket",
        r"could not create listen socket for " + _Q + r"(?P<addr>[^\"\n]{1,100})",
        UNKNOWN,
        weak=True,
    ),
    # MySQL / MariaDB.
    _r(
        "mysql",
        "bind on tcp/ip port",
        r"Can't start server: Bind on TCP/IP port(?:\. Got error: (?P<errno>\d{1,5}))?: " + _REASON,
    ),
    _r(
        "mysql",
        "mysqld server running on port",
        r"another (?:mysqld |mariadbd )?server running on port: (?P<port>\d{1,5})",
        UNKNOWN,
        weak=True,
    ),
    _r(
        "mysql",
        "bind-address",
        r"bind-address: '(?P<addr>[^']{0,100})' port: (?P<port>\d{1,5}) failed, `?bind\("
        r"\)`? failed with error: (?P<reason>[^(\n]{0,200})(?:\((?P<errno>\d{1,5})\))?",
    ),
    # Redis.
    _r(
        "redis",
        "tcp listening socket",
        r"(?:Could not create|Creating) server TCP listening socket " + _T + r": (?:bind: )?" + _REASON,
    ),
    _r(
        "redis",
        "failed listening on port",
        r"Failed listening on port (?P<port>\d{1,5}) \((?:tcp|tls)\)",
        UNKNOWN,
        weak=True,
    ),
    # Erlang / Elixir: Ranch (Cowboy, Phoenix, RabbitMQ, MongooseIM, EMQX), gen_tcp.
    _r(
        "erlang",
        "ranch",
        r"Failed to start Ranch listener .{0,300}? for reason "
        r":?(?P<reason>eaddrinuse|eacces|eaddrnotavail|eperm)\b",
    ),
    _r("erlang", "for reason", r"\bfor reason :?(?P<reason>eaddrinuse|eacces|eaddrnotavail)\b", case=True),
    _r("erlang", "ranch", r"Failed to start Ranch listener", UNKNOWN, weak=True),
    _r(
        "erlang",
        ("{error", "{:error"),
        r"\{:?error,\s?:?(?P<reason>eaddrinuse|eacces|eaddrnotavail)\}",
        case=True,
    ),
    _r(
        "erlang",
        "listen_error",
        r"\{:?listen_error,[^{}\n]{0,200},\s?:?(?P<reason>eaddrinuse|eacces|eaddrnotavail)\}",
        case=True,
    ),
    # PHP: php -S / artisan serve, ReactPHP, Swoole, RoadRunner (Octane), the sockets extension.
    _r(
        "php",
        "failed to listen on",
        r"Failed to listen on " + _Q + _T + _Q + r"\s?(?:\(reason: |: )(?P<reason>[^)\n]{0,300})",
    ),
    _r(
        "swoole",
        "failed to listen server port",
        r"failed to listen server port\["
        + _T
        + r"\][.,] Error: (?P<reason>[^\[\n]{0,200}?)\s?\[(?P<errno>\d{1,5})\]",
    ),
    _r(
        "swoole",
        "failed",
        r"\bbind\(" + _T + r"\) failed[.,] Error: (?P<reason>[^\[\n]{0,200}?)\s?\[(?P<errno>\d{1,5})\]",
    ),
    _r("roadrunner", "cannot bind to", r"cannot bind to \\?\"" + _T + r"\\?\": (?P<reason>[^\"\\\n]{0,200})"),
    _r("php", "socket_bind", r"socket_bind\(\): unable to bind address \[(?P<errno>\d{1,5})\]: " + _REASON),
    _r("unknown", "cannot bind to", r"\bcannot bind to " + _T + r": " + _REASON, strict=True),
    _r(
        "unknown",
        "bind() failed",
        r"\bbind\(\) failed[.:]? \((?P<errno>98|48|10048|99|49|10049|10013)\)",
        bare=True,
    ),
    _r("java", "bindexception[", r"\bBindException\[(?P<reason>[^\]\n]{1,100})\]", strict=True),
    # Windows, whatever the runtime, in English and other languages.
    _r("windows", "only one usage", r"(?P<reason>Only one usage of each socket address)[^\n]{0,200}"),
    _r(
        "windows",
        "socket in a way forbidden",
        r"(?P<reason>An attempt was made to access a socket in a way forbidden)[^\n]{0,200}",
    ),
    _r(
        "windows",
        "not valid in its context",
        r"(?P<reason>The requested address is not valid in its context)[^\n]{0,200}",
    ),
    _r("windows", "只允许使用一次", r"(?P<reason>通常每个套接字地址[^\n]{0,60}只允许使用一次)", IN_USE),
    _r(
        "windows",
        "访问权限不允许",
        r"(?P<reason>以一种访问权限不允许的方式做了一个访问套接字的尝试)",
        PERMISSION,
    ),
    _r("windows", "ソケット アドレス", r"(?P<reason>各ソケット アドレス[^\n]{0,80})", IN_USE),
    _r(
        "windows",
        "jede socketadresse",
        r"(?P<reason>Normalerweise darf jede Socketadresse[^\n]{0,120})",
        IN_USE,
    ),
    _r(
        "windows",
        "chaque adresse de socket",
        r"(?P<reason>Une seule utilisation de chaque adresse de socket[^\n]{0,120})",
        IN_USE,
    ),
    _r(
        "windows",
        "interdite par ses autorisations",
        r"(?P<reason>Une tentative d.accès à un socket de manière interdite[^\n]{0,120})",
        PERMISSION,
    ),
    _r("windows", "wsae", r"\b(?P<reason>WSAEADDRINUSE|WSAEACCES|WSAEADDRNOTAVAIL)\b"),
    # A program's own words: "Port 3000 is already in use", "port 4000 already in use".
    _r("unknown", "in use", r"\bport:? (?P<port>\d{1,5}) (?:is )?(?:already |currently )?in use\b", IN_USE),
    # Last resort: the C library's messages and errno names, runtime unknown.
    _r("unknown", "eaddr", r"(?<!connect )\b(?P<reason>EADDRINUSE|EADDRNOTAVAIL)\b", case=True, bare=True),
    _r(
        "unknown",
        "address",
        r"\b(?P<reason>address already in use|cannot assign requested addres"
        r"s|Adresse déjà utilisée|Die Adresse wird bereits verwendet|地址已在使用)",
        bare=True,
    ),
    _r(
        "unknown", "bind", r"\bbind(?:\(\))?:? (?:failed: )?(?P<reason>permission denied|EACCES)\b", bare=True
    ),
)

# Lower-case words that make a line worth trying the rules on (plain substring searches).
_TRIGGERS: tuple[str, ...] = tuple(sorted({n for r in RULES for n in r.needles}))
_RULES_BY_NEEDLE: dict[str, tuple[int, ...]] = {
    n: tuple(i for i, r in enumerate(RULES) if n in r.needles) for n in _TRIGGERS
}
# A few short words, one of which every trigger holds: a line without any of them is skipped
# after a handful of substring searches instead of one per trigger.
_COARSE: tuple[str, ...] = (
    "bind", "listen", "use", "port", "addr", "eacces", "eperm", "err", "fail", "sock", "conn", "reason",
    "exception", "ranch", "postmaster", "socat",
)  # fmt: skip
_COARSE += tuple(t for t in _TRIGGERS if not any(c in t for c in _COARSE))

# errno values and words -> kind. Linux, macOS/BSD, Windows (WSA) numbers; libuv's negative ones.
_ERRNO_KINDS = {
    "98": IN_USE, "48": IN_USE, "10048": IN_USE, "-98": IN_USE, "-48": IN_USE, "-4091": IN_USE,
    "13": PERMISSION, "10013": PERMISSION, "-13": PERMISSION, "-4092": PERMISSION,
    "99": NOT_AVAILABLE, "49": NOT_AVAILABLE, "10049": NOT_AVAILABLE, "-99": NOT_AVAILABLE,
    "-49": NOT_AVAILABLE, "-4090": NOT_AVAILABLE,
}  # fmt: skip
_ERRNO_PLATFORMS = {
    "98": "linux", "99": "linux", "-98": "linux", "-99": "linux",
    "48": "macos", "49": "macos", "-48": "macos", "-49": "macos",
    "10048": "windows", "10013": "windows", "10049": "windows",
    "-4091": "windows", "-4092": "windows", "-4090": "windows",
}  # fmt: skip
# Checked in this order: an address that cannot be assigned is never "in use".
_WORDS = (
    (
        NOT_AVAILABLE,
        (
            "eaddrnotavail", "assign requested address", "not valid in its context", "can't be assigned",
            "address not available", "impossible d'assigner l'adresse", "无法指定被请求的地址",
            "请求的地址无效", "angeforderte adresse kann nicht zugewiesen",
        ),
    ),
    (
        PERMISSION,
        (
            "eacces", "permission denied", "forbidden by its access permissions", "access denied",
            "operation not permitted", "eperm", "interdite par ses autorisations",
            "访问权限不允许", "permission non accordée", "keine berechtigung", "zugriffsberechtigungen",
            "アクセス許可で禁じられた",
        ),
    ),
    (
        IN_USE,
        (
            "eaddrinuse", "already in use", "address in use", "already allocated", "already bound",
            "only one usage of each socket address", "one use of each socket address", "déjà utilisée",
            "bereits verwendet",
            "ya se está usando", "já está em uso", "già in uso", "地址已在使用", "只允许使用一次",
            "уже используется", "各ソケット アドレス", "jede socketadresse", "chaque adresse de socket",
        ),
    ),
)  # fmt: skip

# Where the error line names no port: other places a port shows up, strongest first.
_PORT_HINTS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p, re.IGNORECASE)
    for p in (
        r"\bport[\s:=]{1,5}['\"]?(?P<port>\d{1,5})\b",  # "Port 5000 is in use", Node's "port: 3000"
        r"\{port,\s{0,20}(?P<port>\d{1,5})\}",  # Erlang: {port,8088}
        r"/(?:tcp|udp)/(?P<port>\d{1,5})\b",  # a multiaddr: /dns/localhost/tcp/8080/http
        r"端口\s?(?P<port>\d{1,5})",  # PostgreSQL's HINT in Chinese
        _PYTUPLE,  # ('127.0.0.1', 8000)
        r"\bStarting Minecraft server on " + _T,
        r"(?:^|\s)--?(?:port|p|listen|bind|b)[=\s]{1,3}(?:" + _T + r"|(?P<bare>\d{1,5}))\b",
        r"\b(?:runserver|http\.server|serve)\s{1,5}(?:" + _T + r"|(?P<bare2>\d{1,5}))\b",
        _URL,  # http://127.0.0.1:8000/
        r"(?:^|[\s'\"(=])(?P<addr>\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:.]{0,64}\]|localhost|\*)?"
        r":(?P<port>\d{1,5})\b",
    )
)
_ADDRESS_HINTS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(p)
    for p in (
        r"\baddress: '(?P<addr>[^'\n]{0,100})'",  # Node's error object
        r"\{ip,\s{0,20}\{(?P<ip>[\d,\s]{1,80})\}\}",  # Erlang {ip,{127,0,0,1}}
        r"\bip: \{(?P<ip>[\d,\s]{1,80})\}",  # Elixir ip: {127, 0, 0, 1}
    )
)
_UDP_HINTS = re.compile(
    r"\bdgram\b|\budp[46]\b|SOCK_DGRAM|DatagramSocket|DatagramChannel|data"
    r"gram_endpoint|\blisten udp[46]?\b|\bUDP-LISTEN\b|/udp\b|\bUDPServer\b",
)
_PLATFORM_HINTS = re.compile(
    r"\[Errno (?P<a>\d{1,5})\]|\berrno: (?P<b>-?\d{1,5})\b|\((?P<c>\d{1,5}): [A-Z][a-z]"
    r"|\bos error (?P<d>\d{1,5})\)|\bError: [A-Za-z ]{4,40}\s?\[(?P<e>\d{1,5})\]|\[WinError (?P<f>\d{1,5})\]"
    r"|SocketException \((?P<g>\d{1,5})\)|in use \((?P<h>\d{1,5})\)|\((?P<i>100\d\d)\)|errno=(?P<j>\d{1,5})"
)
_WINDOWS_WORDS = re.compile(
    r"WSAE[A-Z]{2,20}|Only one usage of each socket|forbidden by its access permissions|not valid in its "
    r"context|通常每个套接字地址|以一种访问权限不允许|各ソケット アドレス"
    r"|Normalerweise darf jede Socketadresse"
    r"|Une seule utilisation de chaque adresse|Une tentative d.accès à un socket"
    # The JDK on Windows ends its messages with the call: "Address already in use: bind", JVM_Bind.
    r"|BindException: [A-Za-z ]{5,60}: (?:JVM_)?[Bb]ind\b|\bJVM_Bind\b"
)
_NEW_PORT = re.compile(
    r"(?:https?://(?:\[[0-9a-f:]{0,64}\]|[\w.-]{1,100})|\bon port|\bport|\btrying)[: ]?(?P<port>\d{1,5})\b",
    re.IGNORECASE,
)

# Colour and cursor codes: raw (ESC [ ... m), shown by a Windows console as ←[32m or by a
# terminal as ^[[32m, or with the ESC lost in a copy ([32m). Box-drawing borders.
_ANSI = re.compile(r"(?:\x1b|←|\^\[)\[[0-9;?]{0,32}[A-Za-z]|\[(?:\d{1,3}(?:;\d{1,3}){0,8})?m")
_BOX = re.compile(r"[\u2500-\u259f]")
# Prefixes of a continued line: "> " quotes, journalctl "Jun 03 06:55:03 host app[123]: ",
# concurrently's "[0] ", timestamps.
_CONTINUATION_PREFIX = re.compile(
    r"^(?:\s{0,20}(?:>\s?){1,6}|[A-Z][a-z]{2} [ \d]\d [\d:]{8} \S{1,100} [^\s:]{1,100}: |\[\d{1,3}\] "
    r"|\d{4}-\d\d-\d\d[T _][\d:.,]{5,20}\S{0,10}\s)"
)


def classify(reason: str) -> str:
    """The kind of a failure text: an errno number or name, or the C library's words."""
    text = reason.strip().lower()
    number = re.match(r"-?\d{1,6}", text)
    if number and number.group() in _ERRNO_KINDS:
        return _ERRNO_KINDS[number.group()]
    for kind, words in _WORDS:
        if any(w in text for w in words):
            return kind
    return UNKNOWN


def _clean(line: str) -> str:
    """``line`` without colour codes, box-drawing borders and the trailing newline.

    Of a very long line (a minified bundle, a JSON log record) only the head and the tail are
    kept: the work per line is bounded, and a runtime prints its bind error on a line of its own
    or at the end of a record.
    """
    if len(line) > 2 * _LONG_LINE:
        line = line[:_LONG_LINE] + " \u2026 " + line[-_LONG_LINE:]
    if "[" in line:
        line = _ANSI.sub("", line)
    if any("\u2500" <= c <= "\u259f" for c in line[:200]) or any(
        "\u2500" <= c <= "\u259f" for c in line[-200:]
    ):
        line = _BOX.sub(" ", line)
    return line.rstrip("\r\n")


def _views(line: str, low: str) -> list[str]:
    """The parts of ``line`` worth matching: all of it if short, windows around triggers if long."""
    if len(line) <= _MAX_LINE:
        return [line]
    spans: list[tuple[int, int]] = []
    for word in _COARSE:  # every trigger holds one of these: a window around it holds the trigger
        # The first hits and the last ones: an error is printed at the start or the end of a record.
        start, end = 0, len(low)
        for _ in range(_HITS_PER_TRIGGER // 2):
            i = low.find(word, start, end)
            if i < 0:
                break
            spans.append((max(0, i - _WINDOW), i + len(word) + _WINDOW))
            start = i + len(word)
            j = low.rfind(word, start, end)
            if j < 0:
                break
            spans.append((max(0, j - _WINDOW), j + len(word) + _WINDOW))
            end = j
    spans.sort()
    merged: list[list[int]] = []
    total = 0
    for a, b in spans:
        if merged and a <= merged[-1][1] and b - merged[-1][0] <= _MAX_LINE:
            total += max(0, b - merged[-1][1])
            merged[-1][1] = max(merged[-1][1], b)
        else:
            a = max(a, merged[-1][1]) if merged else a
            if a >= b:
                continue
            merged.append([a, b])
            total += b - a
        if total >= _MAX_VIEWS:
            break
    return [line[a:b] for a, b in merged]


def _bounded(line: str) -> str:
    """A long neighbour line cut to its two ends (ports are named near either end)."""
    if len(line) <= _MAX_LINE:
        return line
    return line[: _MAX_LINE // 2] + " \u2026 " + line[-_MAX_LINE // 2 :]


def _port(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 5:
        return None
    number = int(value)
    return number if 0 < number <= 65535 else None


def _address(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().strip("\"'\\«»“” ")
    if value.lower() in ("*", "null", "undefined", "+", "<null>", ""):  # every address
        return None
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    return value or None


class _Target(Record):
    port: int | None = None
    address: str | None = None
    path: str | None = None
    protocol: str | None = None


def _split_target(token: str) -> _Target:
    """Read an address token: host:port, [v6]:port, :::port, *:port, a URL, a socket path."""
    if token.startswith(("\\\\.\\", "\\\\?\\")):  # a Windows named pipe: \\.\pipe\name
        return _Target(path=token.rstrip(".,;:)}]"), protocol=UNIX)
    tok = token.strip().strip("\"'\\«»“”").rstrip(".,;:)}]")
    if tok.startswith("[") and not tok.endswith("]") and "]" not in tok:
        tok += "]"  # rstrip above may have eaten a bare "[::]"'s bracket
    protocol = None
    low = tok.lower()
    for suffix in ("/tcp", "/udp", "/sctp"):
        if low.endswith(suffix):
            protocol, tok = suffix[1:], tok[: -len(suffix)]
            break
    if low.startswith("unix:"):
        path = tok[5:]
        while path.startswith("//"):
            path = path[1:]
        return _Target(path=path or None, protocol=UNIX)
    scheme = re.match(r"[a-z][a-z0-9+.-]{0,15}://", tok, re.IGNORECASE)
    if scheme:
        tok = tok[scheme.end() :].split("/", 1)[0]
    if tok.startswith(("/", "./", "~/", "@")) or low.endswith((".sock", ".socket")) or "\\\\.\\pipe" in low:
        return _Target(path=tok, protocol=UNIX)
    if tok.isdigit():
        return _Target(port=_port(tok), protocol=protocol)
    if tok.startswith("["):
        host, _, rest = tok[1:].partition("]")
        return _Target(_port(rest[1:]) if rest.startswith(":") else None, _address(host), None, protocol)
    host, sep, port = tok.rpartition(":")
    if sep and port.isdigit():
        return _Target(_port(port), _address(host), None, protocol)
    if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f:]{2,64}|localhost", tok, re.IGNORECASE):
        return _Target(address=_address(tok), protocol=protocol)
    return _Target(protocol=protocol)


class _Hit(Record):
    rule_index: int
    line_index: int
    line: str
    kind: str
    port: int | None
    address: str | None
    path: str | None
    protocol: str | None
    errno: str | None
    has_target: bool


def _hit(rule_index: int, line_index: int, line: str, m: re.Match[str]) -> _Hit | None:
    rule = RULES[rule_index]
    g = {k: v for k, v in m.groupdict().items() if v is not None}
    reason = g.get("reason", "")
    errno = g.get("errno")
    kind = rule.kind
    if kind is None:
        kind = classify(errno) if errno and classify(errno) != UNKNOWN else classify(reason or m.group())
    if rule.strict and kind == UNKNOWN:
        return None
    target = _split_target(g["target"]) if "target" in g else _Target()
    port = _port(g.get("port")) or target.port
    address = _address(g.get("addr")) or target.address
    path = g.get("path") or target.path
    protocol = target.protocol
    proto = g.get("proto", "").lower()
    if proto in ("udp", "tcp", "unix"):
        protocol = proto
    elif proto == "unix" or path:
        protocol = UNIX
    return _Hit(
        rule_index, line_index, line, kind, port, address, path, protocol, errno, "target" in g or "addr" in g
    )


def _candidates(text: str) -> list[int]:
    """The indexes of the rules whose needles the (lower-case) ``text`` holds, in rule order."""
    present = [n for n in _TRIGGERS if n in text]
    if not present:
        return []
    return sorted({i for n in present for i in _RULES_BY_NEEDLE[n]})


def _match_line(line: str, line_index: int) -> list[_Hit]:
    """Every rule that matches ``line`` (in rule order), on bounded views of it."""
    low = line.lower()
    if not any(w in low for w in _COARSE):
        return []
    hits: list[_Hit] = []
    views = _views(line, low)
    for view in views:
        text = low if len(views) == 1 else view.lower()
        for index in _candidates(text):
            if any(h.rule_index == index for h in hits):
                continue
            m = RULES[index].pattern.search(view)
            if m is not None:
                h = _hit(index, line_index, line, m)
                if h is not None:
                    hits.append(h)
    hits.sort(key=lambda h: h.rule_index)
    return hits


def _joined(lines: list[str], i: int) -> list[str]:
    """Line ``i`` joined with the next one, for messages wrapped mid-line or mid-word."""
    if i + 1 >= len(lines):
        return []
    nxt = _CONTINUATION_PREFIX.sub("", _bounded(lines[i + 1])).strip()
    head = _bounded(lines[i]).rstrip()
    return [head + " " + nxt, head + nxt] if nxt else []


def _better(a: _Hit, b: _Hit) -> bool:
    """Does ``a`` tell more than ``b`` about the same failure?"""
    return (a.kind != UNKNOWN, a.port is not None or a.path is not None) > (
        b.kind != UNKNOWN,
        b.port is not None or b.path is not None,
    )


def _hits(lines: list[str]) -> list[_Hit]:
    found: list[_Hit] = []
    single = [_match_line(line, i) for i, line in enumerate(lines)]
    for i, line in enumerate(lines):
        hits = single[i]
        best = min(hits, key=lambda h: h.rule_index) if hits else None
        incomplete = best is None or best.kind == UNKNOWN or (best.port is None and best.path is None)
        if incomplete and (hits or _candidates(_bounded(line).lower())):
            # A message wrapped at the terminal's width: try it joined with the next line.
            views = _joined(lines, i)
            alone = {h.rule_index for h in single[i + 1]} if views else set()
            for view in views:
                for h in _match_line(view, i):
                    if h.rule_index in alone:
                        continue  # the next line says it by itself
                    if best is None or (h.rule_index <= best.rule_index and _better(h, best)):
                        h = _Hit(
                            h.rule_index,
                            i,
                            line,
                            h.kind,
                            h.port,
                            h.address,
                            h.path,
                            h.protocol,
                            h.errno,
                            h.has_target,
                        )
                        hits.append(h)
                        best = h
        found.extend(hits)
    return found


def _port_near(lines: list[str], index: int) -> tuple[int | None, str | None]:
    """The port (and its host) named closest to line ``index`` (the error's own line first)."""
    best: tuple[int, int, int] | None = None
    found: tuple[int | None, str | None] = (None, None)
    lo, hi = max(0, index - _NEIGHBOURS), min(len(lines), index + _NEIGHBOURS + 1)
    for n in range(lo, hi):
        line = _bounded(lines[n])
        for strength, pattern in enumerate(_PORT_HINTS):
            for m in pattern.finditer(line):
                groups = m.groupdict()
                target = _split_target(groups["target"]) if groups.get("target") else _Target()
                port = _port(groups.get("port") or groups.get("bare") or groups.get("bare2")) or target.port
                if port is None:
                    continue
                # Nearest line first, then the stronger hint; at equal distance a line above
                # the error wins (a port printed before the failure is the one it tried).
                key = (abs(n - index), strength, 0 if n <= index else 1)
                if best is None or key < best:
                    best, found = key, (port, _address(groups.get("addr")) or target.address)
    if best is None:
        # A port split over lines (Erlang's proplists print "{port,\n 1883}"): join the lines
        # above the error and look again.
        block = " ".join(_bounded(lines[n]).strip() for n in range(max(0, index - 15), index + 1))
        joined = _PORT_HINTS[1].search(block)
        if joined:
            return _port(joined.group("port")), None
    return found


def _address_near(lines: list[str], index: int) -> str | None:
    for n in range(index, min(len(lines), index + _NEIGHBOURS)):
        for pattern in _ADDRESS_HINTS:
            m = pattern.search(_bounded(lines[n]))
            if m:
                if m.groupdict().get("ip"):
                    return _erlang_ip(m.group("ip"))
                return _address(m.group("addr"))
    return None


def _erlang_ip(parts: str) -> str | None:
    numbers = [p.strip() for p in parts.split(",")]
    if len(numbers) == 4 and all(p.isdigit() for p in numbers):
        return ".".join(numbers)
    if len(numbers) == 8 and all(p.isdigit() for p in numbers):
        import ipaddress

        return str(ipaddress.IPv6Address(bytes(b for n in numbers for b in int(n).to_bytes(2, "big"))))
    return None


def _platform(hit: _Hit, lines: list[str]) -> str | None:
    if hit.errno and hit.errno in _ERRNO_PLATFORMS:
        return _ERRNO_PLATFORMS[hit.errno]
    lo, hi = max(0, hit.line_index - 5), min(len(lines), hit.line_index + _NEIGHBOURS)
    for n in range(lo, hi):
        line = _bounded(lines[n])
        if _WINDOWS_WORDS.search(line):
            return "windows"
        if "AirPlay Receiver" in line:
            return "macos"
        for m in _PLATFORM_HINTS.finditer(line):
            number = next(v for v in m.groups() if v is not None)
            if number in _ERRNO_PLATFORMS:
                return _ERRNO_PLATFORMS[number]
    return None


def _protocol(hit: _Hit, lines: list[str]) -> str:
    if hit.protocol in (UDP, UNIX):
        return hit.protocol
    if hit.protocol == TCP:
        return TCP
    # Node's dgram names itself only in the stack below the error ("at node:dgram:..."),
    # Python's SOCK_DGRAM or a socket kind in the lines around it.
    lo, hi = max(0, hit.line_index - 3), min(len(lines), hit.line_index + 15)
    for n in range(lo, hi):
        if _UDP_HINTS.search(_bounded(lines[n])):
            return UDP
    return TCP


def _new_port(hit: _Hit, lines: list[str], port: int | None) -> int | None:
    """The port a server that moved on went to: the first other port named after the notice."""
    for n in range(hit.line_index, min(len(lines), hit.line_index + 30)):
        for m in _NEW_PORT.finditer(_bounded(lines[n])):
            other = _port(m.group("port"))
            if other is not None and other != port:
                return other
    return None


# A client's failure, not a server's: "connect EADDRNOTAVAIL" (out of ephemeral ports), a
# Python traceback through socket.connect() or create_connection().
_CLIENT = re.compile(
    r"\bconnect(?:_ex)?\(|\bcreate_connection\b|\bconnect E[A-Z]{4,20}\b|\bsock_connect\b"
    r"|syscall: ['\"]connect['\"]|TCPConnectWrap"
)
_SERVER = re.compile(
    r"\bbind\(|\blisten\(|\bcreate_server\b|\bserver_bind\b|\bserve\b|\bstart_server\b|\bListen"
    r"|syscall: ['\"](?:listen|bind)['\"]"
)


def _client_side(hit: _Hit, lines: list[str]) -> bool:
    """Is this errno line the end of a client's connect, not of a bind? (Only for bare errnos.)"""
    if not RULES[hit.rule_index].bare:
        return False
    lo, hi = max(0, hit.line_index - 8), min(len(lines), hit.line_index + 5)
    above = [_bounded(lines[n]) for n in range(lo, hi)]
    return any(_CLIENT.search(x) for x in above) and not any(_SERVER.search(x) for x in above)


def _excerpt(line: str, rule: Rule) -> str:
    """The error line, or the part of a long one around the message."""
    line = line.strip()
    if len(line) <= 400:
        return line
    low = line.lower()
    at = min((i for i in (low.find(n) for n in rule.needles) if i >= 0), default=0)
    start = max(0, at - 100)
    return ("\u2026" if start else "") + line[start : start + 400] + "\u2026"


def parse_lines(lines: list[str]) -> BindError | None:
    """The bind failure the (already split) ``lines`` report, or None."""
    lines = [_clean(line) for line in lines]
    hits = _hits(lines)
    strong = [h for h in hits if not RULES[h.rule_index].weak and not _client_side(h, lines)]
    if not strong:
        return None
    primary = min(strong, key=lambda h: (h.rule_index, h.line_index))
    rule = RULES[primary.rule_index]
    kind, port, address, path = primary.kind, primary.port, primary.address, primary.path
    # Other matches nearby may name what the first did not (PostgreSQL's HINT names the port,
    # Minecraft's exception line the reason): take each from the one closest to the error line.
    others = sorted(
        (h for h in hits if h is not primary and abs(h.line_index - primary.line_index) <= _NEIGHBOURS),
        key=lambda h: (abs(h.line_index - primary.line_index), h.line_index < primary.line_index),
    )
    for other in others:
        if port is None and path is None and other.port is not None:
            port = other.port
        if address is None and not primary.has_target and other.address:
            address = other.address
        if path is None and port is None and other.path:
            path = other.path
        if kind == UNKNOWN and other.kind != UNKNOWN:
            kind = other.kind
    if port is None and path is None:
        port, near_address = _port_near(lines, primary.line_index)
        if address is None and not primary.has_target:
            address = near_address
    if address is None and not primary.has_target:
        address = _address_near(lines, primary.line_index)
    protocol = UNIX if path else _protocol(primary, lines)
    platform = _platform(primary, lines)
    new_port = _new_port(primary, lines, port) if rule.moved_on else None
    return BindError(
        port=None if path else port,
        kind=kind,
        runtime=rule.runtime,
        address=None if path else address,
        line=_excerpt(primary.line, rule),
        platform=platform,
        protocol=protocol,
        path=path,
        moved_on=rule.moved_on,
        new_port=new_port,
    )


def parse_bind_error(text: str) -> BindError | None:
    """The bind failure ``text`` reports, or None when it holds none we recognise."""
    if not text:
        return None
    return parse_lines(text.splitlines())


class BindErrorScanner:
    """Read output line by line and say when a bind error (with its context) has been read.

    A runtime prints the error line and then, at once, what completes it (Node's error object
    and stack, PostgreSQL's HINT, Minecraft's exception): once an error line is seen, the
    scanner waits for ``context`` more lines (or for its caller to see the output go quiet)
    before it answers. Memory is bounded: only the last ``keep`` lines are held.
    """

    def __init__(self, context: int = 30, keep: int = 400) -> None:
        self.context = context
        self._lines: deque[str] = deque(maxlen=keep)
        self._since: int | None = None  # lines read since the first error line

    def feed(self, line: str) -> None:
        """Take one more line of output."""
        self._lines.append(line)
        if self._since is not None:
            self._since += 1
        elif any(not RULES[h.rule_index].weak for h in _match_line(_clean(line), 0)):
            self._since = 0

    @property
    def pending(self) -> bool:
        """An error line has been read; its context may still be coming."""
        return self._since is not None

    @property
    def ready(self) -> bool:
        """Enough has been read to answer."""
        return self._since is not None and self._since >= self.context

    def result(self) -> BindError | None:
        """The bind error read so far (None if none)."""
        return parse_lines(list(self._lines))


def scan(lines: Iterable[str]) -> BindError | None:
    """The first bind error in a stream of lines, read only as far as needed."""
    scanner = BindErrorScanner()
    for line in lines:
        scanner.feed(line)
        if scanner.ready:
            break
    return scanner.result()


class Explanation(Record):
    """A bind error, what it means, and the diagnosis of its port as it is now."""

    error: BindError
    advice: str | None
    diagnosis: Diagnosis | None  # None: no port known, or a Unix socket / named pipe
    # Where the port came from when the text names none: the command writing to the pipe
    # ``explain`` read (upstream.py); None when the text names it, or nothing does.
    origin: Origin | None = None

    @property
    def port(self) -> int | None:
        """The port diagnosed: the one the text names, else the one its writer's command uses."""
        if self.error.port is not None or self.origin is None:
            return self.error.port
        return self.origin.port

    @property
    def port_source(self) -> str | None:
        """"text", "command" (the writer's command line names it), "default" (its server's
        default port), or None (no port known)."""
        if self.error.port is not None:
            return "text"
        return self.origin.source if self.origin is not None else None

    def to_dict(self) -> dict[str, Any]:
        """JSON form (``portdoctor explain --json``; schema in README.md)."""
        return {
            "port": self.port,
            "port_source": self.port_source,
            "writer": self.origin.to_dict() if self.origin is not None else None,
            "error": self.error.to_dict(),
            "advice": self.advice,
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis is not None else None,
        }


def diagnose_error(error: BindError, port: int | None = None) -> Diagnosis | None:
    """The diagnosis of the port ``error`` names (else ``port``: where it came from is the
    caller's), over its protocol; None without a port, or for a Unix socket."""
    from .diagnose import why
    from .errors import UsageError

    port = error.port if error.port is not None else port
    if port is None or error.protocol not in (TCP, UDP):
        return None
    try:
        return why(port, error.protocol, host=error.address)
    except UsageError:
        # A host name the probe cannot bind ("myhost.local"): diagnose the port alone.
        return why(port, error.protocol)


def explain(text: str | Iterable[str], *, diagnose: bool = True) -> Explanation | None:
    """What the bind error in ``text`` means and who holds its port now; None if it holds none.

    ``text`` is the output of a server that failed to start, whole (a string) or as lines (any
    iterable: a file, a pipe), which are read only as far as the first error and its context.
    ``diagnose=False`` skips looking at the port (no processes or sockets are read).
    """
    error = parse_bind_error(text) if isinstance(text, str) else scan(text)
    if error is None:
        return None
    return Explanation(error, advice(error), diagnose_error(error) if diagnose else None)


def is_named_pipe(path: str | None) -> bool:
    """Is ``path`` a Windows named pipe (``\\\\.\\pipe\\name``), not a Unix socket file?"""
    return (path or "").startswith(("\\\\.\\", "\\\\?\\"))


def advice(error: BindError) -> str | None:
    """One line on what a permission, address, Unix socket or move-on failure means; else None."""
    if error.protocol == UNIX and is_named_pipe(error.path):
        return (
            f"this is a Windows named pipe, not a TCP port: another instance of the program still "
            f"has {error.path} open; the pipe goes away when that instance exits"
        )
    if error.protocol == UNIX:
        where = error.path or "the socket file"
        return (
            f"this is a Unix socket file, not a TCP port: another server listens on {where}, or a "
            "server that crashed left the file behind. 'ss -xlp' shows whether anything listens on "
            "it; if nothing does, remove the file and start again"
        )
    if error.moved_on:
        to = f"port {error.new_port}" if error.new_port else "another port"
        old = f"port {error.port}" if error.port is not None else "the old port"
        return (
            f"the server did not stop: it moved to {to}, so a browser, proxy or client set up for "
            f"{old} now reaches whatever holds {old}"
        )
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
    by = f" ({error.runtime})" if error.runtime != "unknown" else ""
    if error.protocol == UNIX:
        kind = "named pipe" if is_named_pipe(error.path) else "Unix socket"
        path = error.path or f"a {kind}"
        what = {
            IN_USE: f"the {kind} {path} is already in use",
            PERMISSION: f"permission denied to create the {kind} {path}",
        }.get(error.kind, f"binding the {kind} {path} failed")
        return what + by
    port = f"port {error.port}" if error.port is not None else "the port"
    if error.port is not None and error.protocol == UDP:
        port += "/udp"
    elif error.protocol == UDP:
        port = "the UDP port"
    what = {
        IN_USE: f"{port} is already in use",
        PERMISSION: f"permission denied to bind {port}",
        NOT_AVAILABLE: f"cannot bind {port}: address not available",
    }.get(error.kind, f"binding {port} failed")
    if error.address and error.kind != NOT_AVAILABLE:
        what += f" on {error.address}"
    elif error.address:
        what += f" ({error.address})"
    if error.moved_on:
        what += (
            f"; the server moved on to port {error.new_port}" if error.new_port else "; the server moved on"
        )
    return what + by
