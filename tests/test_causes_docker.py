"""docker cause: real containers publishing a port, an engine that does not answer, recorded API output."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from infra import DockerEngine, free_port, wait_until
from infra import why_json as cli_why
from portdoctor.diagnose import why
from portdoctor.managers import docker as dockermod

FIXTURES = Path(__file__).parent / "fixtures" / "docker"
COMPOSE = {
    "com.docker.compose.project": "shop",
    "com.docker.compose.service": "web",
    "com.docker.compose.project.working_dir": "/srv/shop",
}


# -- recorded outputs -------------------------------------------------------------------------


def test_parse_docker_proxy_cmdline() -> None:
    argv = (FIXTURES / "cmdline-docker-proxy").read_bytes().rstrip(b"\0").decode().split("\0")
    args = dockermod.parse_proxy_cmdline(argv)
    assert args == dockermod.ProxyArgs("tcp", "0.0.0.0", 39080, "172.17.0.2", 80)
    assert dockermod.parse_proxy_cmdline(["docker-proxy", "-proto", "tcp"]) is None


def test_parse_api_outputs() -> None:
    listed = json.loads((FIXTURES / "containers-json-compose.json").read_text())
    c = dockermod._from_list(listed[0])
    assert c.name == "pd-explore-web" and c.publishes(39080) and not c.publishes(39080, "udp")
    assert c.port_specs(39080) == ["39080->80/tcp"]
    assert (c.compose_project, c.compose_service, c.compose_dir) == ("shop", "web", "/srv/shop")
    full = dockermod.from_inspect(json.loads((FIXTURES / "container-inspect-compose.json").read_text()))
    assert full.restart_policy == "unless-stopped" and full.image == "portdoctor-busybox:latest"
    assert full.port_specs() == ["39080->80/tcp"] and full.id == c.id


def test_endpoint_resolution(tmp_path: Path) -> None:
    assert dockermod.endpoint({"DOCKER_HOST": "tcp://h:2375"}) == dockermod.Endpoint(
        "tcp://h:2375", "DOCKER_HOST"
    )
    assert dockermod.endpoint({"DOCKER_HOST": "tcp://h:2376"}).tls
    # The CLI's current context: config.json -> contexts/meta/<sha256(name)>/meta.json.
    import hashlib

    digest = hashlib.sha256(b"remote").hexdigest()
    meta = tmp_path / "contexts" / "meta" / digest
    meta.mkdir(parents=True)
    meta.joinpath("meta.json").write_text(
        json.dumps({"Name": "remote", "Endpoints": {"docker": {"Host": "unix:///run/x.sock"}}})
    )
    (tmp_path / "config.json").write_text(json.dumps({"currentContext": "remote"}))
    env = {"DOCKER_CONFIG": str(tmp_path)}
    assert dockermod.endpoint(env) == dockermod.Endpoint("unix:///run/x.sock", "context remote")
    # DOCKER_HOST beats the config's context; DOCKER_CONTEXT beats DOCKER_HOST (as in the CLI).
    assert dockermod.endpoint({**env, "DOCKER_HOST": "unix:///a.sock"}).url == "unix:///a.sock"
    both = {**env, "DOCKER_HOST": "unix:///a.sock", "DOCKER_CONTEXT": "remote"}
    assert dockermod.endpoint(both).url == "unix:///run/x.sock"


def test_dead_endpoint_raises_quickly(tmp_path: Path) -> None:
    ep = dockermod.Endpoint(f"unix://{tmp_path}/nothing.sock", "DOCKER_HOST")
    with pytest.raises(dockermod.DockerUnavailable):
        dockermod.containers(ep)


# -- live engine ------------------------------------------------------------------------------


def test_container_publishing_a_port(docker: DockerEngine) -> None:
    port = free_port()
    name = docker.run_published(port)
    d = why(port)
    assert d.cause is not None and d.cause.kind == "docker", d.cause
    c = d.cause
    assert {h.name for h in d.holders} == {"docker-proxy"}
    assert c.summary.startswith(f"Port {port} is published by Docker container '{name}'")
    assert f"{port}->80/tcp" in c.summary and docker.image in c.summary
    assert c.actions[0].kind == "docker-stop" and c.actions[0].command == f"docker stop {name}"
    assert not any("kill" in (a.command or "") for a in c.actions)
    details = c.details
    assert details["manager"] == "docker" and details["shared"] is True and details["respawns"] is False
    assert c.stop is not None and c.stop.argv == ("docker", "stop", name) and c.stop.uid is None
    assert c.to_dict()["details"]["stop"] == {"argv": ["docker", "stop", name], "env": {}}
    (info,) = details["containers"]
    assert info["id"] == docker.container_id(name) and info["compose_project"] is None

    data = cli_why(port)
    assert data["cause"]["kind"] == "docker"  # type: ignore[index]
    assert data["actions"][0]["command"] == f"docker stop {name}"  # type: ignore[index]


def test_host_network_container_is_named_from_its_own_process(docker: DockerEngine) -> None:
    """--network host: the container's own process holds the port. It is named from its cgroup
    or shim (the engine's), and the engine's State.Pid must be that process or above it."""
    port = free_port()
    name = docker.run("httpd", "-f", "-p", f"127.0.0.1:{port}", extra=["--network", "host"])
    wait_until(lambda: bool(why(port).holders), message="the host-network httpd listening")
    d = why(port)
    assert d.cause is not None and d.cause.kind == "docker", d.cause
    assert d.cause.summary.startswith(f"Port {port} is held by Docker container '{name}'"), d.cause.summary
    assert d.cause.stop is not None and d.cause.stop.argv == ("docker", "stop", name)
    (info,) = d.cause.details["containers"]  # type: ignore[misc]
    assert info["id"] == docker.container_id(name) and info["pid"] in {h.pid for h in d.holders}


def test_compose_labels_and_restart_policy(docker: DockerEngine) -> None:
    port = free_port()
    name = docker.run(
        "httpd", "-f", "-p", "80", "-h", "/www",
        publish=[f"{port}:80"], labels=COMPOSE, extra=["--restart", "unless-stopped"],
    )  # fmt: skip
    wait_until(lambda: (c := why(port).cause) is not None and c.kind == "docker", message="docker-proxy")
    c = why(port).cause
    assert c is not None
    assert "service 'web' of Compose project 'shop'" in c.summary
    assert c.actions[0].kind == "compose-stop" and c.actions[0].command == "docker compose -p shop stop web"
    assert "cd /srv/shop && docker compose stop web" in c.actions[0].description
    assert c.actions[1].command == f"docker stop {name}"
    assert c.details["respawns"] is True
    (info,) = c.details["containers"]
    assert (info["compose_project"], info["compose_service"], info["restart_policy"]) == (
        "shop",
        "web",
        "unless-stopped",
    )
    data = cli_why(port)
    assert data["actions"][0]["command"] == "docker compose -p shop stop web"  # type: ignore[index]


def test_engine_not_answering(docker: DockerEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    docker.run_published(port)
    dead = f"unix://{tmp_path}/dead.sock"
    monkeypatch.setenv("DOCKER_HOST", dead)
    monkeypatch.delenv("DOCKER_CONTEXT", raising=False)
    d = why(port)
    assert d.cause is not None and d.cause.kind == "docker"
    assert "did not answer" in d.cause.summary and ":80/tcp" in d.cause.summary
    assert any("did not answer" in n and dead in n for n in d.notes), d.notes
    assert "stop" not in d.cause.details and d.cause.details["shared"] is True
    assert d.cause.actions[0].command == f"docker ps --filter publish={port}"

    data = cli_why(port, env=dict(os.environ))
    assert data["cause"]["kind"] == "docker"  # type: ignore[index]
    assert any(dead in n for n in data["notes"])  # type: ignore[union-attr]
