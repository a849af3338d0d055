"""Reading command lines: which program an argv really runs (through node, python -m, deno...).

Shared by the detectors that recognise a process by the program it runs, not by its
interpreter's name.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

# Interpreters whose first non-option argument is the program that really runs: these names, and
# these stems followed by a version (python3.11, php8.2, ruby3).
INTERPRETERS = frozenset(("node", "nodejs", "bun", "deno", "perl"))
VERSIONED_INTERPRETERS = ("python", "pypy", "ruby", "php")
_VERSION_CHARS = frozenset("0123456789.")
# Binaries that are reloaders by name: they restart their child when files change.
WATCHER_BINARIES = {
    "nodemon": "nodemon",
    "ts-node-dev": "ts-node-dev",
    "tsnd": "ts-node-dev",
    "node-dev": "node-dev",
    "watchexec": "watchexec",
    "air": "air",
    "cargo-watch": "cargo-watch",
    "reflex": "reflex",
    "modd": "modd",
    "entr": "entr",
    "compiledaemon": "CompileDaemon",
    "gow": "gow",
    "watchmedo": "watchmedo",
    "watchfiles": "watchfiles",
    "hupper": "hupper",
    "gin": "gin",
}


def versioned(name: str, stem: str) -> bool:
    """True for ``stem`` followed by digits and dots only: ``python3.11`` for ``python``."""
    return name.startswith(stem) and _VERSION_CHARS.issuperset(name[len(stem) :])


def is_interpreter(name: str) -> bool:
    """True for the name of an interpreter whose first non-option argument is the real program."""
    return name in INTERPRETERS or any(versioned(name, stem) for stem in VERSIONED_INTERPRETERS)


def basename(arg: str) -> str:
    """The last path component of ``arg`` (``/usr/bin/node`` -> ``node``; Windows paths too)."""
    return arg.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def program(argv: Sequence[str]) -> tuple[str, list[str], list[str]]:
    """Split a command line into (program name, interpreter options, the program's arguments).

    ``node --watch /usr/bin/nodemon app.js`` -> ("nodemon", ["--watch"], ["app.js"]);
    ``python3 -m uvicorn app:app --reload`` -> ("uvicorn", [], ["app:app", "--reload"]).
    """
    if not argv:
        return "", [], []
    args = list(argv)
    if len(args) == 1 and " " in args[0]:  # a process that rewrote its title: "npm run dev"
        args = args[0].split()
    first = basename(args[0]).lower()
    if first.endswith(".exe"):
        first = first[:-4]
    if not is_interpreter(first):
        return first, [], args[1:]
    options: list[str] = []
    i = 1
    while i < len(args):
        a = args[i]
        if a in ("-m", "-c") and first.startswith(("python", "pypy")):
            if a == "-c":
                return first, options, args[i:]
            return (basename(args[i + 1]).lower() if i + 1 < len(args) else first), options, args[i + 2 :]
        if a in ("run", "x", "exec", "task") and first in ("deno", "bun") and not options:
            options.append(a)
            i += 1
            continue
        if not a.startswith("-") or a == "-":
            name = basename(a).lower()
            # node .../nodemon/bin/nodemon.js, node .../ts-node-dev/lib/bin.js, python .../bin/uvicorn
            for part in reversed(a.replace("\\", "/").split("/")[:-1]):
                if part.lower() in WATCHER_BINARIES and name in ("bin.js", "index.js", "cli.js", "main.js"):
                    name = part.lower()
                    break
            for suffix in (".js", ".cjs", ".mjs", ".py"):
                if name.endswith(suffix) and name[: -len(suffix)] in WATCHER_BINARIES:
                    name = name[: -len(suffix)]
            return name, options, args[i + 1 :]
        options.append(a)
        # node -r x / --require x / --import x take a value
        if a in ("-r", "--require", "--import", "--loader", "--env-file", "-W", "-X") and i + 1 < len(args):
            options.append(args[i + 1])
            i += 1
        i += 1
    return first, options, []
