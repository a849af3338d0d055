"""Queries to the managers that own processes (PM2, Docker): shared by the cause detectors and ``free``.

Each module talks to one manager with short timeouts and never starts anything: a manager that
does not answer yields ``None`` and a reason, never an exception or a hang.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

# Cheap evidence tests, so that a detector imports its manager's module (json, subprocess,
# sockets: ~30 ms) only when a holder points at that manager.

# Processes that hold host ports on behalf of containers (Linux userland proxy, the engine
# itself, rootless Docker, Docker Desktop on macOS/Windows).
DOCKER_PROXY_NAMES = frozenset({"docker-proxy"})
DOCKER_ENGINE_NAMES = frozenset(
    {
        "dockerd",
        "com.docker.backend",
        "com.docker.backend.exe",
        "com.docker.vpnkit",
        "vpnkit",
        "vpnkit.exe",
        "vpnkit-bridge",
        "rootlesskit",
    }
)


def may_be_pm2_daemon(name: str, cmdline: Sequence[str]) -> bool:
    """A quick pre-test for PM2's God Daemon (``managers.pm2.is_daemon`` decides)."""
    if name.startswith("PM2 v") or (cmdline and cmdline[0].startswith("PM2 v")):
        return True
    return any(a.endswith("Daemon.js") for a in cmdline)
