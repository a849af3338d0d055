"""portdoctor.ranges: the facts that make a port a bad pick."""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from portdoctor import ranges
from portdoctor.ranges import (
    BROWSER_RESTRICTED_PORTS,
    ephemeral_range,
    parse_port_list,
    parse_services,
    reserved_ports,
    unprivileged_port_start,
    unsafe_kind,
    well_known_services,
    why_unsafe,
)

LINUX = sys.platform.startswith("linux")


@pytest.fixture(autouse=True)
def fresh() -> Iterator[None]:
    ranges.clear_cache()
    yield
    ranges.set_extra_reserved(None)


def test_browser_restricted_ports() -> None:
    for port in (
        1,
        7,
        9,
        22,
        25,
        69,
        137,
        554,
        989,
        990,
        1719,
        1720,
        1723,
        2049,
        3659,
        4045,
        4190,
        5060,
        5061,
        6000,
        6566,
        6665,
        6666,
        6667,
        6668,
        6669,
        6679,
        6697,
        10080,
    ):
        assert port in BROWSER_RESTRICTED_PORTS, port
    for port in (80, 443, 3000, 5173, 8000, 8080, 6670, 6000 + 1):
        assert port not in BROWSER_RESTRICTED_PORTS, port
    assert 0 not in BROWSER_RESTRICTED_PORTS
    assert len(BROWSER_RESTRICTED_PORTS) == 82


@pytest.mark.skipif(not LINUX, reason="reads /proc/sys/net/ipv4")
def test_ephemeral_range_is_the_kernels() -> None:
    with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
        lo, hi = (int(x) for x in f.read().split())
    assert ephemeral_range() == (lo, hi)


@pytest.mark.skipif(not LINUX, reason="reads /proc/sys/net/ipv4")
def test_kernel_reserved_ports_and_unprivileged_start() -> None:
    with open("/proc/sys/net/ipv4/ip_local_reserved_ports") as f:
        assert reserved_ports() == parse_port_list(f.read())
    with open("/proc/sys/net/ipv4/ip_unprivileged_port_start") as f:
        assert unprivileged_port_start() == int(f.read())


def test_parse_port_list() -> None:
    assert parse_port_list("8080,9000-9002, 7\n") == {7, 8080, 9000, 9001, 9002}
    assert parse_port_list("") == frozenset()
    assert parse_port_list("x,5-3,0,70000,10-z,11") == {11}


def test_parse_services() -> None:
    text = (
        "# comment\n"
        "ssh\t\t22/tcp\t\t\t\t# SSH Remote Login Protocol\n"
        "domain\t\t53/tcp\nDomain\t\t53/udp\n"
        "syslog\t\t514/udp\n"
        "redis\t\t6379/tcp\n"
        "broken line\n"
        "ddp\t\t\t2/ddp\n"
    )
    assert parse_services(text) == {22: "ssh", 53: "domain", 514: "syslog", 6379: "redis"}
    assert parse_services(text, ("tcp",)) == {22: "ssh", 53: "domain", 6379: "redis"}


def test_well_known_services_from_etc_services() -> None:
    services = well_known_services()
    assert services.get(22) == "ssh"
    assert services[5432].startswith("postgres")


def test_well_known_services_without_etc_services(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(ranges, "_SERVICES", str(tmp_path / "missing"))
    ranges.clear_cache()
    services = well_known_services()
    for port, name in (
        (22, "ssh"),
        (25, "smtp"),
        (53, "domain"),
        (80, "http"),
        (443, "https"),
        (3306, "mysql"),
        (5432, "postgresql"),
        (6379, "redis"),
        (27017, "mongodb"),
        (5672, "amqp"),
        (9200, "elasticsearch"),
        (11211, "memcached"),
    ):
        assert services[port] == name
    assert why_unsafe(6379) == "registered to the redis service (/etc/services)"


def test_why_unsafe() -> None:
    assert unsafe_kind(22) in ("privileged", "well-known")
    assert unsafe_kind(6000) == "browser-restricted"
    assert unsafe_kind(10080) == "browser-restricted"
    lo, hi = ephemeral_range()
    assert unsafe_kind(lo) == "ephemeral" and unsafe_kind(hi) == "ephemeral"
    assert "ephemeral range" in (why_unsafe(lo) or "")
    assert unsafe_kind(5432) == "service"
    good = [p for p in range(3000, 10000) if why_unsafe(p) is None]
    assert len(good) > 1000
    assert all(unsafe_kind(p) is None for p in good[:50])


def test_extra_reserved_hook() -> None:
    port = next(p for p in range(7000, 10000) if why_unsafe(p) is None)
    ranges.set_extra_reserved(lambda: [(port, port + 2)])
    assert {port, port + 1, port + 2} <= reserved_ports()
    assert unsafe_kind(port + 1) == "reserved"
    ranges.set_extra_reserved(None)
    assert unsafe_kind(port) is None
