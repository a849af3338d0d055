"""portdoctor free through managers: PM2, nodemon, Docker, supervisord (real components)."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra import (
    HTTP_SERVER,
    PM2,
    SERVERS,
    DockerEngine,
    Nodemon,
    Supervisord,
    alive,
    free_port,
    holders,
    kill_session,
    listening,
    portdoctor_cli,
    wait_listening,
    wait_until,
)

pytest_plugins = ["infra"]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux managers")


# PM2, Docker and supervisord stops are slower than a plain signal.
cli = functools.partial(portdoctor_cli, timeout=180.0)


def detector(name: str) -> None:
    pytest.importorskip(f"portdoctor.causes.{name}", reason=f"the {name} detector has not landed yet")


def runs(data: dict[str, object]) -> list[str]:
    """The commands free ran, with the program's directory left out ('pm2 stop web')."""
    steps = data["steps"]
    assert isinstance(steps, list)
    out = []
    for s in steps:
        if s["action"] == "run":
            program, _, rest = s["target"].partition(" ")
            out.append(f"{os.path.basename(program)} {rest}")
    return out


@pytest.mark.pm2
def test_pm2_cluster_app_stopped_other_app_and_daemon_survive(pm2: PM2) -> None:
    detector("pm2")
    port, other_port = free_port(), free_port()
    pm2.start(name="web", exec_mode="cluster", instances=2, port=port)
    pm2.start(name="api", exec_mode="fork", port=other_port)
    god = pm2.god_pid()
    assert god is not None and god in holders(port)  # the God Daemon holds cluster sockets
    r = cli("free", str(port), "--json", env=pm2.env)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["freed"] is True and data["cause"] == "pm2"
    assert any(t.split()[:2] == ["pm2", "stop"] and t.endswith("web") for t in runs(data)), data["steps"]
    assert not any(s["action"] in ("SIGTERM", "SIGKILL") for s in data["steps"])
    assert alive(god)  # the daemon lives...
    assert listening(other_port)  # ...and so does the other app
    assert pm2.pids("api")
    assert not listening(port)


@pytest.mark.pm2
def test_pm2_fork_app_that_would_restart(pm2: PM2) -> None:
    detector("pm2")
    port = free_port()
    app = {
        "name": "restarts",
        "script": str(HTTP_SERVER),
        "exec_mode": "fork",
        "instances": 1,
        "autorestart": True,
        "env": {"PORT": str(port)},
    }
    eco = pm2.home / "restarts.ecosystem.json"
    eco.write_text(json.dumps({"apps": [app]}))
    pm2("start", str(eco))
    wait_listening(port, what="PM2 app 'restarts'")
    pid = wait_until(lambda: pm2.pids("restarts"), message="the app online")
    r = cli("free", str(port), "--json", env=pm2.env)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["freed"] is True and data["respawned_by"] is None
    assert any(t.split()[:2] == ["pm2", "stop"] for t in runs(data))
    assert pm2.pids("restarts") == []
    statuses = [p["pm2_env"]["status"] for p in pm2.jlist() if p.get("name") == "restarts"]  # type: ignore[index]
    assert statuses == ["stopped"]
    assert isinstance(pid, list) and not alive(pid[0])
    time.sleep(0.5)  # not a timed assertion: give PM2 a chance to (wrongly) restart it
    assert not listening(port)


def test_nodemon_child_and_parent_stopped(nodemon: Nodemon) -> None:
    detector("reloader")
    port = free_port()
    run = nodemon.start(port)
    children = wait_until(run.child_pids, message="nodemon's child")
    r = cli("free", str(port), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["freed"] is True and data["cause"] == "reloader" and data["respawned_by"] is None
    signalled = {s["pid"] for s in data["steps"] if s["action"] == "SIGTERM"}
    assert run.pid in signalled
    assert isinstance(children, list)
    wait_until(lambda: run.proc.poll() is not None, message="nodemon exits")
    for c in children:
        wait_until(lambda c=c: not alive(c), message=f"nodemon's child {c} exits")
    assert not listening(port)


@pytest.mark.docker
def test_docker_container_publishing_the_port(docker: DockerEngine) -> None:
    detector("docker")
    port = free_port()
    name = docker.run_published(port)
    proxies = list(holders(port))
    r = cli("free", str(port), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["freed"] is True and data["cause"] == "docker"
    assert any(t.split()[:2] == ["docker", "stop"] and name in t for t in runs(data)), data["steps"]
    assert not any(s["action"] in ("SIGTERM", "SIGKILL") for s in data["steps"])
    state = docker("inspect", "--format", "{{.State.Running}}", name)
    assert state == "false"
    assert docker("info", "--format", "{{.ServerVersion}}")  # the engine is fine
    for p in proxies:
        wait_until(lambda p=p: not alive(p), message="docker-proxy gone")


def test_supervisord_program_stopped_through_supervisorctl(supervisord: Supervisord) -> None:
    detector("supervisord")
    port = free_port()
    supervisord.add_program("web", port=port)
    r = cli("free", str(port), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["freed"] is True and data["cause"] == "supervisord"
    assert any("supervisorctl" in t and "stop" in t for t in runs(data)), data["steps"]
    assert alive(supervisord.pid)
    status = supervisord.supervisorctl("status", "web", check=False).stdout
    assert "STOPPED" in status


def test_generic_backend_terminate(tmp_path: object) -> None:
    """The psutil path (Windows semantics: terminate, then kill) run on Linux."""
    pytest.importorskip("portdoctor.platforms.generic", reason="the generic back-end has not landed yet")
    port = free_port()
    code = (
        "import socket,time,signal;s=socket.socket();"
        "s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1);"
        f"s.bind(('127.0.0.1',{port}));s.listen();signal.signal(signal.SIGTERM,signal.SIG_IGN);time.sleep(600)"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    try:
        wait_listening(port)
        env = dict(os.environ, PORTDOCTOR_BACKEND="generic")
        r = cli("free", str(port), "--timeout", "0.5", "--json", env=env)
        assert r.returncode == 1, r.stdout + r.stderr
        assert proc.poll() is None
        r = cli("free", str(port), "--timeout", "1", "--force", "--json", env=env)
        assert r.returncode == 0, r.stdout + r.stderr
        assert proc.wait(timeout=30) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.pm2
def test_pm2_daemon_that_never_answers(tmp_path: Path) -> None:
    """`pm2 pid web` gets ANSWER_TIMEOUT, not the stop command's 60 s. Without --force nothing is
    stopped and the summary names the next step; that step (--force) signals the app instead:
    the same process `pm2 stop` was for, never the daemon, and `pm2 stop` never runs."""
    detector("pm2")
    from portdoctor._free import ANSWER_TIMEOUT

    port = free_port()
    home = tmp_path / "pm2-home"
    home.mkdir()
    daemon = subprocess.Popen(
        [sys.executable, str(SERVERS / "silent_pm2.py"), str(home), str(port)],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        assert daemon.stdout is not None
        app = int(daemon.stdout.readline())
        wait_listening(port, what="the silent PM2's app")
        env = {**os.environ, "PM2_HOME": str(home)}
        r = cli("free", str(port), "--json", env=env, timeout=ANSWER_TIMEOUT + 30)
        data = json.loads(r.stdout)
        assert r.returncode == 1 and data["freed"] is False, r.stdout + r.stderr
        assert [s["action"] for s in data["steps"]] == ["check"], data["steps"]
        assert data["steps"][0]["result"] == f"no answer within {ANSWER_TIMEOUT:g}s: nothing was stopped"
        assert "did not answer" in data["summary"], data["summary"]
        step = data["summary"].split("To send SIGTERM to the holder instead, run: ", 1)[1]
        assert step.endswith(f" free {port} --force"), step
        assert alive(app) and listening(port)

        # the step, as copied (with --json to read what it did)
        r = subprocess.run(
            ["bash", "-c", step + " --json"],
            capture_output=True, text=True, env=env, timeout=ANSWER_TIMEOUT + 30,
        )  # fmt: skip
        data = json.loads(r.stdout)
        assert r.returncode == 0 and data["freed"] is True, r.stdout + r.stderr
        said = data["steps"][0]["result"]
        assert said == f"no answer within {ANSWER_TIMEOUT:g}s: SIGTERM to the holder instead", data["steps"]
        assert not runs(data), data["steps"]  # `pm2 stop web` never ran
        assert [s["pid"] for s in data["steps"] if s["action"] == "SIGTERM"] == [app], data["steps"]
        assert daemon.poll() is None and not listening(port)
    finally:
        kill_session(daemon.pid, timeout=5.0)
        daemon.wait(timeout=30)
        if daemon.stdout is not None:
            daemon.stdout.close()
