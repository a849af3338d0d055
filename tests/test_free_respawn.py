"""free's respawn watch: skipped when nothing in the holder's chain can restart it, kept (and
catching the respawn) under a shell loop and under PM2 with autorestart."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import PM2, SERVERS, alive, free_port, holders, kill_session, require, wait_listening, wait_until
from infra import portdoctor_cli as cli

pytest_plugins = ["infra"]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="starts Linux servers")

TERM_SERVER = SERVERS / "term_server.py"
HTTP_SERVER = SERVERS / "http_server.js"


@pytest.fixture
def sessions() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    try:
        yield procs
    finally:
        for proc in procs:
            kill_session(proc.pid, timeout=5.0)
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)


def start(procs: list[subprocess.Popen[str]], argv: list[str], port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, text=True, start_new_session=True
    )
    procs.append(proc)
    wait_listening(port, what=argv[0])
    return proc


def test_plain_server_skips_the_watch(sessions: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    proc = start(sessions, [sys.executable, str(TERM_SERVER), str(port)], port)
    r = cli("free", str(port), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["freed"] is True and data["respawn_watch"] is None
    # free waits for the port, which a process releases on its way out: it may still be exiting
    wait_until(lambda: not alive(proc.pid), 10, message="the stopped server to exit")
    verify = data["steps"][-1]
    assert verify["action"] == "verify" and verify["result"] == "free"
    start(sessions, [sys.executable, str(TERM_SERVER), str(port)], port)
    human = cli("free", str(port))
    assert human.returncode == 0 and "No respawn watch: nothing in the holder's chain" in human.stdout


def test_own_dev_server_started_from_a_terminal_skips_the_watch(
    sessions: list[subprocess.Popen[str]], static_site: Path
) -> None:
    # `python3 -m http.server` as a user starts it in a directory of their own and runs
    # portdoctor from there: the cause is dev-server (a plain process of yours; not duplicate,
    # which a server started from this checkout is), and nothing in its chain restarts it.
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)],
        cwd=static_site, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    sessions.append(proc)
    wait_listening(port, what="http.server")

    def there(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "portdoctor", *args],
            cwd=static_site, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
        )  # fmt: skip

    why = json.loads(there("why", str(port), "--json").stdout)
    assert why["cause"]["kind"] == "dev-server", why["cause"]
    plan = json.loads(there("free", str(port), "--dry-run", "--json").stdout)
    assert plan["steps"][-1]["result"].startswith("planned: no respawn watch"), plan["steps"][-1]
    r = there("free", str(port))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No respawn watch: nothing in the holder's chain" in r.stdout, r.stdout
    # free waits for the port, which a process releases on its way out: it may still be exiting
    wait_until(lambda: not alive(proc.pid), 10, message="the stopped server to exit")


def test_npm_run_dev_is_no_respawner(sessions: list[subprocess.Popen[str]], tmp_path: Path) -> None:
    # npm renames itself ("npm run dev": one word with spaces in /proc/PID/cmdline) and leads the
    # job's process group, as from a terminal; it ends when its script does, restarting nothing.
    require(shutil.which("npm") is not None, "npm is needed")
    port = free_port()
    app = tmp_path / "app"
    app.mkdir()
    (app / "package.json").write_text(json.dumps({"name": "app", "scripts": {"dev": f"node {HTTP_SERVER}"}}))
    proc = subprocess.Popen(
        ["npm", "run", "dev"], cwd=app, env={**os.environ, "PORT": str(port)},
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, text=True, start_new_session=True,
    )  # fmt: skip
    sessions.append(proc)
    wait_listening(port, what="npm run dev")
    r = subprocess.run(
        [sys.executable, "-m", "portdoctor", "free", str(port), "--json"],
        cwd=app, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    data = json.loads(r.stdout)
    assert data["freed"] is True, r.stdout + r.stderr
    assert data["respawn_watch"] is None, data["respawn_watch"]


def test_dry_run_says_whether_it_will_watch(sessions: list[subprocess.Popen[str]]) -> None:
    port = free_port()
    start(sessions, [sys.executable, str(TERM_SERVER), str(port)], port)
    plan = json.loads(cli("free", str(port), "--dry-run", "--json").stdout)
    assert plan["steps"][-1]["result"].startswith("planned: no respawn watch")


def test_shell_loop_keeps_the_watch_and_catches_the_respawn(sessions: list[subprocess.Popen[str]]) -> None:
    from portdoctor._free import free

    port = free_port()
    # The pause lets free see the port released first: the watch, not the wait, must catch it.
    loop = f"while true; do {sys.executable} {TERM_SERVER} {port}; sleep 0.3; done"
    shell = start(sessions, ["bash", "-c", loop], port)
    first = set(holders(port))
    result = free(port, settle=30.0)  # returns as soon as the respawn is seen
    assert result.freed is False
    assert result.respawned_by is not None and result.respawned_by["pid"] == shell.pid
    assert result.respawn_risk is not None and "shell loop" in result.respawn_risk
    assert result.watched is not None and result.watched < 30.0
    assert set(holders(port)) and not set(holders(port)) & first
    assert "re-bound by" in result.steps[-1].result


@pytest.mark.pm2
def test_pm2_app_keeps_the_watch_and_catches_the_respawn(pm2: PM2, monkeypatch: pytest.MonkeyPatch) -> None:
    from portdoctor._free import free

    port = free_port()
    eco = pm2.home / "again.ecosystem.json"
    app = {"name": "again", "script": str(HTTP_SERVER), "env": {"PORT": str(port)}, "autorestart": True}
    eco.write_text(json.dumps({"apps": [app]}))
    pm2("start", str(eco))
    wait_listening(port, what="PM2 app")
    first = wait_until(lambda: pm2.pids("again"), message="the app online")
    for key, value in pm2.env.items():
        monkeypatch.setenv(key, value)
    # Signal the app itself, not `pm2 stop`: PM2 restarts it, and the watch must see that.
    result = free(port, signal_managers=False, settle=30.0)
    assert result.freed is False, result.summary
    assert result.respawn_risk is not None and result.watched is not None
    assert result.respawned_by is not None
    assert wait_until(lambda: set(pm2.pids("again")) - set(first), message="PM2 restarted it")
