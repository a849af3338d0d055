"""duplicate: another instance of the project you are in (or of the command you run) holds the port."""

from __future__ import annotations

import os

from ..model import Action, Cause, Holder, Project
from ..quoting import join as shell_join
from .actions import free_action, kill_action
from .argv import basename, is_interpreter, title_words
from .orphan import _age, orphaned

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from . import Context

_MAX_PARENTS = 4  # how far up to look for the directory a wrapper (npm run dev) was started in


def _norm(path: str) -> str:
    if path.endswith(" (deleted)"):
        path = path[: -len(" (deleted)")]
    return os.path.normpath(os.path.realpath(path))


def script_paths(argv: Sequence[str], cwd: str | None) -> set[str]:
    """Absolute paths of the files a command line names (``python app.py`` -> {cwd/app.py})."""
    found: set[str] = set()
    for a in argv[1:]:
        if a.startswith("-") or "=" in a or not a:
            continue
        if "/" in a or "." in basename(a):
            path = a if os.path.isabs(a) else os.path.join(cwd or "/", a)
            if os.path.isfile(path):
                found.add(_norm(path))
    return found


def command_words(argv: Sequence[str]) -> list[str]:
    """A command line reduced for comparison: interpreters dropped, paths cut to their basename."""
    words = [basename(a) for a in title_words(argv)]
    while words and (is_interpreter(words[0].lower()) or words[0] in ("npx", "exec", "env")):
        words = words[1:]
        while words and (words[0].startswith("-") or "=" in words[0]):
            words = words[1:]
    return words


def same_command(a: Sequence[str], b: Sequence[str]) -> bool:
    """True when two command lines run the same program with the same arguments, loosely."""
    wa, wb = command_words(a), command_words(b)
    if not wa or not wb:
        return False
    return wa == wb


def _project(cwd: str | None) -> Project | None:
    from ..inspect import project_of

    return project_of(_norm(cwd)) if cwd else None


def _parent_cwds(holder: Holder) -> list[str]:
    from ..platforms import current as platform

    cwds = []
    for parent in holder.parents[:_MAX_PARENTS]:
        if parent.pid <= 1:
            break
        facts = platform.process(parent.pid)
        if facts is None or facts.cwd is None:
            continue
        cwds.append(facts.cwd)
    return cwds


def match(ctx: Context, holder: Holder, mine: Project | None) -> str | None:
    """Why ``holder`` is a second instance of the user's project/command (evidence), or None."""
    return _same_project(holder, mine) or _same_command(ctx, holder)


def _same_project(holder: Holder, mine: Project | None) -> str | None:
    """Why ``holder`` runs in (or was started from) the user's project ``mine``, or None."""
    if mine is not None:
        theirs = holder.project if holder.cwd is None else _project(holder.cwd)
        if theirs is not None and theirs.root == mine.root:
            return f"it runs in {holder.cwd}, inside your project {mine.name or mine.root} ({mine.root})"
        for cwd in _parent_cwds(holder):  # node started elsewhere by `npm run dev` in the project
            theirs = _project(cwd)
            if theirs is not None and theirs.root == mine.root:
                return (
                    f"it was started from {cwd}, inside your project {mine.name or mine.root} ({mine.root})"
                )
    return None


def _same_command(ctx: Context, holder: Holder) -> str | None:
    """Why ``holder`` runs the command ``portdoctor run`` was given (same file, or same words in
    the same directory), or None."""
    if ctx.command:
        mine_scripts = script_paths(ctx.command, ctx.cwd)
        theirs_scripts = script_paths(holder.cmdline, holder.cwd)
        if mine_scripts and mine_scripts & theirs_scripts:
            return f"it runs the same file as your command: {sorted(mine_scripts & theirs_scripts)[0]}"
        same_dir = holder.cwd is not None and _norm(holder.cwd) == _norm(ctx.cwd)
        if same_dir:
            chains = [holder.cmdline, *(p.cmdline for p in holder.parents[:_MAX_PARENTS])]
            if any(same_command(ctx.command, c) for c in chains if c):
                return f"it runs the same command as yours ({shell_join(ctx.command)}) in the same directory"
    return None


def detect(ctx: Context) -> Cause | None:
    """A holder is another instance of the project in ctx.cwd or of ctx.command."""
    holders = ctx.holders
    if not holders:
        return None
    mine = _project(ctx.cwd)
    if mine is None and not ctx.command:
        return None
    for holder in holders:
        why = _same_project(holder, mine)
        if why is not None:
            return _cause(ctx, holder, mine, why, by_project=True)
        why = _same_command(ctx, holder)
        if why is not None:
            return _cause(ctx, holder, mine, why, by_project=False)
    return None


def _cause(ctx: Context, holder: Holder, mine: Project | None, why: str, *, by_project: bool) -> Cause:
    pids = tuple(h.pid for h in ctx.holders)
    own = ctx.is_mine(holder)
    theirs = holder.project.name if holder.project else None
    # Matched by the command only (no project around it, or another one): it is "your command".
    name = (mine.name if mine and by_project else None) or theirs or holder.name
    what = "this project" if by_project else "your command"
    age = _age(holder.started)
    facts = []
    if age:
        facts.append(f"started {age} ago")
    facts.append(f"in {holder.tty}" if holder.tty else "without a terminal")
    summary = (
        f"Port {ctx.port} is held by another instance of {what} ({name}, {', '.join(facts)}; "
        f"pid {holder.pid}); stop it or run this one on another port."
    )
    evidence = [f"pid {holder.pid} ({holder.name}) holds the listening socket", why]
    gone, orphan_evidence, _sid = orphaned(holder)
    if gone:
        evidence.extend(orphan_evidence)
    command = (
        shell_join(ctx.command) if ctx.command else (shell_join(holder.cmdline) if holder.cmdline else None)
    )
    actions = [
        free_action(
            ctx.port,
            pids,
            description="Stop the other instance and wait for the port to be released",
            safe=own,
        ),
        Action(
            description="Or run this one on another port",
            command=f"PORT=$(portdoctor pick --near {ctx.port}) {command}"
            if command
            else f"portdoctor pick --near {ctx.port}",
            safe=True,
            kind="pick",
        ),
        kill_action(pids, description="Or send SIGTERM to the other instance yourself", safe=own),
    ]
    return Cause(
        kind="duplicate",
        summary=summary,
        evidence=tuple(evidence),
        actions=tuple(actions),
        details={
            "project": mine.to_dict() if mine else None,
            "instance_pid": holder.pid,
            "orphaned": gone,
            "respawns": False,
        },
    )
