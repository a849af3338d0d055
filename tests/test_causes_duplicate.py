"""duplicate cause: a second instance of the user's project (same project root) or command (same file)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from portdoctor.causes import duplicate
from portdoctor.diagnose import why

SERVER = (
    "import socket, sys\n"
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "sys.stdin.read()\n"
)


def make_project(root: Path, name: str = "my-app") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(json.dumps({"name": name, "scripts": {"start": "node server.js"}}))
    return root


def test_server_in_the_users_project_is_a_duplicate(servers: object, tmp_path: Path) -> None:
    project = make_project(tmp_path / "app")
    (project / "src").mkdir()
    srv = servers.tcp(cwd=str(project / "src"))  # type: ignore[attr-defined]
    d = why(srv.port, cwd=str(project))
    assert d.cause is not None and d.cause.kind == "duplicate", d.cause
    assert d.cause.summary.startswith(f"Port {srv.port} is held by another instance of this project (my-app,")
    assert d.cause.details["project"]["name"] == "my-app"
    assert d.cause.details["instance_pid"] == srv.pid
    stop, pick = d.actions[0], d.actions[1]
    assert stop.command == f"portdoctor free {srv.port}" and stop.safe and srv.pid in stop.targets
    assert pick.kind == "pick" and pick.command is not None
    # a python script: portdoctor cannot tell how it takes its port, and says so (no PORT= guess)
    assert pick.command == f"portdoctor pick --near {srv.port}"
    assert "cannot tell how python" in pick.description
    # the same from the CLI, run inside the project
    out = subprocess.run(
        [sys.executable, "-m", "portdoctor", "why", str(srv.port), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=project,
    )
    assert json.loads(out.stdout)["cause"]["kind"] == "duplicate"


def test_server_of_another_project_is_not_a_duplicate(servers: object, tmp_path: Path) -> None:
    mine = make_project(tmp_path / "mine", "mine")
    theirs = make_project(tmp_path / "theirs", "theirs")
    srv = servers.tcp(cwd=str(theirs))  # type: ignore[attr-defined]
    d = why(srv.port, cwd=str(mine))
    assert d.cause is not None and d.cause.kind != "duplicate", d.cause


def test_same_script_named_by_the_command_is_a_duplicate(tmp_path: Path) -> None:
    project = tmp_path / "svc"
    project.mkdir()  # no manifest: only the command can tell
    script = project / "server.py"
    script.write_text(SERVER)
    proc = subprocess.Popen(
        [sys.executable, "server.py"], cwd=project, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        port = int(proc.stdout.readline())
        elsewhere = tmp_path / "elsewhere"
        elsewhere.mkdir()
        d = why(port, cwd=str(elsewhere), command=["python3", str(script)])
        assert d.cause is not None and d.cause.kind == "duplicate", d.cause
        assert any("same file" in e for e in d.cause.evidence)
        # matched by the command, not by a project: it is not "this project"
        assert d.cause.summary.startswith(f"Port {port} is held by another instance of your command (python")
        # python3 server.py: no port flag portdoctor knows; it says so instead of guessing PORT
        assert d.actions[1].command == f"portdoctor pick --near {port}"
        assert "cannot tell how python3 takes its port" in d.actions[1].description
        other = tmp_path / "other.py"
        other.write_text("")
        d2 = why(port, cwd=str(elsewhere), command=["python3", str(other)])
        assert d2.cause is not None and d2.cause.kind != "duplicate", d2.cause
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_command_comparison() -> None:
    assert duplicate.command_words(["/usr/bin/node", "--inspect", "server.js"]) == ["server.js"]
    assert duplicate.command_words(["npm start"]) == ["npm", "start"]
    assert duplicate.same_command(["npm", "start"], ["npm start"])
    assert duplicate.same_command(["python3", "app.py"], ["/usr/bin/python3.11", "/home/me/app/app.py"])
    assert not duplicate.same_command(["npm", "start"], ["npm", "run", "dev"])
