"""supervisord: the holder is a program supervisord runs; stop it with supervisorctl."""

from __future__ import annotations

import os
import shlex

from ..model import Action, Cause, Holder, ProcessRef
from .actions import pick_action
from .argv import basename, program

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from . import Context


def is_supervisord(argv: Sequence[str], name: str = "") -> bool:
    """True for a supervisord process (``supervisord`` or ``python .../supervisord``)."""
    if name == "supervisord":
        return True
    return program(argv)[0] in ("supervisord", "supervisord.py") if argv else False


def config_path(argv: Sequence[str], cwd: str | None = None) -> str | None:
    """The configuration file supervisord was started with (``-c FILE``, ``--configuration=FILE``)."""
    args = list(argv)
    value: str | None = None
    for i, a in enumerate(args):
        if a in ("-c", "--configuration") and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith("--configuration="):
            value = a.split("=", 1)[1]
        elif a.startswith("-c") and len(a) > 2 and not a.startswith("--"):
            value = a[2:]
    if value and not os.path.isabs(value) and cwd:
        value = os.path.normpath(os.path.join(cwd, value))
    return value


def process_spec(env: dict[str, str]) -> str | None:
    """The name supervisorctl knows the process by: ``name``, or ``group:name`` in a group."""
    name = env.get("SUPERVISOR_PROCESS_NAME")
    if not name:
        return None
    group = env.get("SUPERVISOR_GROUP_NAME") or name
    return name if group == name else f"{group}:{name}"


def autorestarts(config: str | None, program_name: str) -> bool:
    """Whether supervisord restarts ``program_name`` after a kill (default autorestart=unexpected:
    a signal is an unexpected exit). Reads the config and its [include] files; True when unsure."""
    if not config:
        return True
    import configparser
    import glob

    files = [config]
    try:
        parser = configparser.RawConfigParser(strict=False)
        parser.read(config, encoding="utf-8")
        if parser.has_option("include", "files"):
            here = os.path.dirname(config)
            for pattern in parser.get("include", "files").split():
                pattern = pattern.replace("%(here)s", here)
                full = pattern if os.path.isabs(pattern) else os.path.join(here, pattern)
                files.extend(sorted(glob.glob(full)))
        parser = configparser.RawConfigParser(strict=False)
        parser.read(files, encoding="utf-8")
    except (configparser.Error, OSError, UnicodeDecodeError):
        return True
    for section in (f"program:{program_name}", f"fcgi-program:{program_name}"):
        if parser.has_option(section, "autorestart"):
            return parser.get(section, "autorestart").strip().lower() not in ("false", "0", "no", "off")
    return True


def _find(holder: Holder) -> ProcessRef | None:
    for parent in holder.parents:
        if is_supervisord(parent.cmdline, parent.name):
            return parent
    return None


def detect(ctx: Context) -> Cause | None:
    """A holder is (a child of) a program run by supervisord."""
    for holder in ctx.holders:
        sd = _find(holder)
        if sd is not None:
            return _cause(ctx, holder, sd)
    return None


def _cause(ctx: Context, holder: Holder, sd: ProcessRef) -> Cause:
    from ..platforms import current as platform

    env = ctx.environ(holder.pid) or {}
    spec = process_spec(env)
    program_name = env.get("SUPERVISOR_PROCESS_NAME")
    facts = platform.process(sd.pid)
    config = config_path(sd.cmdline, facts.cwd if facts else None)
    url = env.get("SUPERVISOR_SERVER_URL")
    argv = ["supervisorctl"]
    if config:
        argv += ["-c", config]
    elif url:
        argv += ["-s", url]
    sudo = "sudo " if sd.uid not in (None, ctx.my_uid) and ctx.my_uid != 0 else ""
    evidence = [
        f"pid {holder.pid} ({holder.name}) holds the listening socket",
        f"its parent chain contains supervisord (pid {sd.pid}): {' '.join(sd.cmdline) or sd.name}",
    ]
    if spec:
        evidence.append(f"SUPERVISOR_PROCESS_NAME={program_name} in its environment")
    else:
        ctx.note("could not read the program name from the holder's environment (another user's process?)")
    respawns = autorestarts(config, program_name) if program_name else True
    where = f" (config {config})" if config else ""
    if spec:
        summary = (
            f"Port {ctx.port} is held by supervisord program '{spec}' (pid {holder.pid}, supervisord pid "
            f"{sd.pid}{where}); stop it with supervisorctl"
            + (", or supervisord will start it again." if respawns else ".")
        )
        stop_argv = [*argv, "stop", spec]
        command = sudo + shlex.join(stop_argv)
        actions = [
            Action(
                description=f"Stop the program through supervisord (it stays stopped until `start {spec}`)",
                command=command,
                safe=True,
                kind="supervisorctl-stop",
                targets=tuple(h.pid for h in ctx.holders),
            ),
            Action(
                description="Or let portdoctor run that and wait for the port",
                command=f"portdoctor free {ctx.port}",
                safe=True,
                kind="free",
            ),
        ]
    else:
        summary = (
            f"Port {ctx.port} is held by {holder.name} (pid {holder.pid}), a program of supervisord "
            f"(pid {sd.pid}{where}); stop it with supervisorctl."
        )
        stop_argv = []
        actions = [
            Action(
                description="Find the program's name and stop it through supervisord",
                command=sudo + shlex.join([*argv, "status"]),
                safe=True,
                kind="advice",
            )
        ]
    actions.append(pick_action(ctx.port))
    details: dict[str, object] = {
        "manager": "supervisord",
        "program": spec,
        "supervisord_pid": sd.pid,
        "config": config,
        "server_url": url,
        "respawns": respawns,
    }
    if stop_argv:
        details["stop"] = {"argv": stop_argv}
    return Cause(
        kind="supervisord",
        summary=summary,
        evidence=tuple(evidence),
        actions=tuple(actions),
        details=details,
    )


__all__ = ["autorestarts", "basename", "config_path", "detect", "is_supervisord", "process_spec"]
