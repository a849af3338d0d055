"""The few exceptions portdoctor raises; each maps to one exit code of the CLI."""

from __future__ import annotations


class ExitStatus:
    """Exit codes of the ``portdoctor`` command (documented in README.md)."""

    OK = 0  # the port is free / the action succeeded
    IN_USE = 1  # the port is in use / the port could not be freed / timed out
    USAGE = 2  # bad input: a port out of range, an unknown flag, an empty range...
    REFUSED = 3  # portdoctor refused to act (pid 1, its own ancestor, another user's process...)
    PERMISSION = 4  # the answer needs a privilege we do not have (say what would help)
    INTERRUPTED = 130


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

    def __init__(self, package: str, needed_by: str) -> None:
        super().__init__(
            f"{needed_by} needs the Python package {package!r}, which is not installed"
            f" (python3 -m pip install {package}, or install portdoctor with pip/pipx)"
        )
        self.package = package


class NoSuchProcess(PortdoctorError):
    """The process went away (or its pid was recycled) while we looked at it."""

    def __init__(self, pid: int, msg: str | None = None) -> None:
        super().__init__(msg or f"process {pid} no longer exists")
        self.pid = pid


class RegistryError(PortdoctorError):
    """The port registry (SQLite) is corrupt, locked or not writable."""

    exit_status = ExitStatus.USAGE


def parse_port(text: str | int, *, what: str = "port", allow_zero: bool = False) -> int:
    """Parse a TCP/UDP port number given by a user; raise UsageError with one clear line."""
    if isinstance(text, bool):
        raise UsageError(f"invalid {what}: {text!r}")
    if isinstance(text, int):
        value = text
    else:
        s = text.strip()
        if s.startswith(":"):
            s = s[1:]
        if not s.isdigit() or not s.isascii():
            raise UsageError(f"invalid {what} {shown(text)}: expected a number from 1 to 65535")
        # int() of a 5000-digit string raises ValueError (Python's digit limit): never get there.
        value = int(s) if len(s.lstrip("0")) <= 5 else 65536
    low = 0 if allow_zero else 1
    if not low <= value <= 65535:
        raise UsageError(f"invalid {what} {shown(text)}: expected a number from {low} to 65535")
    return value


def shown(text: str | int) -> str:
    """The user's input as an error message shows it: quoted, escaped, at most 40 characters."""
    s = repr(text)
    return s if len(s) <= 40 else s[:37] + "..."
