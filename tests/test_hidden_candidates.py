"""An unprivileged user's view of another user's server: the holder narrowed to the owner's
processes (named, matched by owner, not proven), and ls's USER from the socket's uid.

The second user is the real one from infra.other_user() (setpriv); root's view of the same
server hides nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import free_port, kill_session, other_user, wait_listening
from servers import python_for, setpriv

pytest_plugins = ["infra"]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux /proc")

SRC = str(Path(__file__).resolve().parent.parent / "src")


def pd(*args: str, user: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC, "PYTHONDONTWRITEBYTECODE": "1"}
    prefix: list[str] = []
    python = sys.executable
    if user is not None:
        prefix, python = setpriv(user), python_for(user)
        env["HOME"] = "/"
    return subprocess.run(
        [*prefix, python, "-m", "portdoctor", *args],
        capture_output=True, text=True, timeout=120, env=env, cwd="/", stdin=subprocess.DEVNULL,
    )  # fmt: skip


@pytest.fixture
def roots_server() -> Iterator[tuple[int, int]]:
    """root's `python3 -m http.server PORT`, as in the issue: (port, pid)."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True, cwd="/",
    )  # fmt: skip
    try:
        wait_listening(port, what="http.server")
        yield port, proc.pid
    finally:
        kill_session(proc.pid, timeout=5.0)
        proc.wait(timeout=30)


def test_other_user_gets_the_owners_candidates(roots_server: tuple[int, int]) -> None:
    user = other_user()
    port, pid = roots_server
    r = pd("why", str(port), "--json", user=user)
    assert r.returncode == 1, r.stderr
    d = json.loads(r.stdout)
    assert d["holders"] == [] and d["free"] is False
    [h] = d["hidden"]
    assert h["uid"] == 0 and h["user"] == "root"
    assert "matched by owner, not proven" in h["reason"].lower()
    assert f"pid {pid} names port {port}" in h["reason"]
    first = h["candidates"][0]  # the one naming the port comes first
    assert first["pid"] == pid and first["uid"] == 0
    assert first["cmdline"][-4:] == ["http.server", str(port), "--bind", "127.0.0.1"]
    assert all(c["uid"] == 0 for c in h["candidates"])
    assert all(c["pid"] != 2 for c in h["candidates"])  # no kernel threads
    human = pd("why", str(port), user=user).stdout
    assert f"candidate (same owner, not proven): pid {pid} " in human
    assert "its file descriptors" in human or "their file descriptors" in human


def test_ls_user_column_from_the_socket_uid(roots_server: tuple[int, int]) -> None:
    user = other_user()
    port, _ = roots_server
    rows = json.loads(pd("ls", "--json", user=user).stdout)
    [row] = [r for r in rows if r["socket"]["port"] == port]
    assert row["holder"] is None and row["hidden"] is True and row["user"] == "root"
    [line] = [x for x in pd("ls", user=user).stdout.splitlines() if x.startswith(f"{port} ")]
    assert line.split()[3:5] == ["?", "root"]


def test_root_sees_the_holder_and_nothing_hidden(roots_server: tuple[int, int]) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    port, pid = roots_server
    d = json.loads(pd("why", str(port), "--json").stdout)
    assert [h["pid"] for h in d["holders"]] == [pid]
    assert d["hidden"] == []
    rows = json.loads(pd("ls", "--json").stdout)
    [row] = [r for r in rows if r["socket"]["port"] == port]
    assert row["holder"]["pid"] == pid and row["user"] == "root"
