"""The contract every back-end module implements (``linux.py``, ``generic.py``).

A back-end is a module, checked against :class:`Backend` by mypy (``platforms.current`` is typed
as one) and at run time by tests/test_backends.py, which runs every back-end available here
through the same calls. Nothing outside ``platforms/`` asks which back-end it has: what differs
between platforms is behind these functions.

Imported for type checking and by the tests only (``typing`` is not on the start-up path).
"""

from __future__ import annotations

from typing import Protocol

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..model import Hidden, Socket
    from .common import ProcessFacts


class Pinned(Protocol):
    """A process held still (a pidfd, a psutil.Process): a signal can reach only that process."""

    pid: int

    def signal(self, kill: bool = False) -> str:
        """SIGTERM it (SIGKILL / TerminateProcess with ``kill``): "sent", GONE, DENIED or RECYCLED."""
        ...

    def alive(self) -> bool:
        """True while it has not exited."""
        ...

    def close(self) -> None:
        """Release what holds it."""
        ...


class Backend(Protocol):
    """What portdoctor needs from a platform."""

    NAME: str  # "linux", "macos", "windows" or "bsd"

    def sockets(
        self,
        port: int | None,
        protocols: Sequence[str] = ...,
        *,
        listening_only: bool = ...,
        all_netns: bool = ...,
        pids: Sequence[int] | None = ...,
    ) -> list[Socket]:
        """Sockets whose local port is ``port`` (every port when None); holders may be empty."""
        ...

    def attach_holders(
        self, found: Sequence[Socket], pids: Sequence[int] | None = ...
    ) -> tuple[list[Socket], list[Hidden], set[int]]:
        """The sockets with their holders, the ones nobody visible holds, the pids not readable."""
        ...

    def process(self, pid: int) -> ProcessFacts | None:
        """Raw facts about one process, None when it is gone."""
        ...

    def environ(self, pid: int) -> dict[str, str] | None:
        """Its environment (size-capped), None when unreadable."""
        ...

    def cgroup(self, pid: int) -> str | None:
        """Its cgroup path (Linux), else None."""
        ...

    def children(self, pid: int) -> list[int]:
        """Its direct children."""
        ...

    def all_pids(self) -> list[int]:
        """Every process id."""
        ...

    def pipe_writers(self, fd: int) -> list[int]:
        """The other processes holding the write end of the pipe our ``fd`` reads (``cmd |
        portdoctor explain``); [] when ``fd`` is no pipe, or the platform cannot tell (psutil
        lists no pipes: the generic back-end always answers [])."""
        ...

    def start_time(self, pid: int) -> float | None:
        """When it started (seconds since the epoch): with the pid, a process's identity."""
        ...

    def username(self, uid: int | None) -> str | None:
        """The login name of ``uid``, or None."""
        ...

    def pin(self, pid: int, started: float | None) -> tuple[Pinned | None, str | None]:
        """Hold the process ``pid`` that started at ``started``; (None, why) when it cannot be."""
        ...


__all__ = ["Backend", "Pinned"]
