"""Real dev servers (Vite from npm; Flask, Django, uvicorn, gunicorn from PyPI; Node; http.server):
the "use another port" step of ``why`` is run as printed, and the same server must then serve on
a new port; ``portdoctor run`` must start each one on the port it announces.

Vite is installed once into a cached project (``$PORTDOCTOR_VITE_PROJECT``, which .ci/run
prepares; else ~/.cache/portdoctor-tests/vite-VERSION, installed here from npm).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from infra import START_TIMEOUT, _session_pids, free_port, kill_session, portdoctor_cli, require, wait_until

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

VITE_VERSION = "8.3.8"
BIN = str(Path(sys.executable).parent)  # this venv: portdoctor, flask, gunicorn, uvicorn...


def _env() -> dict[str, str]:
    env = dict(os.environ)
    tools = os.environ.get("PORTDOCTOR_TOOLS_BIN", "")  # nodemon (npm's global bin)
    env["PATH"] = os.pathsep.join(p for p in (BIN, env.get("PATH", ""), tools) if p)
    env.pop("PORT", None)
    env["NO_COLOR"] = "1"
    return env


# --- the projects -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def vite_project() -> Path:
    """A Vite project named shop-web with "dev": "vite" (node_modules installed once, cached)."""
    require(shutil.which("npm") is not None, "npm is needed for the Vite tests")
    given = os.environ.get("PORTDOCTOR_VITE_PROJECT")
    root = Path(given) if given else Path.home() / ".cache" / "portdoctor-tests" / f"vite-{VITE_VERSION}"
    root.mkdir(parents=True, exist_ok=True)
    (root / "package.json").write_text(
        json.dumps({"name": "shop-web", "private": True, "scripts": {"dev": "vite"}}, indent=2) + "\n"
    )
    (root / "index.html").write_text("<!doctype html><title>shop-web</title><p>shop-web home</p>\n")
    if not (root / "node_modules" / ".bin" / "vite").exists():
        proc = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--no-save", f"vite@{VITE_VERSION}"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=600,
        )
        require(proc.returncode == 0, f"npm install vite failed: {proc.stderr[-500:]}")
    return root


def _tool(name: str) -> str:
    path = shutil.which(name, path=BIN)
    require(path is not None, f"{name} is not installed in this venv (pip install {name})")
    assert path is not None
    return path


@pytest.fixture
def flask_app(tmp_path: Path) -> Path:
    _tool("flask")
    d = tmp_path / "api"
    d.mkdir()
    (d / "app.py").write_text(
        textwrap.dedent(
            """
            from flask import Flask
            app = Flask(__name__)

            @app.get("/")
            def home():
                return "hello from flask"
            """
        )
    )
    return d


@pytest.fixture
def asgi_app(tmp_path: Path) -> Path:
    d = tmp_path / "asgi"
    d.mkdir()
    (d / "main.py").write_text(
        textwrap.dedent(
            """
            async def app(scope, receive, send):
                assert scope["type"] == "http"
                await send({"type": "http.response.start", "status": 200, "headers": []})
                await send({"type": "http.response.body", "body": b"hello from asgi"})
            """
        )
    )
    return d


@pytest.fixture
def wsgi_app(tmp_path: Path) -> Path:
    d = tmp_path / "wsgi"
    d.mkdir()
    (d / "app.py").write_text(
        textwrap.dedent(
            """
            def app(environ, start_response):
                start_response("200 OK", [("Content-Type", "text/plain")])
                return [b"hello from wsgi"]
            """
        )
    )
    return d


@pytest.fixture
def django_project(tmp_path: Path) -> Path:
    admin = _tool("django-admin")
    d = tmp_path / "site"
    d.mkdir()
    subprocess.run([admin, "startproject", "mysite", str(d)], check=True, timeout=60)
    return d


@pytest.fixture
def node_app(tmp_path: Path) -> Path:
    require(shutil.which("node") is not None, "node is needed")
    d = tmp_path / "express-ish"
    d.mkdir()
    (d / "server.js").write_text(
        "require('http').createServer((q, r) => r.end('hello from node'))"
        ".listen(Number(process.env.PORT || 3000));\n"
    )
    return d


@pytest.fixture
def nodemon_app(node_app: Path) -> Path:
    """npm run dev -> nodemon server.js (nodemon installed globally by .ci/run)."""
    from infra import find_tool

    require(find_tool("nodemon") is not None, "nodemon is needed (npm install -g nodemon)")
    (node_app / "package.json").write_text(
        json.dumps({"name": "api-server", "scripts": {"dev": "nodemon --quiet server.js"}})
    )
    return node_app


# --- helpers ------------------------------------------------------------------------------------


def _listening_inodes() -> dict[int, int]:
    """{socket inode: port} of every TCP listener (/proc/net/tcp{,6})."""
    found: dict[int, int] = {}
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            next(f, None)
            for line in f:
                fields = line.split()
                if fields[3] == "0A":
                    found[int(fields[9])] = int(fields[1].rsplit(":", 1)[1], 16)
    return found


def session_ports(sid: int) -> set[int]:
    """TCP ports listened on by the processes of session ``sid``."""
    inodes = _listening_inodes()
    ports: set[int] = set()
    for pid in _session_pids(sid):
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    link = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if link.startswith("socket:["):
                        inode = int(link[8:-1])
                        if inode in inodes:
                            ports.add(inodes[inode])
    return ports


def fetch(port: int) -> str:
    for host in ("127.0.0.1", "[::1]"):
        with contextlib.suppress(OSError), urllib.request.urlopen(f"http://{host}:{port}/", timeout=10) as r:
            return str(r.read().decode("utf-8", "replace"))
    return ""


@dataclass
class Started:
    proc: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextlib.contextmanager
def start(argv: list[str] | str, cwd: Path, env: dict[str, str] | None = None) -> Iterator[Started]:
    """Start a command in its own session (a string: through bash); kill the session after."""
    log = cwd.parent / f"log-{time.monotonic_ns()}.txt"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            ["bash", "-c", argv] if isinstance(argv, str) else argv,
            cwd=cwd,
            env=env or _env(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield Started(proc, log)
    finally:
        kill_session(proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)


def serving(s: Started, marker: str, exclude: int | None = None) -> int:
    """Wait until the session serves ``marker`` on a port (not ``exclude``); return that port."""

    def check() -> int | None:
        if s.proc.poll() is not None and not _session_pids(s.proc.pid):
            raise AssertionError(f"the server exited ({s.proc.returncode}):\n{s.output()}")
        for port in session_ports(s.proc.pid):
            if port != exclude and marker in fetch(port):
                return port
        return None

    try:
        return int(wait_until(check, START_TIMEOUT, 0.3, f"{marker!r} served"))  # type: ignore[call-overload]
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{s.output()}") from None


def pick_step(port: int) -> dict[str, object]:
    r = portdoctor_cli("why", str(port), "--json", env=_env())
    assert r.returncode == 1, r.stdout + r.stderr
    data = json.loads(r.stdout)
    relaunch = data["cause"]["details"]["relaunch"]
    assert relaunch is not None and "{port}" in json.dumps(relaunch), relaunch
    steps = [a for a in data["actions"] if a["kind"] == "pick"]
    assert steps, data["actions"]
    step: dict[str, object] = steps[0]
    return step


# --- the cases ----------------------------------------------------------------------------------

# name -> (project fixture, argv to start it on {port}, the suggested step must contain, marker,
#          the command for `portdoctor run` (no port in it))
CASES = {
    "vite via npm run dev": (
        "vite_project",
        ["npm", "run", "dev", "--", "--port", "{port}"],
        "npm run dev -- --port",
        "shop-web home",
        ["npm", "run", "dev"],
    ),
    "vite via npx": (
        "vite_project",
        ["npx", "vite", "--port", "{port}"],
        "npx vite",
        "shop-web home",
        ["npx", "vite"],
    ),
    "flask --debug (werkzeug reloader)": (
        "flask_app",
        ["flask", "--app", "app", "run", "--debug", "--port", "{port}"],
        "flask --app app run --debug --port",
        "hello from flask",
        ["flask", "--app", "app", "run"],
    ),
    "django runserver (autoreloader)": (
        "django_project",
        ["python3", "manage.py", "runserver", "{port}"],
        "manage.py runserver",
        "Django",
        ["python3", "manage.py", "runserver", "--noreload"],
    ),
    "uvicorn": (
        "asgi_app",
        ["uvicorn", "main:app", "--port", "{port}"],
        "uvicorn main:app --port",
        "hello from asgi",
        ["uvicorn", "main:app"],
    ),
    "gunicorn -w 2": (
        "wsgi_app",
        ["gunicorn", "-w", "2", "-b", "127.0.0.1:{port}", "app:app"],
        "gunicorn -w 2 app:app -b",
        "hello from wsgi",
        ["gunicorn", "app:app"],
    ),
    "python -m http.server": (
        "static_site",
        ["python3", "-m", "http.server", "{port}"],
        "-m http.server",
        "hello from http.server",
        ["python3", "-m", "http.server"],
    ),
    "npm run dev -> nodemon server.js (PORT)": (
        "nodemon_app",
        ["npm", "run", "dev"],
        "npm run dev",
        "hello from node",
        ["npm", "run", "dev"],
    ),
    "node server.js (PORT)": (
        "node_app",
        ["node", "server.js"],
        "node server.js",
        "hello from node",
        ["node", "server.js"],
    ),
}


def _argv(template: list[str], port: int) -> list[str]:
    out = [a.replace("{port}", str(port)) for a in template]
    if out[0] == "python3":
        out[0] = sys.executable  # the venv's python, which has Django
    return out


@pytest.mark.parametrize("case", list(CASES))
def test_the_suggested_step_starts_the_same_server_on_a_new_port(
    case: str, request: pytest.FixtureRequest
) -> None:
    fixture, template, expected, marker, _run = CASES[case]
    project: Path = request.getfixturevalue(fixture)
    port = free_port()
    env = _env()
    env["PORT"] = str(port)  # only node server.js reads it
    with start(_argv(template, port), project, env) as first:
        assert serving(first, marker) == port
        step = pick_step(port)
        command = str(step["command"])
        assert expected in command, command
        assert "node_modules" not in command and "$(portdoctor pick --near" in command, command
        assert command.startswith(f"cd {project} && "), command  # we run portdoctor elsewhere
        # Run it as printed, from another directory, as a user pastes it.
        with start(command, project.parent) as second:
            new = serving(second, marker, exclude=port)
            assert new != port
            assert marker in fetch(port)  # the first one was left alone


@pytest.mark.parametrize("case", list(CASES))
def test_portdoctor_run_starts_it_on_the_port_it_announces(case: str, request: pytest.FixtureRequest) -> None:
    fixture, _template, _expected, marker, run = CASES[case]
    project: Path = request.getfixturevalue(fixture)
    port = free_port()
    argv = _argv(run, port)
    cli = [sys.executable, "-m", "portdoctor", "run", "--port", str(port), "--", *argv]
    with start(cli, project) as s:
        assert serving(s, marker) == port
        assert f"port {port}" in s.output()


def test_run_says_when_it_cannot_tell_how_a_command_takes_its_port(tmp_path: Path) -> None:
    script = tmp_path / "serve.py"
    script.write_text("import sys; print('no server here', file=sys.stderr)\n")
    # portdoctor chose the port: a command that ignores PORT would go elsewhere, so it says so
    r = portdoctor_cli("run", "--", sys.executable, str(script), env=_env())
    assert r.returncode == 0, r.stderr
    assert "cannot tell how python" in r.stderr and "PORT=" in r.stderr, r.stderr
    # the user chose it (--port) and the command is left as it is: nothing of ours to say
    r = portdoctor_cli("run", "--port", str(free_port()), "--", sys.executable, str(script), env=_env())
    assert r.returncode == 0 and r.stderr == "no server here\n", r.stderr


def test_run_on_busy_next_moves_vite_with_its_own_flag(vite_project: Path) -> None:
    """The issue's case: 'run' announced PORT=N and Vite served on 5173 anyway."""
    port = free_port()
    with start(["npx", "vite", "--port", str(port)], vite_project) as first:
        assert serving(first, "shop-web home") == port
        cli = [
            sys.executable,
            "-m",
            "portdoctor",
            "run",
            "--port",
            str(port),
            "--on-busy",
            "next",
            "--",
            "npx",
            "vite",
        ]
        with start(cli, vite_project) as second:
            new = serving(second, "shop-web home", exclude=port)
            assert (
                f"port {new} through vite's own flag: npx vite --port {new} --strictPort" in second.output()
            )


# The cases whose command names the port (npm run dev -- --port N, flask ... --port N...).
NAMED = [case for case, (_f, template, *_rest) in CASES.items() if "{port}" in " ".join(template)]


@pytest.mark.parametrize("case", NAMED)
def test_portdoctor_run_keeps_the_port_the_command_names(case: str, request: pytest.FixtureRequest) -> None:
    """No --port, no $PORT: the port written in the command is the one (it was rewritten away)."""
    fixture, template, _expected, marker, _run = CASES[case]
    project: Path = request.getfixturevalue(fixture)
    port = free_port()
    cli = [sys.executable, "-m", "portdoctor", "run", "--", *_argv(template, port)]
    with start(cli, project) as s:
        assert serving(s, marker) == port
        assert "portdoctor:" not in s.output()  # it was free, the command ran as written


def test_run_on_busy_next_moves_the_port_an_npm_script_call_names(vite_project: Path) -> None:
    """npm run dev -- --port N with N busy: the new port replaces N (not a second '--port' after
    a second '--', which Vite ignored, serving on N)."""
    port = free_port()
    with start(["npx", "vite", "--port", str(port)], vite_project) as first:
        assert serving(first, "shop-web home") == port
        cli = [sys.executable, "-m", "portdoctor", "run", "--on-busy", "next", "--",
               "npm", "run", "dev", "--", "--port", str(port)]  # fmt: skip
        with start(cli, vite_project) as second:
            new = serving(second, "shop-web home", exclude=port)
            out = second.output()
            assert f"port {port}/tcp is busy: " in out and f"Using {new} instead" in out, out
            assert f"port {new} through vite's own flag: npm run dev -- --port {new} --strictPort" in out


# --- a server whose port is written in its arguments (node srv.js 24250) -------------------------


@pytest.fixture
def argv_app(tmp_path: Path) -> Path:
    """srv.js listens on process.argv[2] and ignores PORT (the new-user trial's server)."""
    require(shutil.which("node") is not None, "node is needed")
    d = tmp_path / "argv-app"
    d.mkdir()
    (d / "srv.js").write_text(
        "require('http').createServer((q, r) => r.end('hello from argv'))"
        ".listen(Number(process.argv[2]));\n"
    )
    return d


def _step_after(text: str, description: str) -> str:
    """The command printed under the next step whose description starts with ``description``."""
    lines = text.splitlines()
    at = next(i for i, line in enumerate(lines) if line.lstrip(" 0123456789.").startswith(description))
    return lines[at + 1].strip()


def test_the_step_of_a_server_whose_port_is_in_its_arguments_works_when_copied(argv_app: Path) -> None:
    port = free_port()
    with start(["node", "srv.js", str(port)], argv_app) as first:
        assert serving(first, "hello from argv") == port
        r = portdoctor_cli("why", str(port), env=_env())
        command = _step_after(r.stdout, "Or use another port")
        assert command == f'cd {argv_app} && node srv.js "$(portdoctor pick --near {port})"', r.stdout
        assert "PORT=" not in command
        with start(command, argv_app.parent) as second:
            assert serving(second, "hello from argv", exclude=port) != port
            assert "hello from argv" in fetch(port)  # the first one was left alone


def test_run_diagnosis_of_a_port_in_the_arguments_gives_a_step_that_works(argv_app: Path) -> None:
    port = free_port()
    with start(["node", "srv.js", str(port)], argv_app) as first:
        assert serving(first, "hello from argv") == port
        # no --on-busy next: run leaves the command as written, it fails, and the diagnosis follows
        cli = [sys.executable, "-m", "portdoctor", "run", "--on-busy", "fail", "--",
               "node", "srv.js", str(port)]  # fmt: skip
        r = subprocess.run(
            cli, cwd=argv_app, env=_env(), stdin=subprocess.DEVNULL,
            capture_output=True, text=True, timeout=99
        )
        assert r.returncode != 0 and f"failed to bind port {port}/tcp" in r.stderr, r.stderr
        command = _step_after(r.stderr, "Or use another port")
        assert command == f'node srv.js "$(portdoctor pick --near {port})"', r.stderr
        with start(command, argv_app) as second:
            assert serving(second, "hello from argv", exclude=port) != port


def test_run_on_busy_next_moves_the_port_written_in_the_arguments(argv_app: Path) -> None:
    port = free_port()
    with start(["node", "srv.js", str(port)], argv_app) as first:
        assert serving(first, "hello from argv") == port
        cli = [sys.executable, "-m", "portdoctor", "run", "--on-busy", "next", "--",
               "node", "srv.js", str(port)]  # fmt: skip
        with start(cli, argv_app) as second:
            new = serving(second, "hello from argv", exclude=port)
            out = second.output()
            assert f"port {port}/tcp is busy: " in out and f"Using {new} instead" in out, out
            assert f"port {new} in place of {port} in its arguments: node srv.js {new}" in out, out
            assert "EADDRINUSE" not in out, out


# --- a module run by the interpreter of an activated venv (python3 -m uvicorn) --------------------


def test_the_step_of_a_venv_module_works_in_a_shell_without_the_venv(asgi_app: Path, tmp_path: Path) -> None:
    """`source venv/bin/activate; python3 -m uvicorn main:app --port N`: the kernel gives only the
    base interpreter and argv[0] is `python3`, which a new terminal (no venv active) finds
    without uvicorn. The step names the venv's interpreter, and runs from such a terminal."""
    _tool("uvicorn")
    port = free_port()
    env = _env()
    env["VIRTUAL_ENV"] = str(Path(BIN).parent)
    with start(f"exec python3 -m uvicorn main:app --port {port}", asgi_app, env) as first:
        assert serving(first, "hello from asgi") == port
        command = str(pick_step(port)["command"])
        assert "-m uvicorn main:app --port" in command, command
        assert not command.startswith(f"cd {asgi_app} && python3 "), command
        # A new terminal: portdoctor on PATH (as pipx puts it), no venv, the system's python3.
        bin_dir = tmp_path / "user-bin"
        bin_dir.mkdir()
        (bin_dir / "portdoctor").symlink_to(Path(BIN) / "portdoctor")
        plain = {k: v for k, v in _env().items() if k != "VIRTUAL_ENV"}
        plain["PATH"] = os.pathsep.join((str(bin_dir), "/usr/bin", "/bin"))
        with start(command, tmp_path, plain) as second:
            new = serving(second, "hello from asgi", exclude=port)
            assert new != port and "hello from asgi" in fetch(port)
