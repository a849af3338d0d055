"""Test infrastructure: real Docker engine, PM2, nodemon and supervisord, as pytest fixtures.

Register the fixtures once, in tests/conftest.py::

    pytest_plugins = ["infra"]

and import the plain helpers where needed::

    from infra import free_port, listening, wait_until

Fixtures:
  docker_engine  (session)  DockerEngine: the engine, the local image, run_published(); removes
                            every container it started at the end of the session.
  docker         (function) the same engine, but removes the containers started by this test.
  pm2            (function) PM2 with its own PM2_HOME; `pm2 kill` for that home on teardown.
  nodemon        (function) starts `nodemon server.js` in a temp dir; kills its session on teardown.
  supervisord    (function) a private supervisord with a unix control socket; shut down on teardown.

When a component is missing: with CI set in the environment the test fails with a clear message
(CI installs everything, see .ci/run); otherwise it is skipped.

PYTEST_DONT_REWRITE: this module may be imported before pytest registers it as a plugin.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

__all__ = [
    "IMAGE",
    "SERVERS",
    "DockerEngine",
    "alive",
    "portdoctor_cli",
    "why_json",
    "Nodemon",
    "NodemonRun",
    "PM2",
    "Supervisord",
    "docker",
    "docker_engine",
    "find_tool",
    "free_port",
    "holders",
    "kill_session",
    "listening",
    "listening_ports",
    "nodemon",
    "other_user",
    "pm2",
    "require",
    "supervisord",
    "wait_listening",
    "wait_until",
]

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
SERVERS = TESTS / "fixtures" / "servers"
HTTP_SERVER = SERVERS / "http_server.js"
CLUSTER_SERVER = SERVERS / "cluster_server.js"
IMAGE = os.environ.get("PORTDOCTOR_TEST_IMAGE", "portdoctor-busybox:latest")
# Every container the fixtures start carries this label; .ci/run removes leftovers by it.
LABEL = "portdoctor.test"
# PM2 homes and other short-path temp dirs live under this prefix (unix socket paths must stay
# under 108 bytes, pytest's tmp_path can be longer); .ci/run kills leftover PM2 daemons by it.
TMP_PREFIX = "portdoctor-"

START_TIMEOUT = 60.0  # seconds to wait for a server to listen: generous, the machine is shared


# ---------------------------------------------------------------------------------------------
# small helpers


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require(ok: bool, what: str) -> None:
    """Fail (under CI) or skip (elsewhere) the current test unless *ok*."""
    if ok:
        return
    if in_ci():
        pytest.fail(f"{what} (CI=true: .ci/run should have installed/started it)", pytrace=False)
    pytest.skip(what)


def other_user() -> str:
    """A real unprivileged local user with a home of its own (.ci/run creates portdoctor-other).

    Tests that run something as that user need root (setpriv); they skip, or fail under CI,
    when the user or root is missing.
    """
    import pwd

    name = os.environ.get("PORTDOCTOR_OTHER_USER", "portdoctor-other")
    require(os.geteuid() == 0, "running a process as another user needs root")
    try:
        pwd.getpwnam(name)
    except KeyError:
        require(False, f"no user {name!r} (useradd --create-home {name})")
    return name


def wait_until(
    predicate: Callable[[], object],
    timeout: float = START_TIMEOUT,
    interval: float = 0.1,
    message: str = "condition",
) -> object:
    """Poll *predicate* until it returns a truthy value (returned); AssertionError on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}")
        time.sleep(interval)


def free_port(host: str = "", kind: int = socket.SOCK_STREAM) -> int:
    """A port that is free right now on *host* ("" = all IPv4 addresses), picked by the kernel."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def listening_ports() -> set[int]:
    """TCP ports in LISTEN state in this network namespace (Linux: /proc/net/tcp{,6})."""
    ports: set[int] = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == "0A":
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except OSError:
            continue
    return ports


def listening(port: int, host: str = "127.0.0.1") -> bool:
    """True when something listens on TCP *port* (Linux: /proc; elsewhere: a connect to *host*)."""
    if os.path.exists("/proc/net/tcp"):
        return port in listening_ports()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        return s.connect_ex((host, port)) == 0


def _listen_inodes(port: int) -> set[int]:
    inodes: set[int] = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f, None)
                for line in f:
                    fields = line.split()
                    if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(int(fields[9]))
        except OSError:
            continue
    inodes.discard(0)
    return inodes


def holders(port: int) -> dict[int, str]:
    """{pid: comm} of the processes holding a listening TCP socket on *port* (Linux, via /proc;
    needs root to see other users' processes). Independent of portdoctor, to check it against."""
    inodes = _listen_inodes(port)
    found: dict[int, str] = {}
    if not inodes:
        return found
    targets = {f"socket:[{i}]" for i in inodes}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fd_dir = f"/proc/{entry}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                link = os.readlink(f"{fd_dir}/{fd}")
            except OSError:
                continue
            if link in targets:
                try:
                    with open(f"/proc/{entry}/comm") as f:
                        found[int(entry)] = f.read().strip()
                except OSError:
                    found[int(entry)] = "?"
                break
    return found


def wait_listening(port: int, timeout: float = START_TIMEOUT, what: str = "") -> None:
    wait_until(lambda: listening(port), timeout, message=f"{what or 'a listener'} on port {port}")


def portdoctor_cli(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 120.0
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m portdoctor ARGS`` (this interpreter, no stdin) and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "portdoctor", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=None if env is None else dict(env),
    )


def why_json(port: int, env: Mapping[str, str] | None = None) -> dict[str, object]:
    """``portdoctor why PORT --json``, checked to have answered (exit 0 or 1)."""
    proc = portdoctor_cli("why", str(port), "--json", env=env)
    assert proc.returncode in (0, 1), proc.stderr
    data: dict[str, object] = json.loads(proc.stdout)
    return data


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def find_tool(name: str) -> str | None:
    """Path of a command: $PATH, this interpreter's bin dir (venv), npm's global bin."""
    here = Path(sys.executable).parent
    found = shutil.which(name) or shutil.which(name, path=str(here))
    if found:
        return found
    for d in (os.environ.get("PORTDOCTOR_TOOLS_BIN", ""), "/usr/local/bin", "/usr/bin"):
        if d and os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    return None


def _session_pids(sid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # fields after the ")" closing comm: state ppid pgrp session ...
        rest = stat.rsplit(")", 1)[1].split()
        if int(rest[3]) == sid and rest[0] != "Z":
            pids.append(int(entry))
    return pids


def kill_session(sid: int, timeout: float = 10.0) -> None:
    """SIGTERM every process of session *sid* (a process started with start_new_session=True
    has sid == its pid), then SIGKILL what is left after *timeout*."""
    if not os.path.isdir("/proc"):
        with contextlib.suppress(OSError):
            os.killpg(sid, signal.SIGKILL)
        return
    for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        pids = _session_pids(sid)
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and _session_pids(sid):
            time.sleep(0.05)


def _short_tmpdir(kind: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}{kind}-"))


def _run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float = 120.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        list(argv),
        env=dict(env) if env is not None else None,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command failed ({proc.returncode}): {' '.join(argv)}\n"
            f"stdout: {proc.stdout[-2000:]}\nstderr: {proc.stderr[-2000:]}"
        )
    return proc


# ---------------------------------------------------------------------------------------------
# Docker


class DockerEngine:
    """The docker CLI bound to a running engine and the local test image."""

    def __init__(self, cli: str, image: str = IMAGE, run_id: str | None = None) -> None:
        self.cli = cli
        self.image = image
        self.run_id = run_id or uuid.uuid4().hex[:10]
        self.started: list[str] = []  # container names, in start order

    def __call__(self, *args: str, check: bool = True, timeout: float = 120.0) -> str:
        """Run `docker ARGS...`, return its stdout (stripped)."""
        return _run([self.cli, *args], check=check, timeout=timeout).stdout.strip()

    def scoped(self) -> DockerEngine:
        """A view of the same engine whose cleanup() removes only what it started."""
        return DockerEngine(self.cli, self.image, self.run_id)

    def run(
        self,
        *command: str,
        name: str | None = None,
        publish: Sequence[str] = (),
        labels: Mapping[str, str] | None = None,
        extra: Sequence[str] = (),
    ) -> str:
        """`docker run -d` the test image with *command*; returns the container name."""
        name = name or f"pdtest-{self.run_id}-{len(self.started)}-{uuid.uuid4().hex[:6]}"
        argv = ["run", "-d", "--name", name, "--label", f"{LABEL}={self.run_id}"]
        for key, value in (labels or {}).items():
            argv += ["--label", f"{key}={value}"]
        for p in publish:
            argv += ["-p", p]
        argv += [*extra, self.image, *command]
        self.started.append(name)
        self(*argv)
        return name

    def run_published(
        self,
        host_port: int,
        container_port: int = 80,
        name: str | None = None,
        labels: Mapping[str, str] | None = None,
        host_ip: str | None = None,
        wait: bool = True,
    ) -> str:
        """Start busybox httpd in a container, publishing HOST_PORT -> CONTAINER_PORT/tcp.

        Returns the container name once the host port listens (held by docker-proxy, the
        userland proxy, one process per address family)."""
        spec = f"{host_port}:{container_port}"
        if host_ip:
            spec = f"[{host_ip}]:{spec}" if ":" in host_ip else f"{host_ip}:{spec}"
        name = self.run(
            "httpd",
            "-f",
            "-p",
            str(container_port),
            "-h",
            "/www",
            name=name,
            publish=[spec],
            labels=labels,
        )
        if wait:
            wait_listening(host_port, what=f"container {name}")
        return name

    def container_id(self, name: str) -> str:
        return self("inspect", "--format", "{{.Id}}", name)

    def remove(self, name: str) -> None:
        self("rm", "-f", name, check=False)
        with contextlib.suppress(ValueError):
            self.started.remove(name)

    def cleanup(self) -> None:
        if self.started:
            self("rm", "-f", *self.started, check=False)
            self.started.clear()

    def remove_all(self) -> None:
        """Remove every container of this test run (by label), whoever started it."""
        ids = self("ps", "-aq", "--filter", f"label={LABEL}={self.run_id}", check=False).split()
        if ids:
            self("rm", "-f", *ids, check=False)


def _docker_problem(cli: str | None) -> str | None:
    if cli is None:
        return "docker CLI not found (apt-get install docker.io)"
    try:
        info = _run([cli, "info", "--format", "{{.ServerVersion}}"], check=False, timeout=30)
    except subprocess.TimeoutExpired:
        return "docker engine did not answer `docker info` within 30s"
    if info.returncode != 0 or not info.stdout.strip():
        why = info.stderr.strip()
        return f"no Docker engine answers (start it: scripts/start-dockerd.sh): {why}"
    img = _run([cli, "image", "inspect", IMAGE], check=False, timeout=30)
    if img.returncode != 0:
        # Cheap to build locally (no registry needed); do it for convenience.
        make = REPO / "scripts" / "make-image.sh"
        built = _run(["bash", str(make)], check=False, timeout=120)
        if built.returncode != 0:
            return f"image {IMAGE} missing and scripts/make-image.sh failed: {built.stderr.strip()}"
    return None


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[DockerEngine]:
    cli = find_tool("docker")
    problem = _docker_problem(cli)
    require(problem is None, problem or "")
    assert cli is not None
    engine = DockerEngine(cli)
    yield engine
    engine.cleanup()
    engine.remove_all()


@pytest.fixture
def docker(docker_engine: DockerEngine) -> Iterator[DockerEngine]:
    """The engine; containers started through this object are removed after the test."""
    scoped = docker_engine.scoped()
    yield scoped
    scoped.cleanup()


# ---------------------------------------------------------------------------------------------
# PM2


class PM2:
    """PM2 with a private PM2_HOME (its own God Daemon)."""

    def __init__(self, binary: str, home: Path) -> None:
        self.binary = binary
        self.home = home
        self.env = dict(os.environ)
        self.env.update(PM2_HOME=str(home), PM2_SILENT="true", NO_UPDATE_NOTIFIER="1")
        self._n = 0

    def __call__(self, *args: str, check: bool = True, timeout: float = 120.0) -> str:
        return _run([self.binary, *args], env=self.env, check=check, timeout=timeout).stdout

    def start(
        self,
        script: str | Path = HTTP_SERVER,
        name: str | None = None,
        instances: int = 1,
        exec_mode: str = "fork",
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        args: Sequence[str] = (),
        port: int | None = None,
        wait: bool = True,
    ) -> str:
        """Start *script* (default: http_server.js) through an ecosystem file; returns the name.

        *port* sets PORT in the app's env and waits until it listens. In cluster mode the
        listening socket belongs to the God Daemon (Node's cluster primary), not the workers."""
        if exec_mode not in ("fork", "cluster"):
            raise ValueError(f"exec_mode must be 'fork' or 'cluster', not {exec_mode!r}")
        self._n += 1
        name = name or f"app{self._n}"
        app_env = dict(env or {})
        if port is not None:
            app_env["PORT"] = str(port)
        app: dict[str, object] = {
            "name": name,
            "script": str(script),
            "instances": instances,
            "exec_mode": exec_mode,
            "env": app_env,
            "autorestart": False,
            "args": list(args),
        }
        if cwd is not None:
            app["cwd"] = str(cwd)
        eco = self.home / f"{name}.ecosystem.json"
        eco.write_text(json.dumps({"apps": [app]}))
        self("start", str(eco))
        if wait:
            wait_until(
                lambda: len(self.pids(name)) >= instances,
                message=f"{instances} online PM2 process(es) named {name}",
            )
            if port is not None:
                wait_listening(port, what=f"PM2 app {name}")
        return name

    def jlist(self) -> list[dict[str, object]]:
        out = self("jlist")
        # The JSON is one line; PM2 may print "[PM2][WARN] ..." lines around it.
        for line in reversed(out.splitlines()):
            if line.startswith(("[{", "[]")):
                data = json.loads(line)
                assert isinstance(data, list)
                return data
        raise AssertionError(f"no JSON in `pm2 jlist` output: {out[-2000:]!r}")

    def pids(self, name: str, status: str = "online") -> list[int]:
        result = []
        for proc in self.jlist():
            env = proc.get("pm2_env")
            if proc.get("name") != name or not isinstance(env, dict):
                continue
            pid = proc.get("pid")
            if env.get("status") == status and isinstance(pid, int) and pid > 0:
                result.append(pid)
        return result

    def god_pid(self) -> int | None:
        """PID of this home's God Daemon (it holds cluster-mode listening sockets)."""
        try:
            return int((self.home / "pm2.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self, name: str) -> None:
        self("stop", name)

    def delete(self, name: str) -> None:
        self("delete", name)

    def kill(self) -> None:
        god = self.god_pid()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self("kill", check=False, timeout=60)
        if god is not None and os.path.isdir("/proc"):
            # Belt and braces: the daemon and its apps share the daemon's session.
            kill_session(god, timeout=5.0)


@pytest.fixture
def pm2() -> Iterator[PM2]:
    binary = find_tool("pm2")
    require(binary is not None, "pm2 not found (npm install -g pm2)")
    assert binary is not None
    home = _short_tmpdir("pm2")
    p = PM2(binary, home)
    try:
        yield p
    finally:
        p.kill()
        shutil.rmtree(home, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# nodemon


class NodemonRun:
    def __init__(self, proc: subprocess.Popen[bytes], workdir: Path, port: int) -> None:
        self.proc = proc
        self.workdir = workdir
        self.port = port

    @property
    def pid(self) -> int:
        """PID of nodemon itself (also the session id of it and its node child)."""
        return self.proc.pid

    def child_pids(self) -> list[int]:
        """PIDs of nodemon's children (the `node server.js` it runs)."""
        try:
            text = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text()
        except OSError:
            return []
        return [int(p) for p in text.split()]

    def log(self) -> str:
        return (self.workdir / "nodemon.log").read_text(errors="replace")


class Nodemon:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.runs: list[NodemonRun] = []

    def start(
        self,
        port: int,
        script: str | Path = HTTP_SERVER,
        env: Mapping[str, str] | None = None,
        wait: bool = True,
    ) -> NodemonRun:
        """Copy *script* to a new temp dir as server.js and run `nodemon server.js` there with
        PORT=*port*, in its own session. Waits until the port listens (held by nodemon's child)."""
        workdir = _short_tmpdir("nodemon")
        (workdir / "server.js").write_text(Path(script).read_text())
        full_env = dict(os.environ)
        full_env.update(env or {})
        full_env.update(PORT=str(port), NO_UPDATE_NOTIFIER="1")
        with open(workdir / "nodemon.log", "wb") as log:
            proc = subprocess.Popen(
                [self.binary, "server.js"],
                cwd=workdir,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        run = NodemonRun(proc, workdir, port)
        self.runs.append(run)
        if wait:
            wait_until(
                lambda: listening(port) or proc.poll() is not None,
                message=f"nodemon's server on port {port}",
            )
            assert proc.poll() is None, f"nodemon exited: {run.log()}"
        return run

    def stop(self, run: NodemonRun) -> None:
        kill_session(run.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            run.proc.wait(timeout=10)
        shutil.rmtree(run.workdir, ignore_errors=True)

    def cleanup(self) -> None:
        while self.runs:
            self.stop(self.runs.pop())


@pytest.fixture
def nodemon() -> Iterator[Nodemon]:
    binary = find_tool("nodemon")
    require(binary is not None, "nodemon not found (npm install -g nodemon)")
    assert binary is not None
    n = Nodemon(binary)
    try:
        yield n
    finally:
        n.cleanup()


# ---------------------------------------------------------------------------------------------
# supervisord

_SUPERVISORD_CONF = """\
[unix_http_server]
file={dir}/supervisor.sock
chmod=0700

[supervisord]
logfile={dir}/supervisord.log
pidfile={dir}/supervisord.pid
childlogdir={dir}/log
nodaemon=true
{user_line}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{dir}/supervisor.sock

[include]
files = {dir}/conf.d/*.conf
"""


class Supervisord:
    """A private supervisord (nodaemon, in its own session) with a unix control socket."""

    def __init__(self, supervisord: str, supervisorctl: str, workdir: Path) -> None:
        self.supervisord_bin = supervisord
        self.supervisorctl_bin = supervisorctl
        self.dir = workdir
        self.conf = workdir / "supervisord.conf"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        (self.dir / "conf.d").mkdir(exist_ok=True)
        (self.dir / "log").mkdir(exist_ok=True)
        # As root, name the user explicitly: supervisord otherwise logs a CRIT warning.
        user_line = "user=root" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
        self.conf.write_text(_SUPERVISORD_CONF.format(dir=self.dir, user_line=user_line))
        with open(self.dir / "supervisord.out", "wb") as out:
            self.proc = subprocess.Popen(
                [self.supervisord_bin, "-c", str(self.conf)],
                cwd=self.dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        proc = self.proc

        def ready() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"supervisord exited: {self.log()}")
            return self.supervisorctl("pid", check=False).returncode == 0

        wait_until(ready, message="supervisord's control socket")

    def supervisorctl(
        self, *args: str, check: bool = True, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[str]:
        return _run([self.supervisorctl_bin, "-c", str(self.conf), *args], check=check, timeout=timeout)

    def add_program(
        self,
        name: str,
        port: int | None = None,
        command: str | None = None,
        host: str = "127.0.0.1",
        environment: Mapping[str, str] | None = None,
        wait: bool = True,
        user: str | None = None,
        directory: str | Path | None = None,
    ) -> None:
        """Add [program:NAME] and start it. Default command: a Python HTTP server on *port*.

        *user*: supervisord runs the program as that user (supervisord runs as root); give it a
        *directory* that user can enter (the default, supervisord's own directory, is private)."""
        if command is None:
            if port is None:
                raise ValueError("add_program needs a port or a command")
            command = f"{sys.executable} -m http.server {port} --bind {host}"
        lines = [
            f"[program:{name}]",
            f"command={command}",
            f"directory={directory or self.dir}",
            "autostart=true",
            "autorestart=false",
            "startsecs=0",
            "stopasgroup=true",
            "killasgroup=true",
        ]
        if environment:
            pairs = ",".join(f'{k}="{v}"' for k, v in environment.items())
            lines.append(f"environment={pairs}")
        if user is not None:
            lines.append(f"user={user}")
        (self.dir / "conf.d" / f"{name}.conf").write_text("\n".join(lines) + "\n")
        self.supervisorctl("reread")
        self.supervisorctl("update", name)
        if wait and port is not None:
            wait_listening(port, what=f"supervisord program {name}")

    def program_pid(self, name: str) -> int:
        out = self.supervisorctl("pid", name).stdout.strip()
        return int(out)

    def log(self) -> str:
        parts = []
        for f in ("supervisord.out", "supervisord.log"):
            with contextlib.suppress(OSError):
                parts.append((self.dir / f).read_text(errors="replace"))
        return "\n".join(parts)

    def shutdown(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired, AssertionError):
                self.supervisorctl("shutdown", check=False, timeout=30)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=30)
        kill_session(self.proc.pid, timeout=5.0)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def supervisord() -> Iterator[Supervisord]:
    sd = find_tool("supervisord")
    sctl = find_tool("supervisorctl")
    require(
        sd is not None and sctl is not None,
        "supervisord not found (pip install -e '.[dev]' installs supervisor)",
    )
    assert sd is not None and sctl is not None
    s = Supervisord(sd, sctl, _short_tmpdir("supervisor"))
    try:
        s.start()
        yield s
    finally:
        s.shutdown()
        shutil.rmtree(s.dir, ignore_errors=True)


def explain_from(
    writer_argv: list[str], *args: str, env: dict[str, str]
) -> tuple[subprocess.Popen[str], subprocess.Popen[bytes]]:
    """Start ``portdoctor explain ARGS`` reading the output (stdout and stderr) of a real writer
    process, started in a session of its own; (explain, writer)."""
    explain = subprocess.Popen(
        [sys.executable, "-m", "portdoctor", "explain", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert explain.stdin is not None
    writer = subprocess.Popen(
        writer_argv, stdout=explain.stdin, stderr=subprocess.STDOUT, start_new_session=True
    )
    explain.stdin.close()  # the writer holds the pipe now
    explain.stdin = None
    return explain, writer
