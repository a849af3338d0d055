"""nodemon and other reloaders: a real nodemon child, a real `node --watch`, and command-line parsing."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from infra import HTTP_SERVER, Nodemon, free_port, kill_session, require, wait_listening
from portdoctor.causes import reloader as reloaders
from portdoctor.diagnose import why


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["node", "/usr/bin/nodemon", "server.js"], "nodemon"),
        (["node", "/app/node_modules/nodemon/bin/nodemon.js", "--watch", "src"], "nodemon"),
        (["node", "/app/node_modules/ts-node-dev/lib/bin.js", "--respawn", "src/index.ts"], "ts-node-dev"),
        (["node", "--watch", "server.js"], "node --watch"),
        (["node", "--watch-path=./src", "server.js"], "node --watch"),
        (["node", "/app/node_modules/.bin/tsx", "watch", "src/index.ts"], "tsx watch"),
        (["/app/.venv/bin/python", "/app/.venv/bin/uvicorn", "main:app", "--reload"], "uvicorn --reload"),
        (["python3", "-m", "uvicorn", "main:app", "--reload-dir", "src"], "uvicorn --reload"),
        (["/usr/bin/python3", "/usr/local/bin/flask", "run", "--debug"], "flask reloader"),
        (["watchexec", "-r", "--", "cargo", "run"], "watchexec"),
        (["/home/me/go/bin/air"], "air"),
        (["cargo", "watch", "-x", "run"], "cargo-watch"),
        (["dotnet", "watch", "run"], "dotnet watch"),
        # not reloaders: plain wrappers and plain servers
        (["npm run dev"], None),
        (["node", "/usr/lib/node_modules/npm/bin/npm-cli.js", "run", "dev"], None),
        (["node", "server.js"], None),
        (["node", "/app/node_modules/.bin/vite"], None),
        (["python3", "-m", "uvicorn", "main:app"], None),
        (["python3", "manage.py", "runserver"], None),  # only with its RUN_MAIN child
        (["cargo", "run"], None),
    ],
)
def test_reloader_names(argv: list[str], expected: str | None) -> None:
    assert reloaders.reloader_name(argv) == expected


def test_nodemon_child_is_stopped_through_nodemon(nodemon: Nodemon) -> None:
    port = free_port()
    run = nodemon.start(port)
    d = why(port)
    assert d.cause is not None and d.cause.kind == "reloader", d.cause
    details = d.cause.details
    assert details["manager"] == "nodemon" and details["reloader"] == "nodemon"
    assert details["reloader_pid"] == run.pid
    assert details["respawns"] is True
    child = [h.pid for h in d.holders]
    stop = d.cause.stop
    assert stop is not None and stop.signal_pids[0] == run.pid and not stop.argv
    assert set(child) <= set(stop.signal_pids)
    assert d.cause.to_dict()["details"]["stop"] == {"signal_pids": list(stop.signal_pids)}
    assert "nodemon" in d.cause.summary and str(run.pid) in d.cause.summary
    assert d.actions[0].kind == "stop-reloader" and d.actions[0].command == f"portdoctor free {port}"
    out = subprocess.run(
        [sys.executable, "-m", "portdoctor", "why", str(port), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    data = json.loads(out.stdout)
    assert data["cause"]["kind"] == "reloader"
    assert data["cause"]["details"]["reloader_pid"] == run.pid


def test_node_watch_child_is_stopped_through_its_watcher() -> None:
    node = shutil.which("node")
    require(node is not None, "node not installed")
    assert node is not None
    version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    major = int(version.lstrip("v").split(".")[0])
    if major < 18:
        pytest.skip(f"node {version.strip()} has no --watch")
    work = Path(tempfile.mkdtemp(prefix="portdoctor-watch-"))
    (work / "server.js").write_text(HTTP_SERVER.read_text())
    port = free_port()
    proc = subprocess.Popen(
        [node, "--watch", "server.js"],
        cwd=work,
        env={"PATH": "/usr/bin:/bin", "PORT": str(port)},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_listening(port, what="node --watch server.js")
        d = why(port, cwd="/")
        assert d.cause is not None and d.cause.kind == "reloader", d.cause
        assert d.cause.details["reloader"] == "node --watch"
        assert d.cause.details["reloader_pid"] == proc.pid
        assert d.cause.stop is not None and d.cause.stop.signal_pids[0] == proc.pid
    finally:
        kill_session(proc.pid)
        proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


def test_werkzeug_style_reloader_recognised_by_the_childs_environment(tmp_path: Path) -> None:
    # The parent re-runs itself with WERKZEUG_RUN_MAIN=true in the child, which listens.
    script = tmp_path / "app.py"
    script.write_text(
        "import os, socket, subprocess, sys\n"
        "if os.environ.get('WERKZEUG_RUN_MAIN') != 'true':\n"
        "    env = dict(os.environ, WERKZEUG_RUN_MAIN='true')\n"
        "    sys.exit(subprocess.call([sys.executable, *sys.argv], env=env))\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
        "print(s.getsockname()[1], flush=True)\n"
        "sys.stdin.read()\n"
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=tmp_path
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        port = int(proc.stdout.readline())
        d = why(port, cwd="/")
        assert d.cause is not None and d.cause.kind == "reloader", d.cause
        assert d.cause.details["reloader"] == "werkzeug reloader"
        assert d.cause.details["reloader_pid"] == proc.pid
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)
