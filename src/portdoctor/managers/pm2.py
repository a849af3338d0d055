"""PM2, read-only: its God Daemon, its home, and the apps it runs.

Two sources, cheapest first:

- the environment of the daemon's children: PM2 hands every app process its own description
  (``pm2_env`` as JSON in cluster mode, the same fields as plain variables in fork mode), so
  /proc/PID/environ names the app with no subprocess and no risk of starting anything;
- ``pm2 jlist`` (~160 ms: a node start). Any pm2 command *starts* a daemon when none runs for
  its PM2_HOME, so it is only run while the daemon is alive and its rpc.sock is ours to open.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

TIMEOUT = 3.0  # seconds for `pm2 jlist`

# "PM2 v7.0.4: God Daemon (/root/.pm2)"; comm is truncated to 15 bytes: "PM2 v7.0.4: God".
_TITLE = re.compile(r"^PM2 v[\w.\-]+: God(?: Daemon(?: \((?P<home>.*)\))?)?\s*$")


@dataclass
class App:
    """One PM2 app (all the instances that share a name and an exec mode)."""

    name: str
    pm_id: int | None  # the first instance's id
    mode: str  # "cluster" or "fork"
    instances: int
    pids: list[int] = field(default_factory=list)
    pm_ids: list[int] = field(default_factory=list)
    port_env: str | None = None  # env PORT
    args: list[str] = field(default_factory=list)
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
            app = apps[(name, mode)] = App(name=name, pm_id=pm_id, mode=mode, instances=0, **extra)
        app.instances += 1
        if pid > 0:
            app.pids.append(pid)
        if pm_id is not None:
            app.pm_ids.append(pm_id)
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
                entries = []
                for proc in data:
                    if isinstance(proc, dict) and isinstance(proc.get("pm2_env"), dict):
                        env = dict(proc["pm2_env"])
                        env.setdefault("name", proc.get("name"))
                        env.setdefault("pm_id", proc.get("pm_id"))
                        pid = proc.get("pid")
                        entries.append((pid if isinstance(pid, int) else 0, env))
                return group(entries)
    raise ValueError("no JSON list in `pm2 jlist` output")


def command(daemon_env: Mapping[str, str] | None = None, daemon_exe: str | None = None) -> list[str] | None:
    """How to run pm2: on PATH, else the launcher that started the daemon, run with its node."""
    found = shutil.which("pm2")
    if found:
        return [found]
    launcher = (daemon_env or {}).get("_", "")
    if launcher and os.path.basename(launcher).startswith("pm2") and os.path.exists(launcher):
        script = os.path.realpath(launcher)
        return [daemon_exe, script] if daemon_exe and os.path.exists(daemon_exe) else [script]
    return None


def can_query(home: str, daemon_pid: int) -> bool:
    """True when `pm2 ... ` for this home would talk to the live daemon, not start a new one."""
    try:
        with open(os.path.join(home, "pm2.pid")) as f:
            recorded = int(f.read().strip())
    except (OSError, ValueError):
        recorded = daemon_pid  # the file is optional in pm2-runtime; the socket check decides
    rpc = os.path.join(home, "rpc.sock")
    return recorded == daemon_pid and os.path.exists(rpc) and os.access(rpc, os.R_OK | os.W_OK)


def jlist(home: str, argv0: Sequence[str], timeout: float = TIMEOUT) -> list[App]:
    """Run `pm2 jlist` for ``home``; raises OSError / subprocess.TimeoutExpired / ValueError."""
    env = dict(os.environ)
    env.update(PM2_HOME=home, PM2_SILENT="true", NO_UPDATE_NOTIFIER="1", PM2_DISCRETE_MODE="true")
    proc = subprocess.run(
        [*argv0, "jlist"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return parse_jlist(proc.stdout)


def default_home(user_home: str | None = None) -> str:
    """PM2's default home: ~/.pm2."""
    return os.path.join(user_home or os.path.expanduser("~"), ".pm2")


__all__ = [
    "App",
    "apps_from_processes",
    "can_query",
    "command",
    "daemon_home",
    "default_home",
    "group",
    "is_daemon",
    "jlist",
    "parse_jlist",
    "process_entry",
]
