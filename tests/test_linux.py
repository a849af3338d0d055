"""The Linux back-end: sock_diag and /proc/net agree, cgroup and tty parsing, network namespaces."""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
import termios

import pytest

import portdoctor._find as finder
from infra import free_port, wait_until
from servers import Servers, leave_time_wait

if not sys.platform.startswith("linux"):
    pytest.skip("Linux back-end", allow_module_level=True)

from portdoctor.platforms import linux  # noqa: E402


def key(s: object) -> tuple[object, ...]:
    return (
        s.protocol,  # type: ignore[attr-defined]
        s.family,  # type: ignore[attr-defined]
        s.address,  # type: ignore[attr-defined]
        s.port,  # type: ignore[attr-defined]
        s.state,  # type: ignore[attr-defined]
        s.uid,  # type: ignore[attr-defined]
        s.inode,  # type: ignore[attr-defined]
        s.remote_address,  # type: ignore[attr-defined]
        s.remote_port,  # type: ignore[attr-defined]
    )


def both(port: int, protocols: tuple[str, ...]) -> tuple[set[tuple[object, ...]], set[tuple[object, ...]]]:
    own = linux.own_netns()
    netlink = linux._netlink_dump(port, protocols, False, own)
    proc = linux._proc_net("/proc/net", port, protocols, False, own, False)
    return {key(s) for s in netlink}, {key(s) for s in proc}


def has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return os.path.exists("/proc/net/tcp6")


@pytest.mark.parametrize(
    "host, v6only",
    [("127.0.0.1", None), ("0.0.0.0", None), ("::1", True), ("::", False), ("::", True)],
)
def test_netlink_and_proc_agree_tcp(servers: Servers, host: str, v6only: bool | None) -> None:
    if ":" in host and not has_ipv6():
        pytest.skip("no IPv6")
    srv = servers.tcp(host, v6only=v6only, workers=1)
    with socket.create_connection(("::1" if ":" in host else "127.0.0.1", srv.port), timeout=30):
        netlink, proc = both(srv.port, ("tcp",))
        assert netlink == proc
        assert len(netlink) >= 2  # the listener and the accepted connection at least
    [s] = [s for s in linux._netlink_dump(srv.port, ("tcp",), True, None) if s.state == "LISTEN"]
    assert s.inode == srv.inode
    if ":" in host:
        assert s.v6only is v6only
    else:
        assert s.v6only is None


def test_netlink_and_proc_agree_udp(servers: Servers) -> None:
    a = servers.udp()
    netlink, proc = both(a.port, ("udp",))
    assert netlink == proc
    assert {k[4] for k in netlink} == {"UNCONN"}


def test_netlink_and_proc_agree_on_time_wait() -> None:
    port = leave_time_wait()
    netlink, proc = both(port, ("tcp",))
    assert netlink == proc
    assert any(k[4] == "TIME_WAIT" and k[6] == 0 for k in netlink)


def test_netlink_port_filter_is_exact(servers: Servers) -> None:
    a = servers.tcp()
    # a neighbour port on each side must not leak through the kernel filter
    for other in (a.port - 1, a.port + 1):
        got = linux._netlink_dump(other, ("tcp",), False, None)
        assert all(s.port == other for s in got)
        assert a.inode not in {s.inode for s in got}
    got = linux._netlink_dump(a.port, ("tcp",), False, None)
    assert {s.port for s in got} == {a.port}


def test_all_ports_dump_agrees(servers: Servers) -> None:
    a = servers.tcp()
    b = servers.udp()
    own = linux.own_netns()
    netlink = {(s.protocol, s.port, s.inode) for s in linux._netlink_dump(None, ("tcp", "udp"), True, own)}
    proc = {
        (s.protocol, s.port, s.inode)
        for s in linux._proc_net("/proc/net", None, ("tcp", "udp"), True, own, False)
    }
    assert ("tcp", a.port, a.inode) in netlink
    assert ("udp", b.port, b.inode) in netlink
    assert ("tcp", a.port, a.inode) in proc
    assert ("udp", b.port, b.inode) in proc


def test_fallback_when_netlink_is_unavailable(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    srv = servers.tcp(workers=1)
    with_netlink = finder.find(srv.port)

    def refuse(*args: object, **kw: object) -> list[object]:
        raise linux.NetlinkUnavailable(1, "sock_diag unavailable: test")

    monkeypatch.setattr(linux, "_netlink_dump", refuse)
    without = finder.find(srv.port)
    assert [key(s) for s in without.sockets] == [key(s) for s in with_netlink.sockets]
    assert [s.holders for s in without.sockets] == [s.holders for s in with_netlink.sockets]
    assert [h.pid for h in without.holders] == sorted(srv.pids)


def test_parallel_scan_matches_serial(servers: Servers) -> None:
    srv = servers.tcp(workers=2)
    other = servers.reuseport(2)
    pids = linux.all_pids()
    targets = {f"socket:[{i}]": i for i in (srv.inode, *(o.inode for o in other))}
    serial, denied_s = linux._scan(pids, targets, os.geteuid())
    parallel, denied_p = linux._scan_parallel(pids, targets, os.geteuid(), 3)
    assert sorted(serial) == sorted(parallel)
    assert {p for p, i in serial if i == srv.inode} == set(srv.pids)
    # scan_fds with the parallel path forced gives the same complete answer
    old = linux.PARALLEL_THRESHOLD
    try:
        linux.PARALLEL_THRESHOLD = 1
        by_inode, _ = linux.scan_fds(pids, targets.values())
    finally:
        linux.PARALLEL_THRESHOLD = old
    assert sorted(by_inode[srv.inode]) == srv.pids
    assert by_inode[other[0].inode] == [other[0].pid]
    assert by_inode[other[1].inode] == [other[1].pid]


# --- cgroup ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0::/user.slice/user-1000.slice/session-2.scope\n", "/user.slice/user-1000.slice/session-2.scope"),
        ("0::/\n", "/"),
        ("", None),
        ("garbage\n", None),
        (
            "12:pids:/system.slice/nginx.service\n1:name=systemd:/system.slice/nginx.service\n0::/\n",
            "/system.slice/nginx.service",
        ),
        (
            "1:name=systemd:/system.slice/docker-abc.scope\n0::/system.slice/docker-abc.scope\n",
            "/system.slice/docker-abc.scope",
        ),
        ("3:cpu,cpuacct:/a\n2:memory:/b\n", None),
        ("0::/init.scope\n1:name=systemd:/other\n", "/init.scope"),
    ],
)
def test_parse_cgroup(text: str, expected: str | None) -> None:
    assert linux.parse_cgroup(text) == expected


def test_cgroup_of_a_real_process() -> None:
    with open("/proc/self/cgroup") as f:
        expected = linux.parse_cgroup(f.read())
    assert linux.cgroup(os.getpid()) == expected


# --- tty -------------------------------------------------------------------------------------


def encode_dev(major: int, minor: int) -> int:
    """The kernel's new_encode_dev, as /proc/PID/stat prints tty_nr."""
    return (minor & 0xFF) | (major << 8) | ((minor & ~0xFF) << 12)


@pytest.mark.parametrize(
    "major, minor, expected",
    [
        (136, 0, "pts/0"),
        (136, 7, "pts/7"),
        (136, 300, "pts/300"),
        (136, 4095, "pts/4095"),
        (4, 1, "tty1"),
        (4, 63, "tty63"),
        (4, 64, "ttyS0"),
        (4, 65, "ttyS1"),
    ],
)
def test_tty_decoding(major: int, minor: int, expected: str) -> None:
    assert linux._tty_name(encode_dev(major, minor)) == expected


def test_no_tty() -> None:
    assert linux._tty_name(0) is None


def test_tty_of_a_real_process_on_a_pty() -> None:
    master, slave = os.openpty()
    name = os.ttyname(slave)

    def take_ctty() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    proc = subprocess.Popen(
        ["sleep", "120"],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        start_new_session=True,
        preexec_fn=take_ctty,
    )
    try:
        os.close(slave)
        facts = wait_until(lambda: linux.process(proc.pid), message="the process's facts")
        assert "/dev/" + facts.tty == name  # type: ignore[attr-defined, operator]
    finally:
        proc.kill()
        proc.wait(timeout=30)
        os.close(master)


def test_process_without_tty(servers: Servers) -> None:
    srv = servers.tcp()
    facts = linux.process(srv.pid)
    assert facts is not None
    assert facts.tty is None


def test_process_facts_weird_name(servers: Servers) -> None:
    srv = servers.tcp(comm="a) b (c)")
    facts = linux.process(srv.pid)
    assert facts is not None
    assert facts.name == "a) b (c)"
    assert facts.ppid == os.getpid()


def test_a_name_cut_to_15_bytes_is_made_whole_from_argv0(servers: Servers) -> None:
    # What the kernel does to "exec -a /opt/app/my-long-server-name-v2 ..." (or Node's
    # process.title): comm keeps 15 bytes, argv[0] the whole name.
    srv = servers.tcp(argv0="/opt/app/my-long-server-name-v2", comm="my-long-server-")
    facts = linux.process(srv.pid)
    assert facts is not None and facts.name == "my-long-server-name-v2"
    assert [h.name for h in finder.find(srv.port).holders] == ["my-long-server-name-v2"]
    # Only a 15-byte comm that starts the basename: another program's argv[0] is not believed.
    other = servers.tcp(argv0="/opt/app/something-else-entirely", comm="my-long-server-")
    assert linux.process(other.pid).name == "my-long-server-"  # type: ignore[union-attr]
    short = servers.tcp(argv0="/opt/app/short-name-but-longer", comm="short-name")
    assert linux.process(short.pid).name == "short-name"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("comm", "argv", "expected"),
    [
        ("my-long-server-", ["/x/my-long-server-name"], "my-long-server-name"),
        ("my-long-server-", ["my-long-server-name", "--flag"], "my-long-server-name"),
        ("my-long-server-", [], "my-long-server-"),
        ("my-long-server-", ["/x/my-long-server-"], "my-long-server-"),
        ("my-long-server-", ["/x/other"], "my-long-server-"),
        ("my-long", ["/x/my-long-server-name"], "my-long"),
        ("PM2 v5.3.0: God", ["PM2 v5.3.0: God Daemon (/root/.pm2)"], "PM2 v5.3.0: God"),
        # 15 bytes that end in the first byte of "é": it decodes as U+FFFD.
        ("serveur-très-\ufffd", ["/x/serveur-très-éclair"], "serveur-très-éclair"),
        ("my-long-server-", ["/x/my-long-server-" + "x" * 300], "my-long-server-"),  # no file name
    ],
)
def test_full_name(comm: str, argv: list[str], expected: str) -> None:
    from portdoctor.platforms.common import full_name

    assert full_name(comm, argv) == expected


# --- network namespaces ----------------------------------------------------------------------


def test_own_netns() -> None:
    assert linux.own_netns() == os.stat("/proc/self/ns/net").st_ino


def test_listener_in_another_netns(servers: Servers) -> None:
    ns = servers.new_netns()
    port = free_port()
    srv = servers.tcp("0.0.0.0", port=port, netns=ns)
    found = finder.find(port)
    foreign = [s for s in found.sockets if s.foreign_netns]
    assert len(foreign) == 1
    [s] = foreign
    assert s.state == "LISTEN"
    assert s.inode == srv.inode
    assert s.netns is not None and s.netns != linux.own_netns()
    assert s.netns == os.stat(f"/proc/{srv.pid}/ns/net").st_ino
    assert s.holders == (srv.pid,)
    assert not found.in_use  # it does not conflict with a bind in our namespace
    assert not finder.in_use(port)
    # and indeed we can bind it here
    with socket.socket() as mine:
        mine.bind(("0.0.0.0", port))
    # the holder's facts are complete
    [h] = [h for h in found.holders if h.pid == srv.pid]
    assert h.inodes == (srv.inode,)


def test_same_port_here_and_in_another_netns(servers: Servers) -> None:
    ns = servers.new_netns()
    here = servers.tcp("127.0.0.1")
    there = servers.tcp("127.0.0.1", port=here.port, netns=ns)
    found = finder.find(here.port)
    assert found.in_use
    by_inode = {s.inode: s for s in found.sockets if s.state == "LISTEN"}
    assert by_inode[here.inode].holders == (here.pid,)
    assert not by_inode[here.inode].foreign_netns
    assert by_inode[there.inode].holders == (there.pid,)
    assert by_inode[there.inode].foreign_netns
    assert not linux.sockets(here.port, all_netns=False) or all(
        not s.foreign_netns for s in linux.sockets(here.port, all_netns=False)
    )
    assert there.inode not in {s.inode for s in linux.sockets(here.port, all_netns=False)}
