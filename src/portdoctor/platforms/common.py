"""Types shared by the platform back-ends."""

from __future__ import annotations

from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..model import Socket


class ProcessFacts(Record):
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


COMM_BYTES = 15  # the kernel keeps this much of a program's name (TASK_COMM_LEN 16, with its NUL)
NAME_MAX = 255  # the longest file name: a basename beyond it is no program's name


def full_name(comm: str, cmdline: Sequence[str]) -> str:
    """The program's name, not cut to 15 bytes: /proc/PID/comm (or stat's name) keeps only the
    first 15 bytes, so "my-long-server-name" shows as "my-long-server-". When ``comm`` has that
    length and starts the basename of ``argv[0]``, that basename is the name (as psutil does).

    A cut multi-byte character decodes as U+FFFD: it is left out of the prefix test. The result
    is as foreign as ``comm``: escape it when printing it.
    """
    if not cmdline or len(comm.encode("utf-8", "surrogateescape")) < COMM_BYTES:
        return comm
    base = cmdline[0].rpartition("/")[2]
    stem = comm.rstrip("\ufffd")
    if (
        len(base) > len(stem)
        and base.startswith(stem)
        and len(base.encode("utf-8", "surrogateescape")) <= NAME_MAX
    ):
        return base
    return comm


_USERS: dict[int, str | None] = {}


def posix_username(uid: int | None) -> str | None:
    """The login name of ``uid`` from the password database (cached), or None."""
    if uid is None:
        return None
    if uid not in _USERS:
        import pwd

        try:
            _USERS[uid] = pwd.getpwuid(uid).pw_name
        except KeyError:
            _USERS[uid] = None
    return _USERS[uid]


# What pin() says when it cannot hold a process (_free.py words the step result from these).
GONE = "already gone"
DENIED = "permission denied"
RECYCLED = "recycled"


def same_start(expected: float | None, seen: float | None) -> bool:
    """True when two start times are the same process's (a pid alone is recycled)."""
    return expected is not None and seen is not None and abs(expected - seen) < 0.01


def sudo_hint(s: Socket) -> str:
    """The command that shows the holder of ``s`` to root, as it works for this install."""
    from ..invocation import sudo_command

    return sudo_command("why", str(s.port), *(["--udp"] if s.protocol == "udp" else []))
