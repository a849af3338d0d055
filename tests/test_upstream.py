"""upstream.py and ``explain`` on a pipe: the port of an error that names none, read from the
command writing it (real servers through a real shell pipeline)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra import explain_from, require, wait_until
from portdoctor import explain
from portdoctor.upstream import COMMAND, DEFAULT, Origin, Writer, merge, origin

SRC = str(Path(__file__).resolve().parent.parent / "src")
BIN = str(Path(sys.executable).parent)  # this venv: django-admin, uvicorn...
PY = sys.executable
PORTDOCTOR = f"{PY} -m portdoctor"


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port held by a listening socket of this process."""
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture
def linger(tmp_path: Path) -> str:
    """An environment in which a Python program stays 20 s after its end (an atexit sleep from a
    sitecustomize): http.server fails ~30 ms after it starts, which may be before portdoctor has
    looked at its pipe; a writer still there makes the test of the pipe path deterministic
    (Django, uvicorn and reloaders are slow enough by themselves). Its argv stays the real one."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text("import atexit, time\natexit.register(time.sleep, 20)\n")
    return f"env PYTHONPATH={site}"  # for the writer only: portdoctor must not linger


def _env() -> dict[str, str]:
    return {**os.environ, "NO_COLOR": "1", "PYTHONPATH": SRC}


def _tool(name: str) -> str:
    path = shutil.which(name, path=BIN)
    require(path is not None, f"{name} is not installed in this venv (pip install {name})")
    assert path is not None
    return path


def _pipeline(
    left: str, args: str, env: dict[str, str], cwd: str | Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``sh -c 'LEFT 2>&1 | portdoctor explain ARGS'`` (a real shell pipeline) in its own
    session; return portdoctor's output as soon as it has exited (the shell waits for the whole
    pipeline: a writer that keeps running would keep it), then kill what the pipeline left."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        out, err = Path(tmp, "out"), Path(tmp, "err")
        script = f'{left} 2>&1 | {{ {PORTDOCTOR} explain {args}; echo "exit=$?" >&2; }} >{out} 2>{err}'
        proc = subprocess.Popen(["sh", "-c", script], env=env, cwd=cwd, start_new_session=True)
        try:
            wait_until(lambda: err.exists() and "exit=" in err.read_text(), timeout=120)
        finally:
            try:
                os.killpg(proc.pid, 9)
            except ProcessLookupError:
                pass
            proc.wait()
        stderr = err.read_text()
        code = int(stderr.rsplit("exit=", 1)[1])
        return subprocess.CompletedProcess(script, code, out.read_text(), stderr)


# --- real servers through a pipe ----------------------------------------------------------------


def test_http_server_through_a_shell_pipe(held_port: int, linger: str) -> None:
    done = _pipeline(f"{linger} {PY} -m http.server {held_port}", "--json", _env())
    answer = json.loads(done.stdout)
    assert answer["error"]["port"] is None, "the text itself names no port"
    assert (answer["port"], answer["port_source"]) == (held_port, "command"), done.stderr
    assert answer["writer"]["cmdline"][1:] == ["-m", "http.server", str(held_port)]
    assert answer["diagnosis"]["port"] == held_port and answer["diagnosis"]["in_use"] is True
    assert os.getpid() in [h["pid"] for h in answer["diagnosis"]["holders"]]


def test_django_runserver_through_a_shell_pipe(held_port: int, tmp_path: Path) -> None:
    admin = _tool("django-admin")
    subprocess.run([admin, "startproject", "mysite", str(tmp_path)], check=True, timeout=60)
    # python3 manage.py runserver: the autoreloader and its child both hold the pipe.
    done = _pipeline(f"{PY} manage.py runserver {held_port}", "", _env(), tmp_path)
    lines = done.stdout.splitlines()
    assert lines[0] == f"port {held_port} is already in use (django)", done.stdout + done.stderr
    assert lines[1].strip() == "Error: That port is already in use."
    assert lines[2].strip().startswith("The text names no port; the command writing it (pid ")
    assert lines[2].endswith(f"manage.py runserver {held_port}) uses {held_port}."), lines[2]
    assert f"Port {held_port} is held by" in done.stdout and str(os.getpid()) in done.stdout
    assert "portdoctor why PORT" not in done.stdout
    assert done.returncode == 1


def test_uvicorn_reload_through_a_shell_pipe(held_port: int, tmp_path: Path) -> None:
    uvicorn = _tool("uvicorn")
    (tmp_path / "main.py").write_text("async def app(scope, receive, send):\n    pass\n")
    done = _pipeline(f"{uvicorn} main:app --reload --port {held_port}", "--json", _env(), tmp_path)
    answer = json.loads(done.stdout)
    assert answer["error"]["port"] is None  # "ERROR:    [Errno 98] Address already in use"
    assert (answer["port"], answer["port_source"]) == (held_port, "command"), done.stderr
    assert answer["diagnosis"]["in_use"] is True


def test_a_default_port_through_a_pipe(tmp_path: Path) -> None:
    """``python3 manage.py runserver`` names no port: Django's default (8000) is diagnosed. The
    real Django would bind 8000 on this shared machine: this manage.py prints Django's error and
    waits (a real process with Django's command line); diagnosing 8000 only reads."""
    (tmp_path / "manage.py").write_text(
        "import time\nprint('Error: That port is already in use.', flush=True)\ntime.sleep(30)\n"
    )
    done = _pipeline(f"{PY} manage.py runserver", "--json", _env(), tmp_path)
    answer = json.loads(done.stdout)
    assert (answer["port"], answer["port_source"]) == (8000, "default"), done.stderr
    assert answer["writer"]["server"] == "django" and answer["writer"]["cwd"] == str(tmp_path)
    assert answer["diagnosis"]["port"] == 8000
    human = _pipeline(f"{PY} manage.py runserver", "", _env(), tmp_path)
    assert "manage.py runserver) uses 8000, the default port of django." in human.stdout


def test_a_writer_naming_no_port_keeps_the_message_and_explain_still_streams() -> None:
    """The writer keeps running (a reloader waiting for changes) and its command names no port:
    explain answers at once, with today's message."""
    printer = f"{PY} -c \"print('OSError: [Errno 98] Address already in use', flush=True)\""
    done = _pipeline(f"({printer}; exec sleep 60)", "--json", _env())
    answer = json.loads(done.stdout)
    assert (answer["port"], answer["port_source"], answer["writer"]) == (None, None, None)
    human = _pipeline(f"({printer}; exec sleep 60)", "", _env())
    assert "The text names no port: run 'portdoctor why PORT'" in human.stdout
    assert human.returncode == 1


def test_explain_answers_while_the_writer_keeps_running(held_port: int, linger: str) -> None:
    """``sh -c 'python3 -m http.server N; exec sleep 60'``: two writers, the shell (no port) and
    the server (N): N; and the answer comes while the shell still holds the pipe."""
    script = f"{linger} {PY} -m http.server {held_port}; exec sleep 60"
    reader, writer = explain_from(["sh", "-c", script], "--json", env=_env())
    try:
        out, _ = reader.communicate(timeout=60)
        assert writer.poll() is None, "the writer ended: this test did not keep the pipe open"
    finally:
        os.killpg(writer.pid, 9)
        writer.wait()
    answer = json.loads(out)
    assert (answer["port"], answer["port_source"]) == (held_port, "command")


def test_text_on_the_command_line_reads_no_pipe(held_port: int) -> None:
    """``explain TEXT``: the text is the input; standard input (a pipe here) is not asked."""
    done = _pipeline(
        f"{PY} -m http.server {held_port}", "--json 'OSError: [Errno 98] Address already in use'", _env()
    )
    answer = json.loads(done.stdout)
    assert (answer["port"], answer["port_source"], answer["writer"]) == (None, None, None)


# --- the library ---------------------------------------------------------------------------------


def _w(pid: int, *argv: str, cwd: str | None = None, env: dict[str, str] | None = None) -> Writer:
    return Writer(pid, float(pid), tuple(argv), cwd, tuple((env or {}).items()))


def test_origin_of_one_command() -> None:
    found = origin([_w(10, "python3", "manage.py", "runserver", "0:9000")])
    assert found is not None and (found.port, found.source, found.server) == (9000, COMMAND, None)
    found = origin([_w(10, "python3", "manage.py", "runserver")])
    assert found is not None and (found.port, found.source, found.server) == (8000, DEFAULT, "django")


def test_a_wrapper_chain_gives_one_answer(tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text('{"scripts": {"dev": "vite"}}')
    d = str(tmp_path)
    chain = [
        _w(10, "npm run dev", cwd=d),  # npm renames itself: one word with spaces
        _w(11, "sh", "-c", "vite", cwd=d),
        _w(12, "node", f"{d}/node_modules/vite/bin/vite.js", cwd=d),
    ]
    found = origin(chain)
    assert found is not None and (found.port, found.source, found.writer.pid) == (5173, DEFAULT, 10)
    # the same chain with the port passed on: the written port, shown from the first that names it
    chain = [
        _w(10, "npm", "run", "dev", "--", "--port", "4000", cwd=d),
        _w(11, "sh", "-c", "vite --port 4000", cwd=d),
        _w(12, "node", f"{d}/node_modules/vite/bin/vite.js", "--port", "4000", cwd=d),
    ]
    found = origin(chain)
    assert found is not None and (found.port, found.source, found.writer.pid) == (4000, COMMAND, 10)


def test_writers_that_disagree_or_name_nothing_give_no_port() -> None:
    assert origin([]) is None
    assert origin([_w(10, "sh", "-c", "make dev"), _w(11, "make", "dev")]) is None
    two = [_w(10, "python3", "-m", "http.server", "9000"), _w(11, "flask", "run")]
    assert origin(two) is None  # 9000 and 5000
    assert origin([_w(10, "gunicorn", "app:app", env={"PORT": "9000"})]) is None


def test_merge_keeps_the_later_reading_of_a_process() -> None:
    shell = _w(10, "sh", "-c", "exec python3 -m http.server 9000")
    server = _w(10, "python3", "-m", "http.server", "9000")  # the same process after its exec
    other = _w(11, "sleep", "5")
    assert merge([shell, other], [server]) == [server, other]
    assert merge([shell], []) == [shell]  # gone since: what was seen stays


def test_the_library_explain_of_a_text_reads_no_pipe() -> None:
    answer = explain("OSError: [Errno 98] Address already in use", diagnose=False)
    assert answer is not None and answer.origin is None
    assert (answer.port, answer.port_source) == (None, None)
    assert answer.to_dict()["writer"] is None
    named = explain("listen tcp 127.0.0.1:9: bind: address already in use", diagnose=False)
    assert named is not None and (named.port, named.port_source) == (9, "text")


def test_origin_record_json() -> None:
    o = Origin(8000, DEFAULT, _w(10, "python3", "manage.py", "runserver", cwd="/srv"), "django")
    assert o.to_dict() == {
        "pid": 10, "cmdline": ["python3", "manage.py", "runserver"], "cwd": "/srv", "server": "django"
    }  # fmt: skip
