"""orphan cause: a real listener whose parent and session leader exited (double fork + setsid, no tty).

pid 1 here may be any init (systemd, tini, or a sandbox's own init): the detector treats whatever
runs as pid 1 as init."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile

import pytest

from infra import wait_until
from portdoctor.causes import orphan
from portdoctor.diagnose import why
from portdoctor.model import ProcessRef

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

# Fork, setsid, fork again: the grandchild listens with no terminal and a dead session leader.
# It reports "pid port" on stdout and exits when its stdin (a pipe from the test) closes.
DOUBLE_FORK = r"""
import os, socket, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen()
        print(os.getpid(), s.getsockname()[1], flush=True)
        sys.stdout.close(); os.close(1); os.close(2)
        sys.stdin.read()
        os._exit(0)
    os._exit(0)
os.wait()
"""


@pytest.fixture
def orphan_server() -> Iterator[tuple[int, int, str]]:
    cwd = tempfile.mkdtemp(prefix="portdoctor-orphan-")
    proc = subprocess.Popen(
        [sys.executable, "-c", DOUBLE_FORK],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
        text=True,
    )
    assert proc.stdout is not None and proc.stdin is not None
    line = proc.stdout.readline()
    pid, port = (int(x) for x in line.split())
    proc.wait(timeout=30)
    try:
        yield pid, port, cwd
    finally:
        proc.stdin.close()
        with contextlib.suppress(OSError):
            wait_until(lambda: not os.path.exists(f"/proc/{pid}"), timeout=10, message="orphan exit")
        with contextlib.suppress(OSError, AssertionError):
            os.kill(pid, signal.SIGKILL)
        os.rmdir(cwd)


def _ppid(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def test_double_forked_listener_is_an_orphan(orphan_server: tuple[int, int, str]) -> None:
    pid, port, cwd = orphan_server
    ppid = wait_until(lambda: _ppid(pid) if _ppid(pid) != 0 else None, message="reparenting")
    if ppid != 1:
        pytest.skip(f"re-parented to a subreaper (pid {ppid}), not to pid 1")
    d = why(port, cwd="/")
    assert d.cause is not None and d.cause.kind == "orphan", d.cause
    assert str(pid) in d.cause.summary
    assert any("no longer exists" in e for e in d.cause.evidence)
    assert any("no controlling terminal" in e for e in d.cause.evidence)
    assert d.actions[0].command == f"portdoctor free {port}" and d.actions[0].safe
    assert d.actions[0].targets == (pid,)
    out = subprocess.run(
        [sys.executable, "-m", "portdoctor", "why", str(port), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd="/",
    )
    assert json.loads(out.stdout)["cause"]["kind"] == "orphan"


def test_a_child_of_a_living_parent_is_not_an_orphan(servers: object) -> None:
    srv = servers.tcp(cwd="/")  # type: ignore[attr-defined]
    d = why(srv.port, cwd="/")
    assert d.cause is not None and d.cause.kind not in ("orphan",), d.cause


def test_init_like_parents() -> None:
    assert orphan.init_like(None, 1)
    assert orphan.init_like(ProcessRef(pid=1, name="process_api", cmdline=("/process_api",)), 1)
    user_manager = ProcessRef(pid=900, name="systemd", cmdline=("/lib/systemd/systemd", "--user"))
    assert orphan.init_like(user_manager, 900)
    assert orphan.init_like(ProcessRef(pid=7, name="tini", cmdline=("tini", "--", "app")), 7)
    assert not orphan.init_like(ProcessRef(pid=50, name="bash", cmdline=("bash",)), 50)
