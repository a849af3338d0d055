"""systemd cause: unit parsing on recorded /proc/PID/cgroup contents, and a live process moved into
a real cgroup named like a service unit (no systemd runs here as pid 1)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from infra import wait_until
from portdoctor.causes import systemd
from portdoctor.diagnose import why

PROC = Path(__file__).parent / "fixtures" / "proc"
SYSTEMCTL = PROC / "systemctl"  # recorded `systemctl list-sockets --all --no-legend`


def cgroup_text(case: str) -> str:
    return (PROC / case / "cgroup").read_text()


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("systemd-system-unit-v2", ("nginx.service", False, None)),
        ("systemd-user-unit-v2", ("myapp.service", True, 1000)),
        ("systemd-v1-hybrid", ("redis-server.service", False, None)),
        ("systemd-v1-legacy", ("webapp.service", False, None)),
        ("systemd-subcgroup", ("containerd.service", False, None)),
        ("systemd-template-instance", ("myapp@8080.service", False, None)),
        ("systemd-socket-activated", ("myapp.service", False, None)),
        ("docker-v1", None),
        ("docker-systemd-scope", None),
        ("login-session-scope", None),
        ("gnome-terminal-scope", None),
        ("kde-app-launch", None),
        ("user-manager-init", None),
        ("ssh-without-pam-systemd", None),
        ("root-cgroup", None),
        ("sandbox-process-api", None),
    ],
)
def test_unit_of_recorded_cgroup(case: str, expected: tuple[str, bool, int | None] | None) -> None:
    assert systemd.unit_of_cgroup_file(cgroup_text(case)) == expected


def test_cgroup_paths_prefer_unified_then_named() -> None:
    paths = systemd.cgroup_paths(cgroup_text("systemd-v1-legacy"))
    assert paths == ["/system.slice/webapp.service"]
    assert systemd.cgroup_paths(cgroup_text("sandbox-process-api")) == ["/", "/"]


def test_socket_unit_from_recorded_environ() -> None:
    case = PROC / "systemd-socket-activated"
    raw = (case / "environ").read_bytes().split(b"\0")
    env = dict(x.decode().split("=", 1) for x in raw if b"=" in x)
    pid = int((case / "pid").read_text())
    assert systemd.socket_unit_from_env(env, pid, "myapp.service") == "myapp.socket"
    # LISTEN_PID names another process: the fds were not meant for this one
    assert systemd.socket_unit_from_env(env, pid + 1, "myapp.service") is None
    # no names passed: systemd's default pairing foo.socket -> foo.service (and templates)
    bare = {"LISTEN_FDS": "1", "LISTEN_PID": str(pid)}
    assert systemd.socket_unit_from_env(bare, pid, "web.service") == "web.socket"
    assert systemd.socket_unit_from_env(bare, pid, "sshd@3-10.0.0.1:22.service") == "sshd.socket"
    assert systemd.socket_unit_from_env({}, pid, "web.service") is None


def test_socket_unit_from_recorded_list_sockets() -> None:
    text = (SYSTEMCTL / "list-sockets.txt").read_text()
    assert systemd.socket_unit_from_list(text, 8080) == ("myapp.socket", "myapp.service")
    assert systemd.socket_unit_from_list(text, 22) == ("ssh.socket", "ssh@*.service")
    assert systemd.socket_unit_from_list(text, 9999) is None


# -- live: a real process in a real cgroup named like a unit ----------------------------------

SERVER = (
    "import socket, sys, time\n"
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "sys.stdin.read()\n"  # until the test closes our stdin
)


def _hierarchies() -> list[Path]:
    found = []
    for p in (Path("/sys/fs/cgroup/unified"), Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup")):
        if (p / "cgroup.procs").exists() and p not in found:
            found.append(p)
    return found


@pytest.fixture
def unit_cgroup() -> object:
    """A cgroup /system.slice/pdtest-XXXX.service in every writable hierarchy; removed afterwards."""
    unit = f"pdtest-{uuid.uuid4().hex[:8]}.service"
    made: list[Path] = []
    for root in _hierarchies():
        d = root / "system.slice" / unit
        try:
            if not d.parent.exists():
                d.parent.mkdir()
                made.append(d.parent)  # ours: removed after the unit's own cgroup
            d.mkdir()
        except OSError:
            continue
        made.append(d)
    if not made:
        pytest.skip("cannot create a cgroup here (the kernel or permissions refuse)")
    yield unit, made
    for d in reversed(made):
        with contextlib.suppress(OSError):
            d.rmdir()


def test_live_process_in_a_service_cgroup(unit_cgroup: tuple[str, list[Path]]) -> None:
    unit, made = unit_cgroup
    dirs = [d for d in made if d.name == unit]
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        port = int(proc.stdout.readline())
        moved = 0
        for d in dirs:
            try:
                (d / "cgroup.procs").write_text(str(proc.pid))
                moved += 1
            except OSError:
                continue
        if not moved:
            pytest.skip("the kernel refused to move a process into the new cgroup")
        wait_until(lambda: unit in Path(f"/proc/{proc.pid}/cgroup").read_text(), message="cgroup move")
        d = why(port)
        assert d.cause is not None and d.cause.kind == "systemd", d.cause
        assert d.cause.details["unit"] == unit
        assert d.cause.details["user_unit"] is False
        assert d.cause.details["manager"] == "systemd"
        assert d.cause.stop is not None and d.cause.stop.argv == ("systemctl", "stop", unit)
        assert d.cause.stop.uid is None  # a system unit: systemd decides who may stop it
        assert unit in d.cause.summary
        commands = [a.command for a in d.actions]
        assert any(c and c.endswith(f"systemctl stop {unit}") for c in commands), commands
        out = subprocess.run(
            [sys.executable, "-m", "portdoctor", "why", str(port), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        data = json.loads(out.stdout)
        assert data["cause"]["kind"] == "systemd"
        assert data["cause"]["details"]["unit"] == unit
    finally:
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()
        proc.wait(timeout=30)
        wait_until(
            lambda: all(not (d / "cgroup.procs").read_text().strip() for d in dirs), message="cgroup empty"
        )


def test_live_process_in_a_docker_like_cgroup_is_not_a_unit(unit_cgroup: tuple[str, list[Path]]) -> None:
    # A scope (docker-<id>.scope, session-N.scope) is not a unit to stop: the detector stays silent.
    unit, made = unit_cgroup
    dirs = [d for d in made if d.name == unit]
    scope_dirs = []
    for d in dirs:
        s = d.parent / f"docker-{uuid.uuid4().hex}.scope"
        try:
            s.mkdir()
        except OSError:
            continue
        scope_dirs.append(s)
    if not scope_dirs:
        pytest.skip("cannot create a scope cgroup")
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        for s in scope_dirs:
            with contextlib.suppress(OSError):
                (s / "cgroup.procs").write_text(str(proc.pid))
        wait_until(lambda: ".scope" in Path(f"/proc/{proc.pid}/cgroup").read_text(), message="cgroup move")
        d = why(port)
        assert d.cause is not None and d.cause.kind != "systemd", d.cause
    finally:
        with contextlib.suppress(OSError):
            if proc.stdin:
                proc.stdin.close()
        proc.wait(timeout=30)
        for s in scope_dirs:
            wait_until(lambda s=s: not (s / "cgroup.procs").read_text().strip(), message="scope empty")
            with contextlib.suppress(OSError):
                s.rmdir()


def test_not_systemd_when_the_holder_has_no_unit() -> None:
    # Our own test process sits in the root cgroup: nothing for this detector.
    assert systemd.unit_of_path(None) is None
    assert systemd.unit_of_path("/") is None
    assert os.path.exists(f"/proc/{os.getpid()}/cgroup")
