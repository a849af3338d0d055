"""``portdoctor run``: real commands on real ports, real signals, real conflicts."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import free_port, wait_until
from portdoctor.run import Choice
from servers import Servers

TIMEOUT = 120.0

# A server that binds $PORT (or the port in argv[1]), says so on stdout, and exits.
SERVE_ONCE = (
    "import os, socket, sys\n"
    "port = int(sys.argv[1]) if len(sys.argv) > 1 else int(os.environ['PORT'])\n"
    "s = socket.create_server(('', port))\n"
    "print(s.getsockname()[1], flush=True)\n"
)


def portdoctor(
    *args: str, env: dict[str, str] | None = None, **kw: object
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portdoctor", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        **kw,  # type: ignore[call-overload]
    )


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts (in their own session); killed, with their children, at the end."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        p.wait(30)


def read_line(stream: object, timeout: float = TIMEOUT) -> str:
    fd = stream.fileno()  # type: ignore[attr-defined]
    ready, _, _ = select.select([fd], [], [], timeout)
    assert ready, "no output from the command"
    return stream.readline()  # type: ignore[attr-defined,no-any-return]


def test_port_is_exported_and_a_real_server_binds_it() -> None:
    port = free_port()
    out = portdoctor("run", "--port", str(port), "--", sys.executable, "-c", SERVE_ONCE)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{port}\n"
    assert out.stderr == ""  # nothing of ours when the asked port is free


def test_port_substitution_in_arguments() -> None:
    port = free_port()
    out = portdoctor("run", "--port", str(port), "--", sys.executable, "-c", SERVE_ONCE, "{port}")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{port}\n"
    out = portdoctor(
        "run", "--port", str(port), "--", sys.executable, "-c", "import sys; print(sys.argv[1:])",
        "--listen=:{port}", "{port}{port}", "{other}",
    )  # fmt: skip
    assert out.stdout == f"['--listen=:{port}', '{port}{port}', '{{other}}']\n"


def test_port_from_env_and_picked() -> None:
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    out = portdoctor("run", "--", sys.executable, "-c", SERVE_ONCE, env=env)
    assert (out.returncode, out.stdout) == (0, f"{port}\n"), out.stderr
    env.pop("PORT")
    out = portdoctor("run", "--", sys.executable, "-c", SERVE_ONCE, env=env)
    assert out.returncode == 0, out.stderr
    picked = int(out.stdout)
    # python -c is no server portdoctor knows: it says so (the port reaches it only as PORT)
    assert out.stderr.startswith(f"portdoctor: PORT={picked}; portdoctor cannot tell how python"), out.stderr


def test_name_uses_the_registry(tmp_path: Path) -> None:
    env = {**os.environ, "PORTDOCTOR_REGISTRY": str(tmp_path / "ports.db")}
    first = portdoctor("run", "--name", "web", "--", sys.executable, "-c", SERVE_ONCE, env=env)
    second = portdoctor("run", "--name", "web", "--", sys.executable, "-c", SERVE_ONCE, env=env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert first.stdout == second.stdout
    listing = portdoctor("reservations", "--json", env=env)
    assert str(int(first.stdout)) in listing.stdout


def test_on_busy_next_gives_the_next_free_port(servers: Servers) -> None:
    holder = servers.tcp("0.0.0.0")
    out = portdoctor(
        "run", "--port", str(holder.port), "--on-busy", "next", "--", sys.executable, "-c", SERVE_ONCE
    )
    assert out.returncode == 0, out.stderr
    got = int(out.stdout)  # the child bound it: it was free
    assert got != holder.port
    assert f"port {holder.port}/tcp is busy" in out.stderr
    # The holder's port is the kernel's (ephemeral): the next safe one is past that range, and
    # the note says so; right after it, the note has nothing to add.
    skipped = f"skipped {holder.port + 1}-" if got != holder.port + 1 else ""
    assert f"Using {got} instead{' (' + skipped if skipped else '.'}" in out.stderr
    assert f"PORT={got}" in out.stderr


def test_on_busy_next_says_why_it_went_further(servers: Servers) -> None:
    # The port asked for and the one after it are held: the note says the second was skipped.
    import random

    from portdoctor.probe import availability
    from portdoctor.ranges import why_unsafe

    def usable(p: int) -> bool:
        return why_unsafe(p) is None and availability(p).bindable

    port = next(
        p for p in random.sample(range(4000, 9900), 5900) if all(usable(q) for q in (p, p + 1, p + 2))
    )
    servers.tcp("0.0.0.0", port)
    skipped = servers.tcp("0.0.0.0", port + 1)
    out = portdoctor("run", "--port", str(port), "--on-busy", "next", "--", sys.executable, "-c", SERVE_ONCE)
    assert out.returncode == 0, out.stderr
    assert int(out.stdout) == port + 2
    assert f"Using {port + 2} instead (skipped {skipped.port}: in use)." in out.stderr


@pytest.mark.parametrize("on_busy", ["fail", "ask"])  # ask without a terminal is fail
def test_on_busy_fail_prints_the_diagnosis(servers: Servers, on_busy: str) -> None:
    holder = servers.tcp()
    out = portdoctor(
        "run", "--port", str(holder.port), "--on-busy", on_busy, "--", sys.executable, "-c", "print('ran')"
    )
    assert out.returncode == 1
    assert out.stdout == ""  # the command never ran
    first = out.stderr.splitlines()[0]
    assert first.startswith(f"portdoctor: port {holder.port}/tcp is busy: ")
    assert f"pid {holder.pid}" in first  # the cause's summary names the holder


def test_on_busy_free_stops_the_holder_then_runs(servers: Servers) -> None:
    holder = servers.tcp("0.0.0.0")  # a plain process of ours: exits on SIGTERM
    out = portdoctor(
        "run", "--port", str(holder.port), "--on-busy", "free", "--", sys.executable, "-c", SERVE_ONCE
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{holder.port}\n"
    assert f"freed port {holder.port}/tcp" in out.stderr
    assert holder.proc.wait(TIMEOUT) == -signal.SIGTERM


@pytest.mark.parametrize("code", [0, 1, 3, 42, 255])
def test_exit_code_is_the_commands(code: int) -> None:
    out = portdoctor(
        "run", "--port", str(free_port()), "--", sys.executable, "-c", f"raise SystemExit({code})"
    )
    assert out.returncode == code


def test_killed_by_a_signal_is_128_plus_n() -> None:
    out = portdoctor(
        "run", "--port", str(free_port()), "--", sys.executable, "-c", "import os; os.kill(os.getpid(), 9)"
    )
    assert out.returncode == 128 + signal.SIGKILL


# The command reports each signal it gets on stdout; exits 7 on SIGTERM.
SIGNAL_REPORTER = (
    "import os, signal, sys, time\n"
    "def on(signo, frame):\n"
    "    print('got', signo, flush=True)\n"
    "    if signo == signal.SIGTERM:\n"
    "        os._exit(7)\n"
    "for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2):\n"
    "    signal.signal(s, on)\n"
    "print('ready', flush=True)\n"
    "while True:\n"
    "    time.sleep(0.1)\n"
)


def test_signals_are_forwarded_and_the_exit_code_follows(procs: list[subprocess.Popen[str]]) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "portdoctor", "run", "--port", str(free_port()), "--",
         sys.executable, "-c", SIGNAL_REPORTER],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    procs.append(run)
    assert read_line(run.stdout) == "ready\n"
    for sig in (signal.SIGUSR1, signal.SIGINT, signal.SIGHUP, signal.SIGUSR2):
        run.send_signal(sig)  # to portdoctor only, not to its group
        assert read_line(run.stdout) == f"got {int(sig)}\n"
        assert run.poll() is None  # portdoctor did not die of it
    run.send_signal(signal.SIGTERM)
    assert read_line(run.stdout) == f"got {int(signal.SIGTERM)}\n"
    assert run.wait(TIMEOUT) == 7


def test_unhandled_sigterm_kills_the_command_and_run_reports_it(procs: list[subprocess.Popen[str]]) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "portdoctor", "run", "--port", str(free_port()), "--",
         sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(600)"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    procs.append(run)
    assert read_line(run.stdout) == "ready\n"
    run.send_signal(signal.SIGTERM)
    assert run.wait(TIMEOUT) == 128 + signal.SIGTERM


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pty and tty signals as on Linux")
def test_ctrl_c_on_a_terminal_reaches_the_command_once() -> None:
    """Ctrl-C goes to the whole foreground group: the command must not get it twice."""

    # The command takes its SIGINTs with sigwaitinfo, which says who sent each: the terminal
    # (si_code SI_KERNEL) or a process (SI_USER, with its pid). Standard signals that arrive
    # while one is pending merge, so the command dequeues them as they come, for a second.
    child = (
        "import os, signal, sys, time\n"
        "signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})\n"
        "print('ready', os.isatty(0), os.isatty(1), flush=True)\n"
        "got = [signal.sigwaitinfo({signal.SIGINT})]\n"
        "deadline = time.monotonic() + 1.0\n"
        "while (left := deadline - time.monotonic()) > 0:\n"
        "    info = signal.sigtimedwait({signal.SIGINT}, left)\n"
        "    if info is not None:\n"
        "        got.append(info)\n"
        "print('senders', [(i.si_code, i.si_pid) for i in got], flush=True)\n"
        "print('count', len(got), flush=True)\n"
        "sys.exit(5)\n"
    )
    argv = [sys.executable, "-m", "portdoctor", "run", "--port", str(free_port()), "--",
            sys.executable, "-c", child]  # fmt: skip
    pid, fd = _on_a_pty(argv)
    output = b""
    try:
        deadline = time.monotonic() + TIMEOUT
        while b"\n" not in output.partition(b"ready")[2] and time.monotonic() < deadline:
            if select.select([fd], [], [], 1.0)[0]:
                output += os.read(fd, 4096)
        assert b"ready True True" in output, output  # stdin and stdout are still the terminal
        os.write(fd, b"\x03")  # Ctrl-C
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 1.0)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the terminal's other side closed
                    break
                if not chunk:
                    break
                output += chunk
        _, status = os.waitpid(pid, 0)
    finally:
        _end_pty(pid, fd)
    assert b"count 1" in output, output
    assert os.waitstatus_to_exitcode(status) == 5  # portdoctor waited for it, did not die of Ctrl-C


def test_a_bind_error_is_diagnosed(servers: Servers) -> None:
    holder = servers.tcp("0.0.0.0")
    # The command ignores PORT and binds the busy port: the classic EADDRINUSE.
    out = portdoctor(
        "run", "--port", str(free_port()), "--", sys.executable, "-c", SERVE_ONCE, str(holder.port)
    )
    assert out.returncode == 1
    assert "Address already in use" in out.stderr  # the command's own stderr, passed through
    report = out.stderr[out.stderr.index("\nportdoctor: ") :]
    assert f"failed to bind port {holder.port}/tcp (in-use)" in report
    assert f"pid {holder.pid}" in report
    assert "Holders" in report


def test_the_failed_command_is_quoted_so_that_it_runs_when_copied(servers: Servers) -> None:
    holder = servers.tcp("0.0.0.0")
    argv = [sys.executable, "-c", SERVE_ONCE, str(holder.port), "it's a\ttab"]  # newlines, quotes, a tab
    out = portdoctor("run", "--port", str(free_port()), "--", *argv)
    assert out.returncode == 1
    [line] = [x for x in out.stderr.splitlines() if x.startswith("portdoctor: ") and "failed to bind" in x]
    command = line[len("portdoctor: ") : line.index(f" failed to bind port {holder.port}/tcp")]
    assert "\t" not in command and "\x1b" not in command  # one line, nothing raw
    # Pasted into a shell, it is the same command: it fails the same way on the same port.
    again = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=TIMEOUT)
    assert again.returncode == 1 and "Address already in use" in again.stderr, (command, again.stderr)
    echoed = subprocess.run(
        ["bash", "-c", "printf '%s\\0' " + command.split(" ", 1)[1]],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert echoed.stdout.split("\0")[:-1] == argv[1:]


def test_no_diagnosis_without_a_bind_error_or_with_no_capture(servers: Servers) -> None:
    out = portdoctor(
        "run", "--port", str(free_port()), "--", sys.executable, "-c",
        "import sys; sys.stderr.write('plain failure\\n'); sys.exit(4)",
    )  # fmt: skip
    assert (out.returncode, out.stderr) == (4, "plain failure\n")
    holder = servers.tcp("0.0.0.0")
    out = portdoctor(
        "run", "--no-capture", "--port", str(free_port()), "--", sys.executable, "-c", SERVE_ONCE,
        str(holder.port),
    )  # fmt: skip
    assert out.returncode == 1
    assert "Address already in use" in out.stderr
    assert "portdoctor:" not in out.stderr


def test_stdout_is_not_buffered(procs: list[subprocess.Popen[str]]) -> None:
    run = subprocess.Popen(
        [sys.executable, "-m", "portdoctor", "run", "--port", str(free_port()), "--",
         sys.executable, "-c",
         "import sys, time\nsys.stdout.write('one\\n'); sys.stdout.flush()\n"
         "sys.stderr.write('two\\n'); sys.stderr.flush()\nsys.stdin.readline()\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    procs.append(run)
    assert read_line(run.stdout) == "one\n"  # while the command still runs
    assert read_line(run.stderr) == "two\n"
    assert run.stdin is not None
    run.stdin.write("\n")
    run.stdin.close()  # its stdin is ours
    assert run.wait(TIMEOUT) == 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--port", "80000", "--", "true"], 2, "invalid port"),
        (["--port", "3000", "--name", "web", "--", "true"], 2, "not allowed with"),
        (["--port", "3000"], 2, "no command to run"),
        (["--on-busy", "maybe", "--", "true"], 2, "invalid choice"),
        (["--name", "not a name", "--", "true"], 2, "name"),
        (["--port", "{free}", "--", "/nonexistent/command"], 127, "command not found"),
        (["--port", "{free}", "--", "/etc/passwd"], 126, "Permission denied"),
    ],
)
def test_bad_input(args: list[str], code: int, message: str, tmp_path: Path) -> None:
    args = [a.replace("{free}", str(free_port())) for a in args]
    env = {**os.environ, "PORTDOCTOR_REGISTRY": str(tmp_path / "ports.db")}
    out = portdoctor("run", *args, env=env)
    assert out.returncode == code, out.stderr
    assert message in out.stderr
    assert out.stderr.count("\n") == 1


def test_bad_port_in_env() -> None:
    out = portdoctor("run", "--", "true", env={**os.environ, "PORT": "http"})
    assert out.returncode == 2
    assert "$PORT" in out.stderr


def test_library_settle_and_busy(servers: Servers) -> None:
    from portdoctor.errors import UsageError
    from portdoctor.run import Choice, PortBusy, busy, settle

    holder = servers.tcp()
    assert busy(holder.port)
    assert busy(holder.port, host="127.0.0.1")
    free = free_port()
    assert not busy(free)
    assert settle(Choice(free, "tcp", "port"), "fail") == Choice(free, "tcp", "port")
    with pytest.raises(PortBusy) as exc:
        settle(Choice(holder.port, "tcp", "port"), "ask")  # no one to ask: fail
    assert exc.value.diagnosis is not None and exc.value.diagnosis.in_use
    asked: list[int | None] = []

    def answer(d: object, nxt: int | None) -> str:
        asked.append(nxt)
        return "next"

    moved = settle(Choice(holder.port, "tcp", "port"), "ask", ask=answer)
    assert moved.port == asked[0] and moved.action == "next" and moved.port != holder.port
    with pytest.raises(UsageError):
        settle(Choice(free, "tcp", "port"), "sometimes")
    wait_until(lambda: holder.proc.poll() is None, message="holder still running")


# Binds the port of its first argument, as a server with its own port option would (a command
# portdoctor does not know, so 'run' leaves its arguments alone).
BIND_ARGV1 = "import socket, sys; socket.socket().bind(('', int(sys.argv[1])))"


def test_a_bind_error_without_a_port_uses_the_port_in_the_arguments(servers: Servers) -> None:
    """Python's OSError names no port: the busy port of the command line is diagnosed."""
    holder = servers.tcp("0.0.0.0")
    out = portdoctor(
        "run", "--port", str(free_port()), "--", sys.executable, "-c", BIND_ARGV1, str(holder.port)
    )
    assert out.returncode == 1
    assert "[Errno 98] Address already in use" in out.stderr
    assert f"failed to bind port {holder.port}/tcp (in-use)" in out.stderr
    assert f"pid {holder.pid}" in out.stderr


def test_ports_in_a_command_line() -> None:
    from portdoctor.run import _ports_in

    argv = ["srv", "8080", "--port=3000", "-b", "0.0.0.0:5000", ":7000", "70000", "v1.2", "--n=0"]
    assert _ports_in(argv) == [8080, 3000, 5000, 7000]


# --- the port the command names (python3 -m http.server 8000) ----------------------------------


def test_the_port_order_port_name_command_env_picked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from portdoctor.run import initial_port

    monkeypatch.setenv("PORTDOCTOR_REGISTRY", str(tmp_path / "ports.db"))
    named = ["python3", "-m", "http.server", "8123"]
    env = {"PORT": "8200"}
    assert initial_port(command=named, env=env) == Choice(8123, "tcp", "command")
    assert initial_port(command=named) == Choice(8123, "tcp", "command")
    choice = initial_port(port=8300, command=named, env=env)
    assert (choice.port, choice.source) == (8300, "port")
    assert choice.notes == ("the command names port 8123; using --port 8300 instead",)
    assert initial_port(port=8123, command=named).notes == ()  # the same port: nothing to say
    choice = initial_port(name="web", command=named, env=env)
    assert choice.source == "name" and choice.port != 8123
    assert choice.notes[-1] == (
        f"the command names port 8123; using the registry's port for web, {choice.port} instead"
    )
    # a command that names no port, or one portdoctor cannot read: $PORT, then a free port
    for argv in (["python3", "-m", "http.server"], ["python3", "app.py", "8123"], []):
        assert initial_port(command=argv, env=env) == Choice(8200, "tcp", "env")
        assert initial_port(command=argv, env={}).source == "picked"


def test_with_port_runs_a_command_that_names_the_port_as_it_is() -> None:
    from portdoctor.run import with_port

    argv = ["gunicorn", "-b", "127.0.0.1:8123", "app:app"]
    assert with_port(argv, 8123) == (argv, {}, "port 8123: gunicorn -b 127.0.0.1:8123 app:app")
    final, env, how = with_port(argv, 8124)  # --port or --on-busy next: its own argument moves
    assert final == ["gunicorn", "app:app", "-b", "127.0.0.1:8124"] and env == {}
    assert how == "port 8124 through gunicorn's own flag: gunicorn app:app -b 127.0.0.1:8124"


def http_get(port: int) -> str:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
        return str(r.read().decode())


def start_run(
    procs: list[subprocess.Popen[str]], site: Path, *args: str
) -> tuple[subprocess.Popen[str], Path]:
    """``portdoctor run ARGS`` in ``site`` in its own session; its stderr goes to a file."""
    err = site.parent / f"stderr-{len(procs)}.txt"
    env = {k: v for k, v in os.environ.items() if k != "PORT"}
    with open(err, "w") as f:
        proc = subprocess.Popen(
            [sys.executable, "-m", "portdoctor", "run", *args], cwd=site, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=f, text=True,
            start_new_session=True,
        )  # fmt: skip
    procs.append(proc)
    return proc, err


def served(proc: subprocess.Popen[str], port: int, err: Path) -> str:
    """What ``proc`` serves on ``port`` once it listens there (AssertionError with its stderr)."""

    def ready() -> str | None:
        assert proc.poll() is None, f"portdoctor run exited {proc.returncode}: {err.read_text()}"
        try:
            return http_get(port)
        except OSError:
            return None

    try:
        return str(wait_until(ready, TIMEOUT, 0.2, f"http.server on {port}"))
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{err.read_text()}") from None


def test_http_server_serves_on_the_port_its_command_names(
    procs: list[subprocess.Popen[str]], static_site: Path
) -> None:
    """The issue: 'run -- python3 -m http.server N' picked a random port and rewrote N away."""
    port = free_port()
    proc, err = start_run(procs, static_site, "--", sys.executable, "-m", "http.server", str(port))
    assert served(proc, port, err) == "hello from http.server\n"
    assert "portdoctor:" not in err.read_text()  # the port asked for was free: nothing to say


def test_the_port_the_command_names_when_busy_and_on_busy_next(
    procs: list[subprocess.Popen[str]], static_site: Path, servers: Servers
) -> None:
    holder = servers.tcp("0.0.0.0")
    argv = [sys.executable, "-m", "http.server", str(holder.port)]
    out = portdoctor("run", "--", *argv, cwd=static_site)  # ask without a terminal: fail
    assert out.returncode == 1 and out.stdout == ""  # the command never ran
    assert out.stderr.startswith(f"portdoctor: port {holder.port}/tcp is busy: "), out.stderr
    assert f"pid {holder.pid}" in out.stderr
    proc, err = start_run(procs, static_site, "--on-busy", "next", "--", *argv)
    # the note names the new port: wait for it, then the server must be there
    text = str(wait_until(lambda: "Using" in err.read_text() and err.read_text(), TIMEOUT, 0.2, "the note"))
    new = int(text.split("Using ", 1)[1].split()[0])
    assert new != holder.port
    assert served(proc, new, err) == "hello from http.server\n"
    lines = err.read_text().splitlines()
    assert lines[0].startswith(f"portdoctor: port {holder.port}/tcp is busy: ")
    assert f"pid {holder.pid}" in lines[0] and f"Using {new} instead" in lines[0]
    assert lines[1] == (
        f"portdoctor: port {new} through http.server's own flag: {argv[0]} -m http.server {new}"
    )


def test_port_overrides_the_port_the_command_names_and_says_so(
    procs: list[subprocess.Popen[str]], static_site: Path
) -> None:
    port, other = free_port(), free_port()
    proc, err = start_run(
        procs, static_site, "--port", str(port), "--", sys.executable, "-m", "http.server", str(other)
    )
    assert served(proc, port, err) == "hello from http.server\n"
    lines = err.read_text().splitlines()
    assert lines[:2] == [
        f"portdoctor: the command names port {other}; using --port {port} instead",
        f"portdoctor: port {port} through http.server's own flag: {sys.executable} -m http.server {port}",
    ]


def _on_a_pty(argv: list[str]) -> tuple[int, int]:
    """Start ``argv`` on a new pseudo-terminal: (its pid, the terminal's fd)."""
    import pty

    pid, fd = pty.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.execv(argv[0], argv)
        finally:
            os._exit(127)
    return pid, fd


def _end_pty(pid: int, fd: int) -> None:
    """Close the terminal; kill and reap the process if it still runs."""
    os.close(fd)
    try:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    except (ProcessLookupError, ChildProcessError):
        pass


def _on_a_terminal(argv: list[str], answer: bytes) -> str:
    """Run ``argv`` on a pseudo-terminal, answer its question with ``answer``; all it printed."""
    pid, fd = _on_a_pty(argv)
    output = b""
    answered = False
    try:
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if not answered and b"? " in output:
                os.write(fd, answer)
                answered = True
            if select.select([fd], [], [], 1.0)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # EIO: the other side closed
                    break
                if not chunk:
                    break
                output += chunk
        os.waitpid(pid, 0)
    finally:
        _end_pty(pid, fd)
    assert answered, output
    return output.decode("utf-8", "replace").replace("\r\n", "\n")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="a pty")
@pytest.mark.parametrize("answer", [b"n\n", b"a\n", b"f\n"])
def test_on_busy_ask_says_the_busy_sentence_once(servers: Servers, answer: bytes) -> None:
    holder = servers.tcp("0.0.0.0")
    argv = [sys.executable, "-m", "portdoctor", "run", "--port", str(holder.port), "--on-busy", "ask",
            "--", sys.executable, "-c", SERVE_ONCE]  # fmt: skip
    out = _on_a_terminal(argv, answer)
    assert out.count(f"pid {holder.pid}") == 1, out  # the question named it; nothing repeats it
    assert out.count("is busy") == 1 + (answer == b"a\n"), out
    if answer == b"n\n":
        assert "portdoctor: using " in out and " instead" in out, out
    elif answer == b"a\n":
        assert f"port {holder.port}/tcp is busy; the command was not run" in out, out
        assert "--on-busy next (the next free port) or --on-busy free (stop the holder safely)" in out, out
    else:
        assert f"portdoctor: freed port {holder.port}/tcp\n" in out, out


def test_on_busy_fail_spells_out_how_to_go_on(servers: Servers) -> None:
    holder = servers.tcp()
    out = portdoctor("run", "--port", str(holder.port), "--on-busy", "fail", "--", "true")
    assert out.returncode == 1
    assert out.stderr.splitlines()[1] == (
        f"  see 'portdoctor why {holder.port}'; to go on, run it again with "
        "--on-busy next (the next free port) or --on-busy free (stop the holder safely)"
    ), out.stderr
