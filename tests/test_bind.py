"""portdoctor.bind: a failed bind raises an OSError that names who holds the port."""

from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import tempfile

import pytest

from infra import wait_until
from portdoctor.bind import (
    PortInUseError,
    PortPermissionError,
    bind_or_explain,
    explain_failure,
    listen_or_explain,
)

NOT_LOCAL = "192.0.2.1"  # TEST-NET-1: never an address of this machine


@pytest.fixture
def holder():
    """A child Python process listening on 127.0.0.1:<port>; yields (pid, port)."""
    code = (
        "import socket, sys\n"
        "s = socket.create_server(('127.0.0.1', 0))\n"
        "print(s.getsockname()[1], flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield proc.pid, port
    finally:
        proc.kill()
        proc.wait(30)


def test_bind_or_explain_names_the_holder(holder: tuple[int, int]) -> None:
    pid, port = holder
    sock = socket.socket()
    try:
        with pytest.raises(PortInUseError) as info:
            bind_or_explain(sock, ("127.0.0.1", port))
    finally:
        sock.close()
    exc = info.value
    # Still the OSError existing handlers expect.
    assert isinstance(exc, OSError)
    assert exc.errno == errno.EADDRINUSE
    assert f"pid {pid}" in str(exc)
    assert "python" in str(exc)
    assert f"127.0.0.1:{port}" in str(exc)
    assert exc.diagnosis is not None and exc.diagnosis.in_use
    assert pid in [h.pid for h in exc.diagnosis.holders]
    assert exc.address == ("127.0.0.1", port)
    assert isinstance(exc.__cause__, OSError) and exc.__cause__.errno == errno.EADDRINUSE


def test_listen_or_explain_in_use(holder: tuple[int, int]) -> None:
    pid, port = holder
    with pytest.raises(OSError) as info:
        listen_or_explain("127.0.0.1", port)
    assert isinstance(info.value, PortInUseError)
    assert info.value.errno == errno.EADDRINUSE
    assert f"pid {pid}" in str(info.value)


def test_listen_or_explain_works_when_free() -> None:
    server = listen_or_explain("127.0.0.1", 0)
    try:
        port = server.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=30):
            conn, _ = server.accept()
            conn.close()
    finally:
        server.close()


def test_listen_or_explain_ipv6() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        server = listen_or_explain("::1", 0)
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        assert server.family == socket.AF_INET6
        assert server.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 1
    finally:
        server.close()


def test_udp_bind_is_diagnosed_as_udp() -> None:
    code = (
        "import socket, sys\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
        "s.bind(('127.0.0.1', 0))\n"
        "print(s.getsockname()[1], flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        with pytest.raises(PortInUseError) as info:
            bind_or_explain(sock, ("127.0.0.1", port))
        d = info.value.diagnosis
        assert d is not None and d.protocol == "udp" and d.in_use
        assert proc.pid in [h.pid for h in d.holders]
        assert f"pid {proc.pid}" in str(info.value)
    finally:
        sock.close()
        proc.kill()
        proc.wait(30)


def test_address_not_available() -> None:
    with pytest.raises(PortInUseError) as info:
        listen_or_explain(NOT_LOCAL, 0)
    exc = info.value
    assert exc.errno == errno.EADDRNOTAVAIL
    assert f"{NOT_LOCAL} is not an address" in str(exc)
    assert exc.diagnosis is None


def test_permission_is_also_a_permission_error() -> None:
    # As root the kernel lets us bind port 80, so feed the real EACCES a bind would raise.
    exc = explain_failure(OSError(errno.EACCES, os.strerror(errno.EACCES)), ("0.0.0.0", 80))
    assert isinstance(exc, PortPermissionError)
    assert isinstance(exc, PermissionError) and isinstance(exc, PortInUseError)
    assert exc.errno == errno.EACCES
    assert "CAP_NET_BIND_SERVICE" in str(exc)


@pytest.mark.skipif(os.geteuid() == 0, reason="root may bind privileged ports")
def test_permission_live() -> None:
    with pytest.raises(PermissionError) as info:
        listen_or_explain("127.0.0.1", 1)
    assert isinstance(info.value, PortPermissionError)


def test_other_errors_pass_through() -> None:
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 0))
        with pytest.raises(OSError) as info:
            bind_or_explain(sock, ("127.0.0.1", 0))  # already bound: EINVAL
        assert not isinstance(info.value, PortInUseError)
        assert info.value.errno == errno.EINVAL
    finally:
        sock.close()


def test_unix_sockets_pass_through() -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s")
        first = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        second = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            first.bind(path)
            with pytest.raises(OSError) as info:
                bind_or_explain(second, path)
            assert not isinstance(info.value, PortInUseError)
            assert info.value.errno == errno.EADDRINUSE
        finally:
            first.close()
            second.close()


def test_freed_port_binds(holder: tuple[int, int]) -> None:
    pid, port = holder
    os.kill(pid, 9)

    # Poll until the kernel has released the listener, then the bind must succeed.
    def try_listen() -> socket.socket | None:
        try:
            return listen_or_explain("127.0.0.1", port)
        except PortInUseError:
            return None

    server = wait_until(try_listen, 30, message=f"port {port} to be released")
    assert isinstance(server, socket.socket)
    server.close()
