"""PM2, read-only: its God Daemon, its home, and the apps it runs.

Two sources, cheapest first, and neither runs a program:

- the environment of the daemon's children: PM2 hands every app process its own description
  (``pm2_env`` as JSON in cluster mode, the same fields as plain variables in fork mode), so
  /proc/PID/environ names the app with no subprocess and no risk of starting anything;
- the daemon itself, over its RPC socket (``rpc.sock``, the axon protocol the pm2 CLI speaks):
  ``getMonitorData`` is what ``pm2 jlist`` asks. The pm2 CLI is never run to read: any pm2
  command *starts* a daemon when none answers for its PM2_HOME. The socket is used only when the
  daemon is ours and proven live: it runs as us, its home and socket are ours (no links), and
  ``pm2.pid`` names it.
"""

from __future__ import annotations

import json
import os
import re

from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

TIMEOUT = 3.0  # seconds for an answer from the daemon

# "PM2 v7.0.4: God Daemon (/root/.pm2)"; comm is truncated to 15 bytes: "PM2 v7.0.4: God".
_TITLE = re.compile(r"^PM2 v[\w.\-]+: God(?: Daemon(?: \((?P<home>.*)\))?)?\s*$")


class App(Record):
    """One PM2 app (all the instances that share a name and an exec mode)."""

    name: str
    pm_id: int | None  # the first instance's id
    mode: str  # "cluster" or "fork"
    instances: int
    pids: tuple[int, ...] = ()
    pm_ids: tuple[int, ...] = ()
    port_env: str | None = None  # env PORT
    args: tuple[str, ...] = ()
    autorestart: bool = True
    status: str | None = None

    def names_port(self, port: int) -> bool:
        """True when its env PORT or its arguments name ``port``."""
        if self.port_env is not None and self.port_env.strip() == str(port):
            return True
        text = str(port)
        return any(a == text or a.endswith(("=" + text, ":" + text)) for a in self.args)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (details["apps"] of a pm2 cause)."""
        return {
            "name": self.name,
            "pm_id": self.pm_id,
            "mode": self.mode,
            "instances": self.instances,
            "pids": list(self.pids),
        }


def daemon_home(title: str) -> str | None:
    """The PM2_HOME in a God Daemon's process title, None when not shown."""
    m = _TITLE.match(title.strip())
    return m.group("home") if m and m.group("home") else None


def is_daemon(name: str, cmdline: Sequence[str]) -> bool:
    """True for a PM2 God Daemon (by its process title, or its Daemon.js script)."""
    if _TITLE.match(name.strip()) or (cmdline and _TITLE.match(cmdline[0].strip())):
        return True
    return any(a.replace("\\", "/").endswith("pm2/lib/Daemon.js") for a in cmdline)


def _mode(value: object) -> str:
    return "cluster" if str(value).startswith("cluster") else "fork"


def _as_args(value: object) -> list[str]:
    if isinstance(value, list):
        return [str(a) for a in value]
    if isinstance(value, str) and value:
        return value.split()
    return []


def process_entry(env: Mapping[str, str]) -> dict[str, Any] | None:
    """PM2's description of one app process, from that process's environment (None: not PM2's)."""
    raw = env.get("pm2_env")
    if raw:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if isinstance(data, dict) and "name" in data:
            return data
    if "pm_id" in env and "name" in env:
        return dict(env)
    return None


def _entry_fields(entry: Mapping[str, Any]) -> tuple[str, int | None, str, dict[str, Any]]:
    try:
        pm_id: int | None = int(entry.get("pm_id"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        pm_id = None
    app_env = entry.get("env")
    port_env = entry.get("PORT")
    if isinstance(app_env, dict) and app_env.get("PORT") is not None:
        port_env = app_env.get("PORT")
    extra = {
        "port_env": None if port_env is None else str(port_env),
        "args": _as_args(entry.get("args")),
        "autorestart": str(entry.get("autorestart", True)).lower() not in ("false", "0"),
        "status": entry.get("status"),
    }
    return str(entry.get("name")), pm_id, _mode(entry.get("exec_mode")), extra


def group(entries: Sequence[tuple[int, Mapping[str, Any]]]) -> list[App]:
    """Apps from (pid, pm2_env) pairs, instances of one name grouped together, by pm_id."""
    apps: dict[tuple[str, str], App] = {}
    for pid, entry in sorted(entries, key=lambda e: _entry_fields(e[1])[1] or 0):
        name, pm_id, mode, extra = _entry_fields(entry)
        app = apps.get((name, mode))
        if app is None:
            app = App(name=name, pm_id=pm_id, mode=mode, instances=0, **extra)
        apps[(name, mode)] = app.replace(
            instances=app.instances + 1,
            pids=app.pids + ((pid,) if pid > 0 else ()),
            pm_ids=app.pm_ids + ((pm_id,) if pm_id is not None else ()),
        )
    return list(apps.values())


def apps_from_processes(daemon_pid: int) -> list[App] | None:
    """The running apps of a daemon, from its children's environments (None when unreadable)."""
    from ..platforms import current as platform

    entries: list[tuple[int, dict[str, Any]]] = []
    unreadable = False
    for pid in platform.children(daemon_pid):
        env = platform.environ(pid)
        if env is None:
            unreadable = True
            continue
        entry = process_entry(env)
        if entry is not None:
            entries.append((pid, entry))
    if unreadable and not entries:
        return None
    return group(entries)


def apps_of_list(data: object) -> list[App]:
    """Apps from PM2's process list (``getMonitorData``, what `pm2 jlist` prints)."""
    if not isinstance(data, list):
        raise ValueError("not a PM2 process list")
    entries = []
    for proc in data:
        if isinstance(proc, dict) and isinstance(proc.get("pm2_env"), dict):
            env = dict(proc["pm2_env"])
            env.setdefault("name", proc.get("name"))
            env.setdefault("pm_id", proc.get("pm_id"))
            pid = proc.get("pid")
            entries.append((pid if isinstance(pid, int) else 0, env))
    return group(entries)


def parse_jlist(text: str) -> list[App]:
    """Apps from the output of `pm2 jlist` (one JSON line, maybe among [PM2] log lines)."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("["):
            try:
                data = json.loads(line)
            except ValueError:
                continue
            if isinstance(data, list):
                return apps_of_list(data)
    raise ValueError("no JSON list in `pm2 jlist` output")


def recorded_pid(home: str) -> int | None:
    """The daemon pid in ``home``/pm2.pid (read without following links, size-capped), or None."""
    from ..untrusted import read_file

    data = read_file(os.path.join(home, "pm2.pid"), limit=64)
    try:
        return int(data.strip()) if data else None
    except ValueError:
        return None


def why_not_ask(home: str, daemon_pid: int, daemon_uid: int | None) -> str | None:
    """Why the daemon's RPC socket must not be used (None: it may).

    It may when the daemon runs as us, ``home`` is our directory, ``pm2.pid`` names this daemon
    and ``rpc.sock`` is a socket of ours: then we talk to the live daemon we mean, as ourselves.
    """
    from ..untrusted import is_dir_of, is_socket_of

    me = os.geteuid() if hasattr(os, "geteuid") else None
    if me is None:  # pragma: no cover - Windows: PM2 uses a named pipe
        return "not supported on this platform"
    if daemon_uid != me:
        return "the daemon runs as another user"
    if not is_dir_of(home, me):
        return f"{home} is not a directory of ours"
    if recorded_pid(home) != daemon_pid:
        return f"{home}/pm2.pid does not name pid {daemon_pid}"
    if not is_socket_of(os.path.join(home, "rpc.sock"), me):
        return f"{home}/rpc.sock is not a socket of ours"
    return None


# The axon wire format PM2's RPC uses: a frame is one byte (version 1 << 4 | argument count),
# then each argument as a 4-byte big-endian length and its bytes; "j:" prefixes JSON, "s:" text.
_MAX_ANSWER = 32 << 20


def _frame(*args: bytes) -> bytes:
    out = [bytes([0x10 | len(args)])]
    for a in args:
        out += [len(a).to_bytes(4, "big"), a]
    return b"".join(out)


def _unframe(buf: bytes) -> tuple[list[bytes], int] | None:
    """The arguments of the first whole frame in ``buf`` and its length, None if incomplete."""
    if not buf:
        return None
    argc = buf[0] & 0x0F
    off = 1
    args = []
    for _ in range(argc):
        if len(buf) < off + 4:
            return None
        n = int.from_bytes(buf[off : off + 4], "big")
        if len(buf) < off + 4 + n:
            return None
        args.append(buf[off + 4 : off + 4 + n])
        off += 4 + n
    return args, off


def rpc_call(home: str, method: str, *args: object, timeout: float = TIMEOUT) -> Any:
    """Call ``method`` on the daemon of ``home`` over rpc.sock; raises OSError or ValueError.

    The caller has checked :func:`why_not_ask`. The answer is size-capped and time-limited.
    """
    import socket
    import time

    request = json.dumps({"type": "call", "method": method, "args": list(args)}).encode()
    ident = b"portdoctor:1"
    deadline = time.monotonic() + timeout
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(os.path.join(home, "rpc.sock"))
        s.sendall(_frame(b"j:" + request, b"s:" + ident))
        buf = b""
        while True:
            got = _unframe(buf)
            if got is not None:
                parts, used = got
                buf = buf[used:]
                if parts and parts[-1] == b"s:" + ident:
                    break
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                raise socket.timeout(f"no answer within {timeout:g}s")
            s.settimeout(left)
            chunk = s.recv(1 << 16)
            if not chunk:
                raise ValueError("the daemon closed the connection")
            buf += chunk
            if len(buf) > _MAX_ANSWER:
                raise ValueError("the daemon's answer is too large")
    if not parts or not parts[0].startswith(b"j:"):
        raise ValueError("not a PM2 answer")
    answer = json.loads(parts[0][2:])
    if not isinstance(answer, dict):
        raise ValueError("not a PM2 answer")
    if "error" in answer:
        raise ValueError(f"PM2: {answer['error']}")
    values = answer.get("args")
    return values[0] if isinstance(values, list) and values else None


def daemon_apps(home: str, timeout: float = TIMEOUT) -> list[App]:
    """The apps of the daemon of ``home``, from the daemon itself (what ``pm2 jlist`` shows)."""
    return apps_of_list(rpc_call(home, "getMonitorData", {}, timeout=timeout))


def default_home(user_home: str | None = None) -> str:
    """PM2's default home: ~/.pm2."""
    return os.path.join(user_home or os.path.expanduser("~"), ".pm2")


__all__ = [
    "App",
    "apps_from_processes",
    "apps_of_list",
    "daemon_apps",
    "daemon_home",
    "default_home",
    "group",
    "is_daemon",
    "parse_jlist",
    "process_entry",
    "recorded_pid",
    "rpc_call",
    "why_not_ask",
]
