"""docker: a container publishes the port (docker-proxy or the engine holds it on its behalf)."""

from __future__ import annotations

from ..model import Action, Cause, Stop
from .actions import pick_action
from .gates import docker_evidence

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..managers.docker import Container, ProxyArgs
    from ..model import Holder
    from . import Context

def container_id_of(holder: Holder, engine_uid: int | None = 0) -> str | None:
    """The id of the container this process runs in (cgroup path or containerd shim), if any.

    Only what the engine's side made counts: a cgroup the engine created at the top of the tree
    (``/system.slice/docker-ID.scope``, ``/docker/ID``; a user's own sub-cgroups are below
    ``user.slice``), or a containerd shim that runs as the engine's owner (root). A process of
    another user can name itself ``containerd-shim`` and write any id in its arguments.
    The container's own pid is checked against the engine's answer afterwards (:func:`detect`).
    """
    from ..managers.docker import is_container_id

    cgroup = holder.cgroup or ""
    for head, tail in (("/system.slice/docker-", ".scope"), ("/docker/", "")):
        if cgroup.startswith(head):
            cid = cgroup[len(head) : len(head) + 64]
            rest = cgroup[len(head) + 64 :]
            if is_container_id(cid) and (rest == tail or rest.startswith(tail + "/")):
                return cid
    for parent in holder.parents:
        argv = parent.cmdline
        if parent.name.startswith("containerd-shim") and "moby" in argv and "-id" in argv:
            if parent.uid is None or parent.uid != engine_uid:
                return None  # not the engine's: anyone may call a process containerd-shim
            i = argv.index("-id")
            cid = argv[i + 1] if i + 1 < len(argv) else ""
            return cid if is_container_id(cid) else None
    return None


def _lineage(holder: Holder) -> set[int]:
    """The holder's pid and its ancestors' (a container's first process is one of them)."""
    return {holder.pid, *(p.pid for p in holder.parents)}


def _q(text: str) -> str:
    from ..quoting import quote

    return quote(text)


def detect(ctx: Context) -> Cause | None:
    """docker-proxy, the engine, or a host-network container holds the port."""
    if not docker_evidence(ctx):
        return None  # no evidence: don't pay for the engine client
    from ..managers import docker as engine

    ep = engine.endpoint()
    # The engine's processes (docker-proxy, dockerd, the shims) run as the engine's owner: root,
    # or the user of a rootless engine. A process named like them, of anyone else, is not them.
    owner = engine.engine_uid(ep)
    trusted = 0 if owner is None else owner
    proxies: list[tuple[Holder, ProxyArgs | None]] = []
    engines: list[Holder] = []
    own: dict[str, Holder] = {}  # container id -> its process holding the port (host network)
    for h in ctx.holders:
        if h.name in engine.PROXY_NAMES and h.uid == trusted:
            proxies.append((h, engine.parse_proxy_cmdline(h.cmdline)))
        elif h.name in engine.ENGINE_NAMES and h.uid == trusted:
            engines.append(h)
        else:
            cid = container_id_of(h, trusted)
            if cid:
                own[cid] = h
    if not proxies and not engines and not own:
        return None

    found: list[Container] = []
    answered = True
    try:
        if own and not proxies and not engines:
            found = engine.inspect(sorted(own), ep)
            # The engine's word on each container's first process: the holder must be it or run
            # under it (a process may claim any container's id).
            found = [c for c in found if c.id in own and c.pid in _lineage(own[c.id])]
            own = {cid: h for cid, h in own.items() if any(c.id == cid for c in found)}
        else:
            found = engine.publishing(ctx.port, ctx.protocol, ep)
    except engine.DockerUnavailable as exc:
        answered = False
        ctx.note(
            f"The Docker engine ({ep.url}, from {ep.source}) did not answer: {exc}; "
            "the container could not be named."
        )
    if not proxies and not engines and not own:
        return None

    evidence: list[str] = []
    for h, args in proxies:
        if args:
            evidence.append(
                f"docker-proxy (pid {h.pid}) forwards {args.host_ip or '*'}:{args.host_port} to "
                f"container {args.container_ip}:{args.container_port}/{args.protocol}"
            )
        else:
            evidence.append(f"docker-proxy (pid {h.pid}) holds the port")
    evidence += [f"{h.name} (pid {h.pid}) holds the port on behalf of a container" for h in engines]
    evidence += [
        f"pid {h.pid} ({h.name}) runs in container {cid[:12]} (host network)" for cid, h in own.items()
    ]
    if proxies or engines:
        evidence.append(
            "killing docker-proxy or the engine would not free the port for good and breaks networking"
        )

    holder_pids = tuple(h.pid for h, _ in proxies) + tuple(h.pid for h in engines)
    details: dict[str, object] = {
        "manager": "docker",
        "shared": bool(proxies or engines),
        "respawns": any(c.restart_policy not in (None, "", "no") for c in found),
        "containers": [c.to_dict() for c in found],
        "endpoint": ep.url,
    }
    stop = None
    if found:  # matched by the port they publish, as the engine reports it
        stop = Stop("docker", ("docker", "stop", *(c.name for c in found)), pids=holder_pids)
    proxy_targets = [
        {"container_ip": a.container_ip, "container_port": a.container_port, "protocol": a.protocol}
        for _, a in proxies
        if a
    ]
    if proxy_targets:
        details["proxy"] = proxy_targets

    if not found:
        return _unnamed(ctx, answered, proxies, evidence, details)

    for c in found:
        evidence.append(
            f"container {c.name} ({c.id[:12]}) publishes {', '.join(c.port_specs(ctx.port)) or 'it'}"
        )
        if c.restart_policy not in (None, "", "no"):
            evidence.append(f"container {c.name} has restart policy '{c.restart_policy}'")

    named = ", ".join(f"'{c.name}'" for c in found)
    first = found[0]
    specs = ", ".join(first.port_specs(ctx.port))
    if own and not proxies:
        what = f"Port {ctx.port} is held by Docker container {named} (image {first.image}, host network)"
    elif len(found) == 1:
        what = f"Port {ctx.port} is published by Docker container {named} (image {first.image}, {specs})"
    else:
        what = f"Port {ctx.port} is published by Docker containers {named}"
    if first.compose_project and first.compose_service:
        what += f", service '{first.compose_service}' of Compose project '{first.compose_project}'"
    summary = what + "."

    targets = holder_pids + tuple(h.pid for h in own.values())
    actions: list[Action] = []
    seen_services: set[tuple[str, str]] = set()
    for c in found:
        project, service = c.compose_project, c.compose_service
        if not project or not service or (project, service) in seen_services:
            continue
        seen_services.add((project, service))
        where = f" (or: cd {_q(c.compose_dir)} && docker compose stop {_q(service)})" if c.compose_dir else ""
        actions.append(
            Action(
                description=f"Stop Compose service '{service}' of project '{project}'{where}",
                command=f"docker compose -p {_q(project)} stop {_q(service)}",
                safe=True,
                kind="compose-stop",
                targets=targets,
            )
        )
    actions.append(
        Action(
            description=(
                "Stop the container (it stays stopped: restart policies do not restart a stopped container)"
            ),
            command="docker stop " + " ".join(_q(c.name) for c in found),
            safe=True,
            kind="docker-stop",
            targets=targets,
        )
    )
    if any(c.restart_policy == "always" for c in found):
        always = " ".join(_q(c.name) for c in found if c.restart_policy == "always")
        actions.append(
            Action(
                description=(
                    "Its restart policy 'always' brings it back when the engine restarts; turn it off"
                ),
                command=f"docker update --restart=no {always}",
                safe=True,
                kind="advice",
            )
        )
    if not own or proxies:
        spec = first.port_specs(ctx.port)
        inner = spec[0].split("->", 1)[1].split("/", 1)[0] if spec else "PORT"
        compose = " (compose: the 'ports:' entry of the service)" if first.compose_service else ""
        actions.append(
            Action(
                description=(
                    f"Or publish the container on another host port: '-p NEW:{inner}' instead of "
                    f"'-p {ctx.port}:{inner}'{compose}"
                ),
                command=None,
                safe=True,
                kind="advice",
            )
        )
    actions.append(pick_action(ctx.port))
    return Cause(
        kind="docker", summary=summary, evidence=tuple(evidence), actions=tuple(actions), details=details,
        stop=stop,
    )  # fmt: skip


def _unnamed(
    ctx: Context,
    answered: bool,
    proxies: list[tuple[Holder, ProxyArgs | None]],
    evidence: list[str],
    details: dict[str, object],
) -> Cause:
    """The engine did not answer (or knows no such container): say what docker-proxy tells us."""
    targets = [a for _, a in proxies if a]
    if targets:
        a = targets[0]
        to = f" (docker-proxy forwards it to {a.container_ip}:{a.container_port}/{a.protocol})"
    else:
        to = ""
    why = (
        "the Docker engine did not answer" if not answered else "the Docker engine lists no container for it"
    )
    summary = f"Port {ctx.port} is published by a Docker container{to}; {why}, so its name is unknown."
    return Cause(
        kind="docker",
        summary=summary,
        evidence=tuple(evidence),
        actions=(
            Action(
                description=(
                    "Find the container (once the engine answers) and stop it with `docker stop NAME`"
                ),
                command=f"docker ps --filter publish={ctx.port}",
                safe=True,
                kind="advice",
            ),
            pick_action(ctx.port),
        ),
        details=details,
    )
