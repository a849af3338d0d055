"""portdoctor.pick and ``portdoctor pick``: real sockets, a real registry."""

from __future__ import annotations

import json
import random
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from portdoctor._pick import (
    DEFAULT_RANGE,
    FREE,
    RESERVED,
    REUSED,
    NoFreePort,
    candidates,
    parse_range,
    pick,
    usable,
)
from portdoctor.errors import UsageError
from portdoctor.probe import can_bind
from portdoctor.ranges import BROWSER_RESTRICTED_PORTS, ephemeral_range, why_unsafe
from portdoctor.registry import Registry


@pytest.fixture(autouse=True)
def reg_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never touch the user's registry."""
    path = tmp_path / "registry.sqlite3"
    monkeypatch.setenv("PORTDOCTOR_REGISTRY", str(path))
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portdoctor", *args], capture_output=True, text=True, timeout=120
    )


def good_run(length: int) -> int:
    """A port P such that P..P+length-1 are safe and free right now."""
    ports = list(range(4000, 9900))
    random.shuffle(ports)
    for p in ports:
        run = range(p, p + length)
        if all(why_unsafe(q) is None and usable(q) for q in run):
            return p
    raise AssertionError("no run of safe free ports")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 at a safe port of the default range."""
    port = good_run(3)
    s = socket.create_server(("127.0.0.1", port))
    yield s
    s.close()


@pytest.mark.parametrize(
    ("text", "expected"),
    [("3000-3999", (3000, 3999)), (" 80-80 ", (80, 80)), ("1-65535", (1, 65535))],
)
def test_parse_range(text: str, expected: tuple[int, int]) -> None:
    assert parse_range(text) == expected


@pytest.mark.parametrize("text", ["5000-4000", "abc", "0-10", "1-70000", "-5", "5-", "5", "", "a-b", "1--2"])
def test_parse_range_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_range(text)


@pytest.mark.parametrize(
    "args",
    [
        ["--range", "5000-4000"],
        ["--range", "abc"],
        ["--range", "5000-"],
        ["--near", "0"],
        ["--near", "70000"],
        ["--near", "x"],
        ["--near", "3000", "--range", "4000-5000"],
        ["--name", "no spaces"],
        ["--name", "-dash"],
    ],
)
def test_cli_bad_input(args: list[str], reg_path: Path) -> None:
    out = cli("pick", *args)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and "Traceback" not in out.stderr
    assert not reg_path.exists()


def test_candidates_order() -> None:
    assert list(candidates((10, 15), near=12)) == [12, 13, 14, 15, 11, 10]
    assert list(candidates((10, 15), start=13)) == [13, 14, 15, 10, 11, 12]
    assert list(candidates((10, 12))) == [10, 11, 12]


def test_near_returns_the_port_itself_when_free() -> None:
    p = good_run(2)
    assert pick(near=p, registry=False).port == p


def test_skips_a_port_you_occupy(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    r = pick(near=port, registry=False)
    assert r.port == port + 1  # the closest free one above (good_run checked port+1 and +2)
    assert (r.reason, r.in_use) == (FREE, False)


def test_skips_an_ipv6_only_listener() -> None:
    port = good_run(2)
    try:
        s = socket.create_server(("::1", port), family=socket.AF_INET6)
    except OSError:
        pytest.skip("no IPv6 loopback")
    with s:
        assert pick(near=port, registry=False).port == port + 1


def test_skips_a_udp_port_in_use() -> None:
    port = good_run(2)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", port))
        assert pick(near=port, protocol="udp", registry=False).port == port + 1
        assert pick(near=port, protocol="tcp", registry=False).port == port


def test_goes_below_near_at_the_top_of_the_range(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    lo = port - 5
    r = pick(near=port, range=(lo, port), registry=False)
    assert lo <= r.port < port


def test_never_picks_an_unsafe_port() -> None:
    lo, hi = ephemeral_range()
    for rng in ((1, 1100), (6560, 6700), (3600, 3700), (10070, 10090), (lo - 200, lo + 200)):
        for _ in range(10):
            r = pick(range=rng, registry=False)
            assert why_unsafe(r.port) is None, (rng, r.port)
            assert r.port >= 1024 and r.port not in BROWSER_RESTRICTED_PORTS
            assert not lo <= r.port <= hi
    assert pick(near=6665, registry=False).port not in BROWSER_RESTRICTED_PORTS
    for _ in range(20):
        r = pick(registry=False)
        assert DEFAULT_RANGE[0] <= r.port <= DEFAULT_RANGE[1]
        assert why_unsafe(r.port) is None
        assert can_bind(r.port).ok


def test_no_free_port() -> None:
    with pytest.raises(NoFreePort, match="no free port in 6665-6669/tcp: skipped 5 browser-restricted"):
        pick(range=(6665, 6669), registry=False)
    lo, _ = ephemeral_range()
    out = cli("pick", "--range", f"{lo}-{lo + 9}")
    assert out.returncode == 1
    assert out.stdout == ""
    assert "skipped 10 ephemeral" in out.stderr


def test_name_gives_the_same_port(reg_path: Path) -> None:
    first = pick(name="web")
    assert first.reason == RESERVED and first.reservation is not None and first.reservation.new
    again = pick(name="web")
    assert (again.port, again.reason, again.in_use) == (first.port, REUSED, False)
    assert Registry(reg_path).get("web") is not None


def test_unnamed_pick_avoids_reserved_ports(reg_path: Path) -> None:
    port = good_run(2)
    Registry(reg_path).reserve("svc", port)
    assert pick(near=port).port == port + 1
    assert pick(near=port, registry=False).port == port  # without the registry it is free


def test_busy_reservation_is_kept_and_reported(reg_path: Path) -> None:
    port = good_run(1)
    Registry(reg_path).reserve("api", port)
    with socket.create_server(("127.0.0.1", port)):
        r = pick(name="api")
        assert (r.port, r.reason, r.in_use) == (port, REUSED, True)
        assert any("in use now" in n for n in r.notes)
        out = cli("pick", "--name", "api")
        assert out.returncode == 1
        assert out.stdout == f"{port}\n"
        assert f"port {port} reserved for 'api' is in use now" in out.stderr
    assert Registry(reg_path).get("api").port == port  # type: ignore[union-attr]


def test_cli_prints_only_the_port() -> None:
    out = cli("pick")
    assert out.returncode == 0
    assert out.stdout.strip().isdigit() and out.stdout.count("\n") == 1
    assert out.stderr == ""
    out = cli("pick", "-v", "--name", "web")
    assert out.returncode == 0
    port = int(out.stdout)
    assert out.stderr == f"portdoctor: {port}/tcp: free, now reserved for 'web'\n"
    out = cli("pick", "-v", "--name", "web")
    assert out.stderr == f"portdoctor: {port}/tcp: reserved for 'web' (free now)\n"


def test_cli_json() -> None:
    out = cli("pick", "--json", "--udp", "--name", "dns")
    data = json.loads(out.stdout)
    assert set(data) == {"port", "protocol", "reason", "name", "in_use", "reservation", "notes", "skipped"}
    assert (data["protocol"], data["reason"], data["name"], data["in_use"]) == (
        "udp",
        "reserved",
        "dns",
        False,
    )
    assert data["reservation"]["port"] == data["port"]
    data = json.loads(cli("pick", "--json", "--no-registry").stdout)
    assert (data["reason"], data["name"], data["reservation"]) == ("free", None, None)


def test_cli_near_and_range() -> None:
    p = good_run(2)
    out = cli("pick", "--near", str(p), "--range", f"{p - 10}-{p + 10}", "--no-registry")
    assert (out.returncode, out.stdout) == (0, f"{p}\n")


def test_a_skipped_port_in_use_is_said_in_one_line(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    r = pick(near=port, registry=False)
    assert r.port == port + 1 and r.moved
    assert [k.to_dict() for k in r.skipped] == [
        {"first": port, "last": port, "count": 1, "reason": "in-use", "why": "in use (a bind fails)"}
    ]
    out = cli("pick", "--near", str(port), "--no-registry")
    assert (out.returncode, out.stdout) == (0, f"{port + 1}\n")  # stdout stays the port alone
    assert out.stderr == f"portdoctor: {port + 1} (skipped {port}: in use)\n"
    data = json.loads(cli("pick", "--near", str(port), "--no-registry", "--json").stdout)
    assert data["port"] == port + 1
    assert data["skipped"] == [
        {"first": port, "last": port, "count": 1, "reason": "in-use", "why": "in use (a bind fails)"}
    ]


def test_the_ephemeral_range_is_named_when_the_pick_jumps_over_it() -> None:
    lo, hi = ephemeral_range()
    r = pick(near=lo, registry=False)
    assert not lo <= r.port <= hi
    runs = [k for k in r.skipped if k.reason == "ephemeral"]
    assert [(k.to_dict()["first"], k.to_dict()["last"]) for k in runs] == [(lo, hi)]
    out = cli("pick", "--near", str(lo), "--no-registry")
    assert out.returncode == 0 and int(out.stdout) == r.port
    line = out.stderr.strip()
    assert out.stderr.count("\n") == 1, out.stderr
    assert line.startswith(f"portdoctor: {r.port} (skipped {lo}-{hi}: the kernel's ephemeral range")


def test_the_registry_is_named_when_a_reserved_port_is_skipped(reg_path: Path) -> None:
    port = good_run(2)
    Registry(reg_path).reserve("svc", port)
    out = cli("pick", "--near", str(port))
    assert (out.returncode, out.stdout) == (0, f"{port + 1}\n")
    assert out.stderr == f"portdoctor: {port + 1} (skipped {port}: reserved for 'svc' in the registry)\n"


def test_nothing_is_said_when_the_port_asked_for_is_free() -> None:
    p = good_run(2)
    out = cli("pick", "--near", str(p), "--no-registry")
    assert (out.returncode, out.stdout, out.stderr) == (0, f"{p}\n", "")
    assert json.loads(cli("pick", "--near", str(p), "--no-registry", "--json").stdout)["skipped"] == []
