"""Types shared by the platform back-ends."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProcessFacts:
    """Raw facts about one process, as a back-end reads them."""

    pid: int
    ppid: int
    name: str
    cmdline: tuple[str, ...]
    exe: str | None
    uid: int | None
    user: str | None
    cwd: str | None
    started: float | None  # seconds since the epoch
    tty: str | None
    kernel_thread: bool = False
