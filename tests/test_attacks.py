"""The attacks of issue 10, run for real by another local user against root's portdoctor.

A real unprivileged user (``infra.other_user()``, created by .ci/run) sets up what it controls:
processes titled like a PM2 God Daemon, a supervisord of its own, FIFOs and links where
portdoctor reads files, environments that name other programs. Root's portdoctor then runs as
a user would run it (``python -m portdoctor ...`` in a subprocess, with a timeout and under an
address-space limit), and each test checks that:

- nothing of the user's ran (every program of theirs writes a marker file; each test also runs
  one itself at the end, to prove the marker would have appeared);
- no root-owned file appeared in the user's tree, and no root process was started there;
- nothing hung (a subprocess timeout well below pytest's) and memory stayed bounded (RLIMIT_AS);
- the legitimate cases still work: root's own PM2 and supervisord, and another user's real PM2
  with --force, run as that user.

Everything the user creates lives in a fresh directory under their home, removed at the end.
"""

from __future__ import annotations

import contextlib
import grp
import json
import os
import pwd
import resource
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from infra import (
    HTTP_SERVER,
    PM2,
    DockerEngine,
    Supervisord,
    alive,
    find_tool,
    free_port,
    holders,
    kill_session,
    listening,
    other_user,
    require,
    wait_listening,
    wait_until,
)
from portdoctor._free import ANSWER_TIMEOUT, COMMAND_TIMEOUT
from portdoctor.stopplan import FOREIGN_STOP_TIMEOUT
from servers import python_for, setpriv

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

pytest_plugins = ["infra"]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux: /proc, setpriv")

# The long command line attack: CHAIN processes of the user, each with LONG_ARGV arguments "ab"
# (~1.6 MB: about what ARG_MAX allows); portdoctor normally needs ~45 MB, CHAIN_MEMORY is plenty.
LONG_ARGV = 540_000
CHAIN = 8
CHAIN_MEMORY = 256 << 20
PD_TIMEOUT = 30.0  # seconds one portdoctor run may take before it counts as hung
MEMORY = 1 << 30  # RLIMIT_AS of portdoctor's process: 1 GiB, far above its real needs
VENV_BIN = os.path.dirname(sys.executable)
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Every portdoctor run of this file carries this in its environment, and so does anything it
# starts: a root process with it is ours (other root processes may look at the user's tree too
# on a shared machine, e.g. an older portdoctor someone runs at the same time).
RUN_TAG = f"PORTDOCTOR_ATTACK_RUN={uuid.uuid4().hex}"

# The user's programs: one script, told what to be by a JSON spec (env HOSTILE_SPEC, or a file
# named by HOSTILE_SPEC_FILE). It can re-exec itself with another argv[0] (a process title) or
# with more environment, listen on unix sockets and a TCP port, write a pid file, chdir, start a
# child (the "app" under a fake manager). It prints one JSON line when ready and exits when its
# parent goes away.
HOSTILE = r"""
import json, os, socket, subprocess, sys, time

raw = os.environ.get("HOSTILE_SPEC")
if raw is None:
    with open(os.environ["HOSTILE_SPEC_FILE"]) as f:
        raw = f.read()
spec = json.loads(raw)
python = spec["python"]
if os.environ.get("HOSTILE_EXECED") != "1":
    os.environ.update(spec.get("setenv") or {})
    os.environ["HOSTILE_EXECED"] = "1"
    if spec.get("argv"):
        # Exactly this command line, argv[0] included: the interpreter runs this script from
        # sitecustomize (PYTHONPATH) before it looks at its arguments.
        os.environ["PYTHONPATH"] = spec["site"]
        os.execv(python, spec["argv"])
    if spec.get("argv0") or spec.get("setenv") or spec.get("pad"):
        pad = ["ab"] * spec.get("pad", 0)  # a long command line: many short arguments
        if pad:
            import resource
            resource.setrlimit(resource.RLIMIT_STACK, (64 << 20, 64 << 20))  # ARG_MAX is 1/4 of it
        os.execv(python, [spec.get("argv0") or python, spec["script"], *sys.argv[1:], *pad])
os.environ.pop("PYTHONPATH", None)
if spec.get("chdir"):
    os.chdir(spec["chdir"])
keep = []
info = {"pid": os.getpid(), "uid": os.getuid()}
for path in spec.get("unix", []):
    u = socket.socket(socket.AF_UNIX)
    u.bind(path)
    u.listen(8)
    keep.append(u)
if spec.get("port") is not None:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", spec["port"]))
    s.listen(16)
    keep.append(s)
    info["port"] = s.getsockname()[1]
if spec.get("pidfile"):
    with open(spec["pidfile"], "w") as f:
        f.write("%d\n" % os.getpid())
child = spec.get("child")
if child is not None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOSTILE_")}
    env.update(child.pop("env", {}))
    child.setdefault("python", python)
    child.setdefault("script", spec["script"])
    env["HOSTILE_SPEC"] = json.dumps(child)
    p = subprocess.Popen([python, child["script"]], env=env, stdout=subprocess.PIPE)
    info["child"] = json.loads(p.stdout.readline())
print(json.dumps(info), flush=True)
parent = os.getppid()
while os.getppid() == parent:
    time.sleep(0.2)
os._exit(0)
"""


# ---------------------------------------------------------------------------------------------
# the other user and what they control


def _python(user: str) -> str:
    """An interpreter the user can run, and re-exec from inside (a venv's may point into /root)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate) and os.path.realpath(candidate).startswith(("/usr/", "/opt/")):
            return candidate
    return python_for(user)


class Attacker:
    """The other user and a fresh directory of theirs (``dir``) where their files live."""

    def __init__(self, name: str) -> None:
        pw = pwd.getpwnam(name)
        self.name = name
        self.uid = pw.pw_uid
        self.gid = pw.pw_gid
        self.home = pw.pw_dir
        self.group = grp.getgrgid(pw.pw_gid).gr_name
        self.python = _python(name)
        self.dir = Path(self.home) / f"pd-attack-{uuid.uuid4().hex[:10]}"
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pm2_homes: list[Path] = []
        self.mkdir(".")
        self.script = self.write("hostile.py", HOSTILE)
        self.site = self.mkdir("site")
        self.write("site/sitecustomize.py", f"import runpy\nrunpy.run_path({str(self.script)!r})\n")
        self.marker = self.dir / "RAN"  # every program of theirs appends a line here

    # -- files, all owned by the user ----------------------------------------------------------

    def path(self, rel: str) -> Path:
        return self.dir if rel == "." else self.dir / rel

    def _own(self, p: Path) -> Path:
        os.lchown(p, self.uid, self.gid)
        return p

    def mkdir(self, rel: str, mode: int = 0o755) -> Path:
        p = self.path(rel)
        missing = [d for d in (p, *p.parents) if not d.exists()]
        for d in reversed(missing):  # each one theirs, not only the last
            d.mkdir(mode)
            os.chmod(d, mode)
            self._own(d)
        return p

    def write(self, rel: str, text: str, mode: int = 0o644) -> Path:
        p = self.path(rel)
        p.write_text(text)
        os.chmod(p, mode)
        return self._own(p)

    def program(self, rel: str) -> Path:
        """An executable of theirs that only leaves a trace: who ran it, as which uid. Python, so
        that it also runs as ``python3 FILE`` (how a daemon's interpreter would run it)."""
        code = (
            f"#!{self.python}\nimport os, sys\n"
            f"with open({str(self.marker)!r}, 'a') as f:\n"
            "    f.write(f'{os.getuid()} {sys.argv}\\n')\n"
        )
        return self.write(rel, code, 0o755)

    def link(self, rel: str, target: str | Path) -> Path:
        p = self.path(rel)
        p.symlink_to(target)
        return self._own(p)

    def fifo(self, rel: str) -> Path:
        p = self.path(rel)
        os.mkfifo(p, 0o644)
        return self._own(p)

    # -- processes, run as the user ------------------------------------------------------------

    def env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = {"PATH": SYSTEM_PATH, "HOME": self.home, "USER": self.name, "LOGNAME": self.name}
        env.update(extra or {})
        return env

    def spawn(
        self,
        spec: dict[str, object],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
    ) -> dict[str, object]:
        """Run a hostile program as the user (own session); its ready line (pid, port, child)."""
        from servers import _read_json_line

        full = {"python": self.python, "script": str(self.script), "site": str(self.site), **spec}
        fd, err = tempfile.mkstemp(prefix="portdoctor-attack-", suffix=".err")
        with os.fdopen(fd, "wb") as errf:
            proc = subprocess.Popen(
                [*setpriv(self.name), self.python, str(self.script)],
                env=self.env({**(env or {}), "HOSTILE_SPEC": json.dumps(full)}),
                cwd=str(cwd or self.dir),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errf,
                start_new_session=True,
            )
        self.procs.append(proc)
        try:
            return _read_json_line(proc, err, 60.0)
        finally:
            os.unlink(err)

    def run(
        self, argv: Sequence[str], env: Mapping[str, str] | None = None, timeout: float = 120.0
    ) -> subprocess.CompletedProcess[str]:
        """Run a command as the user and wait for it."""
        return subprocess.run(
            [*setpriv(self.name), *argv],
            env=self.env(env),
            cwd=str(self.dir),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    # -- what must not have happened -----------------------------------------------------------

    def ran(self) -> str:
        """What the user's programs recorded ('' when none of them ran)."""
        try:
            return self.marker.read_text()
        except FileNotFoundError:
            return ""

    def root_files(self) -> list[str]:
        """Paths under the user's directory owned by root (lstat: links are not followed)."""
        found = []
        for top, dirs, files in os.walk(self.dir):
            for name in dirs + files:
                p = os.path.join(top, name)
                with contextlib.suppress(FileNotFoundError):
                    if os.lstat(p).st_uid == 0:
                        found.append(p)
        return found

    def root_processes(self, ours: bool = True) -> list[tuple[int, str]]:
        """Root processes whose command line or environment names the user's directory (with
        ``ours``: only those started by this file's portdoctor runs)."""
        return self.processes(root=True, ours=ours)

    def processes(self, *, root: bool, ours: bool) -> list[tuple[int, str]]:
        """(pid, what) of the processes (``root``: of root only) that name the user's directory."""
        needle = str(self.dir).encode()
        tag = RUN_TAG.encode()
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit() or int(entry) == os.getpid():
                continue
            try:
                if root and os.stat(f"/proc/{entry}").st_uid != 0:
                    continue
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    cmd = f.read()
                with open(f"/proc/{entry}/environ", "rb") as f:
                    env = f.read()
            except OSError:
                continue
            if (needle in cmd or needle in env) and (not ours or tag in env.split(b"\0")):
                by = [v for v in env.split(b"\0") if v.startswith((b"_=", b"PWD="))]
                shown = (cmd.replace(b"\0", b" ") + b" [" + b" ".join(by) + b"]").decode(errors="replace")
                found.append((int(entry), shown))
        return found

    def assert_untouched(self, files: bool = True) -> None:
        """Nothing of the user's ran, no root process there, (``files``) no root file in their tree."""
        assert self.ran() == "", f"a program of {self.name} ran: {self.ran()!r}"
        ours, anyone = self.root_processes(), self.root_processes(ours=False)
        assert ours == [], f"portdoctor started root processes in {self.dir}: {ours}"
        if not files:
            return
        if anyone and self.root_files():
            # Another root process, not started by this test (an older portdoctor someone runs on
            # this shared machine, fooled by our fakes), wrote there: the files prove nothing
            # about this portdoctor. Never the case in CI, where this fails instead.
            require(False, f"root processes not started by this test wrote into {self.dir}: {anyone}")
        assert self.root_files() == [], f"root-owned files appeared in {self.dir}: {self.root_files()}"

    def prove_marker(self, program: Path, env: Mapping[str, str] | None = None) -> None:
        """Run one of the user's programs as them: the marker appears, so its absence meant something."""
        before = self.ran()
        self.run([str(program)], env=env, timeout=30)
        assert self.ran() != before, f"{program} did not write its marker: the test checked nothing"

    # -- cleanup -------------------------------------------------------------------------------

    def cleanup(self) -> None:
        # A root process in their tree is what these tests guard against; should one exist
        # (a regression, or another root portdoctor on this machine fooled by our fakes), it
        # must not outlive the test: it would keep writing root files into the user's home.
        for pid, _ in self.root_processes(ours=False):
            kill_session(pid, timeout=5.0)
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
        for proc in self.procs:
            kill_session(proc.pid, timeout=5.0)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=10)
            if proc.stdout is not None:
                proc.stdout.close()
        for home in self.pm2_homes:
            self.pm2_kill(home)
        # Anything else still naming their directory: e.g. a `pm2 stop` that portdoctor ran as
        # them and that outlived it (see test_force_against_a_silent_pm2_daemon_of_another_user).
        for pid, _ in self.processes(root=False, ours=False):
            with contextlib.suppress(OSError):
                os.kill(pid, 9)
        shutil.rmtree(self.dir, ignore_errors=True)

    def pm2_kill(self, home: Path) -> None:
        """`pm2 kill` as the user for their PM2_HOME, then the daemon's session, to be sure."""
        god = None
        with contextlib.suppress(OSError, ValueError):
            god = int((home / "pm2.pid").read_text().strip())
        pm2 = find_tool("pm2")
        if pm2 is not None and god is not None and alive(god):
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.run([pm2, "kill"], env={"PM2_HOME": str(home), "PM2_SILENT": "true"}, timeout=60)
        if god is not None:
            kill_session(god, timeout=5.0)


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    a = Attacker(other_user())
    try:
        yield a
    finally:
        a.cleanup()


@pytest.fixture
def root_secret() -> Iterator[Path]:
    """A root-only file (0600 in a 0700 directory) whose content names a project."""
    d = Path(tempfile.mkdtemp(prefix="portdoctor-attack-root-"))
    secret = d / "secret.json"
    secret.write_text('{"name": "root-only-secret-d41d8c"}\n')
    os.chmod(secret, 0o600)
    try:
        yield secret
    finally:
        shutil.rmtree(d, ignore_errors=True)


# ---------------------------------------------------------------------------------------------
# root's portdoctor


def _limit_memory(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


def portdoctor(
    *args: str,
    path: str | None = None,
    env: Mapping[str, str] | None = None,
    memory: int | None = MEMORY,
    timeout: float = PD_TIMEOUT,
    cwd: str | Path = "/",
) -> subprocess.CompletedProcess[str]:
    """Root's ``portdoctor ARGS`` as a user would run it; fails the test if it hangs."""
    full = dict(os.environ)
    full.update(env or {})
    key, _, value = RUN_TAG.partition("=")
    full[key] = value
    if path is not None:
        full["PATH"] = path
    argv = [sys.executable, "-m", "portdoctor", *args]
    proc = subprocess.Popen(
        argv,
        env=full,
        cwd=str(cwd),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # on a hang, what it started goes too
        preexec_fn=_limit_memory(memory) if memory else None,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_session(proc.pid, timeout=2.0)
        out, err = proc.communicate()
        pytest.fail(f"portdoctor {' '.join(args)} hung: no answer within {timeout:g}s\n{out}\n{err}")
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def said(r: subprocess.CompletedProcess[str]) -> str:
    return f"exit {r.returncode}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"


def why_data(port: int, **kw: object) -> dict[str, object]:
    """Root's `why PORT --json`."""
    r = portdoctor("why", str(port), "--json", **kw)  # type: ignore[arg-type]
    assert r.returncode in (0, 1), said(r)
    data = json.loads(r.stdout)
    assert isinstance(data, dict)
    return data


def why_cause(port: int, **kw: object) -> dict[str, object]:
    cause = why_data(port, **kw).get("cause") or {}
    assert isinstance(cause, dict)
    return cause


# The PATHs root's portdoctor runs with: pm2 (/usr/bin/pm2) absent, and present.
WITHOUT_PM2 = VENV_BIN
WITH_PM2 = VENV_BIN + os.pathsep + SYSTEM_PATH


# ---------------------------------------------------------------------------------------------
# 1. a fake PM2 God Daemon


def _fake_pm2(attacker: Attacker, root_secret: Path, app: bool) -> tuple[dict[str, object], int, Path]:
    """The user's fake God Daemon: title, `_`, pm2.pid, rpc.sock, a pre-linked pm2.log; it (or,
    with ``app``, a child whose environment says it is a PM2 app) listens on a port."""
    home = attacker.mkdir(".pm2")
    attacker.link(".pm2/pm2.log", root_secret)
    pm2x = attacker.program("pm2x")
    spec: dict[str, object] = {
        "argv0": f"PM2 v5.3.0: God Daemon ({home})",
        "pidfile": str(home / "pm2.pid"),
        "unix": [str(home / "rpc.sock"), str(home / "pub.sock")],
    }
    app_env = {"pm_id": "0", "name": "web", "PM2_HOME": str(home), "exec_mode": "fork_mode"}
    if app:
        spec["child"] = {"port": 0, "env": app_env}
    else:
        spec["port"] = 0
    info = attacker.spawn(spec, env={"_": str(pm2x), "PM2_HOME": str(home)})
    holder = info["child"] if app else info
    assert isinstance(holder, dict)
    port = int(holder["port"])
    return info, port, pm2x


@pytest.mark.parametrize("app", [False, True], ids=["daemon-holds", "app-holds"])
def test_fake_pm2_daemon_runs_nothing_and_writes_nothing(
    attacker: Attacker, root_secret: Path, app: bool
) -> None:
    secret_before = root_secret.read_bytes()
    secret_mtime = root_secret.stat().st_mtime_ns
    info, port, pm2x = _fake_pm2(attacker, root_secret, app)
    assert Path(f"/proc/{info['pid']}/cmdline").read_bytes().startswith(b"PM2 v5.3.0: God Daemon (")
    for path in (WITHOUT_PM2, WITH_PM2):
        r = portdoctor("why", str(port), path=path)
        assert r.returncode in (0, 1), said(r)
        assert str(port) in r.stdout, said(r)
        cause = why_cause(port, path=path)
        # The detector did look at it (else this test would prove nothing about it).
        assert cause.get("kind") == "pm2", cause
        r = portdoctor("ls", path=path)
        assert r.returncode in (0, 1), said(r)
        attacker.assert_untouched(files=False)
    r = portdoctor("free", str(port), path=WITH_PM2)
    assert r.returncode == 3, said(r)
    assert "portdoctor-other" in r.stderr or attacker.name in r.stderr, said(r)
    assert listening(port) and alive(int(info["pid"]))
    attacker.assert_untouched()
    assert os.path.islink(attacker.path(".pm2/pm2.log"))
    assert root_secret.read_bytes() == secret_before and root_secret.stat().st_mtime_ns == secret_mtime
    attacker.prove_marker(pm2x)


# ---------------------------------------------------------------------------------------------
# 2. a fake supervisord and the user's own supervisorctl


def _fake_supervisord(
    attacker: Attacker, config: str | None = None, name: str = "web"
) -> tuple[dict[str, object], int]:
    """A process whose command line is the user's ``/home/U/.../bin/supervisord -c CONFIG`` (their
    script), and a child it runs as program NAME, holding a port."""
    attacker.mkdir("bin")
    daemon = attacker.program("bin/supervisord")
    if config is None:
        config = str(
            attacker.write(
                "supervisord.conf",
                f"[supervisorctl]\nserverurl=unix://{attacker.dir}/none.sock\n\n"
                f"[program:{name}]\ncommand=/bin/true\nautorestart=false\n",
            )
        )
    child_env = {
        "SUPERVISOR_ENABLED": "1",
        "SUPERVISOR_PROCESS_NAME": name,
        "SUPERVISOR_GROUP_NAME": name,
        "SUPERVISOR_SERVER_URL": f"unix://{attacker.dir}/none.sock",
    }
    info = attacker.spawn({"argv": [str(daemon), "-c", config], "child": {"port": 0, "env": child_env}})
    assert Path(f"/proc/{info['pid']}/cmdline").read_bytes().split(b"\0")[:3] == [
        str(daemon).encode(),
        b"-c",
        config.encode(),
    ]
    child = info["child"]
    assert isinstance(child, dict)
    return info, int(child["port"])


def test_fake_supervisord_free_refused_and_the_users_supervisorctl_never_runs(attacker: Attacker) -> None:
    info, port = _fake_supervisord(attacker)
    sctl = attacker.program("bin/supervisorctl")
    child = info["child"]
    assert isinstance(child, dict)
    cause = why_cause(port)
    assert cause.get("kind") == "supervisord", cause
    assert f"it runs as user {attacker.name}, not you" in str(cause["summary"]), cause  # whose it is
    # Without --force: refused, it is another user's manager; with supervisorctl on root's PATH
    # and without (where the user's, beside their supervisord, was the one run).
    for path in (SYSTEM_PATH, WITH_PM2):
        r = portdoctor("free", str(port), path=path)
        assert r.returncode == 3, said(r)
        assert attacker.name in r.stderr, said(r)
        attacker.assert_untouched()
    r = portdoctor("free", str(port), "--force", path=SYSTEM_PATH)
    assert r.returncode == 3 and "not on portdoctor's PATH" in r.stderr, said(r)
    attacker.assert_untouched()
    # Even with the user's bin first on root's PATH: a program there is never run.
    r = portdoctor("free", str(port), "--force", path=f"{attacker.dir}/bin" + os.pathsep + WITH_PM2)
    assert r.returncode == 3 and "not on portdoctor's PATH" in r.stderr, said(r)
    attacker.assert_untouched()
    # Nor from the current directory, when root stands in theirs with '.' or '' first on its PATH:
    # those entries are skipped, portdoctor's own supervisorctl is the one (run as the user).
    for path in ("." + os.pathsep + WITH_PM2, os.pathsep + WITH_PM2):
        r = portdoctor("free", str(port), "--force", "--json", "--timeout", "1", path=path, cwd=sctl.parent)
        assert r.returncode in (1, 3), said(r)
        data = json.loads(r.stdout)
        assert data["freed"] is False, said(r)
        ran = [s["target"] for s in data["steps"] if s["action"] in ("run", "check")]
        assert all(t.startswith(VENV_BIN + "/supervisorctl ") for t in ran), data["steps"]
        attacker.assert_untouched()
    # With --force: supervisorctl is portdoctor's own, run as the user; theirs never runs, and
    # the port is not claimed free (the fake supervisord answers nothing).
    r = portdoctor("free", str(port), "--force", "--json", "--timeout", "1")
    assert r.returncode in (1, 3), said(r)
    data = json.loads(r.stdout)
    assert data["freed"] is False, said(r)
    ran = [s["target"] for s in data["steps"] if s["action"] in ("run", "check")]
    assert all(t.startswith(VENV_BIN + "/supervisorctl") for t in ran), data["steps"]
    assert listening(port) and alive(int(child["pid"]))
    attacker.assert_untouched()
    attacker.prove_marker(sctl)


# ---------------------------------------------------------------------------------------------
# 3. hang and memory: FIFOs, /dev/zero and root-only files where portdoctor reads


def _run_readers(ports: Sequence[int], secret: str | None = None) -> None:
    """why, why --json, free --dry-run, check and explain for each port, and ls once: all answer,
    within the memory limit and the timeout."""
    outputs = []
    for port in ports:
        for args, codes in (
            (("why", str(port)), (0, 1)),
            (("why", str(port), "--json"), (0, 1)),
            (("free", str(port), "--dry-run"), (0, 3)),  # 3: refused, another user's
            (("free", str(port), "--dry-run", "--force"), (0,)),
            (("check", str(port)), (1,)),  # 1: in use
            (("explain", f"Error: listen EADDRINUSE: address already in use :::{port}"), (0, 1)),
        ):
            r = portdoctor(*args)
            assert r.returncode in codes, f"{args}: {said(r)}"
            assert str(port) in r.stdout + r.stderr, f"{args}: {said(r)}"
            outputs.append(r.stdout + r.stderr)
    r = portdoctor("ls")
    assert r.returncode in (0, 1), said(r)
    for port in ports:
        assert str(port) in r.stdout, said(r)
    outputs.append(r.stdout + r.stderr)
    if secret is not None:
        for out in outputs:
            assert secret not in out, f"the root-only file was read for the user:\n{out}"


def test_package_json_fifo_zero_big_and_root_only(attacker: Attacker, root_secret: Path) -> None:
    kinds = {
        "fifo": lambda p: attacker.fifo(p),
        "zero": lambda p: attacker.link(p, "/dev/zero"),
        "secret": lambda p: attacker.link(p, root_secret),
        "big": lambda p: _sparse(attacker.write(p, ""), 2 << 30),
    }
    ports = []
    for kind, make in kinds.items():
        proj = attacker.mkdir(f"proj-{kind}")
        make(f"proj-{kind}/package.json")
        info = attacker.spawn({"port": 0}, cwd=proj)
        ports.append(int(info["port"]))
    _run_readers(ports, secret="root-only-secret-d41d8c")
    attacker.assert_untouched()


def test_long_command_lines_up_the_parent_chain_of_a_holder(attacker: Attacker) -> None:
    """Each /proc file is read with a cap (4 MiB), but a command line of many short arguments
    grows ~20x as Python strings, and `why` reads every ancestor's: a chain of the user's
    processes, each with ~1.6 MB of two-letter arguments (what ARG_MAX allows), holding one port."""
    spec: dict[str, object] = {"port": 0, "pad": LONG_ARGV}
    for _ in range(CHAIN - 1):
        spec = {"pad": LONG_ARGV, "child": spec}
    info = attacker.spawn(spec)
    while "child" in info:
        child = info["child"]
        assert isinstance(child, dict)
        info = child
    port = int(info["port"])
    assert len(Path(f"/proc/{info['pid']}/cmdline").read_bytes()) > LONG_ARGV * 3
    for args in (("why", str(port)), ("free", str(port), "--dry-run")):
        r = portdoctor(*args, memory=CHAIN_MEMORY)
        assert r.returncode in (0, 1, 3) and "Traceback" not in r.stderr, (
            f"portdoctor {' '.join(args)} under RLIMIT_AS={CHAIN_MEMORY >> 20} MiB, for a holder whose "
            f"{CHAIN - 1} ancestors have {LONG_ARGV} arguments each:\n{said(r)}"
        )
        assert str(port) in r.stdout + r.stderr, said(r)
    attacker.assert_untouched()


def _sparse(p: Path, size: int) -> Path:
    os.truncate(p, size)
    return p


def test_supervisord_config_fifo_and_dev_zero(attacker: Attacker) -> None:
    attacker.fifo("fifo.conf")
    attacker.link("zero.conf", "/dev/zero")
    attacker.mkdir("inc")
    attacker.fifo("inc/a.conf")
    attacker.link("inc/b.conf", "/dev/zero")
    attacker.write("include.conf", f"[include]\nfiles = {attacker.dir}/inc/*.conf /dev/*\n")
    configs = [
        str(attacker.path("fifo.conf")),
        str(attacker.path("zero.conf")),
        "/dev/zero",
        str(attacker.path("include.conf")),
    ]
    ports = [_fake_supervisord(attacker, config=c)[1] for c in configs]
    for port in ports:
        assert why_cause(port).get("kind") == "supervisord"
    _run_readers(ports)
    attacker.assert_untouched()


def test_pm2_pid_fifo_and_dev_zero(attacker: Attacker) -> None:
    ports = []
    for kind in ("fifo", "zero"):
        home = attacker.mkdir(f"pm2-{kind}/.pm2")
        if kind == "fifo":
            attacker.fifo(f"pm2-{kind}/.pm2/pm2.pid")
        else:
            attacker.link(f"pm2-{kind}/.pm2/pm2.pid", "/dev/zero")
        # A God Daemon titled with that home, holding a port...
        daemon = attacker.spawn({"argv0": f"PM2 v5.3.0: God Daemon ({home})", "port": 0})
        ports.append(int(daemon["port"]))
        # ...and a process outside any daemon whose environment points at that home (portdoctor
        # then reads its pm2.pid to find the daemon).
        app = attacker.spawn({"port": 0}, env={"pm_id": "0", "name": "web", "PM2_HOME": str(home)})
        ports.append(int(app["port"]))
    _run_readers(ports)
    attacker.assert_untouched()


# ---------------------------------------------------------------------------------------------
# 4. manager names are the holder's word: they must not pick another program


@pytest.mark.parametrize("claimed", ["victim", "all"])
def test_supervisord_program_naming_another_program(
    attacker: Attacker, supervisord: Supervisord, claimed: str
) -> None:
    victim_port, web_port = free_port(), free_port()
    supervisord.add_program("victim", port=victim_port)
    victim_pid = supervisord.program_pid("victim")
    spec = {
        "python": attacker.python,
        "script": str(attacker.script),
        "setenv": {"SUPERVISOR_PROCESS_NAME": claimed, "SUPERVISOR_GROUP_NAME": claimed},
        "port": web_port,
    }
    spec_file = attacker.write("web.json", json.dumps(spec))
    supervisord.add_program(
        "web",
        port=web_port,
        command=f"{attacker.python} {attacker.script}",
        environment={"HOSTILE_SPEC_FILE": str(spec_file)},
        user=attacker.name,
        directory=attacker.dir,
    )
    web_pid = supervisord.program_pid("web")
    assert set(holders(web_port)) == {web_pid}
    assert os.stat(f"/proc/{web_pid}").st_uid == attacker.uid
    env_of_web = Path(f"/proc/{web_pid}/environ").read_bytes()
    assert f"SUPERVISOR_PROCESS_NAME={claimed}".encode() in env_of_web.split(b"\0")

    # Root's supervisord runs web as the other user: web is that user's process, refused
    # without --force whatever name it claims.
    r = portdoctor("free", str(web_port), "--json", "--timeout", "1", memory=None)
    data = json.loads(r.stdout) if r.stdout.strip() else {}
    assert data.get("freed") is False, said(r)
    assert r.returncode == 3, said(r)
    assert any(attacker.name in reason for reason in data["refused"]), said(r)
    if claimed != "all":
        # With --force: supervisorctl is asked which pid 'victim' has: not the holder, so
        # nothing is stopped. ('all' is no program's name: web itself would be signalled.)
        r = portdoctor("free", str(web_port), "--json", "--timeout", "1", "--force", memory=None)
        data = json.loads(r.stdout) if r.stdout.strip() else {}
        assert data.get("freed") is False, said(r)
        assert r.returncode == 1, said(r)
        checks = [s for s in data["steps"] if s["action"] == "check"]
        assert checks and "not the holder" in checks[0]["result"], data["steps"]
        assert str(victim_pid) in checks[0]["result"], data["steps"]
        assert not any(s["action"] == "run" for s in data["steps"]), data["steps"]
    assert alive(victim_pid) and listening(victim_port), supervisord.supervisorctl("status").stdout
    assert "RUNNING" in supervisord.supervisorctl("status", "victim", check=False).stdout
    assert alive(web_pid) and listening(web_port)

    # 5. the legitimate case, on the same supervisord: root frees its own program.
    r = portdoctor("free", str(victim_port), "--json", memory=None)
    assert r.returncode == 0, said(r)
    data = json.loads(r.stdout)
    assert data["freed"] is True and data["cause"] == "supervisord", said(r)
    assert any(s["action"] == "check" and s["result"].startswith("pid ") for s in data["steps"]), data
    assert "STOPPED" in supervisord.supervisorctl("status", "victim", check=False).stdout
    assert not listening(victim_port)
    attacker.assert_untouched()


@pytest.mark.pm2
def test_process_claiming_to_be_an_app_of_roots_pm2(attacker: Attacker, pm2: PM2) -> None:
    victim_port = free_port()
    pm2.start(name="victim", port=victim_port)
    victim = pm2.pids("victim")
    # The user's process names root's PM2 home and root's app in its environment.
    fake = attacker.spawn(
        {"port": 0},
        env={"pm_id": "0", "name": "victim", "PM2_HOME": str(pm2.home), "PORT": str(victim_port)},
    )
    port = int(fake["port"])
    r = portdoctor("free", str(port), "--json", env=pm2.env, memory=None)
    assert r.returncode == 3, said(r)  # the holder is another user's process; no pm2 stop
    data = json.loads(r.stdout)
    assert any(attacker.name in reason for reason in data["refused"]), said(r)
    r = portdoctor("free", str(port), "--force", "--json", env=pm2.env, memory=None)
    assert r.returncode == 0, said(r)
    data = json.loads(r.stdout)
    assert not any(s["action"] == "run" for s in data["steps"]), data["steps"]  # no `pm2 stop victim`
    assert pm2.pids("victim") == victim and listening(victim_port)

    # 5. the legitimate case: root frees its own PM2 app through PM2.
    r = portdoctor("free", str(victim_port), "--json", env=pm2.env, memory=None)
    assert r.returncode == 0, said(r)
    data = json.loads(r.stdout)
    assert data["freed"] is True and data["cause"] == "pm2", said(r)
    runs = [s["target"] for s in data["steps"] if s["action"] == "run"]
    assert len(runs) == 1 and " stop victim" in runs[0], data["steps"]
    assert pm2.pids("victim") == [] and not listening(victim_port)
    attacker.assert_untouched()


# ---------------------------------------------------------------------------------------------
# 5. another user's real PM2: refused without --force, run as that user with it


def _their_pm2(
    attacker: Attacker, name: str, autorestart: bool = True
) -> tuple[Path, int, int, dict[str, str]]:
    """The user's real PM2 (their PM2_HOME, run as them) with app NAME listening on a free port:
    (PM2_HOME, port, God Daemon pid, the environment their `pm2` runs with)."""
    pm2 = find_tool("pm2")
    assert pm2 is not None, "pm2 not found (npm install -g pm2)"
    home = attacker.mkdir(".pm2")
    attacker.pm2_homes.append(home)
    port = free_port()
    app = attacker.write("app.js", HTTP_SERVER.read_text())
    eco = attacker.write(
        "eco.json",
        json.dumps(
            {
                "apps": [
                    {
                        "name": name,
                        "script": str(app),
                        "env": {"PORT": str(port)},
                        "autorestart": autorestart,
                        "cwd": str(attacker.dir),
                    }
                ]
            }
        ),  # fmt: skip
    )
    pm2_env = {"PM2_HOME": str(home), "PM2_SILENT": "true", "NO_UPDATE_NOTIFIER": "1"}
    started = attacker.run([pm2, "start", str(eco)], env=pm2_env)
    assert started.returncode == 0, started.stdout + started.stderr
    wait_listening(port, what=f"{attacker.name}'s PM2 app")
    god = int((home / "pm2.pid").read_text())
    assert os.stat(f"/proc/{god}").st_uid == attacker.uid
    return home, port, god, pm2_env


@pytest.mark.pm2
def test_another_users_real_pm2_needs_force_and_runs_as_them(attacker: Attacker) -> None:
    pm2 = find_tool("pm2")
    assert pm2 is not None, "pm2 not found (npm install -g pm2)"
    home, port, god, pm2_env = _their_pm2(attacker, "theirs")
    assert attacker.root_files() == []

    r = portdoctor("why", str(port), "--json")
    assert r.returncode in (0, 1), said(r)
    assert json.loads(r.stdout)["cause"]["kind"] == "pm2", said(r)
    r = portdoctor("free", str(port), "--json")
    assert r.returncode == 3, said(r)
    assert any(attacker.name in reason and "--force" in reason for reason in json.loads(r.stdout)["refused"])
    assert listening(port)

    r = portdoctor("free", str(port), "--force", "--json", memory=None, timeout=120.0)
    assert r.returncode == 0, said(r)
    data = json.loads(r.stdout)
    assert data["freed"] is True, said(r)
    runs = [s["target"] for s in data["steps"] if s["action"] == "run"]
    assert len(runs) == 1 and " stop theirs" in runs[0] and f"(as {attacker.name})" in runs[0], data["steps"]
    assert not listening(port)
    assert alive(god)  # their daemon was not killed: only their app was stopped
    attacker.assert_untouched()  # nothing of root's in their PM2_HOME: pm2 ran as them
    listed = attacker.run([pm2, "jlist"], env=pm2_env)
    assert '"status":"stopped"' in listed.stdout, listed.stdout[-2000:]
    attacker.pm2_kill(home)
    wait_until(lambda: not alive(god), timeout=30, message=f"{attacker.name}'s PM2 daemon exits")


@pytest.mark.pm2
def test_force_against_a_silent_pm2_daemon_of_another_user(attacker: Attacker, root_secret: Path) -> None:
    """Their daemon accepts on rpc.sock and never answers. `pm2 pid web` (run as them) is given
    ANSWER_TIMEOUT, not the stop command's 60 s; then, under --force, the holder the stop was
    for is signalled instead: never the daemon, and `pm2 stop` never runs."""
    info, port, _ = _fake_pm2(attacker, root_secret, app=True)
    child = info["child"]
    assert isinstance(child, dict)
    holder, daemon = int(child["pid"]), int(info["pid"])
    r = portdoctor("free", str(port), "--force", "--dry-run")
    assert r.returncode == 0, said(r)
    assert f"within {ANSWER_TIMEOUT:g}s (else SIGTERM to the holder)" in r.stdout, said(r)

    # Far below COMMAND_TIMEOUT (60 s), the bound before: a hang is a failure here.
    r = portdoctor(
        "free", str(port), "--force", "--timeout", "1", "--json", memory=None, timeout=ANSWER_TIMEOUT + 20
    )
    assert r.returncode == 0, said(r)
    data = json.loads(r.stdout)
    assert data["freed"] is True, said(r)
    actions = [s["action"] for s in data["steps"]]
    assert actions[0] == "check" and "run" not in actions, data["steps"]  # `pm2 stop` never ran
    check = data["steps"][0]
    assert check["target"].endswith("pm2 pid web"), check
    assert check["result"] == f"no answer within {ANSWER_TIMEOUT:g}s: SIGTERM to the holder instead", check
    assert ANSWER_TIMEOUT <= check["seconds"] < COMMAND_TIMEOUT / 2, check
    signalled = [s["pid"] for s in data["steps"] if s["action"] in ("SIGTERM", "SIGKILL")]
    assert signalled and set(signalled) == {holder}, data["steps"]
    assert not alive(holder) and alive(daemon) and not listening(port)
    assert data["respawn_watch"] and "pm2" in data["respawn_watch"]["reason"], data
    attacker.assert_untouched()


# The user's watcher: SIGSTOPs every process of theirs whose argv has "stop" and APP (the `pm2
# stop APP` root's portdoctor runs as them after `pm2 pid APP` answered), and logs its pid.
STOPPER = r"""
import os, signal, sys, time
app, log = sys.argv[1].encode(), sys.argv[2]
me, seen = os.getuid(), set()
print("ready", flush=True)
parent = os.getppid()
while os.getppid() == parent:
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or entry in seen:
            continue
        try:
            if os.stat("/proc/" + entry).st_uid != me:
                continue
            with open("/proc/" + entry + "/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if b"stop" in argv and app in argv:
            os.kill(int(entry), signal.SIGSTOP)
            seen.add(entry)
            with open(log, "a") as f:
                f.write(entry + "\n")
    time.sleep(0.003)
"""


@pytest.mark.pm2
def test_force_against_a_pm2_stop_the_other_user_stalls(attacker: Attacker) -> None:
    """Their real PM2 answers `pm2 pid web`, then their watcher SIGSTOPs `pm2 stop web` (run as
    them). The stop gets FOREIGN_STOP_TIMEOUT, not COMMAND_TIMEOUT (60 s); then, under --force,
    the app is signalled instead, never their daemon, with one step saying so."""
    home, port, god, _ = _their_pm2(attacker, "web", autorestart=False)
    app = [p for p in holders(port) if p != god]
    assert app, f"the app's pid (holders {holders(port)}, daemon {god})"
    log = attacker.path("stopped.log")
    script = attacker.write("stopper.py", STOPPER)
    watcher = subprocess.Popen(
        [*setpriv(attacker.name), attacker.python, str(script), "web", str(log)],
        env=attacker.env(), cwd=str(attacker.dir), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    attacker.procs.append(watcher)
    assert watcher.stdout is not None and watcher.stdout.readline() == b"ready\n"

    r = portdoctor("free", str(port), "--force", "--dry-run")
    assert r.returncode == 0, said(r)
    assert f"must finish within {FOREIGN_STOP_TIMEOUT:g}s (else SIGTERM to the holder)" in r.stdout, said(r)

    # PD_TIMEOUT (30 s) is far below COMMAND_TIMEOUT (60 s), the bound before: a hang fails here.
    r = portdoctor("free", str(port), "--force", "--timeout", "1", "--json", memory=None)
    assert r.returncode == 0, said(r)
    data = json.loads(r.stdout)
    assert data["freed"] is True, said(r)
    actions = [s["action"] for s in data["steps"]]
    assert actions[:2] == ["check", "run"], data["steps"]
    check, run = data["steps"][:2]
    assert check["result"].endswith(": the holder"), check  # the check was answered
    assert run["target"].endswith(f"pm2 stop web (as {attacker.name})"), run
    assert run["result"] == f"no answer within {FOREIGN_STOP_TIMEOUT:g}s: SIGTERM to the holder instead", run
    assert FOREIGN_STOP_TIMEOUT <= run["seconds"] < COMMAND_TIMEOUT / 2, run
    stopped = [int(p) for p in log.read_text().split()]  # the watcher did stall the stop
    assert stopped, "the watcher stopped nothing: the test checked nothing"
    signalled = [s["pid"] for s in data["steps"] if s["action"] in ("SIGTERM", "SIGKILL")]
    assert signalled and set(signalled) == set(app), data["steps"]
    assert not listening(port) and alive(god)  # the app, never their daemon
    assert not any(alive(p) for p in stopped)  # the stalled `pm2 stop` was ended with its session
    attacker.assert_untouched()


# ---------------------------------------------------------------------------------------------
# 7. a process named after a system service: root's next step must not stop root's service


@pytest.mark.parametrize(
    ("spec", "service", "stops"),
    [
        ({"argv0": "sshd"}, "sshd", ("service ssh stop", "systemctl stop ssh")),
        ({"argv0": "nginx"}, "nginx", ("nginx -s quit", "systemctl stop nginx")),
        ({"argv": ["master", "-c", "pass", "postfix"]}, "master", ("postfix stop", "systemctl stop postfix")),
    ],
    ids=["sshd", "nginx", "postfix-master"],
)
def test_a_process_named_like_a_system_service(
    attacker: Attacker, spec: dict[str, object], service: str, stops: tuple[str, ...]
) -> None:
    """`exec -a sshd python3 srv.py`: its name is its own word. Root's `why` says what is true
    (a process named sshd, run by the user, with their uid) and offers no step that stops the
    system's service; the --force step stays (free still refuses without it)."""
    info = attacker.spawn({**spec, "port": 0})
    port, pid = int(info["port"]), int(info["pid"])
    argv0 = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    assert os.path.basename(argv0) in ("sshd", "nginx", "master"), argv0  # the disguise took
    data = why_data(port)
    cause, actions = data["cause"], data["actions"]
    assert isinstance(cause, dict) and isinstance(actions, list)
    details = cause["details"]
    assert isinstance(details, dict)
    assert cause["kind"] == "application" and details["named_like"] == service, cause
    assert details["service"] is None and details["protected"] is True, cause
    summary = str(cause["summary"])
    assert "a process named" in summary and attacker.name in summary and f"uid {attacker.uid}" in summary
    commands = [str(a.get("command") or "") for a in actions]
    assert not any(stop in c for c in commands for stop in stops), commands
    assert not any(a["kind"] == "systemctl-stop" for a in actions), actions
    assert any(c.endswith(f"free {port} --force") for c in commands), commands
    r = portdoctor("why", str(port))
    assert r.returncode in (0, 1), said(r)
    assert "a process named" in r.stdout and not any(stop in r.stdout for stop in stops), said(r)
    r = portdoctor("free", str(port))
    assert r.returncode == 3 and listening(port), said(r)
    attacker.assert_untouched()


def test_the_real_service_program_run_by_a_user(attacker: Attacker, tmp_path: Path) -> None:
    """The real /usr/bin/redis-server, run by the user: the program is right, the account is not
    a system one; no step stops the system's Redis."""
    exe = shutil.which("redis-server")
    require(exe is not None, "redis-server not installed (apt-get install redis-server)")
    assert exe is not None
    port = free_port()
    proc = subprocess.Popen(
        [*setpriv(attacker.name), exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(attacker.dir)],
        env=attacker.env(), cwd=str(attacker.dir), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    attacker.procs.append(proc)  # type: ignore[arg-type]
    wait_listening(port, what=f"{attacker.name}'s redis-server")
    data = why_data(port)
    cause, actions = data["cause"], data["actions"]
    assert isinstance(cause, dict) and isinstance(actions, list)
    details = cause["details"]
    assert isinstance(details, dict)
    assert details["service"] is None and details["named_like"] == "redis-server", cause
    assert f"runs as {attacker.name} (uid {attacker.uid})" in str(cause["summary"]), cause
    commands = [str(a.get("command") or "") for a in actions]
    assert not any("shutdown" in c or "service redis" in c or "systemctl" in c for c in commands), commands


# ---------------------------------------------------------------------------------------------
# 8. a process posing as a containerd shim: root's engine must hear nothing of theirs


def _fake_shim(attacker: Attacker, container_id: str) -> tuple[int, int]:
    """Their process named containerd-shim-runc-v2 (a link to python) whose arguments claim
    ``-namespace moby -id ID``, and a child of it that listens: (port, the child's pid)."""
    folder = attacker.mkdir(f"shim-{uuid.uuid4().hex[:6]}")
    shim = attacker.link(f"{folder.name}/containerd-shim-runc-v2", attacker.python)
    argv = [str(shim), "-c", "pass", "-namespace", "moby", "-id", container_id, "-address", "/x"]
    info = attacker.spawn({"python": str(shim), "argv": argv, "child": {"port": 0}})
    child = info["child"]
    assert isinstance(child, dict)
    return int(child["port"]), int(child["pid"])


@pytest.mark.docker
def test_a_fake_shim_cannot_send_requests_to_roots_engine(attacker: Attacker, docker: DockerEngine) -> None:
    """An id with CR LF in it once became a second request to root's Docker API (a read-only
    `why` created a container): an id is 64 hex digits, from a shim of the engine's owner."""
    pwned = f"pdtest-pwn-{uuid.uuid4().hex[:8]}"
    body = json.dumps({"Image": docker.image, "Cmd": ["true"]})
    injected = (
        "x HTTP/1.1\r\nHost: docker\r\n\r\n"
        f"POST /containers/create?name={pwned} HTTP/1.1\r\nHost: docker\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    )
    port, _ = _fake_shim(attacker, injected)
    data = why_data(port)
    assert (data["cause"] or {}).get("kind") != "docker", data["cause"]  # type: ignore[union-attr]
    made = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"name={pwned}"], capture_output=True, text=True
    )
    assert made.stdout.strip() == "", f"root's engine created {pwned}"
    attacker.assert_untouched()


@pytest.mark.docker
def test_a_fake_shim_naming_roots_container_gets_it_neither_named_nor_stopped(
    attacker: Attacker, docker: DockerEngine
) -> None:
    """Their process claims to run in root's container (its real id): `why` does not name that
    container, and `free` (without --force) stops nothing of root's."""
    victim = docker.run("sleep", "600", extra=["--network", "none"])
    victim_id = docker.container_id(victim)
    port, pid = _fake_shim(attacker, victim_id)
    data = why_data(port)
    cause = data["cause"]
    assert isinstance(cause, dict) and cause["kind"] != "docker", cause
    assert victim not in json.dumps(data), data
    r = portdoctor("free", str(port))
    assert r.returncode == 3 and listening(port), said(r)  # another user's process: refused
    running = subprocess.run(
        ["docker", "inspect", "-f", "{{.State.Running}}", victim], capture_output=True, text=True
    )
    assert running.stdout.strip() == "true", f"root's container {victim} was stopped"
    attacker.assert_untouched()


# ---------------------------------------------------------------------------------------------
# 9. a command line of blanks: `exec -a " " python3 srv.py`


@pytest.mark.parametrize(
    "spec",
    [{"argv0": " "}, {"argv": ["   "]}, {"argv": [" \t "]}],
    ids=["argv0-blank", "title-of-blanks", "title-blank-tab"],
)
def test_a_command_line_of_blanks_does_not_break_roots_commands(
    attacker: Attacker, spec: dict[str, object]
) -> None:
    """A name of blanks once made root's `why` and `free` end in an IndexError traceback (the
    recognisers took the first word of argv[0]): the process hid from root's diagnosis, and its
    port could not be freed. It is another user's process, protected like any other."""
    info = attacker.spawn({**spec, "port": 0})
    port, pid = int(info["port"]), int(info["pid"])
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    assert argv[0].strip() == b"", argv  # the disguise took
    data = why_data(port)
    cause = data["cause"]
    assert isinstance(cause, dict) and cause["kind"] == "application", cause
    details = cause["details"]
    assert isinstance(details, dict) and details["protected"] is True, cause
    assert attacker.name in str(cause["summary"]), cause
    for args in (("why", str(port)), ("ls",), ("free", str(port), "--dry-run"), ("free", str(port))):
        r = portdoctor(*args)
        assert "Traceback" not in r.stderr, said(r)
        assert r.returncode in ((3,) if args[0] == "free" else (0, 1)), said(r)
    assert listening(port)
    attacker.assert_untouched()


# ---------------------------------------------------------------------------------------------
# 10. another user takes the port root just freed


GRABBER = r"""
import os, socket, subprocess, sys, time
port = int(sys.argv[1])
if len(sys.argv) == 2:
    if os.environ.get("GRABBER_NAMED") != "1":
        os.environ["GRABBER_NAMED"] = "1"
        os.execv(sys.executable, ["supervisord", sys.argv[0], sys.argv[1]])
    python = os.environ["GRABBER_PYTHON"]
    child = subprocess.Popen([python, sys.argv[0], sys.argv[1], "child"])
    print("ready", flush=True)
    parent = os.getppid()
    while os.getppid() == parent and child.poll() is None:
        time.sleep(0.2)
    sys.exit(0)
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", port))
        s.listen(8)
        break
    except OSError:
        s.close()
        time.sleep(0.001)
while True:
    time.sleep(3600)
"""


def test_a_port_taken_by_another_user_after_free_is_no_respawn(attacker: Attacker) -> None:
    """Root frees its own server; a process of the user, waiting for the port, binds it at once,
    under a parent it named supervisord. `free` once reported "restarted by supervisord. Stop
    that first: kill PID" (the user's process, or whatever gets that pid next): a listener of
    another user is not a restart, and its chain gives root no step."""
    port = free_port()
    term_server = Path(__file__).parent / "fixtures" / "servers" / "term_server.py"
    # Root's server under a shell loop, so that free watches the port (a restart after 600 s: none
    # within the test).
    loop = f"while true; do {sys.executable} {term_server} {port}; sleep 600; done"
    root_server = subprocess.Popen(
        ["bash", "-c", loop], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        wait_listening(port, what="root's server")
        grabber = attacker.write("grabber.py", GRABBER)
        proc = subprocess.Popen(
            [*setpriv(attacker.name), attacker.python, str(grabber), str(port)],
            env=attacker.env({"GRABBER_PYTHON": attacker.python}), cwd=str(attacker.dir),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, start_new_session=True,
        )  # fmt: skip
        attacker.procs.append(proc)
        assert proc.stdout is not None and proc.stdout.readline().strip() == b"ready"
        r = portdoctor("free", str(port), "--json")
        assert r.returncode == 1, said(r)
        data = json.loads(r.stdout)
        theirs = [h for h in data["holders_after"] if h["user"] == attacker.name]
        assert theirs, data  # the user's process took the port: the attack happened
        assert data["respawned_by"] is None, data
        summary = str(data["summary"])
        assert "supervisord" not in summary and "kill" not in summary, summary
        assert attacker.name in summary and "not a restart" in summary, summary
        assert f"why {port}" in summary, summary
    finally:
        kill_session(root_server.pid, timeout=5.0)
        root_server.wait(timeout=10)
    attacker.assert_untouched()
