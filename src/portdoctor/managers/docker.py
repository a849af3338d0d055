"""The Docker engine, read-only: where it listens and which containers publish a host port.

Why a raw HTTP/1.0 request over the engine's socket, and not the ``docker`` SDK or the CLI
(measured on Linux, Python 3.11, Docker 20.10, a warm cache):

- ``import docker`` costs 100-190 ms (it pulls in requests, urllib3, ...) before the first request;
- ``import http.client`` alone costs ~26-30 ms (email.*, ...);
- ``socket`` and ``json`` are already loaded by portdoctor, and one ``GET /containers/json`` over
  the unix socket answers in ~1 ms;
- ``docker ps --format '{{json .}}'`` takes 10-30 ms (a Go binary and a subprocess) and needs the
  CLI installed, but it is the only thing that speaks ssh://, npipe:// and TLS endpoints.

So: unix:// and plain tcp:// endpoints get the raw request; ssh://, npipe:// and TLS endpoints go
through the CLI (``docker inspect``), which resolves the same context itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time

from ..errors import DockerUnavailable
from ..record import Record
from . import DOCKER_ENGINE_NAMES, DOCKER_PROXY_NAMES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

DEFAULT_SOCKET = "/var/run/docker.sock"
TIMEOUT = 2.0  # seconds, per query: a healthy engine answers in milliseconds

PROXY_NAMES = DOCKER_PROXY_NAMES
ENGINE_NAMES = DOCKER_ENGINE_NAMES


class Endpoint(Record):
    """Where the engine listens, and what told us so."""

    url: str  # unix:///var/run/docker.sock, tcp://host:2375, ssh://..., npipe://...
    source: str  # "DOCKER_HOST", "context NAME", "default"
    tls: bool = False

    @property
    def direct(self) -> bool:
        """True when a plain socket reaches it (unix://, tcp:// without TLS)."""
        return self.url.startswith("unix://") or (self.url.startswith("tcp://") and not self.tls)


class ProxyArgs(Record):
    """What docker-proxy's command line says it forwards."""

    protocol: str
    host_ip: str
    host_port: int
    container_ip: str
    container_port: int


class Container(Record):
    """A running container, with the host ports it publishes."""

    id: str
    name: str
    image: str
    ports: Sequence[dict[str, Any]] = ()  # host_ip, host_port, container_port, protocol
    labels: Mapping[str, str] = {}  # a frozen record: never mutated
    restart_policy: str | None = None  # "no", "always", "unless-stopped", "on-failure"; None: not known
    pid: int | None = None  # its first process on the host (inspect's State.Pid); None: not known

    def publishes(self, port: int, protocol: str = "tcp") -> bool:
        """True when it publishes host ``port``/``protocol``."""
        return any(p["host_port"] == port and p["protocol"] == protocol for p in self.ports)

    def port_specs(self, port: int | None = None) -> list[str]:
        """``8080->80/tcp`` for each published port (only ``port`` when given), without duplicates."""
        specs: list[str] = []
        for p in self.ports:
            if p["host_port"] is None or (port is not None and p["host_port"] != port):
                continue
            spec = f"{p['host_port']}->{p['container_port']}/{p['protocol']}"
            if spec not in specs:
                specs.append(spec)
        return specs

    @property
    def compose_project(self) -> str | None:
        """The Compose project (label com.docker.compose.project)."""
        return self.labels.get("com.docker.compose.project") or None

    @property
    def compose_service(self) -> str | None:
        """The Compose service (label com.docker.compose.service)."""
        return self.labels.get("com.docker.compose.service") or None

    @property
    def compose_dir(self) -> str | None:
        """The Compose project's directory (label com.docker.compose.project.working_dir)."""
        return self.labels.get("com.docker.compose.project.working_dir") or None

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (details["containers"] of a docker cause)."""
        return {
            "id": self.id,
            "name": self.name,
            "image": self.image,
            "ports": self.port_specs(),
            "compose_project": self.compose_project,
            "compose_service": self.compose_service,
            "compose_working_dir": self.compose_dir,
            "restart_policy": self.restart_policy,
            "pid": self.pid,
        }


def parse_proxy_cmdline(cmdline: Sequence[str]) -> ProxyArgs | None:
    """Parse ``docker-proxy -proto tcp -host-ip X -host-port P -container-ip Y -container-port Q``."""
    args: dict[str, str] = {}
    items = list(cmdline[1:])
    for i, item in enumerate(items):
        if not item.startswith("-"):
            continue
        key = item.lstrip("-")
        if "=" in key:
            key, _, value = key.partition("=")
            args[key] = value
        elif i + 1 < len(items):
            args[key] = items[i + 1]
    try:
        return ProxyArgs(
            protocol=args.get("proto", "tcp"),
            host_ip=args.get("host-ip", ""),
            host_port=int(args["host-port"]),
            container_ip=args.get("container-ip", ""),
            container_port=int(args["container-port"]),
        )
    except (KeyError, ValueError):
        return None


def _config_dir(environ: Mapping[str, str]) -> str:
    return environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def context_endpoint(name: str, config_dir: str) -> Endpoint | None:
    """The endpoint of CLI context ``name`` (~/.docker/contexts/meta/<sha256(name)>/meta.json)."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = os.path.join(config_dir, "contexts", "meta", digest, "meta.json")
    try:
        with open(meta, encoding="utf-8") as f:
            data = json.load(f)
        docker = data["Endpoints"]["docker"]
        host = docker["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(host, str) or not host:
        return None
    tls = os.path.isdir(os.path.join(config_dir, "contexts", "tls", digest, "docker"))
    return Endpoint(host, f"context {name}", tls=tls)


def endpoint(environ: Mapping[str, str] | None = None) -> Endpoint:
    """Where the docker CLI would connect: the same precedence as the CLI itself.

    DOCKER_CONTEXT, then DOCKER_HOST, then the config's currentContext, then the default socket.
    """
    env = os.environ if environ is None else environ
    name = env.get("DOCKER_CONTEXT", "")
    if not name and env.get("DOCKER_HOST"):
        host = env["DOCKER_HOST"]
        tls = env.get("DOCKER_TLS_VERIFY", "") not in ("", "0") or host.endswith(":2376")
        return Endpoint(host, "DOCKER_HOST", tls=tls)
    config_dir = _config_dir(env)
    if not name:
        try:
            with open(os.path.join(config_dir, "config.json"), encoding="utf-8") as f:
                current = json.load(f).get("currentContext")
            name = current if isinstance(current, str) else ""
        except (OSError, ValueError, AttributeError):
            name = ""
    if name and name != "default":
        found = context_endpoint(name, config_dir)
        if found is not None:
            return found
    if name == "default" and env.get("DOCKER_HOST"):
        return Endpoint(env["DOCKER_HOST"], "DOCKER_HOST")
    if os.name == "nt":  # pragma: no cover - Windows
        return Endpoint("npipe:////./pipe/docker_engine", "default")
    if not os.path.exists(DEFAULT_SOCKET):
        # Rootless Docker and Docker Desktop put the socket under the user's runtime dir / home.
        runtime = env.get("XDG_RUNTIME_DIR")
        for candidate in (
            os.path.join(runtime, "docker.sock") if runtime else "",
            os.path.join(os.path.expanduser("~"), ".docker", "run", "docker.sock"),
        ):
            if candidate and os.path.exists(candidate):
                return Endpoint(f"unix://{candidate}", "default")
    return Endpoint(f"unix://{DEFAULT_SOCKET}", "default")


def _connect(ep: Endpoint, timeout: float) -> socket.socket:
    if ep.url.startswith("unix://"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(ep.url[len("unix://") :])
        except BaseException:
            s.close()
            raise
        return s
    hostport = ep.url[len("tcp://") :].split("/", 1)[0]
    host, _, port = hostport.rpartition(":")
    return socket.create_connection((host.strip("[]") or "localhost", int(port or 2375)), timeout=timeout)


MAX_ANSWER = 64 << 20  # bytes: what the engine's socket may send us at most (it may not be Docker's)


def api_get(ep: Endpoint, path: str, timeout: float = TIMEOUT) -> Any:
    """GET ``path`` from the engine's API and decode its JSON body; DockerUnavailable on failure."""
    if not path.isascii() or any(c <= " " or c == "\x7f" for c in path):
        raise DockerUnavailable("refused to send a request path with spaces or control characters")
    deadline = time.monotonic() + timeout
    try:
        with _connect(ep, timeout) as s:
            # HTTP/1.0: the engine answers without chunked encoding and closes when done.
            s.sendall(f"GET {path} HTTP/1.0\r\nHost: docker\r\nUser-Agent: portdoctor\r\n\r\n".encode())
            chunks = []
            size = 0
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DockerUnavailable(f"no answer within {timeout:g}s")
                s.settimeout(left)
                chunk = s.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_ANSWER:
                    raise DockerUnavailable(f"the answer is larger than {MAX_ANSWER >> 20} MiB")
    except DockerUnavailable:
        raise
    except socket.timeout as exc:
        raise DockerUnavailable(f"no answer within {timeout:g}s") from exc
    except (OSError, ValueError) as exc:
        raise DockerUnavailable(exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)) from exc
    raw = b"".join(chunks)
    head, sep, body = raw.partition(b"\r\n\r\n")
    status_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = status_line.split(" ", 2)
    if not sep or len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise DockerUnavailable("not a Docker engine (no HTTP answer)")
    if parts[1] != "200":
        raise DockerUnavailable(f"the engine answered {status_line[9:].strip()}: {body[:200]!r}")
    try:
        return json.loads(body)
    except ValueError as exc:
        raise DockerUnavailable("the engine's answer is not JSON") from exc


def _from_list(item: Mapping[str, Any]) -> Container:
    """A Container from one item of GET /containers/json."""
    names = item.get("Names") or []
    ports = []
    for p in item.get("Ports") or []:
        ports.append(
            {
                "host_ip": p.get("IP"),
                "host_port": p.get("PublicPort"),
                "container_port": p.get("PrivatePort"),
                "protocol": p.get("Type", "tcp"),
            }
        )
    return Container(
        id=str(item.get("Id", "")),
        name=(str(names[0]).lstrip("/") if names else str(item.get("Id", ""))[:12]),
        image=str(item.get("Image", "")),
        ports=ports,
        labels=dict(item.get("Labels") or {}),
    )


def from_inspect(item: Mapping[str, Any]) -> Container:
    """A Container from one item of GET /containers/ID/json (or `docker inspect`)."""
    ports = []
    settings = item.get("NetworkSettings") or {}
    for key, bindings in (settings.get("Ports") or {}).items():
        number, _, proto = str(key).partition("/")
        for b in bindings or []:
            try:
                host_port: int | None = int(b.get("HostPort"))
            except (TypeError, ValueError):
                host_port = None
            ports.append(
                {
                    "host_ip": b.get("HostIp"),
                    "host_port": host_port,
                    "container_port": int(number) if number.isdigit() else number,
                    "protocol": proto or "tcp",
                }
            )
    config = item.get("Config") or {}
    restart = ((item.get("HostConfig") or {}).get("RestartPolicy") or {}).get("Name")
    return Container(
        id=str(item.get("Id", "")),
        name=str(item.get("Name", "")).lstrip("/"),
        image=str(config.get("Image", "")),
        ports=ports,
        labels=dict(config.get("Labels") or {}),
        restart_policy=(restart or "no") if isinstance(restart, str) or restart is None else None,
        pid=_pid((item.get("State") or {}).get("Pid")),
    )


def _pid(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


_HEX = frozenset("0123456789abcdef")


def is_container_id(text: str) -> bool:
    """True for a full container id: 64 lowercase hex digits (nothing else reaches a request)."""
    return len(text) == 64 and _HEX.issuperset(text)


def engine_uid(ep: Endpoint) -> int | None:
    """The owner of the engine's unix socket: root's engine, or a rootless user's; None otherwise."""
    if not ep.url.startswith("unix://"):
        return None
    try:
        return os.stat(ep.url[len("unix://") :]).st_uid
    except OSError:
        return None


def _cli(argv: Sequence[str], timeout: float) -> str:
    from ..command import find_program, run_command

    exe = find_program("docker")
    if exe is None:
        raise DockerUnavailable("the docker CLI is not on PATH (or lies where other users can write)")
    done = run_command([exe, *argv], timeout=timeout)
    if done.returncode is None:
        raise DockerUnavailable(f"`docker {argv[0]}`: {done.error}")
    if not done.ok:
        raise DockerUnavailable(done.reason())
    return done.stdout


def containers(ep: Endpoint | None = None, timeout: float = TIMEOUT) -> list[Container]:
    """The running containers, with their published ports (restart policy not filled in)."""
    ep = ep or endpoint()
    if ep.direct:
        data = api_get(ep, "/containers/json", timeout)
        if not isinstance(data, list):
            raise DockerUnavailable("unexpected answer to /containers/json")
        return [_from_list(item) for item in data if isinstance(item, dict)]
    # ssh://, npipe://, TLS: let the CLI speak the transport (it resolves the same context).
    ids = _cli(["ps", "-q", "--no-trunc"], timeout).split()
    return inspect(ids, ep, timeout) if ids else []


def inspect(ids: Sequence[str], ep: Endpoint | None = None, timeout: float = TIMEOUT) -> list[Container]:
    """Full facts (restart policy included) about these containers."""
    ep = ep or endpoint()
    found: list[Container] = []
    ids = [cid for cid in ids if is_container_id(cid)]
    if not ids:
        return found
    if ep.direct:
        for cid in ids:
            data = api_get(ep, f"/containers/{cid}/json", timeout)
            if isinstance(data, dict):
                found.append(from_inspect(data))
        return found
    data = json.loads(_cli(["inspect", "--", *ids], timeout) or "[]")
    return [from_inspect(item) for item in data if isinstance(item, dict)]


def publishing(
    port: int, protocol: str = "tcp", ep: Endpoint | None = None, timeout: float = TIMEOUT
) -> list[Container]:
    """The running containers that publish host ``port``/``protocol``, with their restart policy."""
    ep = ep or endpoint()
    matches = [c for c in containers(ep, timeout) if c.publishes(port, protocol)]
    if not matches or all(c.restart_policy is not None for c in matches):
        return matches
    return inspect([c.id for c in matches], ep, timeout)


__all__ = [
    "Container",
    "DockerUnavailable",
    "ENGINE_NAMES",
    "Endpoint",
    "PROXY_NAMES",
    "ProxyArgs",
    "api_get",
    "containers",
    "endpoint",
    "engine_uid",
    "from_inspect",
    "inspect",
    "is_container_id",
    "parse_proxy_cmdline",
    "publishing",
]
