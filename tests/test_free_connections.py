"""The one definition of free against what keeps a port after its listener is gone.

Real forking servers (socat from Debian, and a Python one) with a connected client: ``free``
stops the listener *and* the forked child holding the accepted connection, then says honestly
that the remnant (FIN_WAIT2, TIME_WAIT) keeps the port from a plain bind. After each case a
listener without SO_REUSEADDR and one with it try the port, and every command (``free``,
``check``, ``why``, ``wait --free``) must agree with what they saw.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from infra import SERVERS, alive, free_port, kill_session, require, wait_listening, wait_until
from infra import portdoctor_cli as cli

pytest_plugins = ["infra"]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux TCP states")

FORKING = SERVERS / "forking_server.py"
# A client that connects and never closes: once the server's child exits, the server's end of the
# connection waits in FIN_WAIT2 with no process (the kernel keeps it up to tcp_fin_timeout).
HOLDING_CLIENT = (
    "import socket, sys, time\n"
    "s = socket.create_connection(('127.0.0.1', int(sys.argv[1])))\n"
    "print('connected', flush=True)\n"
    "time.sleep(600)\n"
)


class Procs:
    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, argv: list[str]) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            text=True, start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc


@pytest.fixture
def procs() -> Iterator[Procs]:
    p = Procs()
    try:
        yield p
    finally:
        for proc in p.procs:
            kill_session(proc.pid, timeout=5.0)
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def socat() -> str:
    found = shutil.which("socat")
    require(found is not None, "socat not found (apt-get install socat)")
    assert found is not None
    return found


def start_server(procs: Procs, kind: str, port: int, reuse: bool) -> subprocess.Popen[str]:
    if kind == "socat":
        spec = f"TCP-LISTEN:{port},fork" + (",reuseaddr" if reuse else "")
        server = procs.start([socat(), spec, "EXEC:cat"])
    else:
        server = procs.start([sys.executable, str(FORKING), str(port), *(["reuse"] if reuse else [])])
    wait_listening(port, what=kind)
    return server


def connection_holders(port: int) -> set[int]:
    """Pids holding a non-listening TCP socket whose local port is ``port`` (via ss)."""
    out = subprocess.run(
        ["ss", "-Htanp", "state", "established", f"sport = :{port}"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    import re

    return {int(m) for m in re.findall(r"pid=(\d+)", out)}


def connect_and_hold(procs: Procs, port: int, server: int) -> int:
    """Start a client that stays connected; the pid of the server's child that serves it."""
    procs.start([sys.executable, "-c", HOLDING_CLIENT, str(port)])
    found = wait_until(lambda: connection_holders(port) - {server}, message="the forked child")
    assert isinstance(found, set)
    [child] = found
    return child


def listener(port: int, reuse: bool) -> int:
    """Bind the wildcard and listen, as a server would: 0, or the errno of the failure."""
    with socket.socket() as s:
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("", port))
            s.listen()
        except OSError as exc:
            return exc.errno or -1
    return 0


def agree(port: int, data: dict[str, object]) -> None:
    """Every command says 'not free', and the two real listeners show why."""
    assert listener(port, reuse=False) == errno.EADDRINUSE  # the remnant blocks a plain bind
    bind = data["bind"]
    assert isinstance(bind, dict) and bind["free"] is False
    assert (listener(port, reuse=True) == 0) is bind["reusable"]
    assert cli("check", str(port), "-q").returncode == 1
    assert cli("why", str(port)).returncode == 1
    assert cli("wait", str(port), "--free", "--timeout", "0").returncode == 1
    again = cli("free", str(port), "--json")
    assert again.returncode == 1, again.stdout + again.stderr
    second = json.loads(again.stdout)
    assert second["freed"] is False and "already free" not in json.dumps(second)


@pytest.mark.parametrize("kind", ["socat", "python"])
@pytest.mark.parametrize("reuse", [False, True], ids=["no-reuseaddr", "reuseaddr"])
def test_forked_child_is_stopped_and_the_remnant_named(procs: Procs, kind: str, reuse: bool) -> None:
    port = free_port()
    server = start_server(procs, kind, port, reuse)
    child = connect_and_hold(procs, port, server.pid)
    r = cli("free", str(port), "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    data = json.loads(r.stdout)
    signalled = {s["pid"] for s in data["steps"] if s["action"] == "SIGTERM" and s["result"] == "sent"}
    assert signalled == {server.pid, child}
    wait_until(lambda: not alive(child) and not alive(server.pid), message="server and child gone")
    assert data["freed"] is False
    # The client never closes: the server's end is an orphaned FIN_WAIT1/2 that no process holds.
    assert "FIN_WAIT" in data["summary"] and "no process holds" in data["summary"]
    assert ("A bind with SO_REUSEADDR works now" in data["summary"]) is reuse
    assert data["bind"]["reusable"] is reuse  # accepted sockets inherit the listener's flag
    agree(port, data)


def test_socat_with_nc_as_in_the_issue(procs: Procs) -> None:
    """`setsid socat TCP-LISTEN:PORT,fork EXEC:cat &` and `sleep 60 | nc 127.0.0.1 PORT &`."""
    require(shutil.which("nc") is not None, "nc not found (apt-get install netcat-openbsd)")
    port = free_port()
    server = start_server(procs, "socat", port, reuse=False)
    procs.start(["bash", "-c", f"sleep 60 | nc 127.0.0.1 {port}"])
    found = wait_until(lambda: connection_holders(port) - {server.pid}, message="socat's child")
    assert isinstance(found, set)
    r = cli("free", str(port))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "is free" not in r.stdout and "nothing listens any more" in r.stdout
    assert all(not alive(p) for p in found)
    nc = subprocess.run(["nc", "-l", str(port)], capture_output=True, text=True, timeout=30)
    assert "already in use" in nc.stderr  # what portdoctor said: not free for a plain bind
    agree(port, json.loads(cli("free", str(port), "--json").stdout))


def test_child_left_by_a_dead_listener_is_a_target(procs: Procs) -> None:
    """The listener is already gone (killed by hand); its forked child still holds a connection."""
    port = free_port()
    server = start_server(procs, "python", port, reuse=True)
    child = connect_and_hold(procs, port, server.pid)
    os.kill(server.pid, signal.SIGTERM)
    wait_until(lambda: not alive(server.pid), message="the listener gone")
    before = cli("why", str(port), "--json")
    assert before.returncode == 1  # no listener, yet not free
    assert json.loads(before.stdout)["in_use"] is False
    assert listener(port, reuse=False) == errno.EADDRINUSE
    r = cli("free", str(port), "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert [s["pid"] for s in data["steps"] if s["action"] == "SIGTERM"] == [child]
    wait_until(lambda: not alive(child), message="the child gone")
    assert data["bind"]["reusable"] is True and listener(port, reuse=True) == 0
    agree(port, data)


def test_child_that_ignores_sigterm_needs_force(procs: Procs) -> None:
    port = free_port()
    server = procs.start([sys.executable, str(FORKING), str(port), "reuse", "ignore"])
    wait_listening(port, what="forking server")
    child = connect_and_hold(procs, port, server.pid)
    r = cli("free", str(port), "--json", "--timeout", "0.5")
    assert r.returncode == 1, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert alive(child) and not alive(server.pid)
    assert f"pid {child} " in data["summary"] and "ignored SIGTERM" in data["summary"]
    assert f" free {port} --force)" in data["summary"], data["summary"]  # the step to copy
    assert listener(port, reuse=False) == errno.EADDRINUSE
    forced = cli("free", str(port), "--json", "--timeout", "0.5", "--force")
    assert forced.returncode == 1, forced.stdout + forced.stderr  # the remnant stays
    steps = json.loads(forced.stdout)["steps"]
    assert any(s["action"] == "SIGKILL" and s["pid"] == child and s["result"] == "sent" for s in steps)
    wait_until(lambda: not alive(child), message="the child killed")


def test_free_port_agrees_everywhere() -> None:
    """Nothing on the port: every command says free, and both listeners bind."""
    port = free_port()
    r = cli("free", str(port), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["freed"] is True
    assert cli("check", str(port), "-q").returncode == 0
    assert cli("why", str(port)).returncode == 0
    assert cli("wait", str(port), "--free", "--timeout", "0").returncode == 0
    assert listener(port, reuse=False) == 0 and listener(port, reuse=True) == 0
