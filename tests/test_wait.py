"""portdoctor.wait and ``portdoctor wait``: real listeners, real processes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from infra import free_port
from portdoctor.errors import UsageError
from portdoctor.wait import wait

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
def test_time_wait_is_free() -> None:
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = srv.accept()
    srv.close()
    conn.close()
    client.recv(1)
    client.close()
    from portdoctor.find import sockets

    assert any(s.state == "TIME_WAIT" for s in sockets(port, ("tcp",)))
    assert wait(port, until="free", timeout=0)


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
