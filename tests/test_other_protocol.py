"""A port free in one protocol but held in the other: ``why`` says so and names the holder."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys

import pytest

from infra import free_port, kill_session, portdoctor_cli, require, wait_until, why_json

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink")


def _udp_bound(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("", port))
        except OSError:
            return True
    return False


def test_tcp_free_but_a_node_dgram_socket_holds_udp() -> None:
    require(shutil.which("node") is not None, "node is needed")
    port = free_port(kind=socket.SOCK_DGRAM)
    proc = subprocess.Popen(
        ["node", "-e", f"require('dgram').createSocket('udp4').bind({port})"], start_new_session=True
    )
    try:
        wait_until(lambda: _udp_bound(port), message="the dgram socket")
        data = why_json(port)
        assert data["in_use"] is False
        notes = data["notes"]
        assert isinstance(notes, list)
        hint = [n for n in notes if f"{port}/udp is held by pid {proc.pid} (node)" in n]
        assert hint and f"portdoctor why {port} --udp" in hint[0], notes
        text = portdoctor_cli("why", str(port)).stdout
        assert f"port {port}/udp is held by pid {proc.pid} (node)" in text
    finally:
        kill_session(proc.pid)
        proc.wait(10)


def test_udp_free_but_tcp_held_and_a_really_free_port_says_nothing() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        data = why_json_udp(port)
        assert data["in_use"] is False
        assert any(
            f"{port}/tcp is held by pid" in n and f"'portdoctor why {port}'" in n for n in data["notes"]
        )  # type: ignore[union-attr]
    free = free_port()
    data = why_json(free)
    assert not any("is held by" in n for n in data["notes"])  # type: ignore[union-attr]


def why_json_udp(port: int) -> dict[str, object]:
    import json

    r = portdoctor_cli("why", str(port), "--udp", "--json")
    assert r.returncode == 0, r.stderr
    data: dict[str, object] = json.loads(r.stdout)
    return data
