"""Each infrastructure fixture brings up a real listener, held by the process we expect."""

from __future__ import annotations

import os
import urllib.request

import pytest

from infra import (
    PM2,
    DockerEngine,
    Nodemon,
    Supervisord,
    alive,
    free_port,
    holders,
    listening,
    wait_until,
)

pytest_plugins = ["infra"]


def http_get(port: int, host: str = "127.0.0.1") -> str:
    with urllib.request.urlopen(f"http://{host}:{port}/", timeout=20) as resp:
        body: bytes = resp.read()
    return body.decode()


def stat(pid: int) -> list[str]:
    """Fields of /proc/PID/stat after the command name: state, ppid, pgrp, session, ..."""
    with open(f"/proc/{pid}/stat") as f:
        return f.read().rsplit(")", 1)[1].split()


def wait_closed(port: int) -> None:
    wait_until(lambda: not listening(port), message=f"port {port} to close")


def test_wait_until_times_out() -> None:
    with pytest.raises(AssertionError, match="never"):
        wait_until(lambda: False, timeout=0.3, interval=0.05, message="never")
    assert wait_until(lambda: 42, timeout=1) == 42


def test_free_port_is_bindable_and_listening_sees_it() -> None:
    import socket

    port = free_port()
    assert not listening(port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        assert listening(port)
        assert holders(port) == {os.getpid(): holders(port)[os.getpid()]}
    assert not listening(port)


@pytest.mark.docker
def test_docker_published_port_is_held_by_docker_proxy(docker: DockerEngine) -> None:
    port = free_port()
    name = docker.run_published(port, labels={"portdoctor.case": "published"})
    assert listening(port)
    held = holders(port)
    # The userland proxy (one process per address family) holds the host port, not dockerd.
    assert held and set(held.values()) == {"docker-proxy"}, held
    assert "portdoctor test page" in http_get(port)
    labels = docker("inspect", "--format", "{{json .Config.Labels}}", name)
    assert '"portdoctor.case":"published"' in labels
    docker.remove(name)
    wait_closed(port)


@pytest.mark.pm2
def test_pm2_cluster_app_listening_socket_is_held_by_god_daemon(pm2: PM2) -> None:
    port = free_port()
    name = pm2.start(instances=2, exec_mode="cluster", port=port, name="web")
    workers = pm2.pids(name)
    assert len(workers) == 2
    god = pm2.god_pid()
    assert god is not None and god not in workers
    # Node's cluster primary (PM2's God Daemon) owns the socket; workers get connections by IPC.
    assert set(holders(port)) == {god}
    answered = http_get(port)
    assert answered.startswith("ok ") and int(answered.split()[1]) in workers
    apps = [p for p in pm2.jlist() if p.get("name") == name]
    assert {p["pm2_env"]["exec_mode"] for p in apps} == {"cluster_mode"}  # type: ignore[index]
    pm2.delete(name)
    wait_closed(port)


@pytest.mark.pm2
def test_pm2_fork_app_listens_itself(pm2: PM2) -> None:
    port = free_port()
    name = pm2.start(exec_mode="fork", port=port)
    (pid,) = pm2.pids(name)
    assert set(holders(port)) == {pid}
    pm2.stop(name)
    wait_closed(port)


def test_nodemon_child_holds_the_port(nodemon: Nodemon) -> None:
    port = free_port()
    run = nodemon.start(port)
    held = holders(port)
    children = run.child_pids()
    assert children and set(held) <= set(children), (held, children)
    (pid,) = held
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert b"server.js" in f.read()
    assert http_get(port) == f"ok {pid}\n"
    nodemon.stop(run)
    wait_closed(port)
    assert not alive(pid)


def test_supervisord_program_holds_the_port(supervisord: Supervisord) -> None:
    port = free_port()
    supervisord.add_program("web", port=port)
    pid = supervisord.program_pid("web")
    assert set(holders(port)) == {pid}
    ppid = int(stat(pid)[1])
    assert ppid == supervisord.pid
    status = supervisord.supervisorctl("status", "web").stdout
    assert "RUNNING" in status
    supervisord.supervisorctl("stop", "web")
    wait_closed(port)
