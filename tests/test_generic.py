"""The psutil back-end (macOS, Windows, BSD), run here on Linux against real sockets.

What is checked here is the shared code path: psutil's connection table -> Socket/holders ->
ProcessFacts, and the CLI with PORTDOCTOR_BACKEND=generic. The platform-only parts (netsh,
launchctl, netstat on macOS) are tested on recorded outputs in test_windows.py / test_macos.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from infra import free_port, wait_until
from portdoctor.model import Socket
from portdoctor.platforms import generic

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="runs the generic back-end against Linux's sockets"
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from servers import Servers


def _on_port(port: int, protocol: str = "tcp") -> list[Socket]:
    return [s for s in generic.sockets(port, (protocol,)) if s.listening]


def test_name_and_no_cgroup() -> None:
    assert generic.NAME == "linux"
    assert generic.cgroup(os.getpid()) is None


def test_tcp_listener_and_its_holder(servers: Servers) -> None:
    srv = servers.tcp("127.0.0.1")
    [s] = _on_port(srv.port)
    assert (s.protocol, s.family, s.address, s.port, s.state) == (
        "tcp",
        "ipv4",
        "127.0.0.1",
        srv.port,
        "LISTEN",
    )
    assert s.holders == (srv.pid,)
    assert s.uid == os.geteuid()
    assert s.inode != 0  # synthetic key: psutil gives no inode
    found, hidden, unreadable = generic.attach_holders([s])
    assert found == [s]
    assert hidden == []


def test_ipv6_listener(servers: Servers) -> None:
    try:
        srv = servers.tcp("::1", v6only=True)
    except AssertionError as exc:  # pragma: no cover - no IPv6 on this machine
        pytest.skip(f"no IPv6: {exc}")
    [s] = _on_port(srv.port)
    assert (s.family, s.address, s.holders) == ("ipv6", "::1", (srv.pid,))


def test_udp_socket(servers: Servers) -> None:
    srv = servers.udp("127.0.0.1")
    assert generic.sockets(srv.port, ("tcp",)) == []
    [s] = generic.sockets(srv.port, ("udp",))
    assert (s.protocol, s.state, s.holders) == ("udp", "UNCONN", (srv.pid,))
    assert s.listening


def test_forked_workers(servers: Servers) -> None:
    srv = servers.tcp("127.0.0.1", workers=2)
    [s] = _on_port(srv.port)
    # psutil's Linux table names one holder per socket (the first fd it finds); macOS lists
    # every process, Windows names the creator. Whoever it names must be one of ours.
    assert s.holders
    assert set(s.holders) <= set(srv.pids)


def test_reuseport_group(servers: Servers) -> None:
    group = servers.reuseport(3)
    found = _on_port(group[0].port)
    # Same address, port and state: one synthetic key, every member a holder of it (psutil on
    # macOS/Windows cannot tell the sockets apart either).
    assert {p for s in found for p in s.holders} == {srv.pid for srv in group}


def test_established_and_listening_only(servers: Servers) -> None:
    import socket

    srv = servers.tcp("127.0.0.1")
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as client:
        local_port = client.getsockname()[1]

        def accepted() -> list[Socket]:
            return [s for s in generic.sockets(srv.port) if s.state == "ESTABLISHED"]

        wait_until(accepted, 30, message="the accepted connection")
        [mine] = [s for s in generic.sockets(local_port) if s.state == "ESTABLISHED"]
        assert mine.holders == (os.getpid(),)
        assert (mine.remote_address, mine.remote_port) == ("127.0.0.1", srv.port)
        only = generic.sockets(srv.port, listening_only=True)
        assert [s.state for s in only] == ["LISTEN"]


def test_free_port_has_no_sockets() -> None:
    port = free_port("127.0.0.1")
    assert _on_port(port) == []


def test_process_facts(servers: Servers, tmp_path: object) -> None:
    srv = servers.tcp("127.0.0.1", cwd=str(tmp_path))
    facts = generic.process(srv.pid)
    assert facts is not None
    assert facts.pid == srv.pid
    assert facts.ppid == os.getpid()
    assert facts.cmdline[1] == "-c"
    assert facts.cwd == str(tmp_path)
    assert facts.uid == os.geteuid()
    assert facts.user == generic.username(os.geteuid())
    assert facts.started is not None
    # create_time has a clock-tick resolution: allow one second either side.
    assert srv.started_before - 1 <= facts.started <= srv.started_after + 1
    assert generic.start_time(srv.pid) == facts.started
    env = generic.environ(srv.pid)
    assert env is not None and "PATH" in env
    assert srv.pid in generic.children(os.getpid())
    assert srv.pid in generic.all_pids()


def test_gone_process() -> None:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    assert generic.process(p.pid) is None
    assert generic.start_time(p.pid) is None
    assert generic.environ(p.pid) is None
    assert generic.children(p.pid) == []
    assert generic.terminate(p.pid) == "gone"


@pytest.mark.parametrize(("force", "expected", "code"), [(False, "asked", -15), (True, "killed", -9)])
def test_terminate(force: bool, expected: str, code: int) -> None:
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        assert generic.terminate(p.pid, force) == expected
        assert p.wait(timeout=60) == code
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()


def test_refusal() -> None:
    assert generic.refusal(1) is not None  # init
    assert generic.refusal(os.getpid()) is None


def test_hidden_entry_wording() -> None:
    s = Socket(
        "tcp",
        "ipv4",
        "0.0.0.0",
        5000,
        "LISTEN",
        inode=generic.socket_key("tcp", "ipv4", "0.0.0.0", 5000, None, None, "LISTEN"),
    )
    _, hidden, _ = generic.attach_holders([s])
    [h] = hidden
    assert h.inode == s.inode
    if os.geteuid() == 0:
        assert h.hint is None and "even with privileges" in h.reason
    else:
        assert h.hint == "sudo portdoctor why 5000"


def test_socket_key_is_stable_and_never_zero() -> None:
    a = generic.socket_key("tcp", "ipv4", "127.0.0.1", 3000, None, None, "LISTEN")
    assert a == generic.socket_key("tcp", "ipv4", "127.0.0.1", 3000, None, None, "LISTEN")
    assert a != generic.socket_key("tcp", "ipv6", "127.0.0.1", 3000, None, None, "LISTEN")
    assert a > 0


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PORTDOCTOR_BACKEND": "generic"}
    return subprocess.run(
        [sys.executable, "-m", "portdoctor", *args], capture_output=True, text=True, env=env, timeout=120
    )


def test_cli_why_through_the_generic_backend(servers: Servers) -> None:
    srv = servers.tcp("127.0.0.1")
    done = _cli("why", str(srv.port), "--json")
    assert done.returncode == 1, done.stderr  # 1: in use
    d = json.loads(done.stdout)
    assert d["in_use"] is True
    assert [s["holders"] for s in d["sockets"] if s["state"] == "LISTEN"] == [[srv.pid]]
    [h] = d["holders"]
    assert h["pid"] == srv.pid and h["ppid"] == os.getpid()
    assert h["parents"][0]["pid"] == os.getpid()
    assert h["cgroup"] is None  # the generic back-end has no cgroups: proof it was used
    assert d["cause"]["kind"] != "unknown"  # a known holder of ours: a detector named it


def test_cli_check_through_the_generic_backend(servers: Servers) -> None:
    srv = servers.tcp("127.0.0.1")
    assert _cli("check", str(srv.port)).returncode == 1
    srv.stop()
    wait_until(lambda: not _on_port(srv.port), 60, message="the listener to go")
    assert _cli("check", str(srv.port)).returncode == 0


def test_a_connection_no_process_holds_is_no_hidden_holder() -> None:
    # The server closed its side and exited its sockets: FIN_WAIT2 on the port, held by no
    # process (the kernel finishes the close). psutil names no pid for it (Windows: pid 0); the
    # back-end made it a socket of "a process we cannot see", even for root, and `free` ended
    # with "a process we cannot see holds connection(s) on it". As on Linux: inode 0, nobody's.
    import socket

    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port), timeout=30)
        accepted, _ = server.accept()
        accepted.close()  # our side sends FIN first: FIN_WAIT2 once the client acknowledges
    try:
        def remnant() -> list[Socket]:
            return [s for s in generic.sockets(port) if s.state == "FIN_WAIT2"]

        wait_until(remnant, 30, message="the FIN_WAIT2 remnant")
        [s] = remnant()
        assert (s.inode, s.holders) == (0, ())
        assert generic.attach_holders([s])[1] == []  # not hidden
        done = _cli("why", str(port), "--json")
        d = json.loads(done.stdout)
        assert d["hidden"] == [], d["hidden"]
        assert d["cause"]["kind"] == "time-wait", d["cause"]
    finally:
        client.close()
