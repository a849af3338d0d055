"""The child supervisor of ``portdoctor run``: start the command, pass signals on, keep its stderr.

The command runs with portdoctor's stdin and stdout untouched; its stderr goes through a pipe to
ours (live) and its tail is kept, so that a bind error can be explained after it exits. Signals
(INT, TERM, HUP, QUIT, USR1, USR2, WINCH) sent to portdoctor are passed on to the command;
portdoctor waits for it and returns its exit status (128+N when signal N killed it, as a shell
does). Signals the terminal sends to its whole foreground group (Ctrl-C, Ctrl-\\, a resize)
already reach the command, so they are not sent a second time. run.py decides the port.
"""

from __future__ import annotations

import os
import signal
import threading

from .errors import CommandNotStarted, UsageError
from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

#: How much of the command's stderr is kept to look for a bind error after it exits.
TAIL_BYTES = 64 * 1024
#: Signals passed on to the command.
FORWARDED = tuple(
    getattr(signal, name)
    for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGWINCH")
    if hasattr(signal, name)
)
#: Signals a terminal sends to its whole foreground process group (the command included).
_TTY_SIGNALS = frozenset(
    getattr(signal, name) for name in ("SIGINT", "SIGQUIT", "SIGWINCH") if hasattr(signal, name)
)
_SI_KERNEL = 0x80  # Linux si_code of a signal the kernel (the tty driver) generated
# Exit statuses of a command that could not be started, as POSIX shells use them.
NOT_EXECUTABLE = 126
NOT_FOUND = 127


class Outcome(Record):
    """How the command ended: its exit status, and the bind error its stderr showed, if any."""

    status: int  # the exit code, or 128+N when signal N killed it
    signal: int | None
    stderr_tail: bytes = b""  # the last TAIL_BYTES of its stderr (empty when not captured)


def execute(argv: Sequence[str], env: Mapping[str, str], *, capture_stderr: bool = True) -> Outcome:
    """Run ``argv`` (no shell), forward signals to it, return how it ended.

    stdin and stdout are inherited untouched; with ``capture_stderr`` its stderr is copied live
    to ours through a pipe, and the last TAIL_BYTES are kept in the Outcome.
    """
    if not argv:
        raise UsageError("no command to run: give it after '--', e.g. portdoctor run -- npm start")
    if hasattr(signal, "sigtimedwait") and hasattr(os, "posix_spawnp"):
        return _execute_sigwait(list(argv), dict(env), capture_stderr)
    return _execute_handlers(list(argv), dict(env), capture_stderr)  # pragma: no cover - not Linux


def _not_started(argv: Sequence[str], exc: OSError) -> CommandNotStarted:
    from .render import escape

    if isinstance(exc, FileNotFoundError):
        return CommandNotStarted(f"{escape(argv[0])}: command not found", NOT_FOUND)
    return CommandNotStarted(f"{escape(argv[0])}: {exc.strerror or exc}", NOT_EXECUTABLE)


def _status(wait_status: int) -> tuple[int, int | None]:
    if os.WIFSIGNALED(wait_status):
        sig = os.WTERMSIG(wait_status)
        return 128 + sig, sig
    return os.waitstatus_to_exitcode(wait_status), None


class _Tee:
    """Copies a pipe to our stderr as it comes, keeping the last TAIL_BYTES."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.tail = bytearray()
        self.thread = threading.Thread(target=self._copy, name="portdoctor-run-stderr", daemon=True)
        self.thread.start()

    def _copy(self) -> None:
        out: int | None = 2
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            if out is not None:
                try:
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(out, view) :]
                except OSError:
                    out = None  # our stderr went away: keep draining so the command never blocks
            self.tail += chunk
            if len(self.tail) > TAIL_BYTES:
                del self.tail[: len(self.tail) - TAIL_BYTES]

    def finish(self, timeout: float = 2.0) -> bytes:
        """The tail, once the pipe is closed (or ``timeout`` s after the command exited).

        A background process the command left behind may keep the pipe open; we stop waiting
        for it, and it loses its stderr when portdoctor exits.
        """
        self.thread.join(timeout)
        return bytes(self.tail)


def _execute_sigwait(argv: list[str], env: dict[str, str], capture: bool) -> Outcome:
    """Linux: block the signals, spawn, take them with sigtimedwait (which tells who sent them)."""
    watched = {*FORWARDED, signal.SIGCHLD}
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, watched)
    read_fd = write_fd = -1
    tee = None
    try:
        actions: list[tuple[Any, ...]] = []
        if capture:
            read_fd, write_fd = os.pipe()
            actions.append((os.POSIX_SPAWN_DUP2, write_fd, 2))
        defaults = [s for s in (signal.SIGPIPE, getattr(signal, "SIGXFSZ", None)) if s is not None]
        try:
            pid = os.posix_spawnp(
                argv[0], argv, env, file_actions=actions, setsigmask=old_mask, setsigdef=defaults
            )
        except OSError as exc:
            raise _not_started(argv, exc) from None
        if capture:
            os.close(write_fd)
            write_fd = -1
            tee = _Tee(read_fd)  # created with the signals blocked: they never land in its thread
        wait_status = _wait_forwarding(pid, watched)
        status, sig = _status(wait_status)
        tail = tee.finish() if tee is not None else b""
        return Outcome(status, sig, tail)
    finally:
        if write_fd >= 0:
            os.close(write_fd)
        # Take what is pending (a second Ctrl-C...) before unblocking, so it does not hit us.
        while signal.sigtimedwait(watched, 0) is not None:
            pass
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        if read_fd >= 0 and (tee is None or not tee.thread.is_alive()):
            os.close(read_fd)


def _wait_forwarding(pid: int, watched: set[int]) -> int:
    while True:
        done, wait_status = os.waitpid(pid, os.WNOHANG)
        if done:
            return wait_status
        info = signal.sigtimedwait(watched, 1.0)
        if info is None or info.si_signo == signal.SIGCHLD:
            continue
        if info.si_signo in _TTY_SIGNALS and info.si_code == _SI_KERNEL:
            continue  # the terminal sent it to the command as well
        try:
            os.kill(pid, info.si_signo)
        except ProcessLookupError:  # pragma: no cover - it exited; waitpid collects it next
            pass


def _execute_handlers(argv: list[str], env: dict[str, str], capture: bool) -> Outcome:  # pragma: no cover
    """Elsewhere: Python signal handlers pass signals on; terminal ones are not sent twice."""
    import subprocess

    try:
        proc = subprocess.Popen(argv, env=env, stderr=subprocess.PIPE if capture else None)
    except OSError as exc:
        raise _not_started(argv, exc) from None
    tee = _Tee(os.dup(proc.stderr.fileno())) if capture and proc.stderr is not None else None
    if proc.stderr is not None:
        proc.stderr.close()

    def forward(signo: int, frame: object) -> None:
        if signo in _TTY_SIGNALS and _foreground():
            return  # the terminal sent it to the command as well
        if proc.returncode is None:
            try:
                proc.send_signal(signo)
            except OSError:
                pass

    previous = {}
    for s in FORWARDED:
        try:
            previous[s] = signal.signal(s, forward)
        except (OSError, ValueError):
            pass
    try:
        while True:
            try:
                code = proc.wait()
                break
            except KeyboardInterrupt:
                continue
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    sig = -code if code < 0 else None
    tail = tee.finish() if tee is not None else b""
    if tee is not None and not tee.thread.is_alive():
        os.close(tee.fd)
    return Outcome(128 + sig if sig else code, sig, tail)


def _foreground() -> bool:  # pragma: no cover - used off Linux
    try:
        fd = os.open("/dev/tty", os.O_RDONLY)
    except OSError:
        return False
    try:
        return os.tcgetpgrp(fd) == os.getpgrp()
    except OSError:
        return False
    finally:
        os.close(fd)


__all__ = ["FORWARDED", "NOT_EXECUTABLE", "NOT_FOUND", "TAIL_BYTES", "Outcome", "execute"]
