"""Windows facts that psutil does not give: excluded port ranges, services, the usual suspects.

Every answer that comes from a command's output has a pure ``parse_*`` function taking the text
(tested on recorded outputs in tests/fixtures/windows/) and a thin runner that calls the command
with a short timeout and returns an empty answer when it cannot.
"""

from __future__ import annotations

import re
from functools import lru_cache

from ..record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

TIMEOUT = 3.0  # seconds for any command we run

# Processes whose listening socket is a port published by Docker Desktop (lower-case names).
DOCKER_DESKTOP = frozenset(
    ("com.docker.backend.exe", "com.docker.proxy.exe", "vpnkit.exe", "com.docker.vpnkit.exe", "dockerd.exe")
)
# WSL2's localhost forwarding: a Windows-side relay for a port listening inside a distribution.
WSL_RELAY = frozenset(("wslrelay.exe",))
# The kernel: sockets of http.sys (IIS, WinRM, SSRS, WCF/HttpListener apps) are held by pid 4.
SYSTEM_PID = 4


class ExcludedRange(Record):
    """One excluded port range: first and last port, and whether an administrator added it."""

    first: int
    last: int
    administered: bool = False  # marked "*": added with netsh ... add excludedportrange

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.first <= port <= self.last


# A data row: two numbers and an optional '*'. Headers are localized ("Start Port", "Puerto de
# inicio", "Startport"...), so rows are recognised by shape, never by header text.
_RANGE_ROW = re.compile(r"^\s*(\d{1,5})\s+(\d{1,5})\s*(\*)?\s*$")


def parse_excluded_ranges(text: str) -> list[ExcludedRange]:
    """Parse ``netsh interface ipv4 show excludedportrange protocol=tcp`` output."""
    out: list[ExcludedRange] = []
    for line in text.splitlines():
        m = _RANGE_ROW.match(line)
        if not m:
            continue
        first, last = int(m.group(1)), int(m.group(2))
        if 0 < first <= last <= 65535:
            out.append(ExcludedRange(first, last, m.group(3) is not None))
    return out


def _run(argv: Sequence[str]) -> str | None:
    """Run a Windows tool found on PATH (no window, short timeout); its stdout, or None."""
    from ..command import find_program, run_command

    exe = find_program(argv[0])
    if exe is None:
        return None
    done = run_command([exe, *argv[1:]], timeout=TIMEOUT, decode=_oem_text)
    return done.stdout if done.ok else None


def _oem_text(raw: bytes) -> str:
    # netsh and tasklist write in the console's OEM code page; digits are ASCII in all of them.
    for encoding in ("utf-8", "mbcs", "cp437"):
        try:
            return raw.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
    return raw.decode("latin-1")


@lru_cache(maxsize=4)
def excluded_ranges(protocol: str = "tcp") -> tuple[ExcludedRange, ...]:
    """Windows' excluded port ranges for ``protocol`` (IPv4 and IPv6 merged), cached."""
    seen: dict[tuple[int, int], ExcludedRange] = {}
    for ip in ("ipv4", "ipv6"):
        text = _run(["netsh", "interface", ip, "show", "excludedportrange", f"protocol={protocol}"])
        for r in parse_excluded_ranges(text or ""):
            old = seen.get((r.first, r.last))
            seen[(r.first, r.last)] = (
                r if old is None else ExcludedRange(r.first, r.last, old.administered or r.administered)
            )
    return tuple(sorted(seen.values(), key=lambda r: (r.first, r.last)))


def excluded_port_ranges() -> list[tuple[int, int]]:
    """(first, last) of every excluded TCP range: the hook for ranges.set_extra_reserved."""
    return [(r.first, r.last) for r in excluded_ranges("tcp")]


def excluded_range_of(port: int, ranges: Sequence[ExcludedRange]) -> ExcludedRange | None:
    """The range that contains ``port``, or None."""
    for r in ranges:
        if port in r:
            return r
    return None


class NetstatRow(Record):
    """One line of ``netstat -ano``."""

    protocol: str  # "tcp" or "udp"
    family: str  # "ipv4" or "ipv6"
    address: str
    port: int
    remote_address: str | None
    remote_port: int | None
    state: str  # LISTEN, ESTABLISHED, TIME_WAIT... (UDP: UNCONN)
    pid: int


_NETSTAT_STATES = {
    "LISTENING": "LISTEN",
    "ESTABLISHED": "ESTABLISHED",
    "TIME_WAIT": "TIME_WAIT",
    "CLOSE_WAIT": "CLOSE_WAIT",
    "SYN_SENT": "SYN_SENT",
    "SYN_RECEIVED": "SYN_RECV",
    "FIN_WAIT_1": "FIN_WAIT1",
    "FIN_WAIT_2": "FIN_WAIT2",
    "LAST_ACK": "LAST_ACK",
    "CLOSING": "CLOSING",
    "CLOSED": "CLOSE",
}


def _split_endpoint(text: str) -> tuple[str, int] | None:
    """ "0.0.0.0:135" / "[::]:135" / "[fe80::1%7]:135" -> (address, port); "*:*" -> None."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        return None
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, int(port)


def parse_netstat_ano(text: str) -> list[NetstatRow]:
    """Parse ``netstat -ano`` (the TCP and UDP rows; headers in any language are skipped)."""
    out: list[NetstatRow] = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 4 or fields[0].upper() not in ("TCP", "UDP"):
            continue
        protocol = fields[0].lower()
        local = _split_endpoint(fields[1])
        if local is None or not fields[-1].isdigit():
            continue
        remote = _split_endpoint(fields[2])
        if protocol == "tcp":
            if len(fields) < 5:
                continue
            state = _NETSTAT_STATES.get(fields[3].upper(), fields[3].upper())
        else:
            state = "UNCONN" if remote is None else "ESTABLISHED"
        family = "ipv6" if fields[1].startswith("[") else "ipv4"
        out.append(
            NetstatRow(
                protocol=protocol,
                family=family,
                address=local[0],
                port=local[1],
                remote_address=remote[0] if remote else None,
                remote_port=remote[1] if remote else None,
                state=state,
                pid=int(fields[-1]),
            )
        )
    return out


def parse_tasklist_svc(text: str) -> dict[int, list[str]]:
    """Parse ``tasklist /svc /fo csv`` into {pid: [service names]} (processes without a
    service, "N/A" in any language, are left out)."""
    import csv
    import io

    out: dict[int, list[str]] = {}
    rows = csv.reader(io.StringIO(text))
    for row in rows:
        if len(row) < 3 or not row[1].strip().isdigit():
            continue  # the header, or a blank line
        services = [s.strip() for s in row[2].split(",") if s.strip()]
        # "N/A" is localized ("N/D", "Nicht zutreffend"...); service names never contain '/'
        # or spaces, so anything else is the "none" marker.
        services = [s for s in services if "/" not in s and " " not in s]
        if services:
            out[int(row[1])] = services
    return out


def services_for_pid(pid: int) -> list[str]:
    """The Windows services running in process ``pid`` (short names), [] when none or unknown."""
    text = _run(["tasklist", "/svc", "/fo", "csv", "/fi", f"PID eq {pid}"])
    if text is not None:
        return parse_tasklist_svc(text).get(pid, [])
    try:  # pragma: no cover - Windows only
        import psutil  # type: ignore[import-untyped, unused-ignore]

        found = []
        for svc in psutil.win_service_iter():  # type: ignore[attr-defined]
            try:
                if svc.pid() == pid:
                    found.append(svc.name())
            except psutil.Error:
                continue
        return found
    except (ImportError, AttributeError, OSError):
        return []
