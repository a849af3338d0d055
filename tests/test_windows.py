"""Windows: parsing recorded outputs (tests/fixtures/windows/) and the Windows causes on them.

These run everywhere: the parsers are pure, and causes.windows.detect_windows takes its
look-ups as arguments. On a non-Windows machine causes.windows.detect is a no-op (checked too).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from portdoctor._find import Finding
from portdoctor.causes import Context
from portdoctor.causes import windows as wcause
from portdoctor.model import Holder, ProcessRef, Socket
from portdoctor.parsers import windows as win

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "windows"


def text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


# --- netsh excludedportrange ----------------------------------------------------------------


def test_excluded_ranges_with_administered_mark() -> None:
    ranges = win.parse_excluded_ranges(text("netsh-excludedportrange-tcp.txt"))
    assert [(r.first, r.last) for r in ranges] == [
        (5985, 5985), (47001, 47001), (49673, 49772), (50000, 50059), (50060, 50159),
        (50164, 50263), (53286, 53385), (53386, 53485),
    ]  # fmt: skip
    assert [r.first for r in ranges if r.administered] == [50000]
    assert win.excluded_range_of(49700, ranges) == win.ExcludedRange(49673, 49772, False)
    assert win.excluded_range_of(50000, ranges) == win.ExcludedRange(50000, 50059, True)
    assert win.excluded_range_of(49772, ranges) is not None
    assert win.excluded_range_of(49773, ranges) is None


def test_excluded_ranges_without_administered_rows() -> None:
    ranges = win.parse_excluded_ranges(text("netsh-excludedportrange-tcp-no-admin.txt"))
    assert [(r.first, r.last, r.administered) for r in ranges] == [
        (80, 80, False), (5986, 5986, False), (47001, 47001, False), (56638, 56737, False),
        (56738, 56837, False),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "first_rows", "count"),
    [
        ("netsh-excludedportrange-tcp-es.txt", [(1025, 1124), (1125, 1224)], 8),
        ("netsh-excludedportrange-tcp-de.txt", [(4951, 5050), (5051, 5150)], 3),
    ],
)
def test_excluded_ranges_localized_headers(name: str, first_rows: list[tuple[int, int]], count: int) -> None:
    ranges = win.parse_excluded_ranges(text(name))
    assert [(r.first, r.last) for r in ranges[:2]] == first_rows
    assert len(ranges) == count


def test_excluded_ranges_ignores_noise() -> None:
    assert win.parse_excluded_ranges("") == []
    assert (
        win.parse_excluded_ranges("The requested operation requires elevation (Run as administrator).") == []
    )
    assert win.parse_excluded_ranges("  70000  70001\n  10 5\n") == []  # out of range, reversed


# --- netstat -ano, tasklist /svc ------------------------------------------------------------


def test_netstat_ano() -> None:
    rows = win.parse_netstat_ano(text("netstat-ano.txt"))
    by = {(r.protocol, r.family, r.address, r.port, r.state): r.pid for r in rows}
    assert by[("tcp", "ipv4", "0.0.0.0", 80, "LISTEN")] == 4
    assert by[("tcp", "ipv4", "0.0.0.0", 3000, "LISTEN")] == 15236
    assert by[("tcp", "ipv6", "::", 3000, "LISTEN")] == 15236
    assert by[("tcp", "ipv6", "::1", 8080, "LISTEN")] == 9876
    assert by[("tcp", "ipv4", "127.0.0.1", 3000, "TIME_WAIT")] == 0
    assert by[("udp", "ipv4", "0.0.0.0", 5353, "UNCONN")] == 2316
    assert by[("udp", "ipv6", "fe80::1c2d:3e4f:5a6b:7c8d%12", 1900, "UNCONN")] == 5120
    est = [r for r in rows if r.state == "ESTABLISHED"]
    assert [(r.remote_address, r.remote_port, r.pid) for r in est] == [("140.82.112.25", 443, 11240)]
    assert len(rows) == 14


def test_tasklist_svc() -> None:
    svc = win.parse_tasklist_svc(text("tasklist-svc.csv"))
    assert svc[1004] == ["RpcEptMapper", "RpcSs"]
    assert svc[4120] == ["postgresql-x64-16"]
    assert svc[1240][0] == "BrokerInfrastructure" and len(svc[1240]) == 5
    assert 4 not in svc and 15236 not in svc and 0 not in svc  # "N/A"
    assert win.parse_tasklist_svc(text("tasklist-svc-fr.csv")) == {2216: ["W3SVC", "WAS"]}


# --- causes -------------------------------------------------------------------------------


def ctx_for(port: int, holders: list[Holder], listening: bool = True) -> Context:
    sockets = (
        (
            Socket(
                "tcp", "ipv4", "0.0.0.0", port, "LISTEN", inode=1 << 40, holders=tuple(h.pid for h in holders)
            ),
        )
        if listening
        else ()
    )
    finding = Finding(sockets=sockets, holders=tuple(holders), hidden=(), unreadable=frozenset())
    return Context(port=port, protocol="tcp", finding=finding)


def holder(pid: int, name: str, parent: str = "explorer.exe", cmdline: tuple[str, ...] = ()) -> Holder:
    return Holder(pid=pid, ppid=100, name=name, cmdline=cmdline, parents=(ProcessRef(100, parent),))


def recorded_ranges(protocol: str) -> list[win.ExcludedRange]:
    assert protocol == "tcp"
    return win.parse_excluded_ranges(text("netsh-excludedportrange-tcp.txt"))


def recorded_services(pid: int) -> list[str]:
    return win.parse_tasklist_svc(text("tasklist-svc.csv")).get(pid, [])


def test_free_port_in_hyperv_range_is_reserved() -> None:
    cause = wcause.detect_windows(ctx_for(49700, [], listening=False), excluded=recorded_ranges)
    assert cause is not None and cause.kind == "reserved"
    assert "49673-49772" in cause.summary and "10013" in cause.summary
    assert cause.details == {"range": [49673, 49772], "administered": False, "source": "netsh"}
    commands = [a.command for a in cause.actions]
    assert commands[0].startswith("portdoctor pick")
    assert "netsh interface ipv4 show excludedportrange protocol=tcp" in commands
    assert any(c and "net stop winnat" in c and "startport=49700" in c for c in commands)


def test_administered_range_says_so() -> None:
    cause = wcause.detect_windows(ctx_for(50010, [], listening=False), excluded=recorded_ranges)
    assert cause is not None and cause.details["administered"] is True
    assert "administrator" in cause.summary
    assert any(a.command and "delete excludedportrange" in a.command for a in cause.actions)


def test_free_port_outside_ranges_is_not_a_windows_cause() -> None:
    assert wcause.detect_windows(ctx_for(3000, [], listening=False), excluded=recorded_ranges) is None


def test_system_pid_4_is_http_sys() -> None:
    cause = wcause.detect_windows(ctx_for(80, [holder(4, "System", parent="")]), excluded=recorded_ranges)
    assert cause is not None and cause.kind == "windows-service"
    assert cause.details["service"] == "http.sys" and cause.details["protected"] is True
    assert "netsh http show servicestate view=requestq" in [a.command for a in cause.actions]
    assert all(a.kind in ("advice", "pick") for a in cause.actions)  # nothing kills pid 4


def test_service_process() -> None:
    h = holder(4120, "postgres.exe", parent="services.exe")
    cause = wcause.detect_windows(ctx_for(5432, [h]), services=recorded_services)
    assert cause is not None and cause.kind == "windows-service"
    assert cause.details["services"] == ["postgresql-x64-16"]
    assert cause.actions[0].command == "sc stop postgresql-x64-16"
    assert cause.actions[0].kind == "advice"


def test_shared_svchost() -> None:
    cause = wcause.detect_windows(ctx_for(135, [holder(1004, "svchost.exe", "services.exe")]),
                                  services=recorded_services)  # fmt: skip
    assert cause is not None and cause.details["shared"] is True
    assert "several services" in cause.summary


def test_plain_process_is_left_to_the_common_detectors() -> None:
    asked: list[int] = []

    def services(pid: int) -> list[str]:
        asked.append(pid)
        return []

    assert (
        wcause.detect_windows(ctx_for(3000, [holder(15236, "node.exe", "cmd.exe")]), services=services)
        is None
    )
    assert asked == []  # not started by services.exe: no service look-up at all


def test_wsl_relay() -> None:
    cause = wcause.detect_windows(ctx_for(8080, [holder(9876, "wslrelay.exe", "wslhost.exe")]))
    assert cause is not None and cause.kind == "application"
    assert "WSL2" in cause.summary
    commands = [a.command for a in cause.actions]
    assert "wsl -e ss -ltnp 'sport = :8080'" in commands and "wsl --shutdown" in commands
    assert cause.details["protected"] is True


def test_docker_desktop_backend(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A fake `docker` on PATH that prints what `docker ps --format '{{json .}}'` prints.
    row = ('{"ID":"3f2a9c1b7d4e","Image":"nginx:alpine","Names":"web-1","Ports":"0.0.0.0:8088->80/tcp",'
           '"Labels":"com.docker.compose.project=shop,com.docker.compose.service=web"}')  # fmt: skip
    fake = tmp_path / "docker"
    fake.write_text(f"#!/bin/sh\necho '{row}'\n")
    fake.chmod(0o755)
    monkeypatch.setenv(
        "PATH", f"{tmp_path}{':' if sys.platform != 'win32' else ';'}{Path(sys.executable).parent}"
    )
    ctx = ctx_for(8088, [holder(8812, "com.docker.backend.exe")])
    cause = wcause.detect_windows(ctx)
    assert cause is not None and cause.kind == "docker"
    assert cause.details["manager"] == "docker"
    assert cause.details["containers"] == [
        {"id": "3f2a9c1b7d4e", "name": "web-1", "image": "nginx:alpine", "ports": "0.0.0.0:8088->80/tcp",
         "compose_project": "shop", "compose_service": "web"}
    ]  # fmt: skip
    assert cause.stop is not None and cause.stop.argv == ("docker", "stop", "web-1")
    commands = [a.command for a in cause.actions]
    assert commands[:2] == ["docker compose -p shop stop web", "docker stop web-1"]
    assert "docker ps --filter publish=8088" in commands


def test_docker_desktop_without_docker_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker anywhere
    ctx = ctx_for(8088, [holder(8812, "com.docker.backend.exe")])
    cause = wcause.detect_windows(ctx)
    assert cause is not None and cause.kind == "docker"
    assert "published through Docker Desktop" in cause.summary
    assert "stop" not in cause.details and cause.details["protected"] is True
    assert any("docker" in n for n in ctx.notes)


def test_detect_is_a_no_op_off_windows() -> None:
    if sys.platform == "win32":  # pragma: no cover
        pytest.skip("on Windows detect() does the work")
    assert wcause.detect(ctx_for(80, [holder(4, "System")])) is None
