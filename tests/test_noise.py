"""A note or a step appears only where it changes what the user should do (issue 12)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from infra import portdoctor_cli

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="netlink")


def test_a_localhost_server_gets_no_note_about_other_binds() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        out = portdoctor_cli("why", str(port)).stdout
        assert "specific address" not in out and "wildcard bind" not in out, out


def test_a_dual_stack_server_gets_no_dual_stack_note_unless_asked() -> None:
    with socket.socket(socket.AF_INET6) as s:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        s.bind(("::", 0))
        s.listen()
        port = s.getsockname()[1]
        assert "IPV6_V6ONLY off" not in portdoctor_cli("why", str(port)).stdout
        # asked about an IPv4 bind: now the note explains why it fails
        assert "IPV6_V6ONLY off" in portdoctor_cli("why", str(port), "--host", "0.0.0.0").stdout


def test_fin_wait2_advice_does_not_start_with_or() -> None:
    # A server without SO_REUSEADDR closes first while the client keeps its side open: the
    # server's side stays in FIN_WAIT2 and both kinds of bind fail, so waiting is the first step.
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port = srv.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    conn, _ = srv.accept()
    conn.close()
    srv.close()
    try:
        out = portdoctor_cli("why", str(port)).stdout
        assert "FIN_WAIT2" in out, out
        assert "  1. Or" not in out and "  1. Wait until" in out, out
    finally:
        client.close()


def test_pick_name_from_another_directory_says_so(tmp_path: Path) -> None:
    env = {**os.environ, "PORTDOCTOR_REGISTRY": str(tmp_path / "ports.db")}
    a, b = tmp_path / "a", tmp_path / "b"
    (a / "sub").mkdir(parents=True)
    b.mkdir()

    def pick(cwd: Path) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "portdoctor", "pick", "--name", "myapp"],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    first = pick(a)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    again = pick(a / "sub")  # inside the same project: the same port, nothing to say
    assert again.stdout == first.stdout and again.stderr == ""
    other = pick(b)
    assert other.stdout == first.stdout
    assert f"'myapp' was reserved from {a}, not from here" in other.stderr, other.stderr
