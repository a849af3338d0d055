"""macOS facts that psutil does not give: launchd jobs, every socket without root, AirPlay.

Every answer that comes from a command's output has a pure ``parse_*`` function taking the text
(tested on recorded outputs in tests/fixtures/macos/) and a thin runner with a short timeout.
"""

from __future__ import annotations

from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

TIMEOUT = 3.0  # seconds for any command we run

# Since macOS Monterey (12) the AirPlay Receiver runs inside ControlCenter and listens on TCP
# 5000 and 7000 (lsof truncates the name to "ControlCe").
AIRPLAY_PORTS = (5000, 7000)
CONTROL_CENTER_NAMES = frozenset(("ControlCenter", "ControlCe"))
CONTROL_CENTER_APP = "/ControlCenter.app/"
AIRPLAY_FIX = "System Settings > General > AirDrop & Handoff > AirPlay Receiver: off"
AIRPLAY_FIX_MONTEREY = "System Preferences > Sharing > AirPlay Receiver (macOS 12)"

# Processes whose listening socket is a port published by Docker Desktop for Mac.
DOCKER_DESKTOP = frozenset(
    ("com.docker.backend", "com.docker.vpnkit", "vpnkit-bridge", "com.docker.proxy", "vpnkit")
)


def is_control_center(name: str, exe: str | None) -> bool:
    """True for ControlCenter, the process that hosts the AirPlay Receiver."""
    return name in CONTROL_CENTER_NAMES or (exe is not None and CONTROL_CENTER_APP in exe)


def _run(argv: Sequence[str]) -> str | None:
    from ..command import find_program, run_command

    exe = find_program(argv[0])
    if exe is None:
        return None
    done = run_command([exe, *argv[1:]], timeout=TIMEOUT)
    return done.stdout if done.ok else None


# --- launchd --------------------------------------------------------------------------------


class LaunchdJob(Record):
    """One row of ``launchctl list``: a job's label, its pid when running, its last exit status."""

    label: str
    pid: int | None
    status: int | None  # last exit status (negative: killed by that signal)


def parse_launchctl_list(text: str) -> list[LaunchdJob]:
    """Parse ``launchctl list`` (tab-separated ``PID Status Label``; "-" for none)."""
    out: list[LaunchdJob] = []
    for line in text.splitlines():
        fields = line.split(None, 2)
        if len(fields) != 3 or fields[0] == "PID":
            continue
        pid_s, status_s, label = fields
        pid = int(pid_s) if pid_s.isdigit() else None
        try:
            status: int | None = int(status_s)
        except ValueError:
            status = None
        if pid is None and pid_s != "-":
            continue
        out.append(LaunchdJob(label=label.strip(), pid=pid, status=status))
    return out


def launchd_job(pid: int) -> LaunchdJob | None:
    """The launchd job running as ``pid`` in the domains we can list (ours; system as root)."""
    text = _run(["launchctl", "list"])
    if text is None:
        return None
    for job in parse_launchctl_list(text):
        if job.pid == pid:
            return job
    return None


def homebrew_formula(label: str) -> str | None:
    """The Homebrew formula behind a ``homebrew.mxcl.<formula>`` launchd label, or None."""
    prefix = "homebrew.mxcl."
    if not label.startswith(prefix):
        return None
    return label[len(prefix) :] or None


# --- sockets without owners (netstat) -------------------------------------------------------


class NetstatRow(Record):
    """One socket from ``netstat -an`` (no owner: netstat shows every socket to everyone)."""

    protocol: str
    family: str
    address: str
    port: int
    remote_address: str | None
    remote_port: int | None
    state: str


def _split_bsd(text: str) -> tuple[str, int] | None:
    """BSD netstat endpoints put the port after the last dot: "127.0.0.1.5000", "*.5000",
    "fe80::1%lo0.5000"; "*.*" has no port."""
    host, sep, port = text.rpartition(".")
    if not sep or not port.isdigit():
        return None
    if host == "*":
        host = ""
    return host, int(port)


def parse_netstat_an(text: str) -> list[NetstatRow]:
    """Parse macOS ``netstat -an -p tcp`` / ``-p udp`` (rows tcp4/tcp6/tcp46/udp4/udp6/udp46)."""
    out: list[NetstatRow] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 5:
            continue
        proto = fields[0]
        if proto[:3] not in ("tcp", "udp"):
            continue
        protocol = proto[:3]
        local = _split_bsd(fields[3])
        if local is None:
            continue
        remote = _split_bsd(fields[4])
        version = proto[3:]
        family = "ipv6" if "6" in version else "ipv4"
        address = local[0] or ("::" if family == "ipv6" else "0.0.0.0")
        if protocol == "tcp":
            state = fields[5] if len(fields) > 5 else "UNKNOWN"
            state = {
                "SYN_RCVD": "SYN_RECV",
                "FIN_WAIT_1": "FIN_WAIT1",
                "FIN_WAIT_2": "FIN_WAIT2",
                "CLOSED": "CLOSE",
            }.get(state, state)
        else:
            state = "UNCONN" if remote is None else "ESTABLISHED"
        out.append(
            NetstatRow(
                protocol=protocol,
                family=family,
                address=address,
                port=local[1],
                remote_address=(remote[0] or "*") if remote else None,
                remote_port=remote[1] if remote else None,
                state=state,
            )
        )
    return out


def netstat_sockets(protocol: str) -> list[NetstatRow]:
    """Every ``protocol`` socket on the machine, owners unknown (``netstat -an -p PROTO``)."""
    text = _run(["netstat", "-an", "-p", protocol])
    return parse_netstat_an(text or "")


# --- lsof (what users paste; used by the tests to replay real situations) -----------------


class LsofRow(Record):
    """One line of ``lsof -iTCP -sTCP:LISTEN -n -P``."""

    command: str  # truncated to 9 characters by lsof
    pid: int
    user: str
    family: str  # "ipv4" or "ipv6"
    protocol: str
    address: str
    port: int
    state: str | None


def parse_lsof(text: str) -> list[LsofRow]:
    """Parse ``lsof -i -n -P`` output (COMMAND PID USER FD TYPE DEVICE SIZE/OFF NODE NAME)."""
    out: list[LsofRow] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 9 or not fields[1].isdigit() or fields[4] not in ("IPv4", "IPv6"):
            continue
        proto_i = next((i for i, f in enumerate(fields) if f in ("TCP", "UDP")), None)
        if proto_i is None or proto_i + 1 >= len(fields):
            continue
        name = fields[proto_i + 1]
        state = None
        if proto_i + 2 < len(fields):
            state = fields[proto_i + 2].strip("()")
        local = name.split("->", 1)[0]
        host, sep, port = local.rpartition(":")
        if not sep or not port.isdigit():
            continue
        host = host.strip("[]")
        family = "ipv6" if fields[4] == "IPv6" else "ipv4"
        if host == "*":
            host = "::" if family == "ipv6" else "0.0.0.0"
        out.append(
            LsofRow(
                command=fields[0],
                pid=int(fields[1]),
                user=fields[2],
                family=family,
                protocol=fields[proto_i].lower(),
                address=host,
                port=int(port),
                state="LISTEN" if state == "LISTEN" else state,
            )
        )
    return out
