"""supervisord: the holder is a program supervisord runs; stop it with supervisorctl."""

from __future__ import annotations

import os
import re

from ..model import Action, Cause, Holder, ProcessRef, Stop
from ..quoting import join as shell_join
from ..quoting import quote as shell_quote
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


# supervisorctl's names: "name" or "group:name"; never "all", "group:*" or an option.
_SPEC = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.\-]{0,127}(?::[A-Za-z0-9_.][A-Za-z0-9_.\-]{0,127})?")


def process_spec(env: dict[str, str]) -> str | None:
    """The name supervisorctl knows the process by: ``name``, or ``group:name`` in a group.

    None when absent or not a single program's name (``all``, a wildcard, an option...): the
    environment is the process's own word, and the stop is confirmed with supervisord anyway.
    """
    name = env.get("SUPERVISOR_PROCESS_NAME")
    if not name:
        return None
    group = env.get("SUPERVISOR_GROUP_NAME") or name
    spec = name if group == name else f"{group}:{name}"
    if not _SPEC.fullmatch(spec) or "all" in (name, group):
        return None
    return spec


MAX_INCLUDES = 64  # [include] files read at most: the pattern is the config's, maybe another user's


def autorestarts(config: str | None, program_name: str) -> bool:
    """Whether supervisord restarts ``program_name`` after a kill (default autorestart=unexpected:
    a signal is an unexpected exit). Reads the config and its [include] files (regular files
    only, no links, size-capped); True when unsure."""
    if not config:
        return True
    import configparser
    import glob

    from ..untrusted import read_text

    def load(paths: list[str]) -> configparser.RawConfigParser:
        parser = configparser.RawConfigParser(strict=False)
        for path in paths:
            text = read_text(path)
            if text is not None:
                parser.read_string(text, source=path)
        return parser

    files = [config]
    try:
        parser = load(files)
        if parser.has_option("include", "files"):
            here = os.path.dirname(config)
            for pattern in parser.get("include", "files").split():
                pattern = pattern.replace("%(here)s", here)
                full = pattern if os.path.isabs(pattern) else os.path.join(here, pattern)
                files.extend(sorted(glob.glob(full))[:MAX_INCLUDES])
        parser = load(files[: MAX_INCLUDES + 1])
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
    if sd.uid in (None, ctx.my_uid):
        sudo = ""
    elif sd.uid == 0:
        sudo = "sudo "
    else:
        sudo = f"sudo -u {shell_quote(facts.user if facts and facts.user else f'#{sd.uid}')} "
    # Any user can run a supervisord (or name a process so): say whose it is when not yours.
    theirs = ""
    if sd.uid is not None and sd.uid != ctx.my_uid:
        theirs = f"; it runs as user {facts.user if facts and facts.user else f'uid {sd.uid}'}, not you"
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
            f"{sd.pid}{where}){theirs}; stop it with supervisorctl"
            + (", or supervisord will start it again." if respawns else ".")
        )
        stop_argv = [*argv, "stop", spec]
        command = sudo + shell_join(stop_argv)
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
            f"(pid {sd.pid}{where}){theirs}; stop it with supervisorctl."
        )
        stop_argv = []
        actions = [
            Action(
                description="Find the program's name and stop it through supervisord",
                command=sudo + shell_join([*argv, "status"]),
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
    stop = None
    if stop_argv and spec:
        # The name is the holder's own word: supervisord must confirm that this program is the
        # holder (or the holder's ancestor below supervisord) right before the stop.
        chain = [holder.pid]
        for ref in holder.parents:
            if ref.pid == sd.pid:
                break
            chain.append(ref.pid)
        stop = Stop(
            "supervisord",
            tuple(stop_argv),
            uid=sd.uid,
            pids=tuple(chain),
            confirm=(*argv, "pid", spec),
        )
    return Cause(
        kind="supervisord",
        summary=summary,
        evidence=tuple(evidence),
        actions=tuple(actions),
        details=details,
        stop=stop,
    )


__all__ = ["autorestarts", "basename", "config_path", "detect", "is_supervisord", "process_spec"]
