"""ide: the holder is a run/debug session of an IDE (VS Code and forks, JetBrains, Zed, Eclipse).

What counts: a process the IDE started itself (a JetBrains run configuration, a VS Code task or
extension), a debugger-launched program (debugpy, pydevd, VS Code's js-debug), or the IDE's own
extension host. What does not: a server typed into an interactive shell of the IDE's terminal
(that is the user's shell; Ctrl+C there), nor editors' terminals (Neovim, Vim, Emacs).
"""

from __future__ import annotations

from ..model import Action, Cause, Holder, ProcessRef
from .actions import pick_action
from .argv import VSCODE, basename, ide_of, is_interactive_shell

TYPE_CHECKING = False
if TYPE_CHECKING:

    from . import Context

def find_session(holder: Holder, env: dict[str, str] | None) -> tuple[str, str, ProcessRef | None] | None:
    """(IDE, role, the IDE-side process) when ``holder`` runs in an IDE's run/debug session."""
    own = ide_of(holder.cmdline, holder.name)
    if own is not None:
        return own[0], {"server": "extension-host", "ide": "itself"}.get(own[1], own[1]), None
    if env and "VSCODE_INSPECTOR_OPTIONS" in env:
        return VSCODE, "debugger", None
    for parent in holder.parents:
        if parent.pid <= 1:
            break
        if is_interactive_shell(parent.cmdline, parent.name):
            return None  # typed into a terminal (maybe the IDE's): the user's shell, not a session
        found = ide_of(parent.cmdline, parent.name)
        if found is not None:
            ide, role = found
            if role == "helper":
                role = "task"  # a VS Code task, or a process a terminal helper runs without a shell
            elif role in ("ide", "extension-host", "server"):
                role = "run" if role == "ide" else "extension"
            return ide, role, parent
    return None


_STOP_KEYS = {
    VSCODE: "Shift+F5 stops a debug session; Terminal > Terminate Task stops a task",
    "VSCodium": "Shift+F5 stops a debug session; Terminal > Terminate Task stops a task",
    "Cursor": "Shift+F5 stops a debug session; Terminal > Terminate Task stops a task",
    "Windsurf": "Shift+F5 stops a debug session; Terminal > Terminate Task stops a task",
    "Zed": "stop the task from the task panel",
    "Eclipse": "the red Terminate button (Ctrl+F2) in the Console or Debug view",
}


def detect(ctx: Context) -> Cause | None:
    """A holder of yours was started by an IDE's run/debug session (or is the IDE itself)."""
    for holder in ctx.holders:
        if not ctx.is_mine(holder):
            continue
        env = ctx.environ(holder.pid)
        found = find_session(holder, env)
        if found is None:
            continue
        ide, role, parent = found
        return _cause(ctx, holder, ide, role, parent)
    return None


def _cause(ctx: Context, holder: Holder, ide: str, role: str, parent: ProcessRef | None) -> Cause:
    keys = _STOP_KEYS.get(ide, "Ctrl+F2 (Cmd+F2 on macOS) stops the run/debug configuration")
    if ide == "debugpy":
        keys = "stop the debug session in the editor that started debugpy"
    pids = tuple(h.pid for h in ctx.holders)
    what = {
        "debugger": "a debug session",
        "run": "a run configuration",
        "task": "a task",
        "extension": "an extension",
        "extension-host": "the extension host",
        "helper": "a helper process",
        "itself": "the IDE itself",
    }.get(role, "a session")
    inside = role in ("extension-host", "helper", "itself")  # the IDE's own process: killing it hurts the IDE
    if inside:
        summary = (
            f"Port {ctx.port} is held by {ide}'s own {holder.name} (pid {holder.pid}, {what}): the IDE or "
            f"one of its extensions serves on it; stop that from {ide}, or use another port."
        )
    else:
        summary = (
            f"Port {ctx.port} is held by {holder.name} (pid {holder.pid}), started by {what} of {ide}; "
            f"stop it from {ide} ({keys.split(';')[0]})."
        )
    evidence = [f"pid {holder.pid} ({holder.name}) holds the listening socket"]
    if parent is not None:
        pname = basename(parent.cmdline[0]) if parent.cmdline else parent.name
        evidence.append(f"its parent chain contains {ide} (pid {parent.pid}: {pname})")
    elif role == "debugger":
        evidence.append("it runs under a debugger (debugpy, pydevd or js-debug)")
    if holder.project and holder.project.name:
        evidence.append(f"project {holder.project.name} ({holder.project.root})")
    actions = [
        Action(description=f"Stop it from {ide}: {keys}", command=None, safe=True, kind="advice"),
        Action(
            description="Or stop the process and wait for the port to be released"
            + (" (this stops part of the IDE)" if inside else ""),
            command=f"portdoctor free {ctx.port}",
            safe=not inside,
            kind="free",
            targets=pids,
        ),
        pick_action(ctx.port),
    ]
    return Cause(
        kind="ide",
        summary=summary,
        evidence=tuple(evidence),
        actions=tuple(actions),
        details={
            "ide": ide,
            "session": role,
            "ide_pid": parent.pid if parent is not None else None,
        },
    )
