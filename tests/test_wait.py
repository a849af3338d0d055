"""portdoctor.wait and ``portdoctor wait``: real listeners, real processes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from infra import free_port
from portdoctor._wait import wait
from portdoctor.errors import UsageError

LISTENER = (
    "import socket, sys\n"
    "s = socket.create_server(('127.0.0.1', int(sys.argv[1])))\n"
    "print('ready', flush=True)\n"
    "sys.stdin.read()\n"
)


def waiter(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "portdoctor", "wait", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes started by a test; killed at the end whatever happens."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for p in started:
        if p.poll() is None:
            p.kill()
        p.wait(30)


def start_listener(port: int, procs: list[subprocess.Popen[str]]) -> subprocess.Popen[str]:
    p = subprocess.Popen(
        [sys.executable, "-c", LISTENER, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    procs.append(p)
    assert p.stdout is not None and p.stdout.readline() == "ready\n"
    return p


def test_states_now() -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
        assert wait(port, until="listening", timeout=0)
        assert not wait(port, until="free", timeout=0)
    assert wait(port, until="free", timeout=0)
    assert not wait(port, until="listening", timeout=0)


def test_sees_ipv6_and_udp() -> None:
    try:
        s6 = socket.create_server(("::1", 0), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback")
    with s6:
        assert wait(s6.getsockname()[1], until="listening", timeout=0)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        assert wait(port, until="listening", timeout=0, protocol="udp")
        assert wait(port, until="free", timeout=0, protocol="tcp")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TIME_WAIT set-up is Linux's")
def test_time_wait_is_not_free_but_bindable_with_reuseaddr() -> None:
    """The one definition of free: a TIME_WAIT remnant fails a bind without SO_REUSEADDR."""
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = srv.accept()
    srv.close()
    conn.close()
    client.recv(1)
    client.close()
    from portdoctor._find import sockets

    assert any(s.state == "TIME_WAIT" for s in sockets(port, ("tcp",)))
    assert not wait(port, until="free", timeout=0)
    assert wait(port, until="bindable", timeout=0)  # with SO_REUSEADDR, as the server had
    assert not wait(port, until="bindable", timeout=0, reuseaddr=False)


def test_wait_free_returns_when_the_listener_closes(procs: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    holder = start_listener(port, procs)
    w = waiter(str(port), "--free", "--timeout", "120")
    procs.append(w)
    assert w.poll() is None  # the port is held: it cannot be done yet
    assert holder.stdin is not None
    holder.stdin.close()  # the listener exits
    out, err = w.communicate(timeout=150)
    assert w.returncode == 0, err
    assert out == f"{port}/tcp: free\n"


def test_wait_listening_returns_when_one_starts(procs: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    w = waiter(str(port), "--listening", "--timeout", "120", "--json")
    procs.append(w)
    start_listener(port, procs)
    out, err = w.communicate(timeout=150)
    assert w.returncode == 0, err
    data = json.loads(out)
    assert (data["port"], data["protocol"], data["until"], data["reached"]) == (
        port,
        "tcp",
        "listening",
        True,
    )
    assert set(data) == {"port", "protocol", "until", "reached", "waited"}


def test_timeout_exits_1() -> None:
    port = free_port()
    out = subprocess.run(
        [sys.executable, "-m", "portdoctor", "wait", str(port), "--listening", "--timeout", "0.5"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 1
    assert out.stderr == f"portdoctor: {port}/tcp not listening after 0.5 s\n"
    with socket.create_server(("127.0.0.1", 0)) as s:
        busy = s.getsockname()[1]
        out = subprocess.run(
            [sys.executable, "-m", "portdoctor", "wait", str(busy), "--timeout", "0.3", "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 1
        assert json.loads(out.stdout)["reached"] is False


@pytest.mark.parametrize(
    "args",
    [["--timeout", "-1"], ["--timeout", "x"], ["--timeout", "nan"], ["--free", "--listening"]],
)
def test_bad_input(args: list[str]) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "portdoctor", "wait", "8080", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1


def test_library_bad_input() -> None:
    with pytest.raises(UsageError):
        wait(8080, until="gone", timeout=1)
    with pytest.raises(UsageError):
        wait(0, timeout=1)
    with pytest.raises(UsageError):
        wait(8080, timeout=-1)


def time_wait_on_a_port() -> tuple[int, int]:
    """A port whose only remnant is a TIME_WAIT socket (the server closed first); (port, client port)."""
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    client_port = client.getsockname()[1]
    conn, _ = srv.accept()
    srv.close()
    conn.close()  # the server side sends FIN first: its end goes to TIME_WAIT
    client.recv(1)
    client.close()
    return port, client_port


def end_time_wait(port: int, client_port: int) -> None:
    """End a TIME_WAIT early: a new SYN from the old client port meets no listener, gets a RST,
    and Linux drops the TIME_WAIT socket (if it does not, it ends by itself within 60 s)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", client_port))
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            pass


def run_wait(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portdoctor", "wait", *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="TIME_WAIT bind rules are Linux's")
def test_bindable_waits_out_time_wait_without_reuseaddr(procs: list[subprocess.Popen[str]]) -> None:
    from portdoctor._find import sockets
    from portdoctor.probe import can_bind

    port, client_port = time_wait_on_a_port()
    assert [s.state for s in sockets(port, ("tcp",))] == ["TIME_WAIT"]
    assert can_bind(port, reuseaddr=False).error == "in-use"  # the plain bind fails over it
    assert can_bind(port, reuseaddr=True).ok  # SO_REUSEADDR binds over it
    # Nothing listens, but a bind without SO_REUSEADDR fails: not free (the one definition);
    # with SO_REUSEADDR, bindable at once.
    assert run_wait(str(port), "--free", "--timeout", "0").returncode == 1
    out = run_wait(str(port), "--bindable", "--timeout", "0", "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["until"] == "bindable"
    # Without it: not bindable while the TIME_WAIT lasts...
    out = run_wait(str(port), "--bindable", "--no-reuseaddr", "--timeout", "0.5")
    assert out.returncode == 1
    assert out.stderr == f"portdoctor: {port}/tcp not bindable after 0.5 s\n"
    # ...and a waiter returns once it is gone.
    w = waiter(str(port), "--bindable", "--no-reuseaddr", "--host", "127.0.0.1", "--timeout", "150")
    procs.append(w)
    assert w.poll() is None
    end_time_wait(port, client_port)
    out_text, err = w.communicate(timeout=180)
    assert w.returncode == 0, err
    assert out_text == f"{port}/tcp: bindable\n"
    assert can_bind(port, host="127.0.0.1", reuseaddr=False).ok
    assert run_wait(str(port), "--free", "--timeout", "0").returncode == 0


def test_bindable_returns_when_the_listener_closes(procs: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    holder = start_listener(port, procs)
    assert not wait(port, until="bindable", timeout=0)
    assert not wait(port, until="bindable", timeout=0, host="127.0.0.1", reuseaddr=False)
    w = waiter(str(port), "--bindable", "--timeout", "120")
    procs.append(w)
    assert w.poll() is None
    assert holder.stdin is not None
    holder.stdin.close()
    out, err = w.communicate(timeout=150)
    assert w.returncode == 0, err
    assert out == f"{port}/tcp: bindable\n"


def test_bindable_sees_a_listener_on_another_address() -> None:
    """A listener on 127.0.0.1 blocks the wildcard bind but not one on another address."""
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
        assert not wait(port, until="bindable", timeout=0)
        try:
            with socket.socket() as probe:
                probe.bind(("127.0.0.2", 0))
        except OSError:
            pytest.skip("no 127.0.0.2 on this machine")
        assert wait(port, until="bindable", timeout=0, host="127.0.0.2")


@pytest.mark.parametrize(
    "args",
    [
        ["--host", "127.0.0.1"],
        ["--no-reuseaddr"],
        ["--listening", "--host", "::1"],
        ["--bindable", "--host", "nohost"],
    ],
)
def test_bindable_bad_input(args: list[str]) -> None:
    out = run_wait("8080", "--timeout", "0", *args)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1


def test_bindable_library_bad_input() -> None:
    with pytest.raises(UsageError):
        wait(8080, until="free", timeout=0, host="127.0.0.1")
    with pytest.raises(UsageError):
        wait(8080, until="listening", timeout=0, reuseaddr=False)
    with pytest.raises(UsageError):
        wait(8080, until="bindable", timeout=0, host="not an address")
