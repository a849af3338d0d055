"""portdoctor.probe.can_bind: a real bind probe, on real sockets."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import subprocess
import sys

import pytest

from infra import free_port
from portdoctor.errors import UsageError
from portdoctor.probe import BindResult, can_bind

NOT_LOCAL = "192.0.2.1"  # TEST-NET-1: never an address of this machine
LINUX = sys.platform.startswith("linux")


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


def test_free_port_binds() -> None:
    port = free_port()
    r = can_bind(port)
    assert r == BindResult(ok=True, errno=None, error=None, host="0.0.0.0", family="ipv4", message=None)


def test_listener_on_loopback_blocks_the_wildcard() -> None:
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
        r = can_bind(port)
        assert not r.ok
        assert r.error == "in-use"
        assert r.errno == errno.EADDRINUSE
        assert r.host == "0.0.0.0"
        assert r.message
        # Binding the same port with or without SO_REUSEADDR: a listener always wins.
        assert can_bind(port, reuseaddr=False).error == "in-use"
        assert can_bind(port, host="127.0.0.1").error == "in-use"


@pytest.mark.skipif(not has_ipv6(), reason="no IPv6 on this machine")
def test_ipv6_wildcard_is_dual_stack() -> None:
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
        r = can_bind(port, ipv6=True)
        assert (r.ok, r.error, r.host, r.family) == (False, "in-use", "::", "ipv6")
    with socket.create_server(("::1", 0), family=socket.AF_INET6) as srv:
        port = srv.getsockname()[1]
        assert can_bind(port, ipv6=True).error == "in-use"
        assert can_bind(port, host="[::1]").error == "in-use"


@pytest.mark.skipif(not LINUX, reason="127.0.0.2 is local on Linux only")
def test_another_loopback_address_is_free() -> None:
    with socket.create_server(("127.0.0.1", 0)) as srv:
        port = srv.getsockname()[1]
        assert can_bind(port, host="127.0.0.2").ok


def test_address_not_local() -> None:
    r = can_bind(free_port(), host=NOT_LOCAL)
    assert (r.ok, r.error, r.host) == (False, "address-not-available", NOT_LOCAL)
    assert r.errno == errno.EADDRNOTAVAIL


def test_udp() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("0.0.0.0", 0))
        port = s.getsockname()[1]
        assert can_bind(port, protocol="udp", reuseaddr=False).error == "in-use"


@pytest.mark.skipif(not LINUX, reason="TIME_WAIT semantics of SO_REUSEADDR are Linux's here")
def test_time_wait_needs_reuseaddr() -> None:
    srv = socket.create_server(("127.0.0.1", 0))
    port = srv.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = srv.accept()
    srv.close()
    conn.close()  # the server side closes first: its socket on `port` goes to TIME_WAIT
    client.recv(1)
    client.close()
    assert can_bind(port, host="127.0.0.1", reuseaddr=False).error == "in-use"
    assert can_bind(port, host="127.0.0.1", reuseaddr=True).ok


@pytest.mark.parametrize("host", ["nope", "300.1.1.1", "::zz", "example.com"])
def test_invalid_host(host: str) -> None:
    with pytest.raises(UsageError, match="invalid host"):
        can_bind(8080, host=host)


@pytest.mark.parametrize("port", [-1, 65536, True])
def test_invalid_port(port: int) -> None:
    with pytest.raises(UsageError):
        can_bind(port)


def test_localhost() -> None:
    r = can_bind(free_port("127.0.0.1"), host="localhost")
    assert r.host == "127.0.0.1"


def test_permission_below_unprivileged_start() -> None:
    from portdoctor.ranges import unprivileged_port_start

    if unprivileged_port_start() <= 1 or sys.platform == "win32":
        pytest.skip("no privileged ports here")
    code = "from portdoctor.probe import can_bind; r = can_bind(1); print(r.error, r.ok)"
    out = subprocess.run(
        [*unprivileged(), sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["permission", "False"]


def unprivileged() -> list[str]:
    """A command prefix that runs as an unprivileged user (skips when there is no way)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot drop privileges")
    return [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]


def test_to_dict() -> None:
    d = can_bind(free_port()).to_dict()
    assert set(d) == {"ok", "errno", "error", "host", "family", "message"}
