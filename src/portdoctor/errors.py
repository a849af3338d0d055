"""Every exception portdoctor raises on purpose, and the exit code each maps to.

The hierarchy (the CLI prints ``portdoctor: <message>`` and exits with ``exit_status``)::

    PortdoctorError                      exit 1 unless said otherwise
    ├── UsageError (ValueError)          exit 2: bad input (a port, a range, a name, a timeout)
    ├── MissingDependency (ImportError)  exit 2: an optional package this command needs
    ├── RegistryError                    exit 2: the registry file is damaged, locked, unwritable
    ├── RefusedError                     exit 3: portdoctor will not do this
    │   └── FreeRefused                  free's refusal, with the FreeResult that says why
    ├── PermissionProblem (PermissionError)  exit 4: the answer needs a privilege we lack
    ├── NoFreePort                       exit 1: pick found no safe free port
    ├── ReservationConflict              exit 1: a name's port is taken by another name
    ├── PortBusy                         exit 1: run: the port is busy and --on-busy said stop
    ├── CommandNotStarted                exit 126/127: run: the command cannot be executed
    └── DockerUnavailable                the Docker engine could not be asked (a note, never exit)

    PortInUseError (OSError)             bind_or_explain(): a failed bind with its diagnosis
    └── PortPermissionError (PermissionError)  the EACCES case
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from ._free import FreeResult
    from .model import Diagnosis


class ExitStatus:
    """Exit codes of the ``portdoctor`` command (documented in README.md)."""

    OK = 0  # the port is free / the action succeeded
    IN_USE = 1  # the port is in use / the port could not be freed / timed out
    USAGE = 2  # bad input: a port out of range, an unknown flag, an empty range...
    REFUSED = 3  # portdoctor refused to act (pid 1, its own ancestor, another user's process...)
    PERMISSION = 4  # the answer needs a privilege we do not have (say what would help)
    INTERRUPTED = 130
    BROKEN_PIPE = 141  # the reader of the output went away (128 + SIGPIPE, as a shell says)


class PortdoctorError(Exception):
    """Base class of every error portdoctor raises on purpose."""

    exit_status = ExitStatus.IN_USE


class UsageError(PortdoctorError, ValueError):
    """Bad input from the user: a port out of range, a bad range, a bad name."""

    exit_status = ExitStatus.USAGE


class RefusedError(PortdoctorError):
    """portdoctor will not do this (pid 1, its own ancestor, another user's process...)."""

    exit_status = ExitStatus.REFUSED


class PermissionProblem(PortdoctorError, PermissionError):
    """The answer needs privileges we do not have; the message says what would help."""

    exit_status = ExitStatus.PERMISSION


class MissingDependency(PortdoctorError, ImportError):
    """An optional Python package this command needs is not installed (one line says which)."""

    exit_status = ExitStatus.USAGE

    def __init__(self, package: str, needed_by: str, requirement: str | None = None) -> None:
        super().__init__(
            f"{needed_by} needs the Python package {package!r}, which is not installed here;"
            f" install it where portdoctor runs: {install_command(requirement or package)}"
        )
        self.package = package


def install_command(requirement: str) -> str:
    """The command that installs ``requirement`` into the environment this portdoctor runs in:
    ``pipx inject`` for a pipx install, ``uv pip`` for a uv tool, else this interpreter's pip."""
    import os
    import sys

    from .quoting import quote

    parts = os.path.normpath(sys.prefix).split(os.sep)
    if "pipx" in parts and "venvs" in parts:
        return f"pipx inject portdoctor {quote(requirement)}"
    if "uv" in parts and "tools" in parts:
        return f"uv pip install --python {quote(sys.executable)} {quote(requirement)}"
    return f"{quote(sys.executable)} -m pip install {quote(requirement)}"


class RegistryError(PortdoctorError):
    """The port registry (SQLite) is corrupt, locked or not writable."""

    exit_status = ExitStatus.USAGE


class FreeRefused(RefusedError):
    """``free`` refused to act on a port; ``result`` carries the reasons (exit 3)."""

    def __init__(self, result: FreeResult) -> None:
        super().__init__(f"refused to free {result.port}/{result.protocol}: " + "; ".join(result.refused))
        self.result = result


class NoFreePort(PortdoctorError):
    """Every candidate port of the range is in use or unsafe."""

    exit_status = ExitStatus.IN_USE


class ReservationConflict(PortdoctorError):
    """The name already has another port, or the port already belongs to another name."""

    exit_status = ExitStatus.IN_USE


class PortBusy(PortdoctorError):
    """The port is in use and ``--on-busy`` said not to take it (exit 1)."""

    exit_status = ExitStatus.IN_USE

    def __init__(self, message: str, diagnosis: Diagnosis | None = None) -> None:
        super().__init__(message)
        self.diagnosis = diagnosis


class CommandNotStarted(PortdoctorError):
    """The command does not exist or cannot be executed (exit 127 or 126, like a shell)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.exit_status = status


class DockerUnavailable(PortdoctorError):
    """The engine could not be asked (not running, not reachable, no permission, too slow)."""


class PortInUseError(OSError):
    """A bind that failed with EADDRINUSE, EACCES or EADDRNOTAVAIL, and what portdoctor saw.

    ``errno`` is the bind's errno; ``diagnosis`` is the :class:`~portdoctor.model.Diagnosis`
    of the port (None when it could not be made); ``address`` is the address that was asked for.
    """

    def __init__(self, code: int, message: str, address: Any, diagnosis: Diagnosis | None) -> None:
        super().__init__(code, message)
        self.address = address
        self.diagnosis = diagnosis


class PortPermissionError(PortInUseError, PermissionError):
    """The EACCES case: also a PermissionError, as Python raises for it."""


def parse_protocol(protocol: str) -> str:
    """``protocol`` if it is 'tcp' or 'udp', else UsageError (one validator for every command)."""
    if protocol not in ("tcp", "udp"):
        raise UsageError(f"invalid protocol {shown(protocol)}: expected 'tcp' or 'udp'")
    return protocol


def parse_protocols(protocols: str | Iterable[str]) -> tuple[str, ...]:
    """``protocols`` as a tuple of 'tcp'/'udp', each checked by :func:`parse_protocol`; one
    protocol may be given as a string (``find(3000, "udp")``, as ``why(3000, "udp")``)."""
    if isinstance(protocols, str):
        return (parse_protocol(protocols),)
    try:
        items = tuple(protocols)
    except TypeError:
        raise UsageError(f"invalid protocol {shown(protocols)}: expected 'tcp' or 'udp'") from None
    return tuple(parse_protocol(p) for p in items)


_NAN, _INF = float("nan"), float("inf")  # not math: errors.py is on every command's start-up


def parse_seconds(value: float | str, *, what: str = "timeout") -> float:
    """``value`` as a finite number of seconds >= 0, else UsageError (one validator for every
    timeout and interval, the library's and the CLI's: text is read as a number)."""
    number: float
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        number = _NAN
    elif isinstance(value, str):
        try:
            number = float(value) if value.strip() else _NAN
        except ValueError:
            number = _NAN
    else:
        number = float(value)
    if not 0 <= number < _INF:  # also rejects NaN
        raise UsageError(f"invalid {what} {shown(value)}: expected a number of seconds >= 0")
    return number


def parse_port_and_protocol(
    port: int | str, protocol: str | None = None, host: str | None = None, *, what: str = "port"
) -> tuple[int, str, str | None]:
    """(port, protocol, host) of a port as the library takes it: a number, or text as people paste
    it (``3000/udp``, ``127.0.0.1:3000``: :func:`parse_target`), whose protocol and address count
    unless given too. ``protocol`` None is the pasted one, else "tcp"; a given one that says
    otherwise than the text is a UsageError (``why("5353/udp", "tcp")``), never a silent answer
    about the other protocol. ``host`` None is the pasted address."""
    number, pasted_host, pasted_protocol = _pasted_port(port, what, False)
    if protocol is None:
        protocol = pasted_protocol or "tcp"
    protocol = parse_protocol(protocol)
    if pasted_protocol is not None and pasted_protocol != protocol:
        given = f"protocol {protocol!r} was given"
        raise UsageError(f"{shown(port)} is a {pasted_protocol.upper()} port, but {given}")
    return number, protocol, host if host is not None else pasted_host


# Default ports of the URL schemes people paste (http://localhost/ is port 80).
_SCHEMES = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}


def parse_target(text: str, *, what: str = "port") -> tuple[int, str | None, str | None]:
    """A port as people paste it: (port, address or None, "tcp"/"udp" or None).

    ``3000``, ``:3000``, ``:::3000`` (as Node prints it), ``[::]:3000``, ``0.0.0.0:3000``,
    ``localhost:3000``, ``3000/tcp`` and ``3000/udp`` (fuser), ``http://localhost:3000/``.
    Raises UsageError (one line) for anything else.
    """
    s = text.strip()
    protocol: str | None = None
    host: str | None = None
    scheme, sep, rest = s.partition("://")
    if sep and scheme.isascii() and scheme.isalpha():
        authority = rest.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0].rsplit("@", 1)[-1]
        h, port_text = _split_host(authority)
        if port_text is None:
            if scheme.lower() not in _SCHEMES:
                raise UsageError(f"invalid {what} {text!r}: the URL names no port")
            port_text = str(_SCHEMES[scheme.lower()])
        return _number(port_text, text, what), h or None, None
    low = s.lower()
    if low.endswith(("/tcp", "/udp")):
        protocol, s = low[-3:], s[:-4]
    h, port_text = _split_host(s)
    if port_text is None:
        port_text, h = s, None
    if h is not None and h != "::" and h.endswith(":"):  # ::1 alone: an address, no port
        raise UsageError(f"invalid {what} {text!r}: expected a port, or ADDRESS:PORT")
    if h is not None:
        host = h or None
    return _number(port_text, text, what), host, protocol


def _split_host(text: str) -> tuple[str | None, str | None]:
    """``[::1]:80`` -> ("::1", "80"); ``:::80`` -> ("::", "80"); ``80`` -> (None, None)."""
    if text.startswith("["):
        host, sep, port = text[1:].partition("]:")
        return (host, port) if sep else (None, None)
    if ":" not in text:
        return None, None
    host, _, port = text.rpartition(":")
    return host, port


def parse_port(text: str | int, *, what: str = "port", allow_zero: bool = False) -> int:
    """Parse a TCP/UDP port number given by a user; raise UsageError with one clear line.

    The pasted forms of :func:`parse_target` (``:::3000``, ``localhost:3000``, ``3000/udp``, a
    URL) are accepted too; their address and protocol are left out.
    """
    return _pasted_port(text, what, allow_zero)[0]


def _pasted_port(text: str | int, what: str, allow_zero: bool) -> tuple[int, str | None, str | None]:
    """(port, address or None, protocol or None) of a port given as a number or as pasted text."""
    if isinstance(text, bool):
        raise UsageError(f"invalid {what}: {text!r}")
    if isinstance(text, int):
        return _number(text, text, what, allow_zero), None, None
    if not isinstance(text, str):  # None, 3000.0...: a port is a whole number
        low = 0 if allow_zero else 1
        raise UsageError(f"invalid {what} {shown(text)}: expected a number from {low} to 65535")
    s = text.strip()
    if s.startswith(":") and s[1:].isdigit():
        s = s[1:]
    if not s.isdigit() and s.isascii() and any(c in s for c in ":/"):
        return parse_target(s, what=what)
    return _number(s, text, what, allow_zero), None, None


def _number(s: str | int, text: str | int, what: str, allow_zero: bool = False) -> int:
    """``s`` as a port number (``text`` is what the user wrote, for the message)."""
    if isinstance(s, int):
        value = s
    else:
        if not s.isdigit() or not s.isascii():
            raise UsageError(f"invalid {what} {shown(text)}: expected a number from 1 to 65535")
        # int() of a 5000-digit string raises ValueError (Python's digit limit): never get there.
        value = int(s) if len(s.lstrip("0")) <= 5 else 65536
    low = 0 if allow_zero else 1
    if not low <= value <= 65535:
        raise UsageError(f"invalid {what} {shown(text)}: expected a number from {low} to 65535")
    return value


def shown(text: object) -> str:
    """The user's input as an error message shows it: quoted, escaped, at most 40 characters."""
    s = repr(text)
    return s if len(s) <= 40 else s[:37] + "..."
