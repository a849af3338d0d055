"""ide: the holder is a run/debug session of an IDE (VS Code and forks, JetBrains, Zed, Eclipse).

What counts: a process the IDE started itself (a JetBrains run configuration, a VS Code task or
extension), a debugger-launched program (debugpy, pydevd, VS Code's js-debug), or the IDE's own
extension host. What does not: a server typed into an interactive shell of the IDE's terminal
(that is the user's shell; Ctrl+C there), nor editors' terminals (Neovim, Vim, Emacs).
"""

from __future__ import annotations

from ..model import Action, Cause, Holder, ProcessRef
from .actions import pick_action
from .argv import basename, program

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from . import Context

VSCODE = "VS Code"
_SHELLS = {
    "bash",
    "zsh",
    "fish",
    "sh",
    "dash",
    "ksh",
    "tcsh",
    "csh",
    "pwsh",
    "powershell",
    "nu",
    "xonsh",
    "cmd",
}
_SHELL_VALUE_OPTIONS = {"--init-file", "--rcfile", "-o", "+o", "-O", "+O", "--login-file", "-NoExit"}
_JETBRAINS = {
    "idea": "IntelliJ IDEA",
    "pycharm": "PyCharm",
    "webstorm": "WebStorm",
    "goland": "GoLand",
    "clion": "CLion",
    "rider": "Rider",
    "phpstorm": "PhpStorm",
    "rubymine": "RubyMine",
    "rustrover": "RustRover",
    "datagrip": "DataGrip",
    "dataspell": "DataSpell",
    "studio": "Android Studio",
    "aqua": "Aqua",
    "fleet": "Fleet",
}
_VSCODE_FAMILY = {
    "code": VSCODE,
    "code-insiders": VSCODE,
    "code - oss": VSCODE,
    "code-oss": VSCODE,
    "codium": "VSCodium",
    "vscodium": "VSCodium",
    "cursor": "Cursor",
    "windsurf": "Windsurf",
    "code helper": VSCODE,
    "code helper (plugin)": VSCODE,
    "code helper (renderer)": VSCODE,
    "cursor helper": "Cursor",
    "cursor helper (plugin)": "Cursor",
}
_SERVER_DIRS = (
    (".vscode-server-insiders", VSCODE),
    (".vscode-server", VSCODE),
    (".vscode-remote", VSCODE),
    (".vscodium-server", "VSCodium"),
    (".cursor-server", "Cursor"),
    (".windsurf-server", "Windsurf"),
    ("/vscode/extensions/", VSCODE),
    ("/.vscode/extensions/", VSCODE),
)
# what a JetBrains IDE's java command line has (com.intellij.idea.Main, -Didea.paths.selector=...)
_JETBRAINS_MARKS = ("com.intellij.", "-Didea.paths.selector", "-Didea.platform.prefix")


def ide_of(argv: Sequence[str], name: str = "") -> tuple[str, str] | None:
    """(IDE, role) when this process belongs to an IDE, else None. Pure: the command line only.

    role is "ide" (the IDE itself), "extension-host", "debugger" (debugpy/pydevd/js-debug),
    or "server" (a remote-development server)."""
    text = " ".join(argv)
    low_name = name.lower()
    first = basename(argv[0]).lower() if argv else low_name
    if first.endswith(".exe"):
        first = first[:-4]
    prog = program(argv)[0] if argv else low_name
    # debuggers first: they sit between the IDE and the program
    if (
        prog == "debugpy"
        or "/debugpy/launcher" in text
        or "/debugpy/adapter" in text
        or "debugpy --listen" in text
    ):
        owner = next((ide for d, ide in _SERVER_DIRS if d in text), None)
        return owner or "debugpy", "debugger"
    if prog in ("pydevd", "pydevd.py") or "/pydev/pydevd.py" in text:
        return "PyCharm", "debugger"
    if "ms-vscode.js-debug" in text or "js-debug/src/" in text:
        return VSCODE, "debugger"
    for d, ide in _SERVER_DIRS:
        if d in text:
            return (
                ide,
                "extension-host" if "--type=extensionHost" in text or "extensionHost" in text else "server",
            )
    if "--type=extensionHost" in text or "--type=extensionhost" in text.lower():
        family = _VSCODE_FAMILY.get(first) or _VSCODE_FAMILY.get(low_name) or VSCODE
        return family, "extension-host"
    if first in _VSCODE_FAMILY or low_name in _VSCODE_FAMILY:
        family = _VSCODE_FAMILY.get(first) or _VSCODE_FAMILY[low_name]
        if "--type=ptyHost" in text or "node.mojom.NodeService" in text or "--type=" in text:
            return family, "helper"
        return family, "ide"
    if first in ("electron", "electron.exe") and "--type=" in text:
        return VSCODE, "helper"
    stem = first[:-3] if first.endswith(".sh") else first  # idea64.sh, idea.sh, idea64 -> idea
    stem = stem[:-2] if stem.endswith("64") else stem
    if stem in _JETBRAINS:
        return _JETBRAINS[stem], "ide"
    if first == "jetbrains-toolbox":
        return "JetBrains Toolbox", "ide"
    if first in ("java", "java.exe") and any(mark in text for mark in _JETBRAINS_MARKS):
        return _jetbrains_product(text), "ide"
    if first in ("zed", "zed-editor", "zeditor") or low_name in ("zed", "zed-editor"):
        return "Zed", "ide"
    if first in ("eclipse",) or (first == "java" and "org.eclipse.equinox.launcher" in text):
        return "Eclipse", "ide"
    return None


_JB_SELECTORS = {"intellijidea": "IntelliJ IDEA", "ideaic": "IntelliJ IDEA", "pycharmce": "PyCharm"}
_JB_PREFIXES = {
    "python": "PyCharm",
    "pycharmcore": "PyCharm",
    "ruby": "RubyMine",
    "androidstudio": "Android Studio",
}


def _jetbrains_product(text: str) -> str:
    """The JetBrains product of a ``java ... com.intellij.idea.Main`` command line."""
    selector = _option_value(text, "-Didea.paths.selector=", lambda c: c.isascii() and c.isalpha())
    if selector:
        key = selector.lower()
        by_name = {k.replace(" ", "").lower(): v for k, v in _JETBRAINS.items()}
        return _JB_SELECTORS.get(key) or _JETBRAINS.get(key) or by_name.get(key) or selector
    prefix = _option_value(text, "-Didea.platform.prefix=", lambda c: c.isalnum() or c == "_")
    if prefix:
        key = prefix.lower()
        return _JB_PREFIXES.get(key) or _JETBRAINS.get(key) or prefix
    return "IntelliJ IDEA"


def _option_value(text: str, option: str, ok: Callable[[str], bool]) -> str | None:
    """The characters ``ok`` accepts right after the first ``option`` followed by one of them."""
    at = text.find(option)
    while at >= 0:
        start = end = at + len(option)
        while end < len(text) and ok(text[end]):
            end += 1
        if end > start:
            return text[start:end]
        at = text.find(option, start)
    return None


def is_interactive_shell(argv: Sequence[str], name: str = "") -> bool:
    """A shell a person types into (``bash``, ``-zsh``, ``fish -l``), not ``sh -c CMD``."""
    first = basename(argv[0]).lstrip("-").lower() if argv else name.lower().lstrip("-")
    if first.endswith(".exe"):
        first = first[:-4]
    if first not in _SHELLS:
        return False
    args = iter(argv[1:])
    for a in args:
        if a in _SHELL_VALUE_OPTIONS:
            next(args, None)  # --init-file FILE (VS Code's shell integration), --rcfile FILE, -o opt
            continue
        if not a.startswith(("-", "+")) or a in ("-c", "/c", "-Command", "-File"):
            return False  # runs a script or a command: a task, not a person's shell
        if not a.startswith("--") and "c" in a[1:]:
            return False  # -lc, -ic
    return True


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
