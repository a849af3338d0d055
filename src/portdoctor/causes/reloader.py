"""reloader: nodemon and the others: a file watcher above the holder restarts it, so stop the watcher.

Covers nodemon, ts-node-dev, node-dev, ``node --watch``, ``tsx watch``, uvicorn/hypercorn
``--reload``, the Werkzeug (Flask) and Django autoreloaders, watchmedo, watchfiles, hupper,
watchexec, air, cargo-watch, reflex, modd, entr, CompileDaemon, ``dotnet watch``. A package
manager running a script (``npm run dev``, ``yarn start``) is a plain wrapper, not a watcher: the
watcher, if any, is further down the chain.
"""

from __future__ import annotations

import os

from ..model import Action, Cause, Holder, ProcessRef, Stop
from ..quoting import join as shell_join
from .actions import kill_action
from .argv import program, reloader_name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from . import Context

_RUN_MAIN_ENV = ("WERKZEUG_RUN_MAIN", "RUN_MAIN")


def _python_reloader(parent: ProcessRef, holder: Holder, ctx: Context) -> str | None:
    """The Werkzeug/Django reloader: the parent re-runs itself with RUN_MAIN=true in the child."""
    if not program(parent.cmdline)[0] or not holder.cmdline:
        return None
    env = ctx.environ(holder.pid) or {}
    if env.get("WERKZEUG_RUN_MAIN") == "true":
        return "werkzeug reloader"
    if env.get("RUN_MAIN") == "true" and "runserver" in parent.cmdline:
        return "django autoreloader"
    return None


def find_reloader(holder: Holder, ctx: Context) -> tuple[ProcessRef, str, list[int]] | None:
    """The nearest reloader above (or being) ``holder``: (process, its name, pids in between)."""
    own = reloader_name(holder.cmdline, holder.name)
    if own in ("uvicorn --reload", "hypercorn --reload", "flask reloader"):
        # The reloading parent binds the socket itself and hands it to the child it (re)starts,
        # so it is a holder too; the Werkzeug child runs the same command line, with RUN_MAIN set.
        child = own == "flask reloader" and (ctx.environ(holder.pid) or {}).get("WERKZEUG_RUN_MAIN") == "true"
        if not child:
            ref = ProcessRef(pid=holder.pid, name=holder.name, cmdline=holder.cmdline, uid=holder.uid)
            return ref, own, []
    between: list[int] = []
    for i, parent in enumerate(holder.parents):
        if parent.pid <= 1:
            break
        found = reloader_name(parent.cmdline, parent.name)
        if found is None and i == 0:
            found = _python_reloader(parent, holder, ctx)
        if found is not None:
            return parent, found, between
        between.append(parent.pid)
    return None


def _wrapper(parents: Sequence[ProcessRef]) -> str | None:
    """``npm run dev`` / ``yarn start``... the package-manager script above the reloader, if any."""
    for p in parents[:4]:
        prog, _opts, rest = program(p.cmdline or (p.name,))
        if prog in ("npm", "npm-cli.js", "yarn", "yarn.js", "pnpm", "pnpm.cjs", "bun") and rest:
            return shell_join([prog.split(".")[0], *rest[:3]])  # a step to run: quoted
    return None


def detect(ctx: Context) -> Cause | None:
    """A reloader (nodemon, uvicorn --reload...) runs the holder and would start it again."""
    for holder in ctx.holders:
        if not ctx.is_mine(holder):
            continue  # another user's: 'application' speaks for it
        found = find_reloader(holder, ctx)
        if found is None:
            continue
        ref, name, between = found
        return _cause(ctx, holder, ref, name, between)
    return None


def _cause(ctx: Context, holder: Holder, ref: ProcessRef, name: str, between: list[int]) -> Cause:
    holder_pids = [h.pid for h in ctx.holders]
    pids: list[int] = [ref.pid]
    for p in [*reversed(between), *holder_pids]:
        if p not in pids:
            pids.append(p)
    from ..relaunch import as_typed

    # as the user typed it: 'flask --app app run --debug', not '/abs/.venv/bin/python3 /abs/...'
    command = " ".join(as_typed(ref.cmdline, holder.cwd)) if ref.cmdline else ref.name
    short = command if len(command) <= 120 else command[:117] + "..."
    if ref.pid == holder.pid:
        summary = (
            f"Port {ctx.port} is held by {name} (pid {ref.pid}: {short}), a reloading server that "
            "restarts its worker on changes; stop it, not just the worker."
        )
    else:
        from ..relaunch import known_as

        known = known_as(holder)  # "npm run dev in api-server": what the user typed
        of = f" of {known}" if known else ""
        summary = (
            f"Port {ctx.port} is held by {holder.name} (pid {holder.pid}){of}, run by {name} "
            f"(pid {ref.pid}: {short}), which would start it again; stop {name}, not just the server."
        )
    evidence = [f"pid {holder.pid} ({holder.name}) holds the listening socket"]
    if ref.pid != holder.pid:
        evidence.append(f"its parent chain contains {name} (pid {ref.pid}): {short}")
    else:
        evidence.append(f"{name} binds the socket itself and hands it to the worker it (re)starts")
    wrapper = _wrapper(holder.parents)
    if wrapper:
        evidence.append(f"started by `{wrapper}` (a package-manager script: a plain wrapper)")
    if holder.project and holder.project.name:
        evidence.append(f"project {holder.project.name} ({holder.project.root})")
    rerun = wrapper or (shell_join(ref.cmdline) if ref.cmdline else None)
    targets = tuple(pids)
    actions = (
        Action(
            description=f"Stop {name} and the server it runs, then wait for the port to be released",
            command=f"portdoctor free {ctx.port}",
            safe=True,
            kind="stop-reloader",
            targets=targets,
        ),
        kill_action(pids, description=f"Or send SIGTERM to {name} and its children yourself"),
        Action(
            description="Or run this one on another port",
            command=f"PORT=$(portdoctor pick --near {ctx.port}) {rerun}"
            if rerun
            else f"portdoctor pick --near {ctx.port}",
            safe=True,
            kind="pick",
        ),
    )
    return Cause(
        kind="reloader",
        summary=summary,
        evidence=tuple(evidence),
        actions=actions,
        details={
            "manager": name if name in ("node --watch", "dotnet watch", "tsx watch") else name.split()[0],
            "reloader": name,
            "reloader_pid": ref.pid,
            "reloader_command": list(ref.cmdline),
            "respawns": True,
            "wrapper": wrapper,
            "cwd": os.path.normpath(holder.cwd) if holder.cwd else None,
        },
        stop=Stop(name.split()[0], signal_pids=tuple(pids), pids=tuple(h.pid for h in ctx.holders)),
    )
