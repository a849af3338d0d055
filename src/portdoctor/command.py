"""Running other programs: which ones may run, as whom, and with a timeout.

Programs come only from portdoctor's own PATH, and only from places no other user can write
(:func:`find_program`): never from a holder's argv, environment, working directory or files,
which another user controls. A manager's client that acts for another user runs *as* that user
(:func:`run_command` with ``user``): their uid, gid, groups and HOME, set in the child before it
executes, never root in their home.
"""

from __future__ import annotations

import os
import stat

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from .model import Account


class CommandResult:
    """What a command did: its exit status and output, or why it did not run."""

    __slots__ = ("returncode", "stdout", "stderr", "error", "timed_out")

    def __init__(
        self,
        returncode: int | None,
        stdout: str = "",
        stderr: str = "",
        error: str | None = None,
        timed_out: bool = False,
    ):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.error = error  # "not found", "no answer within 3s"... (returncode is None)
        self.timed_out = timed_out  # it ran, and was killed (with its session) at the timeout

    @property
    def ok(self) -> bool:
        """True when it ran and exited 0."""
        return self.returncode == 0

    def reason(self) -> str:
        """One line on what went wrong ('' when it did not)."""
        if self.error:
            return self.error
        if self.returncode == 0:
            return ""
        import re

        lines = (self.stderr.strip() or self.stdout.strip()).splitlines()
        # A crash's trace ends with noise ("Node.js v20.1.0", "}"): its "Error: ..." line says more.
        error = re.compile(r"^\s*[\w.]*(?:Error|Exception)\b[^:]*: ")
        errors = [line.strip() for line in lines if error.match(line)]
        last = errors[-1:] or lines[-1:] or [""]
        return f"exit {self.returncode}: {last[0][:200]}".rstrip(": ")


def _unwritable(path: str) -> bool:
    """True when no user but root and us can change ``path`` (owner, group and mode checked)."""
    me = os.geteuid() if hasattr(os, "geteuid") else 0
    try:
        st = os.stat(path)
    except OSError:
        return False
    if st.st_uid not in (0, me) or st.st_mode & stat.S_IWOTH:
        return False
    return not (st.st_mode & stat.S_IWGRP and st.st_gid != 0)


def find_program(name: str, path: str | None = None) -> str | None:
    """``name`` on portdoctor's own PATH, where no other user can replace it; None otherwise.

    Only plain names are looked up (a path with a separator is refused: it came from somewhere
    else). Links are resolved and the file they reach is checked, with its directory.
    """
    if not name or os.sep in name or (os.altsep and os.altsep in name):
        return None
    if os.name == "nt":  # pragma: no cover - Windows: no uid to compare; PATH as is
        import shutil

        return shutil.which(name, path=path)
    for d in (path if path is not None else os.environ.get("PATH", os.defpath)).split(os.pathsep):
        if not d or not os.path.isabs(d):
            continue  # '' and relative entries mean the current directory: never
        candidate = os.path.join(d, name)
        try:
            st = os.stat(candidate)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or not os.access(candidate, os.X_OK):
            continue
        real = os.path.realpath(candidate)
        if all(_unwritable(p) for p in (d, real, os.path.dirname(real))):
            return candidate
        return None  # the first match is what a shell would run: do not fall through to another
    return None


def account(uid: int) -> Account | None:
    """The local account of ``uid`` (name, home, primary group, groups), None when unknown."""

    from .model import Account

    try:
        import pwd

        pw = pwd.getpwuid(uid)
        groups = tuple(os.getgrouplist(pw.pw_name, pw.pw_gid))
    except (ImportError, KeyError, OSError):
        return None
    return Account(uid=uid, gid=pw.pw_gid, name=pw.pw_name, home=pw.pw_dir, groups=groups)


# What a program run as another user gets of our environment (sudo's env_reset keeps these too).
_KEPT_FOR_ANOTHER_USER = frozenset(("PATH", "LANG", "LANGUAGE", "TZ", "TERM", "COLORTERM", "NO_COLOR"))


def run_command(
    argv: Sequence[str],
    *,
    timeout: float,
    env: Mapping[str, str] | None = None,
    user: Account | None = None,
    decode: Callable[[bytes], str] | None = None,
) -> CommandResult:
    """Run ``argv`` (its program already found by :func:`find_program`) with a timeout.

    ``env`` is added to portdoctor's own environment. ``user``: run as that account (needs root):
    its uid, gid and groups are set in the child, and its environment is reset as sudo's
    env_reset does: PATH, the locale and TERM are kept, HOME, USER and LOGNAME are theirs, and
    nothing else of ours (tokens a root shell exported) reaches a program they can inspect.
    ``decode`` turns its output into text (default: UTF-8, undecodable bytes replaced).
    """
    import subprocess

    full = dict(os.environ)
    uid = gid = groups = None
    if user is not None and hasattr(os, "geteuid") and user.uid != os.geteuid():
        full = {k: v for k, v in full.items() if k in _KEPT_FOR_ANOTHER_USER or k.startswith("LC_")}
        full.update(HOME=user.home, USER=user.name, LOGNAME=user.name)
        uid, gid, groups = user.uid, user.gid, list(user.groups)
    full.update(env or {})
    try:
        # Its own session, so that a timeout ends everything it started (pm2 runs node, which
        # may start more), not just the first process.
        proc = subprocess.Popen(
            list(argv),
            env=full,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd="/",
            creationflags=getattr(subprocess, "CREATE_NO_WINDOW", 0),  # Windows: no console flash
            user=uid,
            group=gid,
            extra_groups=groups,
            start_new_session=os.name != "nt",
        )
    except FileNotFoundError:
        return CommandResult(None, error=f"{argv[0]} not found")
    except (OSError, ValueError) as exc:
        return CommandResult(None, error=str(exc))
    stdout, stderr, cut = _collect(proc, timeout)
    if cut is not None:
        _kill_group(proc)
        if cut == _FLOOD:
            return CommandResult(None, error=f"more than {OUTPUT_CAP >> 20} MiB of output")
        return CommandResult(None, error=f"no answer within {timeout:g}s", timed_out=True)
    text = decode or _utf8
    return CommandResult(proc.returncode, text(stdout), text(stderr))


# A manager client's answer (a process list, a pid) is a few KiB: more is a flood, never read.
OUTPUT_CAP = 4 << 20  # bytes, each of stdout and stderr
# Once the command has exited, how long its output may stay open (a descendant that left its
# session and kept the pipe: its output is not waited for).
_DRAIN = 0.5
_TIMEOUT, _FLOOD = "timeout", "flood"


def _collect(proc: Any, timeout: float) -> tuple[bytes, bytes, str | None]:
    """Read ``proc``'s stdout and stderr, each up to :data:`OUTPUT_CAP`, for ``timeout`` seconds
    at most: (stdout, stderr, None when it ended, else why it was cut: _TIMEOUT or _FLOOD).

    A reader thread per pipe (portable, unlike select on Windows pipes); a reader still blocked
    when the command is over (a descendant outside its session holds the pipe) is left behind,
    never waited for.
    """
    import subprocess
    import threading
    import time

    bufs = (bytearray(), bytearray())
    flooded = threading.Event()

    def pump(stream: Any, buf: bytearray) -> None:
        try:
            while True:
                chunk = stream.read1(1 << 16)
                if not chunk:
                    return
                room = OUTPUT_CAP - len(buf)
                buf += chunk[:room]
                if len(chunk) > room:
                    flooded.set()
                    return
        except (OSError, ValueError):
            return

    readers = [
        threading.Thread(target=pump, args=(stream, buf), daemon=True)
        for stream, buf in zip((proc.stdout, proc.stderr), bufs)
    ]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + timeout
    exited_at: float | None = None
    while True:
        alive = [r for r in readers if r.is_alive()]
        if not alive:
            break
        if flooded.is_set():
            return bytes(bufs[0]), bytes(bufs[1]), _FLOOD
        now = time.monotonic()
        if now >= deadline:
            return bytes(bufs[0]), bytes(bufs[1]), _TIMEOUT
        if exited_at is None and _exited(proc):
            exited_at = now
        if exited_at is not None and now - exited_at > _DRAIN:
            break  # it is over; what still holds its output is not it
        alive[0].join(min(deadline - now, 0.05))  # (it may end meanwhile: join returns at once)
    if flooded.is_set():
        return bytes(bufs[0]), bytes(bufs[1]), _FLOOD
    try:
        proc.wait(max(deadline - time.monotonic(), 0.0))
    except subprocess.TimeoutExpired:  # its output is closed, but it did not end
        return bytes(bufs[0]), bytes(bufs[1]), _TIMEOUT
    return bytes(bufs[0]), bytes(bufs[1]), None


def _exited(proc: Any) -> bool:
    """True once ``proc`` has exited, without reaping it where the system allows (waitid with
    WNOWAIT): an unreaped leader keeps its pid, so its session can still be killed safely."""
    if hasattr(os, "waitid") and proc.returncode is None:
        try:
            return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:
            return True
    return proc.poll() is not None


def _utf8(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _kill_group(proc: Any) -> None:
    """SIGKILL a timed-out command and everything in its session, then reap it.

    The session's id is the leader's pid: it is signalled only while the leader is not reaped,
    so the number cannot belong to another process by then.
    """
    import signal

    if proc.returncode is not None:
        return  # reaped: its pid, and so the group's id, may belong to another process now
    try:
        if os.name != "nt":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows
            proc.kill()
    except OSError:
        pass
    try:
        proc.wait(5)  # reaped; its pipes are not read again (a descendant may still hold them)
    except Exception:  # pragma: no cover - SIGKILL not delivered within 5 s (D state)
        pass


__all__ = ["CommandResult", "account", "find_program", "run_command"]
