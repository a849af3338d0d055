"""Relaunch: the command that starts the same server on another port, through its own flag.

Most dev servers ignore ``$PORT``: Vite wants ``--port N --strictPort``, Flask ``--port N``,
Django ``runserver N``, gunicorn ``-b host:N``. One table (:data:`SERVERS`) knows, for each
server, how to recognise its command line and where the port goes. It drives both the "use
another port" step of a diagnosis (from a holder's argv, cwd and parent chain: :func:`for_holder`)
and ``portdoctor run`` (from the command the user is about to start: :func:`for_command`).
Through a package-manager script (``npm run dev``) the script is read from package.json and the
flag is passed the way that package manager needs (``npm run dev -- --port N``). Where the
server is not known, the answer is None: callers say so instead of guessing. The table also
reads the port a command line already names (:func:`port_of`, the inverse of its edit:
``vite --port 5173`` -> 5173), so that ``portdoctor run`` keeps the port the user wrote.

package.json belongs to whoever wrote it (maybe another user): it is read with a size cap,
without following a link and without blocking on a FIFO (:func:`read_scripts`).
"""

from __future__ import annotations

import os

from .causes.argv import basename, is_interpreter, program, title_words, versioned
from .invocation import which
from .quoting import quote
from .record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence
    from typing import Any

    from .model import Holder

#: The most of a package.json read (a real one is a few KB).
MANIFEST_CAP = 256 * 1024
#: Stands for the port in argv while a command is built; replaced by a number or a shell expression.
PORT = "@@PORT@@"

PACKAGE_MANAGERS = ("npm", "yarn", "pnpm", "bun")
# What npm/yarn/pnpm/bun run directly without 'run' (npm start, yarn dev...).
_NPM_SHORTCUTS = ("start", "test", "restart", "stop")
# Runners of a package's bin, per package manager (for a script whose port flag is already set).
_EXEC = {"npm": ["npx"], "yarn": ["yarn"], "pnpm": ["pnpm", "exec"], "bun": ["bunx"]}
# node_modules/<package>/... -> the bin the user types.
_PACKAGE_BINS = {
    "vite": "vite",
    "next": "next",
    "nuxi": "nuxi",
    "nuxt": "nuxt",
    "@angular/cli": "ng",
    "webpack-dev-server": "webpack-dev-server",
    "webpack-cli": "webpack",
    "webpack": "webpack",
    "react-scripts": "react-scripts",
    "astro": "astro",
    "@remix-run/dev": "remix",
    "@remix-run/serve": "remix-serve",
    "@sveltejs/kit": "svelte-kit",
    "nodemon": "nodemon",
    "tsx": "tsx",
    "ts-node-dev": "ts-node-dev",
}
# Wrappers that run a script (the script then reads PORT, the convention).
_SCRIPT_RUNNERS = ("node", "nodejs", "bun", "nodemon", "ts-node-dev", "tsnd", "node-dev", "ts-node", "tsx")


class Launch(Record):
    """A server's command with the port set: what to run, and how to show it to a user."""

    server: str  # "vite", "flask", "django"... (the table's name)
    argv: tuple[str, ...]  # the command as the user types it, the port as PORT (the placeholder)
    env: tuple[tuple[str, str], ...] = ()  # variables to set, values may hold PORT
    how: str = ""  # how the port is passed: "--port N --strictPort", "PORT=N"...
    convention: bool = False  # True when it relies on a convention the program may not follow (PORT)
    cwd: str | None = None  # the directory to run it in (None: wherever the user is)

    def argv_for(self, port: int) -> list[str]:
        """The command with ``port`` in it (what ``portdoctor run`` executes)."""
        return [a.replace(PORT, str(port)) for a in self.argv]

    def env_for(self, port: int) -> dict[str, str]:
        """The variables to set, with ``port`` in them."""
        return {k: v.replace(PORT, str(port)) for k, v in self.env}

    def shell(self, port: int | str, *, here: str | None = None) -> str:
        """The command as one line a user can paste into a POSIX shell.

        ``port`` is a number or a shell expression (``$(portdoctor pick --near 5173)``);
        ``here`` is the user's directory: a ``cd`` is added when the server runs elsewhere.
        """
        words = [f"{k}={_word(v, str(port))}" for k, v in self.env]
        words += [_word(a, str(port)) for a in self.argv]
        text = " ".join(words)
        if self.cwd and here is not None and os.path.normpath(here) != os.path.normpath(self.cwd):
            text = f"cd {quote(self.cwd)} && {text}"
        return text

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (the port as the string ``{port}``)."""
        return {
            "server": self.server,
            "argv": [a.replace(PORT, "{port}") for a in self.argv],
            "env": {k: v.replace(PORT, "{port}") for k, v in self.env},
            "how": self.how,
            "convention": self.convention,
            "cwd": self.cwd,
        }


def _word(arg: str, port: str) -> str:
    """One shell word: ``arg`` quoted, with the port (a number or ``$(...)``) expanded in it."""
    if PORT not in arg:
        return quote(arg)
    if port.isdigit():
        return quote(arg.replace(PORT, port))
    # Double quotes keep $(...) live; escape what double quotes would interpret in the rest.
    return '"' + port.join(_in_double_quotes(p) for p in arg.split(PORT)) + '"'


def _in_double_quotes(text: str) -> str:
    """``text`` with what double quotes would interpret (backslash, ``"``, ``$``, backquote) escaped."""
    for special in ('\\', '"', "$", "`"):  # the backslash first: the others add backslashes
        text = text.replace(special, "\\" + special)
    return text


# --- editing a command line --------------------------------------------------------------------


def _drop(args: list[str], names: Sequence[str], *, value: bool = True) -> list[str]:
    """``args`` without ``--port 3000`` / ``--port=3000`` / ``-p3000`` for each name in ``names``."""
    out: list[str] = []
    skip = False
    for a in args:
        if skip:
            skip = False
            continue
        if a in names:
            skip = value
            continue
        if any(a.startswith(n + "=") for n in names if n.startswith("--")):
            continue
        if value and any(len(n) == 2 and a.startswith(n) and a[2:].isdigit() for n in names):
            continue
        out.append(a)
    return out


def _value_of(args: Sequence[str], names: Sequence[str]) -> str | None:
    for i, a in enumerate(args):
        if a in names and i + 1 < len(args):
            return args[i + 1]
        for n in names:
            if n.startswith("--") and a.startswith(n + "="):
                return a[len(n) + 1 :]
    return None


def _number(text: str | None) -> int | None:
    """``3000`` -> 3000; anything else (``0``, ``$PORT``, ``{port}``, ``70000``, ``3e3``) -> None."""
    if text and len(text) <= 5 and text.isascii() and text.isdigit() and 1 <= int(text) <= 65535:
        return int(text)
    return None


def _last_value(args: Sequence[str], names: Sequence[str]) -> str | None:
    """The value of the last ``--port 3000`` / ``--port=3000`` / ``-p3000`` of ``names`` (the one a
    parser keeps): the values :func:`_drop` drops."""
    found: str | None = None
    for i, a in enumerate(args):
        if a in names:
            found = args[i + 1] if i + 1 < len(args) else None
            continue
        for n in names:
            if n.startswith("--") and a.startswith(n + "="):
                found = a[len(n) + 1 :]
            elif len(n) == 2 and a.startswith(n) and a[2:].isdigit():
                found = a[2:]
    return found


class _PortArg:
    """Where one server's port goes in its arguments, both ways: ``edit`` sets it (to PORT; None
    when the arguments are not that server's), ``read`` returns the port they name (None when
    they name none). Called, it edits (a Server's ``edit``)."""

    __slots__ = ("edit", "read")

    def __init__(
        self, edit: Callable[[list[str]], list[str] | None], read: Callable[[list[str]], int | None]
    ) -> None:
        self.edit = edit
        self.read = read

    def __call__(self, args: list[str]) -> list[str] | None:
        return self.edit(args)


def _flag(names: Sequence[str], *extra: str) -> _PortArg:
    """Set the port with ``names[0] PORT`` (dropping any earlier one), then ``extra`` flags."""

    def edit(args: list[str]) -> list[str]:
        out = [*_drop(args, names), names[0], PORT]
        return out + [e for e in extra if e not in out]

    return _PortArg(edit, lambda args: _number(_last_value(args, names)))


def _host_port(value: str | None, default_host: str) -> str:
    """``0.0.0.0:8000`` -> ``0.0.0.0:PORT``; ``[::1]:8000`` -> ``[::1]:PORT``; None -> default."""
    if value and not value.startswith(("unix:", "fd://")):
        host = value.rsplit(":", 1)[0] if ":" in value and not value.endswith("]") else value
        if host.startswith("tcp://"):
            host = host[len("tcp://") :]
        return f"{host}:{PORT}"
    return f"{default_host}:{PORT}"


def _port_in_address(value: str | None) -> int | None:
    """``0.0.0.0:8000``, ``[::1]:8000``, ``tcp://host:8000`` -> 8000; a host alone, a bare IPv6
    address or a unix socket -> None."""
    if not value or value.startswith(("unix:", "fd://")):
        return None
    if value.startswith("tcp://"):
        value = value[len("tcp://") :]
    host, colon, number = value.rpartition(":")
    if not colon or (":" in host and not (host.startswith("[") and host.endswith("]"))):
        return None  # a host alone (its default port), or a bare IPv6 address
    return _number(number)


def _bind(default_host: str) -> _PortArg:
    """gunicorn / hypercorn: ``-b host:PORT``, keeping the host the command binds."""

    def edit(args: list[str]) -> list[str] | None:
        value = _value_of(args, ("-b", "--bind"))
        if value is not None and value.startswith(("unix:", "fd://")):
            return None  # a unix socket: no port to move
        return [*_drop(args, ("-b", "--bind")), "-b", _host_port(value, default_host)]

    # gunicorn binds every -b; the first one names the port (a host alone: its default, unwritten)
    return _PortArg(edit, lambda args: _port_in_address(_value_of(args, ("-b", "--bind"))))


def _positional(after: str | None) -> _PortArg:
    """Django ``runserver [addr:]PORT`` (after ``runserver``), ``http.server [PORT]``."""
    valued = ("-b", "--bind", "-d", "--directory", "-p", "--protocol", "--settings", "--pythonpath")

    def find(args: list[str]) -> int | None:
        """The index of the port argument; len(args) when there is none; None: not this server."""
        start = 0
        if after is not None:
            if after not in args:
                return None
            start = args.index(after) + 1
        i = start
        while i < len(args):
            a = args[i]
            if a in valued:
                i += 2
                continue
            if not a.startswith("-"):
                number = a.rpartition(":")[2]  # 3000, localhost:3000, [::1]:3000
                if 1 <= len(number) <= 5 and number.isascii() and number.isdigit():
                    return i
            i += 1
        return len(args)

    def edit(args: list[str]) -> list[str] | None:
        at = find(args)
        if at is None:
            return None
        if at == len(args):
            return [*args, PORT]
        host, colon, _number = args[at].rpartition(":")
        return [*args[:at], host + colon + PORT, *args[at + 1 :]]

    def read(args: list[str]) -> int | None:
        at = find(args)
        return None if at is None or at == len(args) else _number(args[at].rpartition(":")[2])

    return _PortArg(edit, read)


def _sub(commands: Sequence[str], port: _PortArg, *, unless: bool = False) -> _PortArg:
    """Only when the first argument is one of ``commands`` (``next dev``, ``rails server``);
    ``unless``: only when it is not (``vite``, but not ``vite build``)."""

    def applies(args: list[str]) -> bool:
        first = next((a for a in args if not a.startswith("-")), None)
        return (first in commands) != unless

    return _PortArg(
        lambda args: port.edit(args) if applies(args) else None,
        lambda args: port.read(args) if applies(args) else None,
    )


def _has(word: str, port: _PortArg) -> _PortArg:
    """Only when ``word`` is among the arguments (``flask ... run``)."""
    return _PortArg(
        lambda args: port.edit(args) if word in args else None,
        lambda args: port.read(args) if word in args else None,
    )


def _php_edit(args: list[str]) -> list[str] | None:
    value = _value_of(args, ("-S",))
    if value is None:
        return None
    return [*_drop(args, ("-S",)), "-S", _host_port(value, "localhost")]


_php = _PortArg(_php_edit, lambda args: _port_in_address(_value_of(args, ("-S",))))


def _dotnet_app(args: list[str]) -> str | None:
    """``run``/``watch``/``app.dll``: the first word of a dotnet command that runs an app."""
    first = next((a for a in args if not a.startswith("-")), "")
    return first if first in ("run", "watch") or first.endswith(".dll") else None


def _dotnet_edit(args: list[str]) -> list[str] | None:
    first = _dotnet_app(args)
    if first is None:
        return None
    out = _drop(args, ("--urls",))
    url = f"http://localhost:{PORT}"
    if first in ("run", "watch") and "--" in out:  # dotnet run [options] -- app arguments
        return [*out, "--urls", url]
    return [*out, "--urls", url]


def _dotnet_read(args: list[str]) -> int | None:
    """``--urls "http://localhost:5000;https://localhost:5001"``: the first URL's port."""
    urls = _last_value(args, ("--urls",)) if _dotnet_app(args) else None
    if not urls:
        return None
    rest = urls.split(";")[0].strip().partition("://")[2]
    return _port_in_address(rest.split("/")[0])


_dotnet = _PortArg(_dotnet_edit, _dotnet_read)


def _spring_port(words: Sequence[str]) -> int | None:
    """The last ``--server.port=N`` (or ``-Dserver.port=N``) among ``words``."""
    found: int | None = None
    for w in words:
        for prefix in ("--server.port=", "-Dserver.port="):
            if w.startswith(prefix):
                found = _number(w[len(prefix) :])
    return found


def _java_edit(args: list[str]) -> list[str] | None:
    # Only a Spring Boot app takes --server.port: say nothing of a jar we cannot tell.
    if not any("spring" in a.lower() for a in args):
        return None
    return [*_drop(args, ("--server.port",)), f"--server.port={PORT}"]


_java = _PortArg(
    _java_edit, lambda args: _spring_port(args) if any("spring" in a.lower() for a in args) else None
)


def _mvn_edit(args: list[str]) -> list[str] | None:
    if "spring-boot:run" not in args:
        return None
    return [*args, f"-Dspring-boot.run.arguments=--server.port={PORT}"]


def _passed_words(args: Sequence[str], option: str) -> list[str]:
    """The words of every ``OPTION=a,b c`` / ``OPTION 'a b'`` (Maven's and Gradle's app arguments)."""
    words: list[str] = []
    for i, a in enumerate(args):
        value = a[len(option) + 1 :] if a.startswith(option + "=") else None
        if a == option and i + 1 < len(args):
            value = args[i + 1]
        if value is not None:
            words += value.replace(",", " ").split()
    return words


_mvn = _PortArg(
    _mvn_edit,
    lambda args: _spring_port(_passed_words(args, "-Dspring-boot.run.arguments"))
    if "spring-boot:run" in args
    else None,
)


def _gradle_edit(args: list[str]) -> list[str] | None:
    if "bootRun" not in args:
        return None
    return [*args, f"--args=--server.port={PORT}"]


_gradle = _PortArg(
    _gradle_edit,
    lambda args: _spring_port(_passed_words(args, "--args")) if "bootRun" in args else None,
)


ENV = "env"  # an entry that sets PORT in the environment instead of editing the arguments


class Server(Record):
    """One entry of the table: a server, the programs that run it, and where its port goes."""

    name: str
    programs: tuple[str, ...]  # program names as argv.program() returns them
    edit: _PortArg | str  # where the port goes in the arguments (set and read), or ENV (PORT=N)
    how: str
    # The port it binds when its command names none, as its own source sets it (None: none that
    # is documented, or not worth a guess: its errors name the port).
    default: int | None = None
    # What may set the port another way, so that the default is not assumed when present: an
    # argument ("-c"), an environment variable ("PORT", upper case) or a file in its directory.
    unless: tuple[str, ...] = ()


_VITE_CONFIGS = tuple(f"vite.config.{ext}" for ext in ("js", "mjs", "cjs", "ts", "mts", "cts"))

_FIRST_NON_BUILD = ("build", "generate", "lint", "test", "check", "optimize")


_vite = _sub(_FIRST_NON_BUILD, _flag(("--port",), "--strictPort"), unless=True)


#: The table: every server portdoctor can relaunch on another port, and how.
SERVERS = (
    # Vite's defaults: DEFAULT_DEV_PORT 5173 and DEFAULT_PREVIEW_PORT 4173 (vite 8, dist/node);
    # its config file may set server.port / preview.port.
    Server(
        "vite", ("vite",), _sub(("preview",), _flag(("--port",), "--strictPort")),
        "--port N --strictPort", 4173, ("-c", "--config", *_VITE_CONFIGS),
    ),
    Server("vite", ("vite",), _vite, "--port N --strictPort", 5173, ("-c", "--config", *_VITE_CONFIGS)),
    Server("astro", ("astro",), _sub(("dev", "preview"), _flag(("--port",))), "--port N"),
    Server("sveltekit", ("svelte-kit",), _sub(("dev", "preview"), _flag(("--port",))), "--port N"),
    Server("next", ("next",), _sub(("dev", "start"), _flag(("-p", "--port"))), "-p N"),
    Server("nuxt", ("nuxi", "nuxt"), _sub(("dev", "preview", "start"), _flag(("--port", "-p"))), "--port N"),
    Server("angular", ("ng",), _sub(("serve", "s"), _flag(("--port",))), "ng serve --port N"),
    Server("webpack-dev-server", ("webpack-dev-server",), _flag(("--port",)), "--port N"),
    Server(
        "webpack-dev-server", ("webpack", "webpack-cli"), _sub(("serve",), _flag(("--port",))), "--port N"
    ),
    Server("create-react-app", ("react-scripts",), ENV, "PORT=N"),
    Server("remix", ("remix",), _sub(("vite:dev",), _flag(("--port",), "--strictPort")), "--port N"),
    Server("remix", ("remix-serve",), ENV, "PORT=N"),
    # flask/cli.py: --port default 5000, read from FLASK_RUN_PORT too (auto_envvar_prefix
    # FLASK), which .env / .flaskenv may set (python-dotenv) or -e FILE.
    Server(
        "flask", ("flask",), _has("run", _flag(("--port", "-p"))), "flask run --port N", 5000,
        ("-e", "--env-file", "FLASK_RUN_PORT", ".flaskenv", ".env"),
    ),
    # django/core/management/commands/runserver.py: default_port = "8000".
    Server("django", ("manage.py", "django-admin"), _positional("runserver"), "runserver N", 8000),
    # uvicorn/main.py: --port default 8000; auto_envvar_prefix UVICORN reads UVICORN_PORT.
    Server(
        "uvicorn", ("uvicorn",), _flag(("--port",)), "--port N", 8000,
        ("--uds", "--fd", "--env-file", "UVICORN_PORT", "UVICORN_UDS", "UVICORN_FD"),
    ),
    Server("fastapi", ("fastapi",), _sub(("dev", "run"), _flag(("--port",))), "--port N"),
    # gunicorn/config.py: bind default ['127.0.0.1:8000'], ['0.0.0.0:$PORT'] when PORT is set;
    # a config file (-c, ./gunicorn.conf.py by default) or GUNICORN_CMD_ARGS may bind too.
    Server(
        "gunicorn", ("gunicorn",), _bind("127.0.0.1"), "-b host:N", 8000,
        ("-c", "--config", "PORT", "GUNICORN_CMD_ARGS", "gunicorn.conf.py"),
    ),
    Server("hypercorn", ("hypercorn",), _bind("127.0.0.1"), "-b host:N"),
    # Lib/http/server.py: the port argument's default is 8000.
    Server("http.server", ("http.server",), _positional(None), "python -m http.server N", 8000),
    Server("jupyter", ("jupyter",), _sub(("notebook", "lab", "server"), _flag(("--port",))), "--port N"),
    Server("jupyter", ("jupyter-lab", "jupyter-notebook", "jupyter-server"), _flag(("--port",)), "--port N"),
    Server("rails", ("rails",), _sub(("server", "s"), _flag(("-p", "--port"))), "rails server -p N"),
    Server("puma", ("puma",), _flag(("-p", "--port")), "-p N"),
    Server("hugo", ("hugo",), _sub(("server", "serve"), _flag(("--port", "-p"))), "hugo server --port N"),
    Server(
        "jekyll",
        ("jekyll",),
        _sub(("serve", "s", "server"), _flag(("--port", "-P"))),
        "jekyll serve --port N",
    ),
    Server("php", ("php",), _php, "php -S host:N"),
    Server("spring-boot", ("java",), _java, "--server.port=N"),
    Server("spring-boot", ("mvn", "mvnw"), _mvn, "-Dspring-boot.run.arguments=--server.port=N"),
    Server("spring-boot", ("gradle", "gradlew"), _gradle, "--args=--server.port=N"),
    Server("dotnet", ("dotnet",), _dotnet, "--urls http://localhost:N"),
)


# --- recognising a command ---------------------------------------------------------------------


def _split(argv: Sequence[str]) -> tuple[str, list[str], list[str]]:
    """(program, the words before its arguments, its arguments) of a command line."""
    args = title_words(argv)
    if not args:
        return "", [], []
    first = basename(args[0]).lower()
    if versioned(first, "php"):
        return "php", args[:1], args[1:]
    if first in ("java", "mvn", "mvnw", "gradle", "gradlew", "dotnet"):
        return first, args[:1], args[1:]
    skip = _runner_words(args)
    if skip and len(args) > skip:
        # npx vite, pnpm exec vite, bunx vite, bundle exec jekyll, uv run flask: the program after it
        prog, head, rest = _split(args[skip:])
        return prog, [*args[:skip], *head], rest
    prog, _options, rest = program(args)
    head = args[: len(args) - len(rest)]
    for suffix in (".js", ".cjs", ".mjs"):
        if prog.endswith(suffix):
            prog = prog[: -len(suffix)]
    # node .../node_modules/vite/bin/vite.js -> vite
    script = head[-1] if head else ""
    package = node_package(script.replace("\\", "/"))
    if package in _PACKAGE_BINS:
        prog = _PACKAGE_BINS[package]
    if prog == "bin" and script.endswith("manage.py"):
        prog = "manage.py"
    return prog, head, rest


def _runner_words(args: Sequence[str]) -> int:
    """How many words of ``args`` run a package's program (``npx -y``, ``pnpm exec``): 0 if none."""
    first = basename(args[0]).lower() if args else ""
    second = args[1] if len(args) > 1 else ""
    if first in ("npx", "bunx"):
        i = 1
        while i < len(args) and args[i].startswith("-"):
            i += 2 if args[i] in ("-p", "--package", "-c", "--call") else 1
        return i
    if (first, second) in (
        ("pnpm", "exec"), ("pnpm", "dlx"), ("yarn", "exec"), ("yarn", "dlx"), ("bun", "x"),
        ("bundle", "exec"), ("uv", "run"), ("poetry", "run"), ("pipenv", "run"), ("pdm", "run"),
        ("hatch", "run"), ("rye", "run"),
    ):  # fmt: skip
        return 2
    return 0


def recognise(argv: Sequence[str], port: int | None = None) -> Launch | None:
    """The server ``argv`` runs, with its port set to :data:`PORT`; None when it is not known.

    ``port``: the port it holds (or failed to bind). Where the table has no flag for it and a
    word of ``argv`` names that port (``node srv.js 3000``, ``--listen=0.0.0.0:3000``), that word
    gets the new port: PORT in the environment would not move it.
    """
    prog, head, rest = _split(argv)
    if not prog:
        return None
    entry = _entry(prog, rest)
    if entry is not None:
        server, edited = entry
        if edited is None:
            return Launch(server.name, tuple(head + rest), (("PORT", PORT),), server.how)
        return Launch(server.name, tuple(head + edited), (), server.how)
    first = basename(argv[0]).lower() if argv else ""
    runner = first if first in _SCRIPT_RUNNERS else prog
    if runner in _SCRIPT_RUNNERS and any(
        a.endswith((".js", ".mjs", ".cjs", ".ts", ".mts")) for a in [*head, *rest][1:]
    ):
        # node server.js: Express and most Node servers read PORT (a convention, not a flag).
        name = "node" if runner in ("node", "nodejs") else runner
        written = _literal(head + rest, port)
        if written is not None:
            return Launch(name, written, (), IN_ARGUMENTS)
        return Launch(
            name, tuple(head + rest), (("PORT", PORT),), "PORT=N (if it reads PORT)", convention=True
        )
    written = _literal(argv, port)
    if written is not None:
        return Launch(basename(argv[0]), written, (), IN_ARGUMENTS)
    return None


def _entry(prog: str, rest: list[str]) -> tuple[Server, list[str] | None] | None:
    """The entry of the table for program ``prog`` with arguments ``rest``, and those arguments
    with the port set to PORT (None: an ENV entry, the port goes in the environment); None when
    no entry is this command (``vite build`` is no server)."""
    for server in SERVERS:
        if prog not in server.programs:
            continue
        if not isinstance(server.edit, _PortArg):
            return server, None
        edited = server.edit(list(rest))
        if edited is not None:
            return server, edited
    return None


#: How the port is passed when a word of the command names it (:func:`_literal`).
IN_ARGUMENTS = "the port in its arguments"


def _literal(argv: Sequence[str], port: int | None) -> tuple[str, ...] | None:
    """``argv`` with every word that names ``port`` (``3000``, ``host:3000``, ``--port=3000``)
    naming :data:`PORT` instead; None when no word after the program names it."""
    if port is None or len(argv) < 2:
        return None
    text = str(port)
    out = list(argv)
    for i, word in enumerate(out[1:], 1):
        if word == text:
            out[i] = PORT
        elif word.endswith((":" + text, "=" + text)):
            out[i] = word[: -len(text)] + PORT
    return tuple(out) if out != list(argv) else None


# --- package-manager scripts -------------------------------------------------------------------


def read_scripts(directory: str) -> dict[str, str] | None:
    """The ``scripts`` of ``directory``/package.json, read safely; None when unreadable.

    The file may belong to another user: untrusted.read_text follows no link, opens a FIFO or
    device without blocking (and rejects it), and reads at most :data:`MANIFEST_CAP` bytes.
    """
    from .untrusted import read_text

    text = read_text(os.path.join(directory, "package.json"), MANIFEST_CAP)
    if text is None:
        return None
    import json

    try:
        scripts = json.loads(text).get("scripts")
    except (ValueError, AttributeError):
        return None
    if not isinstance(scripts, dict):
        return None
    return {k: v for k, v in scripts.items() if isinstance(k, str) and isinstance(v, str)}


def script_call(argv: Sequence[str]) -> tuple[str, str, list[str]] | None:
    """``npm run dev`` -> ("npm", "dev", ["npm", "run", "dev"]): the package manager, the script
    and the words that call it; None when ``argv`` is not a package-manager script call."""
    prog, _opts, rest = program(argv)
    pm = prog.split(".")[0].replace("-cli", "")  # npm-cli.js, yarn.js, pnpm.cjs
    if pm not in PACKAGE_MANAGERS:
        return None
    words = [a for a in rest if not a.startswith("-")]
    if not words:
        return None
    if words[0] in ("run", "run-script"):
        if len(words) < 2:
            return None
        return pm, words[1], [pm, "run", words[1]]
    if pm == "npm" and words[0] in _NPM_SHORTCUTS:
        return pm, words[0], [pm, words[0]]
    if pm in ("yarn", "pnpm") and words[0] not in ("install", "add", "exec", "dlx", "x", "create"):
        return pm, words[0], [pm, words[0]]
    return None


def _script_argv(text: str) -> list[str] | None:
    """The server command of a script: its last ``&&`` part, without ``X=1`` or ``cross-env``."""
    from .quoting import split

    try:
        words = split(text)
    except ValueError:
        return None
    if any(w in ("|", "&", "||") or w.endswith(";") for w in words):
        return None
    while "&&" in words:
        words = words[words.index("&&") + 1 :]
    if words[:1] == ["cross-env"]:
        words = words[1:]
    while words and _assignment(words[0]):
        words = words[1:]
    return words or None


def _passed(pm: str, argv: Sequence[str], script: str) -> tuple[list[str], list[str]]:
    """``npm run dev -- --port 5173`` -> (``npm run dev``, ``--port 5173``): the words that call
    the script and the arguments it is given. npm gives it only what follows ``--`` (it reads the
    options before as its own); yarn, pnpm and bun what follows the script's name."""
    args = list(argv)
    if pm == "npm":
        if "--" not in args:
            return args, []
        at = args.index("--")
        return args[:at], args[at + 1 :]
    at = args.index(script, 1) + 1 if script in args[1:] else len(args)
    rest = args[at:]
    return args[:at], rest[1:] if rest[:1] == ["--"] else rest


def through_script(
    pm: str, call: Sequence[str], script: str, passed: Sequence[str] = (), port: int | None = None
) -> Launch | None:
    """The relaunch of a package-manager script (``npm run dev`` running ``vite``), or None.

    ``passed``: the arguments the call gives the script (``npm run dev -- --port 5173``); its
    port, if any, is replaced rather than given twice. ``port``: the one it holds (recognise).
    """
    argv = _script_argv(script)
    if argv is None:
        return None
    sep = ["--"] if pm == "npm" else []
    inner = recognise([*argv, *passed], port)
    if inner is None:
        return None
    if inner.env:
        given = [*sep, *passed] if passed else []
        return Launch(inner.server, (*call, *given), inner.env, inner.how, inner.convention)
    edited = list(inner.argv)
    if edited[: len(argv)] == argv:
        extra = edited[len(argv) :]
        return Launch(inner.server, (*call, *sep, *extra), (), inner.how)
    # The script sets the port itself: run its command instead, a node package's program through
    # the package manager's runner (npx vite: the project's own vite), any other as it is
    # (python3 -m http.server N, flask run --port N: npx would look for an npm package).
    if inner.server in _NODE_SERVERS and "/" not in edited[0] and not is_interpreter(edited[0]):
        return Launch(inner.server, (*_EXEC[pm], *edited), (), inner.how)
    return Launch(inner.server, tuple(edited), (), inner.how)


# Servers whose program is an npm package (node_modules/.bin in the project).
_NODE_SERVERS = frozenset(
    (
        "vite", "astro", "sveltekit", "next", "nuxt", "angular",
        "webpack-dev-server", "create-react-app", "remix",
    )
)  # fmt: skip


# --- from a holder, from a command -------------------------------------------------------------


def _assignment(word: str) -> bool:
    """True for a shell variable assignment: ``NODE_ENV=production``."""
    name, eq, value = word.partition("=")
    return bool(eq) and name.isascii() and name.isidentifier() and "\n" not in value


def node_package(path: str) -> str | None:
    """The package of the first ``node_modules/NAME/`` in ``path`` (``@scope/name`` too)."""
    at = -1
    while True:
        at = path.find("node_modules/", at + 1)
        if at < 0:
            return None
        if at > 0 and path[at - 1] != "/":
            continue
        parts = path[at + len("node_modules/") :].split("/")
        if len(parts) >= 3 and parts[0][:1] == "@" and len(parts[0]) > 1 and parts[1][:1] not in ("", "."):
            return parts[0] + "/" + parts[1]
        if len(parts) >= 2 and parts[0][:1] not in ("", "."):
            return parts[0]


def _node_bin(path: str) -> str | None:
    """The program of ``.../node_modules/.bin/NAME``."""
    folder, _, name = path.rpartition("/")
    if name and (folder == "node_modules/.bin" or folder.endswith("/node_modules/.bin")):
        return name
    return None


def _in_venv(path: str) -> bool:
    """True for an interpreter of a virtual environment (its packages live there: keep its path)."""
    return os.path.exists(os.path.join(os.path.dirname(os.path.dirname(path)), "pyvenv.cfg"))


def as_typed(argv: Sequence[str], cwd: str | None) -> list[str]:
    """``argv`` as the user types it: ``npx vite`` for the project's node_modules, ``flask``
    for ``python3 /usr/bin/flask``, ``nodemon`` for ``node /usr/bin/nodemon``, paths relative to
    the project, an interpreter by name unless it is a virtual environment's."""
    out = list(argv)
    if not out:
        return out
    text = [a.replace("\\", "/") for a in out]
    project = cwd.rstrip("/") + "/" if cwd else None
    for i, a in enumerate(text[:3]):
        package = _node_bin(a) or node_package(a)
        if package:
            bin_name = _PACKAGE_BINS.get(package, package)
            local = not os.path.isabs(a) or (project is not None and a.startswith(project))
            # the project's own package: npx runs it; a global one is on PATH by its name
            return ["npx", bin_name, *out[i + 1 :]] if local else [bin_name, *out[i + 1 :]]
    named = [False] * len(out)
    for i in range(min(2, len(out))):
        a = out[i]
        if not os.path.isabs(a):
            continue
        if project is not None and a.startswith(project):
            rel = os.path.relpath(a, cwd)
            out[i] = "./" + rel if "/" not in rel else rel
            continue
        name = basename(a)
        if i == 0 and is_interpreter(name):
            if not _in_venv(a):
                out[i] = name  # /usr/bin/python3, ~/.pyenv/.../python3, /usr/local/bin/node: as typed
            continue  # a venv's: by its path even while it is active here (not in a new terminal)
        found = which(name)
        if found and os.path.realpath(found) == os.path.realpath(a):
            out[i] = name
            named[i] = True
    # python3 /usr/bin/flask, node /usr/bin/nodemon, venv/bin/python venv/bin/gunicorn: the
    # script is a program of its own (its #! names the interpreter): the user typed just that.
    if len(out) > 1 and is_interpreter(basename(out[0])) and not out[1].startswith("-"):
        script = basename(argv[1])
        if named[1] or script in _PROGRAMS:
            out = out[1:]
    return out


# Programs run as scripts of an interpreter (python3 .../bin/flask) that users type by name.
_PROGRAMS = frozenset(
    (
        "flask",
        "uvicorn",
        "gunicorn",
        "hypercorn",
        "django-admin",
        "jupyter",
        "fastapi",
        "nodemon",
        "ts-node-dev",
    )
)


def for_command(argv: Sequence[str], cwd: str | None = None, port: int | None = None) -> Launch | None:
    """The relaunch of a command the user is about to run (``portdoctor run -- CMD``).

    ``port``: the port it failed to bind, if known; a word of ``argv`` that names it is where
    the new port goes when the table has no flag for the server (:func:`recognise`).
    """
    call = script_call(argv)
    if call is not None:
        pm, script, words = call
        scripts = read_scripts(cwd or os.getcwd())
        if scripts is not None and script in scripts:
            calling, passed = _passed(pm, argv, script)
            launch = through_script(pm, calling, scripts[script], passed, port)
            return launch.replace(cwd=cwd) if launch else None
        if pm == "npm" or len(words) != 2:
            return None
        # yarn vite / pnpm vite: no such script, so the package's program of that name runs
        inner = recognise(argv[1:], port)
        if inner is None:
            return None
        return inner.replace(argv=(argv[0], *inner.argv), cwd=cwd)
    launch = recognise(argv, port)
    return launch.replace(cwd=cwd) if launch else None


class Default(Record):
    """The port a server binds when its command names none (:func:`default_port`)."""

    server: str  # the table's name: "django", "http.server"...
    port: int


def default_port(
    argv: Sequence[str], cwd: str | None = None, env: Mapping[str, str] | None = None
) -> Default | None:
    """The server's own default port when ``argv`` runs a known server and names no port; None
    when it names one (:func:`port_of`), the server has no documented default, or something
    that may set the port another way is there: an argument (``-c conf.py``), a variable of
    ``env`` (the server's environment: ``PORT`` for gunicorn) or a file in ``cwd``
    (``gunicorn.conf.py``, ``vite.config.ts``). ``python3 manage.py runserver`` -> django 8000.

    ``cwd`` belongs to the server's user: its files are looked at with ``lstat`` only.
    """
    words = _server_words(argv, cwd)
    if words is None:
        return None
    prog, _head, rest = _split(words)
    entry = _entry(prog, rest)
    if entry is None or entry[1] is None:
        return None  # not a known server, or its port is in the environment (PORT=N)
    server = entry[0]
    assert isinstance(server.edit, _PortArg)
    if server.default is None or server.edit.read(list(rest)) is not None:
        return None
    for item in server.unless:
        if item.startswith("-"):
            given = item in rest or any(a.startswith(item + "=") for a in rest)
        elif item.isupper():
            given = env is not None and item in env
        else:
            given = cwd is not None and _exists(os.path.join(cwd, item))
        if given:
            return None
    return Default(server.name, server.default)


def _exists(path: str) -> bool:
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return False
    return True


def _server_words(argv: Sequence[str], cwd: str | None) -> list[str] | None:
    """The server's command ``argv`` runs: itself, or a package-manager script's command with
    what the call passes it (read from ``cwd``'s package.json); None when that cannot be read."""
    call = script_call(argv)
    if call is None:
        return list(argv)
    pm, script, words = call
    scripts = read_scripts(cwd or os.getcwd())
    if scripts is not None and script in scripts:
        inner = _script_argv(scripts[script])
        return None if inner is None else [*inner, *_passed(pm, argv, script)[1]]
    if pm == "npm" or len(words) != 2:
        return None
    return list(argv[1:])  # yarn vite --port 5173: the package's program


def port_of(argv: Sequence[str], cwd: str | None = None) -> int | None:
    """The port a server's command line already names, read the way the table sets it (the
    inverse of :func:`for_command`'s edit); None when it names none or portdoctor cannot tell.

    ``vite --port 5173``, ``flask run -p5000``, ``gunicorn -b 0.0.0.0:8000 app:app``,
    ``python manage.py runserver 0:8000``, ``python3 -m http.server 8000``, ``php -S
    localhost:8000``, ``dotnet run --urls http://localhost:5000``, ``java -jar spring-app.jar
    --server.port=8080``... A package-manager script is read from ``cwd``'s package.json (the
    current directory by default) with what the call passes it (``npm run dev -- --port 5173``).
    A server's default port (Vite's 5173 when no ``--port`` is written), a port in the
    environment (``PORT``, ``FLASK_RUN_PORT``) or in a config file is not read: None.
    """
    words = _server_words(argv, cwd)
    return None if words is None else _read_port(words)


def _read_port(argv: Sequence[str]) -> int | None:
    """The port ``argv`` names, from the entry of the table :func:`recognise` would use."""
    prog, _head, rest = _split(argv)
    entry = _entry(prog, rest)
    if entry is None or entry[1] is None:
        return None  # not a known server, or PORT in the environment: not in the arguments
    assert isinstance(entry[0].edit, _PortArg)
    return entry[0].edit.read(list(rest))


def _package_dir(holder: Holder) -> str | None:
    if holder.project and holder.project.manifest == "package.json":
        return holder.project.root
    return holder.cwd


def for_holder(holder: Holder, port: int | None = None) -> Launch | None:
    """The command that starts the server ``holder`` runs again on another port, or None.

    A package-manager script above it (``npm run dev``) is preferred: that is what the user
    typed. The parent chain is looked at up to a few links (npm -> sh -> node). ``port``: the
    port it holds; a word of its command that names it gets the new one (:func:`recognise`).
    """
    for parent in holder.parents[:5]:
        call = script_call(parent.cmdline or (parent.name,))
        if call is None:
            continue
        pm, script, words = call
        directory = _package_dir(holder)
        scripts = read_scripts(directory) if directory else None
        if scripts and script in scripts:
            launch = through_script(pm, words, scripts[script], port=port)
            if launch is not None:
                return launch.replace(cwd=directory)
        break
    argv = list(holder.cmdline)
    # A reloader's child: relaunch the reloader (nodemon server.js, not node server.js).
    for parent in holder.parents[:2]:
        prog = program(parent.cmdline or (parent.name,))[0]
        if prog in ("nodemon", "ts-node-dev", "tsnd", "node-dev") or (
            prog == "tsx" and "watch" in parent.cmdline
        ):
            argv = list(parent.cmdline)
            break
    launch = recognise(argv, port)
    if launch is None:
        return None
    shown = as_typed(_venv_interpreter(holder, launch.argv), holder.cwd)
    return launch.replace(argv=tuple(shown), cwd=holder.cwd)


def _venv_interpreter(holder: Holder, argv: Sequence[str]) -> Sequence[str]:
    """``argv`` with a bare interpreter (``python3 -m uvicorn``, typed with a venv active) named
    by the venv's path: the kernel gives the base interpreter only, and a new terminal without
    the venv finds another ``python3``, without the venv's packages.

    The interpreter is looked up on the PATH the holder started with, only for a process of
    the user running portdoctor, and kept only if it is a venv's (pyvenv.cfg beside its bin/)
    and resolves to the very program the kernel runs (``/proc/PID/exe``)."""
    word = argv[0] if argv else ""
    if not word or "/" in word or "\\" in word or not is_interpreter(word) or not holder.exe:
        return argv
    if not hasattr(os, "geteuid") or holder.uid != os.geteuid():
        return argv
    from .platforms import current as platform

    path = (platform.environ(holder.pid) or {}).get("PATH", "")
    dirs = [d for d in path.split(os.pathsep) if os.path.isabs(d)]
    found = which(word, os.pathsep.join(dirs)) if dirs else None
    if found is None or not _in_venv(found):
        return argv
    try:
        same = os.path.samefile(found, holder.exe)
    except OSError:
        return argv
    return [found, *argv[1:]] if same else argv


def known_as(holder: Holder) -> str | None:
    """The holder as its user knows it: ``npm run dev in shop-web (vite)``; None when no better
    than its process name."""
    project = holder.project.name if holder.project and holder.project.name else None
    where = f" in {project}" if project else ""
    launch_server: str | None = None
    launched = recognise(holder.cmdline)
    if launched is not None:
        launch_server = launched.server
    for parent in holder.parents[:5]:
        call = script_call(parent.cmdline or (parent.name,))
        if call is not None:
            inner = f" ({launch_server})" if launch_server and launch_server != holder.name else ""
            return " ".join(call[2]) + where + inner
    if launched is not None and launched.server != "node":
        prog, _head, rest = _split(holder.cmdline)
        sub = next((a for a in rest if not a.startswith("-")), None)
        words = [prog, sub] if sub in _SUBCOMMANDS else [prog]
        return " ".join(words) + where
    return None


# Subcommands worth naming with their program ("flask run", "manage.py runserver", "next dev").
_SUBCOMMANDS = (
    "run",
    "runserver",
    "dev",
    "serve",
    "server",
    "start",
    "preview",
    "lab",
    "notebook",
    "vite:dev",
)


__all__ = [
    "as_typed",
    "Default",
    "Launch",
    "SERVERS",
    "Server",
    "default_port",
    "for_command",
    "for_holder",
    "known_as",
    "port_of",
    "read_scripts",
    "recognise",
]
