"""The finding engine against real listeners: every kind of holder, checked against /proc and ss."""

from __future__ import annotations

import json
import os
import pwd
import socket
import subprocess

import pytest

import portdoctor._find as finder
from infra import free_port, holders, wait_until
from portdoctor.model import Holder, Socket
from servers import Servers, leave_time_wait, ss_holders


def listeners(finding: finder.Finding) -> list[Socket]:
    return [s for s in finding.sockets if s.listening and not s.foreign_netns]


def holder(finding: finder.Finding, pid: int) -> Holder:
    for h in finding.holders:
        if h.pid == pid:
            return h
    raise AssertionError(f"pid {pid} not among holders {[h.pid for h in finding.holders]}")


def has_ipv6() -> bool:
    if not socket.has_ipv6 or not os.path.exists("/proc/net/tcp6"):
        return False
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


needs_ipv6 = pytest.mark.skipif(not has_ipv6(), reason="no IPv6 loopback here")


def test_plain_listener_holder_facts(servers: Servers, tmp_path: os.PathLike[str]) -> None:
    cwd = os.path.realpath(tmp_path)
    with open(os.path.join(cwd, "package.json"), "w") as f:
        json.dump({"name": "pd-fixture-app", "version": "1.0.0"}, f)
    srv = servers.tcp(cwd=cwd)
    f = finder.find(srv.port)
    assert f.in_use
    [s] = listeners(f)
    assert (s.protocol, s.family, s.address, s.port, s.state) == (
        "tcp",
        "ipv4",
        "127.0.0.1",
        srv.port,
        "LISTEN",
    )
    assert s.inode == srv.inode
    assert s.uid == os.geteuid()
    assert s.holders == (srv.pid,)
    assert not s.foreign_netns
    h = holder(f, srv.pid)
    assert h.ppid == os.getpid()
    assert h.name == "python3" or h.name.startswith("python")
    assert list(h.cmdline) == srv.argv
    assert h.uid == os.geteuid()
    assert h.user == pwd.getpwuid(os.geteuid()).pw_name
    assert h.cwd == cwd
    assert h.started is not None
    # /proc gives the start time in clock ticks after a boot time rounded to the second.
    assert srv.started_before - 2 <= h.started <= srv.started_after + 2
    assert h.project is not None
    assert (h.project.name, h.project.manifest, h.project.root) == ("pd-fixture-app", "package.json", cwd)
    assert h.inodes == (srv.inode,)
    # parent chain: us first, then our ancestors, up to pid 1
    chain = [p.pid for p in h.parents]
    assert chain[0] == os.getpid()
    assert chain[1] == os.getppid()
    assert chain[-1] == 1
    assert len(set(chain)) == len(chain)
    assert h.parents[0].cmdline and h.parents[0].name


def test_free_port_is_free() -> None:
    port = free_port()
    f = finder.find(port)
    assert not f.in_use
    assert not listeners(f)
    assert not finder.in_use(port) and finder.is_free(port) and not finder.listened(port)


def test_in_use_and_sockets_fast_path(servers: Servers) -> None:
    srv = servers.tcp()
    assert finder.in_use(srv.port) and not finder.is_free(srv.port)
    assert finder.listened(srv.port)  # the socket table alone
    [s] = [s for s in finder.sockets(srv.port) if s.listening]
    assert s.inode == srv.inode
    assert s.holders == ()  # the fast path does not scan fds


def test_only_the_asked_port(servers: Servers) -> None:
    a = servers.tcp()
    b = servers.tcp()
    f = finder.find(a.port)
    assert {s.port for s in f.sockets} == {a.port}
    assert [h.pid for h in f.holders] == [a.pid]
    assert b.pid not in {p for s in f.sockets for p in s.holders}


@needs_ipv6
def test_ipv6_only(servers: Servers) -> None:
    srv = servers.tcp("::1", v6only=True)
    f = finder.find(srv.port)
    [s] = listeners(f)
    assert (s.family, s.address, s.v6only) == ("ipv6", "::1", True)
    assert s.holders == (srv.pid,)
    assert f.in_use


@needs_ipv6
def test_dual_stack(servers: Servers) -> None:
    srv = servers.tcp("::", v6only=False)
    f = finder.find(srv.port)
    [s] = listeners(f)
    assert (s.family, s.address, s.v6only) == ("ipv6", "::", False)
    assert s.holders == (srv.pid,)


def test_ipv4_has_no_v6only(servers: Servers) -> None:
    srv = servers.tcp("0.0.0.0")
    [s] = listeners(finder.find(srv.port))
    assert s.v6only is None
    assert s.address == "0.0.0.0"


def test_udp(servers: Servers) -> None:
    srv = servers.udp()
    f = finder.find(srv.port, ("udp",))
    [s] = listeners(f)
    assert (s.protocol, s.state, s.inode) == ("udp", "UNCONN", srv.inode)
    assert s.holders == (srv.pid,)
    assert f.in_use
    # the TCP side of the same port is free
    assert not finder.find(srv.port).in_use


def test_tcp_and_udp_together(servers: Servers) -> None:
    srv = servers.udp()
    f = finder.find(srv.port, ("tcp", "udp"))
    assert [s.protocol for s in listeners(f)] == ["udp"]


def test_forked_workers_all_hold_one_socket(servers: Servers) -> None:
    srv = servers.tcp(workers=3)
    assert len(srv.pids) == 4
    f = finder.find(srv.port)
    [s] = listeners(f)
    assert s.inode == srv.inode
    assert sorted(s.holders) == srv.pids
    assert sorted(h.pid for h in f.holders) == srv.pids
    for pid in srv.workers:
        h = holder(f, pid)
        assert h.ppid == srv.pid
        assert h.parents[0].pid == srv.pid
        assert h.inodes == (srv.inode,)


def test_reuseport_group_each_socket_its_own_holder(servers: Servers) -> None:
    group = servers.reuseport(3)
    port = group[0].port
    f = finder.find(port)
    socks = listeners(f)
    assert len(socks) == 3
    assert {s.inode for s in socks} == {g.inode for g in group}
    by_inode = {s.inode: s for s in socks}
    for g in group:
        assert by_inode[g.inode].holders == (g.pid,)
        assert holder(f, g.pid).inodes == (g.inode,)
    assert sorted(h.pid for h in f.holders) == sorted(g.pid for g in group)


def test_passed_socket_held_by_the_receiver(servers: Servers) -> None:
    rx = servers.passed_socket()
    sender = int(rx.extra["sender_pid"])  # type: ignore[call-overload]
    assert not os.path.exists(f"/proc/{sender}") or _is_zombie_or_gone(sender)
    assert rx.inode == rx.extra["sender_inode"]
    f = finder.find(rx.port)
    [s] = listeners(f)
    assert s.inode == rx.inode
    assert s.holders == (rx.pid,)
    h = holder(f, rx.pid)
    assert h.ppid != sender
    assert not f.hidden


def _is_zombie_or_gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except OSError:
        return True


def test_own_process_sockets_count() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        f = finder.find(port)
        [sock] = listeners(f)
        assert sock.holders == (os.getpid(),)
        assert sock.inode == os.fstat(s.fileno()).st_ino


def test_time_wait_has_no_holder() -> None:
    port = leave_time_wait()

    def time_wait() -> list[Socket]:
        return [s for s in finder.find(port).sockets if s.state == "TIME_WAIT" and s.port == port]

    [tw] = wait_until(time_wait, timeout=30, message="a TIME_WAIT socket")  # type: ignore[misc]
    assert tw.holders == ()
    assert tw.inode == 0
    assert tw.uid is None
    assert tw.remote_port is not None
    f = finder.find(port)
    assert not f.in_use
    assert not f.hidden  # a remnant is not a hidden holder


def test_established_connection_is_not_a_listener(servers: Servers) -> None:
    srv = servers.tcp()
    with socket.create_connection(("127.0.0.1", srv.port), timeout=30) as c:
        mine = c.getsockname()[1]
        f = finder.find(srv.port)
        states = sorted(s.state for s in f.sockets)
        assert "LISTEN" in states and "ESTABLISHED" in states
        est = [s for s in f.sockets if s.state == "ESTABLISHED"]
        assert all(s.remote_port == mine for s in est)
        # the accepted end is held by nobody in userspace until accept(); the listener's pid only
        # holds the LISTEN socket
        [lst] = listeners(f)
        assert lst.holders == (srv.pid,)


def test_no_stale_cache_between_calls(servers: Servers) -> None:
    port = free_port()
    assert not finder.find(port).in_use
    srv = servers.tcp(port=port)
    f = finder.find(port)
    assert f.in_use
    assert [h.pid for h in f.holders] == [srv.pid]
    srv.stop()
    servers.running.remove(srv)
    wait_until(lambda: not finder.find(port).in_use, timeout=30, message="the port to be free again")
    assert finder.find(port).holders == ()
    again = servers.tcp(port=port)
    assert [h.pid for h in finder.find(port).holders] == [again.pid]


def test_gone_pid_is_no_holder() -> None:
    from portdoctor.inspect import holder as inspect_holder

    p = subprocess.Popen(["true"])
    p.wait()
    assert inspect_holder(p.pid) is None


@pytest.mark.parametrize("kind", ["plain", "workers", "reuseport"])
def test_agrees_with_proc_scan_and_ss(servers: Servers, kind: str) -> None:
    if kind == "plain":
        port = servers.tcp().port
    elif kind == "workers":
        port = servers.tcp(workers=2).port
    else:
        port = servers.reuseport(2)[0].port
    f = finder.find(port)
    mine = {p for s in listeners(f) for p in s.holders}
    assert mine == set(holders(port))  # infra's independent /proc scan
    by_ss = ss_holders(port)
    if by_ss is not None:
        assert mine == by_ss
    for h in f.holders:
        assert h.name == holders(port)[h.pid]


def test_listener_of_another_user_is_seen_by_root(servers: Servers) -> None:
    srv = servers.tcp(user="nobody")
    f = finder.find(srv.port)
    [s] = listeners(f)
    nobody = pwd.getpwnam("nobody").pw_uid
    assert s.uid == nobody
    assert s.holders == (srv.pid,)
    h = holder(f, srv.pid)
    assert (h.uid, h.user) == (nobody, "nobody")
    assert not f.hidden


def test_many_sockets_many_ports_all_ports(servers: Servers) -> None:
    a = servers.tcp()
    b = servers.udp()
    every = finder.find(None, ("tcp", "udp"), listening_only=True)
    got = {(s.protocol, s.port): s for s in every.sockets}
    assert got[("tcp", a.port)].holders == (a.pid,)
    assert got[("udp", b.port)].holders == (b.pid,)
    assert all(s.listening or s.state == "TIME_WAIT" for s in every.sockets)


def test_socket_in_flight_is_hidden_never_free() -> None:
    # A listener whose only reference is an SCM_RIGHTS message not yet received: no process
    # holds it, yet the port is in use.
    a, b = socket.socketpair()
    lst = socket.socket()
    try:
        lst.bind(("127.0.0.1", 0))
        lst.listen()
        port = lst.getsockname()[1]
        inode = os.fstat(lst.fileno()).st_ino
        socket.send_fds(a, [b"x"], [lst.fileno()])
        lst.close()
        f = finder.find(port)
        assert f.in_use
        [s] = listeners(f)
        assert (s.inode, s.holders) == (inode, ())
        [h] = f.hidden
        assert h.inode == inode
        assert h.uid == os.geteuid()
        if os.geteuid() == 0:
            assert "sudo" not in (h.hint or "")  # root already: sudo would show nothing more
    finally:
        a.close()
        b.close()
        lst.close()
