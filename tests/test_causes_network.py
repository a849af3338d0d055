"""Network-level causes on real sockets: address-mismatch, time-wait, privileged-port, reserved."""

from __future__ import annotations

import json
import os
import random
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from infra import free_port, wait_until
from portdoctor import ranges
from portdoctor._find import find, sockets
from portdoctor.causes import Context, privileged, reserved
from portdoctor.diagnose import why

LINUX = sys.platform.startswith("linux")
SRC = str(Path(__file__).resolve().parent.parent / "src")
pytestmark = pytest.mark.skipif(not LINUX, reason="Linux socket semantics")

TYPE_CHECKING = False
if TYPE_CHECKING:
    from servers import Servers


def cli(*args: str, prefix: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=SRC)
    return subprocess.run(
        [*prefix, sys.executable, "-m", "portdoctor", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def why_json(*args: str) -> dict:  # type: ignore[type-arg]
    out = cli("why", *args, "--json")
    assert out.returncode in (0, 1), out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def port_outside_ephemeral(lo: int = 20000, hi: int = 32000) -> int:
    """A TCP port free right now, outside the ephemeral range and every special list."""
    e_lo, e_hi = ranges.ephemeral_range()
    for _ in range(500):
        port = random.randint(lo, hi)
        if e_lo <= port <= e_hi or ranges.unsafe_kind(port) is not None:
            continue
        if not any(s.port == port for s in sockets(port)):
            try:
                with socket.socket() as s:
                    s.bind(("0.0.0.0", port))
                return port
            except OSError:
                continue
    pytest.skip("no free port outside the ephemeral range")


def listener(host: str, port: int = 0, *, v6only: bool | None = None) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, int(v6only))
    s.bind((host, port))
    s.listen(8)
    return s


# --- address-mismatch -----------------------------------------------------------------------


def test_loopback_holder_vs_another_loopback_address() -> None:
    with listener("127.0.0.1") as s:
        port = s.getsockname()[1]
        d = why(port, host="127.0.0.2")
        assert d.cause is not None and d.cause.kind == "address-mismatch"
        assert "127.0.0.2" in d.cause.summary and "127.0.0.1" in d.cause.summary
        assert d.cause.details["bind"]["ok"] is True
        # The same port without a host: the wildcard bind collides; the holder's cause wins.
        plain = why(port)
        assert plain.cause is not None and plain.cause.kind != "address-mismatch"
        # ... and no note about other binds: it would end every localhost dev server's report
        assert not any("wildcard" in n or "specific address" in n for n in plain.notes), plain.notes
        assert any("another specific address" in n for n in why(port, host="0.0.0.0").notes)
        # The CLI agrees, and `check` answers for the described bind.
        data = why_json(str(port), "--host", "127.0.0.2")
        assert data["cause"]["kind"] == "address-mismatch"
        assert cli("check", str(port), "--host", "127.0.0.2", "-q").returncode == 0
        assert cli("check", str(port), "-q").returncode == 1
        assert cli("check", str(port), "--host", "127.0.0.1", "-q").returncode == 1


def test_reuseport_group_on_another_loopback_address_is_named_once(servers: Servers) -> None:
    # Two processes of a SO_REUSEPORT group: two sockets on one address. The summary said
    # "only taken on 127.0.0.1:PORT, 127.0.0.1:PORT"; the evidence names each holder.
    port = servers.reuseport(2, host="127.0.0.1")[0].port
    d = why(port, host="127.0.0.2")
    assert d.cause is not None and d.cause.kind == "address-mismatch"
    assert d.cause.summary.count(f"127.0.0.1:{port}") == 1, d.cause.summary
    assert sum(f"127.0.0.1:{port}" in e for e in d.cause.evidence) == 2, d.cause.evidence


def test_address_not_of_this_machine() -> None:
    port = free_port()
    d = why(port, host="192.0.2.123")  # TEST-NET-1: never local (eth0 here is 192.0.2.2/24)
    assert d.cause is not None and d.cause.kind == "address-mismatch"
    assert "EADDRNOTAVAIL" in d.cause.summary
    assert d.cause.details["bind"]["error"] == "address-not-available"


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6")
def test_ipv6_only_holder_vs_ipv4_bind() -> None:
    with listener("::", v6only=True) as s:
        port = s.getsockname()[1]
        d = why(port, host="0.0.0.0")
        assert d.cause is not None and d.cause.kind == "address-mismatch"
        assert any("IPV6_V6ONLY" in e for e in d.cause.evidence)
        # Not described: the holder's cause, with a note that IPv4 works.
        plain = why(port)
        assert plain.cause is not None and plain.cause.kind != "address-mismatch"
        assert any("IPv6-only" in n for n in plain.notes)
        # An IPv6 bind collides.
        v6 = why(port, ipv6=True)
        assert v6.cause is not None and v6.cause.kind != "address-mismatch"


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6")
def test_dual_stack_holder_blocks_ipv4_wildcard() -> None:
    with listener("::", v6only=False) as s:
        port = s.getsockname()[1]
        d = why(port, host="0.0.0.0")
        assert d.cause is not None and d.cause.kind != "address-mismatch"
        assert any("dual-stack" in n for n in d.notes)
        assert cli("check", str(port), "--host", "0.0.0.0", "-q").returncode == 1


def test_wildcard_holder_blocks_loopback() -> None:
    with listener("0.0.0.0") as s:
        port = s.getsockname()[1]
        d = why(port, host="127.0.0.1")
        assert d.cause is not None and d.cause.kind != "address-mismatch"
        assert any("holds every address" in n for n in d.notes)


@pytest.fixture
def netns_listener() -> object:
    """A TCP listener in a fresh network namespace (ip netns), yielding its port."""
    ip = shutil.which("ip")
    if ip is None or os.geteuid() != 0:
        pytest.skip("needs root and iproute2 to create a network namespace")
    name = f"pdtest-{uuid.uuid4().hex[:8]}"
    if subprocess.run([ip, "netns", "add", name], capture_output=True).returncode != 0:
        pytest.skip("cannot create a network namespace here")
    port = port_outside_ephemeral()
    code = (
        "import socket, sys, time\n"
        "s = socket.socket(); s.bind(('0.0.0.0', int(sys.argv[1]))); s.listen()\n"
        "print('ready', flush=True); time.sleep(600)\n"
    )
    proc = subprocess.Popen(
        [ip, "netns", "exec", name, sys.executable, "-c", code, str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        wait_until(
            lambda: any(s.foreign_netns and s.listening for s in sockets(port)),
            message="the namespace's listener to show up",
        )
        yield port, proc.pid
    finally:
        proc.kill()
        proc.wait(timeout=30)
        subprocess.run([ip, "netns", "del", name], capture_output=True)


def test_listener_in_another_network_namespace(netns_listener: tuple[int, int]) -> None:
    port, pid = netns_listener
    d = why(port)
    assert not d.in_use
    assert d.cause is not None and d.cause.kind == "address-mismatch"
    assert "another" in d.cause.summary
    assert d.cause.details["foreign"] and pid in d.cause.details["foreign"][0]["pids"]
    assert any("nsenter" in (a.command or "") for a in d.actions)
    out = cli("why", str(port), "--json")
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["cause"]["kind"] == "address-mismatch"
    assert cli("check", str(port), "-q").returncode == 0


# --- time-wait -------------------------------------------------------------------------------


def make_time_wait(port: int, server_reuseaddr: bool) -> None:
    """A server on ``port`` that closes an accepted connection first, then stops listening."""
    srv = socket.socket()
    if server_reuseaddr:
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = srv.accept()
    srv.close()
    conn.close()  # the server closes first: TIME_WAIT is on the server's side, on ``port``
    client.recv(1)
    client.close()
    wait_until(lambda: any(s.state == "TIME_WAIT" for s in sockets(port)), message="TIME_WAIT")


def test_time_wait_after_a_server_with_reuseaddr() -> None:
    port = port_outside_ephemeral()
    make_time_wait(port, server_reuseaddr=True)
    d = why(port)
    assert not d.in_use
    assert d.cause is not None and d.cause.kind == "time-wait"
    assert "SO_REUSEADDR can bind now" in d.cause.summary
    assert d.cause.details["bind_reuseaddr"]["ok"] is True
    assert d.cause.details["bind_plain"]["ok"] is False
    assert d.cause.details["states"]["TIME_WAIT"] >= 1
    expires = d.cause.details["expires"]
    assert expires is not None and 0 < expires <= 60
    assert any("check" in (a.command or "") and "--no-reuseaddr" in (a.command or "") for a in d.actions)
    data = why_json(str(port))
    assert data["cause"]["kind"] == "time-wait"
    assert cli("check", str(port), "--no-reuseaddr", "-q").returncode == 1
    assert cli("check", str(port), "--reuseaddr", "-q").returncode == 0


def test_time_wait_after_a_server_without_reuseaddr() -> None:
    port = port_outside_ephemeral()
    make_time_wait(port, server_reuseaddr=False)
    d = why(port)
    assert d.cause is not None and d.cause.kind == "time-wait"
    assert "block every new bind" in d.cause.summary
    assert d.cause.details["bind_reuseaddr"]["ok"] is False


def test_close_wait_names_the_process() -> None:
    port = port_outside_ephemeral()
    code = (
        "import socket, sys, time\n"
        "s = socket.socket(); s.bind(('127.0.0.1', int(sys.argv[1]))); s.listen()\n"
        "print('ready', flush=True)\n"
        "c, _ = s.accept(); s.close(); print('accepted', flush=True); time.sleep(600)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        client = socket.create_connection(("127.0.0.1", port))
        assert proc.stdout.readline().strip() == "accepted"
        client.close()  # the peer closes; the server never does: CLOSE_WAIT on its side
        wait_until(lambda: any(s.state == "CLOSE_WAIT" for s in sockets(port)), message="CLOSE_WAIT")
        d = why(port)
        assert d.cause is not None and d.cause.kind == "time-wait"
        assert f"pid {proc.pid}" in d.cause.summary and "CLOSE_WAIT" in d.cause.summary
        assert any(a.kind == "signal" and proc.pid in a.targets for a in d.actions)
    finally:
        proc.kill()
        proc.wait(timeout=30)


# --- privileged-port -------------------------------------------------------------------------


def unprivileged() -> tuple[str, ...]:
    if os.geteuid() != 0:
        return ()
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot drop privileges")
    return (setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all")


def free_low_port() -> int:
    start = ranges.unprivileged_port_start()
    if start <= 1:
        pytest.skip("no privileged ports here")
    for port in range(min(start, 1024) - 1, 700, -1):
        if (
            ranges.unsafe_kind(port) == "privileged"
            and port not in ranges.BROWSER_RESTRICTED_PORTS
            and not any(s.listening for s in sockets(port))
        ):
            return port
    pytest.skip("no free privileged port")


def test_privileged_port_as_nobody() -> None:
    prefix = unprivileged()
    port = free_low_port()
    out = cli("why", str(port), "--json", prefix=prefix)
    assert out.returncode == 0, out.stderr  # free: exit 0
    data = json.loads(out.stdout)
    assert data["cause"]["kind"] == "privileged-port"
    assert "EACCES" in data["cause"]["summary"]
    assert data["cause"]["details"]["bind"]["error"] == "permission"
    commands = [a["command"] or "" for a in data["actions"]]
    assert any("setcap 'cap_net_bind_service=+ep'" in c for c in commands)
    assert any("ip_unprivileged_port_start" in c for c in commands)


def test_privileged_port_as_root_is_not_a_cause() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    d = why(free_low_port())
    assert d.cause is None or d.cause.kind != "privileged-port"


def test_cap_eff_parsing() -> None:
    status = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t0000000000000400\n"
    mask = privileged.cap_eff(status)
    assert mask == 0x400 and mask >> privileged.CAP_NET_BIND_SERVICE & 1
    assert privileged.cap_eff("CapEff:\t0000000000000000\n") == 0
    assert privileged.cap_eff("Name: x\n") is None


def test_privileged_note_when_held() -> None:
    """Annotate: a held low port also needs privileges once freed (as an unprivileged user)."""
    code = (
        "import sys; from portdoctor.causes import Context, privileged; from portdoctor._find import find\n"
        "from portdoctor.model import Cause\n"
        "ctx = Context(port=int(sys.argv[1]), protocol='tcp', finding=find(int(sys.argv[1])))\n"
        "privileged.annotate(ctx, Cause(kind='unknown', summary='x')); print(ctx.notes)\n"
    )
    port = free_low_port()
    out = subprocess.run(
        [*unprivileged(), sys.executable, "-c", code, str(port)],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ, PYTHONPATH=SRC),
    )
    assert out.returncode == 0, out.stderr
    assert "CAP_NET_BIND_SERVICE" in out.stdout


# --- reserved --------------------------------------------------------------------------------

RESERVED_FILE = "/proc/sys/net/ipv4/ip_local_reserved_ports"


@pytest.fixture
def reserved_port() -> object:
    """A port written into ip_local_reserved_ports for the test (restored after)."""
    if not os.access(RESERVED_FILE, os.W_OK):
        pytest.skip("ip_local_reserved_ports is not writable")
    with open(RESERVED_FILE) as f:
        before = f.read().strip()
    port = port_outside_ephemeral()
    try:
        with open(RESERVED_FILE, "w") as f:
            f.write(f"{before},{port}" if before else str(port))
    except OSError:
        pytest.skip("cannot write ip_local_reserved_ports")
    ranges.clear_cache()
    try:
        yield port
    finally:
        with open(RESERVED_FILE, "w") as f:
            f.write(before if before else "\n")
        ranges.clear_cache()


def test_port_in_ip_local_reserved_ports(reserved_port: int) -> None:
    d = why(reserved_port)
    assert d.cause is not None and d.cause.kind == "reserved"
    assert "ip_local_reserved_ports" in d.cause.summary
    assert d.cause.details["reserved"] is True
    assert d.cause.details["bind"]["ok"] is True  # Linux: a server may bind a reserved port


def test_free_ephemeral_port() -> None:
    lo, hi = ranges.ephemeral_range()
    port = free_port()
    if not lo <= port <= hi:
        pytest.skip("the kernel's pick is outside the ephemeral range")
    d = why(port)
    assert d.cause is not None and d.cause.kind == "reserved"
    assert "ephemeral range" in d.cause.summary
    assert not d.in_use
    assert cli("why", str(port), "--json").returncode == 0


def test_client_connection_on_an_ephemeral_port_is_named() -> None:
    with listener("127.0.0.1", port_outside_ephemeral()) as srv:
        client = socket.create_connection(srv.getsockname())
        try:
            conn, _ = srv.accept()
            port = client.getsockname()[1]
            lo, hi = ranges.ephemeral_range()
            if not lo <= port <= hi:
                pytest.skip("the client's port is outside the ephemeral range")
            d = why(port)
            assert d.cause is not None and d.cause.kind == "reserved"
            assert f"pid {os.getpid()}" in d.cause.summary
            assert d.cause.details["bind"]["ok"] is False
            conn.close()
        finally:
            client.close()


def test_browser_restricted_port() -> None:
    port = 6000
    if any(s.port == port for s in sockets(port)) or port in ranges.reserved_ports():
        pytest.skip("port 6000 is in use here")
    d = why(port)
    assert d.cause is not None and d.cause.kind == "reserved"
    assert "ERR_UNSAFE_PORT" in d.cause.summary
    data = why_json(str(port))
    assert data["cause"]["details"]["browser_restricted"] is True


def test_reserved_note_when_held() -> None:
    with listener("127.0.0.1") as s:
        port = s.getsockname()[1]
        lo, hi = ranges.ephemeral_range()
        if not lo <= port <= hi:
            pytest.skip("the kernel's pick is outside the ephemeral range")
        ctx = Context(port=port, protocol="tcp", finding=find(port))
        assert reserved.detect(ctx) is None  # a listener: the holder's cause wins
        from portdoctor.model import Cause

        reserved.annotate(ctx, Cause(kind="dev-server", summary="x"))
        assert any("ephemeral range" in n for n in ctx.notes)
