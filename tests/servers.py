"""Real listeners in subprocesses, for the finding engine's tests.

Every server runs in its own session (``start_new_session``) and is stopped with
:func:`infra.kill_session`, which also gets forked workers. Each one prints one JSON line when it
is ready (its pid, port, socket inode and the pids of its workers) and then sleeps; it exits on
its own when its parent goes away, so a crashed test run leaves nothing behind.

The :class:`Servers` object (fixture ``servers`` in conftest.py) starts them and stops all of
them at the end of the test:

    srv = servers.tcp()                      # 127.0.0.1, a free port
    srv = servers.tcp(host="::1", v6only=True)
    srv = servers.udp()
    srv = servers.tcp(workers=2)             # forked workers sharing one socket
    group = servers.reuseport(3)             # three processes, three sockets, one port
    rx = servers.passed_socket()             # a socket handed to an unrelated process
    srv = servers.tcp(argv0="\\x1b[31mevil", comm="\\x1b[31mevil")
    srv = servers.tcp(user="nobody")         # setpriv (root only)
    srv = servers.tcp(netns="pd-test-123")   # ip netns exec
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from infra import in_ci, kill_session, require

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

READY_TIMEOUT = 60.0  # generous: a shared, noisy machine

# The program every server runs (python -c LISTENER SPEC): SPEC is one JSON object.
LISTENER = r"""
import json, os, socket, sys, time
spec = json.loads(sys.argv[1])
parent = os.getppid()

def idle(parent):
    # Exit when our parent goes away (a crashed test run leaves nothing behind).
    while os.getppid() == parent:
        time.sleep(0.2)
    os._exit(0)

if spec.get("comm") is not None:
    with open("/proc/self/comm", "wb") as f:
        f.write(spec["comm"].encode("utf-8", "surrogateescape"))

def make(spec):
    family = socket.AF_INET6 if ":" in spec["host"] else socket.AF_INET
    kind = socket.SOCK_DGRAM if spec["proto"] == "udp" else socket.SOCK_STREAM
    s = socket.socket(family, kind)
    if spec.get("reuseport"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    if family == socket.AF_INET6 and spec.get("v6only") is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if spec["v6only"] else 0)
    s.bind((spec["host"], spec["port"]))
    if kind == socket.SOCK_STREAM:
        s.listen(16)
    return s

mode = spec.get("mode", "listen")
if mode == "receive":
    # Accept one connection on a unix socket, take the fd it carries, hold it.
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.bind(spec["path"])
    u.listen(1)
    print(json.dumps({"pid": os.getpid(), "state": "waiting"}), flush=True)
    conn, _ = u.accept()
    msg, fds, _flags, _addr = socket.recv_fds(conn, 16, 1)
    conn.close()
    u.close()
    s = socket.socket(fileno=fds[0])
elif mode == "send":
    s = make(spec)
    u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    u.connect(spec["path"])
    socket.send_fds(u, [b"x"], [s.fileno()])
    info = {"pid": os.getpid(), "port": s.getsockname()[1], "inode": os.fstat(s.fileno()).st_ino}
    u.close()
    s.close()
    print(json.dumps(info), flush=True)
    sys.exit(0)
else:
    s = make(spec)

info = {
    "pid": os.getpid(),
    "port": s.getsockname()[1],
    "inode": os.fstat(s.fileno()).st_ino,
    "uid": os.geteuid(),
    "workers": [],
}
for _ in range(spec.get("workers", 0)):
    child = os.fork()
    if child == 0:
        idle(os.getppid())
    info["workers"].append(child)
print(json.dumps(info), flush=True)
idle(parent)
"""


def python_for(user: str | None) -> str:
    """An interpreter *user* can execute (the venv's may live under a private home)."""
    if user is None:
        return sys.executable
    for candidate in (sys.executable, "/usr/bin/python3", "/usr/local/bin/python3"):
        if not os.path.exists(candidate):
            continue
        probe = subprocess.run(
            [*setpriv(user), candidate, "-c", "import json, socket"],
            capture_output=True,
            timeout=60,
            cwd="/",
        )
        if probe.returncode == 0:
            return candidate
    require(False, f"no Python interpreter that {user} can run")
    raise AssertionError("unreachable")


def setpriv(user: str) -> list[str]:
    """The setpriv prefix that runs a command as *user* (its primary group, no others)."""
    import grp
    import pwd

    tool = shutil.which("setpriv")
    require(tool is not None, "setpriv not found (util-linux)")
    require(os.geteuid() == 0, "running as another user needs root")
    pw = pwd.getpwnam(user)
    group = grp.getgrgid(pw.pw_gid).gr_name
    return [str(tool), f"--reuid={user}", f"--regid={group}", "--clear-groups"]


@dataclass
class Server:
    """A running server: its process, and what it reported when ready."""

    proc: subprocess.Popen[bytes]
    info: dict[str, object]
    argv: list[str]
    stderr_path: str
    cwd: str | None = None
    started_before: float = 0.0  # time.time() just before the spawn, and just after ready
    started_after: float = 0.0
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def port(self) -> int:
        return int(self.info["port"])  # type: ignore[call-overload]

    @property
    def inode(self) -> int:
        return int(self.info["inode"])  # type: ignore[call-overload]

    @property
    def workers(self) -> list[int]:
        return [int(p) for p in self.info.get("workers", [])]  # type: ignore[attr-defined]

    @property
    def pids(self) -> list[int]:
        """The server and its forked workers."""
        return sorted([self.pid, *self.workers])

    def stop(self) -> None:
        kill_session(self.proc.pid, timeout=5.0)
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        with contextlib.suppress(OSError):
            os.unlink(self.stderr_path)


def _read_json_line(proc: subprocess.Popen[bytes], stderr_path: str, timeout: float) -> dict[str, object]:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"server did not report ready within {timeout:.0f}s: {_tail(stderr_path)}")
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(f"server exited ({proc.wait()}) before ready: {_tail(stderr_path)}")
            buf += chunk
    line = buf.split(b"\n", 1)[0]
    data = json.loads(line)
    assert isinstance(data, dict)
    return data


def _tail(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            return f.read()[-2000:]
    except OSError:
        return "(no stderr)"


class Servers:
    """Starts servers; :meth:`cleanup` stops every one of them (and deletes network namespaces)."""

    def __init__(self) -> None:
        self.running: list[Server] = []
        self.netns: list[str] = []
        self.tmpdirs: list[str] = []

    # -- the generic spawn ---------------------------------------------------------------------

    def spawn(
        self,
        spec: dict[str, object],
        *,
        cwd: str | None = None,
        argv0: str | None = None,
        user: str | None = None,
        netns: str | None = None,
        wait_ready: bool = True,
    ) -> Server:
        """Run LISTENER with *spec*; wait for its ready line (unless *wait_ready* is False)."""
        python = python_for(user)
        argv: list[str] = [argv0 or python, "-c", LISTENER, json.dumps(spec)]
        prefix: list[str] = []
        if user is not None:
            prefix += setpriv(user)
        if netns is not None:
            prefix = ["ip", "netns", "exec", netns, *prefix]
        full = [*prefix, *argv]
        # argv[0] differs from the program only when asked: exec it through the interpreter path.
        executable = python if (argv0 is not None and not prefix) else None
        if argv0 is not None and prefix:
            raise ValueError("argv0 cannot be combined with user/netns")
        fd, stderr_path = tempfile.mkstemp(prefix="portdoctor-srv-", suffix=".err")
        before = time.time()
        with os.fdopen(fd, "wb") as err:
            proc = subprocess.Popen(
                full,
                executable=executable,
                cwd=cwd or ("/" if user else None),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )
        server = Server(proc, {}, argv, stderr_path, cwd=cwd, started_before=before)
        self.running.append(server)
        if wait_ready:
            server.info = _read_json_line(proc, stderr_path, READY_TIMEOUT)
            server.started_after = time.time()
        return server

    # -- the kinds of listener -----------------------------------------------------------------

    def tcp(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        v6only: bool | None = None,
        workers: int = 0,
        reuseport: bool = False,
        comm: str | None = None,
        **kw: object,
    ) -> Server:
        """A TCP listener on *host*:*port* (0: the kernel picks), optionally with forked workers."""
        spec = {"proto": "tcp", "host": host, "port": port, "v6only": v6only, "workers": workers,
                "reuseport": reuseport, "comm": comm}  # fmt: skip
        return self.spawn(spec, **kw)  # type: ignore[arg-type]

    def udp(self, host: str = "127.0.0.1", port: int = 0, **kw: object) -> Server:
        """A bound UDP socket."""
        return self.spawn({"proto": "udp", "host": host, "port": port}, **kw)  # type: ignore[arg-type]

    def reuseport(self, count: int = 3, host: str = "127.0.0.1") -> list[Server]:
        """*count* unrelated processes, each with its own SO_REUSEPORT listener on one port."""
        first = self.tcp(host, 0, reuseport=True)
        return [first, *(self.tcp(host, first.port, reuseport=True) for _ in range(count - 1))]

    def passed_socket(self, host: str = "127.0.0.1") -> Server:
        """A listener created by one process and handed over a unix socket (SCM_RIGHTS) to an
        unrelated one; the sender then closes its copy and exits. Returns the receiver, whose
        ``extra["sender_pid"]`` is the pid of the (gone) sender."""
        tmp = tempfile.mkdtemp(prefix="portdoctor-scm-")
        self.tmpdirs.append(tmp)
        path = os.path.join(tmp, "s")
        receiver = self.spawn({"mode": "receive", "path": path})
        assert receiver.info.get("state") == "waiting", receiver.info
        from infra import wait_until

        wait_until(lambda: os.path.exists(path), message="the receiver's unix socket")
        sender = self.spawn({"mode": "send", "path": path, "proto": "tcp", "host": host, "port": 0})
        assert sender.proc.wait(timeout=READY_TIMEOUT) == 0, _tail(sender.stderr_path)
        receiver.info = _read_json_line(receiver.proc, receiver.stderr_path, READY_TIMEOUT)
        receiver.started_after = time.time()
        receiver.extra["sender_pid"] = sender.pid
        receiver.extra["sender_inode"] = sender.info["inode"]
        return receiver

    # -- network namespaces --------------------------------------------------------------------

    def new_netns(self) -> str:
        """A fresh network namespace (loopback up), deleted at cleanup; skips without ip netns."""
        ip = shutil.which("ip")
        require(ip is not None, "ip (iproute2) not found")
        require(os.geteuid() == 0, "ip netns needs root")
        name = f"pd-test-{os.getpid()}-{len(self.netns)}"
        made = subprocess.run([str(ip), "netns", "add", name], capture_output=True, text=True, timeout=60)
        if made.returncode != 0:
            if in_ci():
                raise AssertionError(f"ip netns add failed: {made.stderr.strip()}")
            require(False, f"ip netns add failed: {made.stderr.strip()}")
        self.netns.append(name)
        subprocess.run([str(ip), "-n", name, "link", "set", "lo", "up"], check=True, timeout=60)
        return name

    def cleanup(self) -> None:
        while self.running:
            self.running.pop().stop()
        for name in self.netns:
            subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=60)
        self.netns.clear()
        for d in self.tmpdirs:
            shutil.rmtree(d, ignore_errors=True)
        self.tmpdirs.clear()


def ss_holders(port: int, args: Sequence[str] = ("-Htlnp",)) -> set[int] | None:
    """Pids that ``ss`` reports for sockets on *port* (None when ss is not installed)."""
    import re

    tool = shutil.which("ss")
    if tool is None:
        return None
    out = subprocess.run(
        [tool, *args, f"sport = :{port}"], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    return {int(m) for m in re.findall(r"pid=(\d+)", out)}


def leave_time_wait() -> int:
    """Make a real TIME_WAIT remnant on 127.0.0.1 (the server closes first) and return its port."""
    import socket

    from infra import wait_until

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    port: int = srv.getsockname()[1]
    cli = socket.create_connection(("127.0.0.1", port), timeout=30)
    conn, _ = srv.accept()
    conn.close()  # the server side closes first: its end goes to TIME_WAIT
    wait_until(lambda: cli.recv(1) == b"", message="the client to see EOF")
    cli.close()
    srv.close()
    return port
