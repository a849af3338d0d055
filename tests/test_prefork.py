"""Pre-fork servers (gunicorn -w, uvicorn --workers): one group line, master + N
workers, in the human output and the JSON; uvicorn's workers are not an orphan."""

from __future__ import annotations

import json
import shutil
import sys
import textwrap
from pathlib import Path

import pytest

from infra import free_port, portdoctor_cli, require, wait_until
from test_relaunch_servers import _env, _tool, fetch, start

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def _why(port: int) -> tuple[dict[str, object], str]:
    import json

    r = portdoctor_cli("why", str(port), "--json", env=_env())
    assert r.returncode == 1, r.stdout + r.stderr
    text = portdoctor_cli("why", str(port), env=_env()).stdout
    return json.loads(r.stdout), text


def _wait_workers(port: int, n: int) -> tuple[dict[str, object], str]:
    def ready() -> tuple[dict[str, object], str] | None:
        data, text = _why(port)
        groups = data["groups"]
        assert isinstance(groups, list)
        return (data, text) if groups and len(groups[0]["workers"]) == n else None

    return wait_until(ready, message=f"{n} workers on {port}")  # type: ignore[return-value]


def _check(data: dict[str, object], text: str, name: str, n: int) -> None:
    groups = data["groups"]
    assert isinstance(groups, list) and len(groups) == 1, groups
    g = groups[0]
    assert g["name"] == name and len(g["workers"]) == n
    assert f"{name}: master {g['master']} + {n} workers" in text, text
    # one holder block (the master's), not n + 1 identical ones
    assert text.count("      cmd: ") == 1, text


def test_gunicorn_workers_are_one_group(tmp_path: Path) -> None:
    gunicorn = _tool("gunicorn")
    (tmp_path / "app.py").write_text("def app(e, r):\n    r('200 OK', [])\n    return [b'hello from wsgi']\n")
    port = free_port()
    with start([gunicorn, "-w", "3", "-b", f"127.0.0.1:{port}", "app:app"], tmp_path):
        wait_until(lambda: "hello" in fetch(port), message="gunicorn")
        data, text = _wait_workers(port, 3)
        _check(data, text, "gunicorn", 3)


def test_uvicorn_workers_are_a_group_not_an_orphan(tmp_path: Path) -> None:
    uvicorn = _tool("uvicorn")
    require(shutil.which("script") is not None, "script(1) gives the server a terminal, as a user's has")
    (tmp_path / "main.py").write_text(
        textwrap.dedent(
            """
            async def app(scope, receive, send):
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"hello from asgi"})
            """
        )
    )
    port = free_port()
    command = f"{uvicorn} --workers 2 --port {port} main:app"
    with start(["script", "-qfec", command, "/dev/null"], tmp_path):
        wait_until(lambda: "hello" in fetch(port), message="uvicorn")
        data, text = _wait_workers(port, 2)
        _check(data, text, "uvicorn", 2)
        cause = data["cause"]
        # (duplicate when the venv running it lies inside the portdoctor checkout the test runs in)
        assert isinstance(cause, dict) and cause["kind"] in ("dev-server", "duplicate"), cause
        assert "multiprocessing" not in text.split("Next steps")[0].split("Holders")[1], text


def test_gunicorn_group_is_stopped_by_free(tmp_path: Path) -> None:
    gunicorn = _tool("gunicorn")
    (tmp_path / "app.py").write_text("def app(e, r):\n    r('200 OK', [])\n    return [b'hello']\n")
    port = free_port()
    with start([gunicorn, "-w", "2", "-b", f"127.0.0.1:{port}", "app:app"], tmp_path) as s:
        wait_until(lambda: "hello" in fetch(port), message="gunicorn")
        data, _text = _wait_workers(port, 2)
        group = data["groups"][0]  # type: ignore[index]
        r = portdoctor_cli("free", str(port), "--json", env=_env())
        # exit 1 is allowed: our own test request may leave a TIME_WAIT remnant on the port
        assert r.returncode in (0, 1), r.stdout + r.stderr
        result = json.loads(r.stdout)
        signalled = {st["pid"] for st in result["steps"] if st["action"] == "SIGTERM"}
        assert group["master"] in signalled, result
        assert s.proc.wait(30) is not None  # the master exited, its workers with it
        assert fetch(port) == ""


def test_node_cluster_is_one_group_though_only_the_primary_holds_the_socket() -> None:
    """Node's round-robin cluster: the primary holds the listening socket, its workers hold none."""
    import subprocess

    from infra import CLUSTER_SERVER, kill_session, wait_listening

    require(shutil.which("node") is not None, "node is needed")
    port = free_port()
    proc = subprocess.Popen(
        ["node", str(CLUSTER_SERVER)],
        env={**_env(), "PORT": str(port), "WORKERS": "3"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_listening(port, what="the node cluster")
        data, text = _wait_workers(port, 3)
        holders = data["holders"]
        assert isinstance(holders, list) and [h["pid"] for h in holders] == [proc.pid]
        (group,) = data["groups"]  # type: ignore[misc]
        assert group["master"] == proc.pid and group["name"] == "node"
        assert f"node: master {proc.pid} + 3 workers" in text, text
        # free stops the primary; its workers go with it and the port is free.
        r = portdoctor_cli("free", str(port), "--json", env=_env())
        assert json.loads(r.stdout)["freed"] is True, r.stdout + r.stderr
        wait_until(lambda: proc.poll() is not None, message="the cluster primary to exit")
    finally:
        kill_session(proc.pid)
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=30)
