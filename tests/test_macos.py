"""macOS: parsing recorded outputs (tests/fixtures/macos/) and the macOS causes on them.

The situations are replayed from real `lsof` output: its rows become the sockets and holders
portdoctor would have found, and the macOS detector must name the cause.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from portdoctor._find import Finding
from portdoctor.causes import Context
from portdoctor.causes import macos as mcause
from portdoctor.model import Holder, Socket
from portdoctor.parsers import macos as mac
from portdoctor.platforms import generic

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "macos"


def text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


# --- parsers --------------------------------------------------------------------------------


def test_lsof_listen() -> None:
    rows = mac.parse_lsof(text("lsof-listen.txt"))
    cc = [(r.family, r.address, r.port) for r in rows if r.command == "ControlCe"]
    assert cc == [
        ("ipv4", "0.0.0.0", 7000),
        ("ipv6", "::", 7000),
        ("ipv4", "0.0.0.0", 5000),
        ("ipv6", "::", 5000),
    ]
    assert {r.pid for r in rows if r.command == "ControlCe"} == {433}
    py = [r for r in rows if r.command == "python"]
    assert [(r.pid, r.address, r.port, r.state) for r in py] == [
        (22030, "127.0.0.1", 5001, "LISTEN"), (22034, "127.0.0.1", 5001, "LISTEN"),
    ]  # fmt: skip
    pg = [(r.family, r.address) for r in rows if r.command == "postgres"]
    assert pg == [("ipv6", "::1"), ("ipv4", "127.0.0.1")]
    assert len(rows) == 9


def test_launchctl_list() -> None:
    jobs = mac.parse_launchctl_list(text("launchctl-list.txt"))
    by_label = {j.label: j for j in jobs}
    assert by_label["com.apple.Finder"] == mac.LaunchdJob("com.apple.Finder", 279, 0)
    assert by_label["com.apple.SafariHistoryServiceAgent"].pid is None
    assert by_label["com.apple.quicklook.ThumbnailsAgent"].status == -9
    assert by_label["homebrew.mxcl.postgresql@16"].pid == 901
    assert len(jobs) == 9  # the header is not a job


def test_homebrew_formula() -> None:
    assert mac.homebrew_formula("homebrew.mxcl.postgresql@16") == "postgresql@16"
    assert mac.homebrew_formula("com.apple.Finder") is None


def test_netstat_an_tcp() -> None:
    rows = mac.parse_netstat_an(text("netstat-an-tcp.txt"))
    listen = {(r.family, r.address, r.port) for r in rows if r.state == "LISTEN"}
    assert ("ipv4", "0.0.0.0", 5000) in listen and ("ipv6", "::", 5000) in listen
    assert ("ipv4", "127.0.0.1", 5432) in listen and ("ipv6", "::1", 5432) in listen
    assert ("ipv6", "::", 8080) in listen  # tcp46: dual-stack
    [est] = [r for r in rows if r.state == "ESTABLISHED"]
    assert (est.address, est.port, est.remote_address, est.remote_port) == (
        "192.168.1.23",
        52110,
        "140.82.112.25",
        443,
    )
    assert [r.port for r in rows if r.state == "TIME_WAIT"] == [5001]
    assert len(rows) == 11


def test_netstat_an_udp() -> None:
    rows = mac.parse_netstat_an(text("netstat-an-udp.txt"))
    assert [(r.family, r.address, r.port, r.state) for r in rows] == [
        ("ipv4", "0.0.0.0", 5353, "UNCONN"), ("ipv6", "::", 5353, "UNCONN"),
        ("ipv4", "127.0.0.1", 53, "UNCONN"), ("ipv4", "192.168.1.23", 61234, "ESTABLISHED"),
    ]  # fmt: skip


# --- causes, replayed from lsof -----------------------------------------------------------


def replay(port: int, jobs: str | None = None) -> tuple[Context, dict[int, Holder]]:
    """The Context portdoctor would build on the Mac that printed lsof-listen.txt."""
    rows = [r for r in mac.parse_lsof(text("lsof-listen.txt")) if r.port == port]
    assert rows, f"no lsof row for port {port}"
    full_names = {"ControlCe": "ControlCenter", "com.docke": "com.docker.backend"}
    exes = {"ControlCe": "/System/Library/CoreServices/ControlCenter.app/Contents/MacOS/ControlCenter"}
    holders = {
        r.pid: Holder(pid=r.pid, ppid=1, name=full_names.get(r.command, r.command),
                      exe=exes.get(r.command), uid=501, user=r.user)
        for r in rows
    }  # fmt: skip
    sockets = tuple(
        Socket("tcp", r.family, r.address, r.port, "LISTEN", inode=i + (1 << 40), holders=(r.pid,))
        for i, r in enumerate(rows)
    )
    finding = Finding(sockets=sockets, holders=tuple(holders.values()), hidden=(), unreadable=frozenset())
    ctx = Context(port=port, protocol="tcp", finding=finding, my_uid=501)
    return ctx, holders


def recorded_job(pid: int) -> mac.LaunchdJob | None:
    for job in mac.parse_launchctl_list(text("launchctl-list.txt")):
        if job.pid == pid:
            return job
    return None


@pytest.mark.parametrize("port", [5000, 7000])
def test_airplay_receiver(port: int) -> None:
    ctx, _ = replay(port)
    cause = mcause.detect_macos(ctx, launchd_job=recorded_job)
    assert cause is not None and cause.kind == "application"
    assert "AirPlay Receiver" in cause.summary and "Monterey" in cause.summary
    assert cause.details["protected"] is True
    fix = cause.actions[0]
    assert fix.command is None
    assert "System Settings > General > AirDrop & Handoff > AirPlay Receiver" in fix.description
    assert cause.actions[1].kind == "pick"


def test_launchd_homebrew_job() -> None:
    ctx, _ = replay(5432)
    cause = mcause.detect_macos(ctx, launchd_job=recorded_job)
    assert cause is not None and cause.kind == "launchd"
    assert cause.details["label"] == "homebrew.mxcl.postgresql@16"
    assert cause.details["domain"] == "gui/501"
    assert cause.stop is not None and cause.stop.argv == ("brew", "services", "stop", "postgresql@16")
    commands = [a.command for a in cause.actions]
    assert commands[:2] == [
        "brew services stop postgresql@16",
        "launchctl bootout gui/501/homebrew.mxcl.postgresql@16",
    ]


def test_launchd_not_asked_for_a_shell_child() -> None:
    ctx, holders = replay(5001)
    # python started from a terminal: its parent is the shell, not launchd.
    shell_children = [h.replace(ppid=21999) for h in holders.values()]
    finding = ctx.finding.replace(holders=tuple(shell_children))
    ctx = Context(port=5001, protocol="tcp", finding=finding, my_uid=501)
    asked: list[int] = []

    def job(pid: int) -> mac.LaunchdJob | None:
        asked.append(pid)
        return None

    assert mcause.detect_macos(ctx, launchd_job=job) is None
    assert asked == []


def test_docker_desktop_on_mac(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker CLI: the cause still says what it is
    ctx, _ = replay(8080)
    cause = mcause.detect_macos(ctx, launchd_job=recorded_job)
    assert cause is not None and cause.kind == "docker"
    assert "docker ps --filter publish=8080" in [a.command for a in cause.actions]


def test_detect_is_a_no_op_off_macos() -> None:
    if sys.platform == "darwin":  # pragma: no cover
        pytest.skip("on macOS detect() does the work")
    ctx, _ = replay(5000)
    assert mcause.detect(ctx) is None


def test_hidden_wording_for_macos() -> None:
    # The sentence the generic back-end puts in a Hidden entry on macOS without root.
    assert generic.MACOS_HIDDEN_REASON == "macOS shows other users' sockets only to root"
    assert generic.MACOS_HIDDEN_HINT.format(port=5000) == "sudo portdoctor why 5000"


def test_sockets_of_other_users_become_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    """macOS without root: what netstat lists and our processes do not hold is reported hidden."""
    monkeypatch.setattr(
        mac, "netstat_sockets", lambda protocol: mac.parse_netstat_an(text(f"netstat-an-{protocol}.txt"))
    )
    mine = Socket(
        "tcp",
        "ipv4",
        "0.0.0.0",
        5000,
        "LISTEN",
        inode=generic.socket_key("tcp", "ipv4", "0.0.0.0", 5000, None, None, "LISTEN"),
    )
    merged: dict[int, tuple[Socket, set[int]]] = {mine.inode: (mine, {433})}
    generic._add_unseen(merged, 5000, ("tcp",), False)
    added = [s for s, pids in merged.values() if not pids]
    assert [(s.family, s.address, s.port) for s in added] == [("ipv6", "::", 5000)]  # ours is not repeated
    monkeypatch.setattr(generic, "MACOS", True)
    if not hasattr(generic.os, "geteuid") or generic.os.geteuid() == 0:
        monkeypatch.setattr(generic.os, "geteuid", lambda: 501)
    _, hidden, _ = generic.attach_holders(added)
    [h] = hidden
    assert h.reason.startswith("macOS shows other users' sockets only to root")
    assert h.hint == "sudo portdoctor why 5000"
