"""listing.listening(): every listener with its holder, one row per (socket, holder), by port."""

from __future__ import annotations

import json
import os
import socket

from infra import free_port
from portdoctor.listing import listening
from servers import Servers


def rows_for(port: int, protocols: tuple[str, ...] = ("tcp",), **kw: bool) -> list[object]:
    return [r for r in listening(protocols, **kw) if r.socket.port == port]


def test_rows_sorted_by_port_and_only_listeners(servers: Servers) -> None:
    servers.tcp()
    servers.tcp()
    with socket.create_connection(("127.0.0.1", servers.running[0].port), timeout=30):
        rows = listening()
    keys = [(r.socket.port, r.socket.protocol, r.socket.family, r.socket.address) for r in rows]
    assert keys == sorted(keys)
    assert all(r.socket.state == "LISTEN" for r in rows)
    assert all(not r.socket.foreign_netns for r in rows)


def test_plain_listener_row(servers: Servers) -> None:
    srv = servers.tcp()
    [row] = rows_for(srv.port)
    assert row.socket.inode == srv.inode  # type: ignore[attr-defined]
    assert row.holder is not None and row.holder.pid == srv.pid  # type: ignore[attr-defined]
    assert row.holder.cmdline == tuple(srv.argv)  # type: ignore[attr-defined]
    assert row.hidden is False  # type: ignore[attr-defined]
    d = row.to_dict()  # type: ignore[attr-defined]
    assert set(d) >= {"socket", "holder", "hidden"}
    json.dumps(d)


def test_forked_workers_one_row_each(servers: Servers) -> None:
    srv = servers.tcp(workers=2)
    rows = rows_for(srv.port)
    assert [r.holder.pid for r in rows] == srv.pids  # type: ignore[attr-defined]
    assert {r.socket.inode for r in rows} == {srv.inode}  # type: ignore[attr-defined]


def test_reuseport_group_one_row_per_socket(servers: Servers) -> None:
    group = servers.reuseport(3)
    rows = rows_for(group[0].port)
    assert sorted((r.socket.inode, r.holder.pid) for r in rows) == sorted(  # type: ignore[attr-defined]
        (g.inode, g.pid) for g in group
    )


def test_udp_rows(servers: Servers) -> None:
    u = servers.udp()
    t = servers.tcp()
    assert rows_for(u.port) == []
    [row] = rows_for(u.port, ("udp",))
    assert (row.socket.protocol, row.socket.state) == ("udp", "UNCONN")  # type: ignore[attr-defined]
    assert row.holder.pid == u.pid  # type: ignore[attr-defined]
    both = listening(("tcp", "udp"))
    got = {(r.socket.protocol, r.socket.port) for r in both}
    assert {("udp", u.port), ("tcp", t.port)} <= got


def test_connected_udp_socket_is_not_a_listener() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as c:
        c.connect(("127.0.0.1", 9))
        port = c.getsockname()[1]
        assert rows_for(port, ("udp",)) == []


def test_hidden_row_for_a_socket_in_flight() -> None:
    a, b = socket.socketpair()
    lst = socket.socket()
    try:
        lst.bind(("127.0.0.1", 0))
        lst.listen()
        port = lst.getsockname()[1]
        socket.send_fds(a, [b"x"], [lst.fileno()])
        lst.close()
        [row] = rows_for(port)
        assert row.holder is None and row.hidden is True  # type: ignore[attr-defined]
    finally:
        a.close()
        b.close()
        lst.close()


def test_other_netns_only_with_all(servers: Servers) -> None:
    ns = servers.new_netns()
    port = free_port()
    srv = servers.tcp("0.0.0.0", port=port, netns=ns)
    assert rows_for(port) == []
    [row] = rows_for(port, all_netns=True)
    assert row.socket.foreign_netns is True  # type: ignore[attr-defined]
    assert row.holder.pid == srv.pid  # type: ignore[attr-defined]
    assert row.socket.netns == os.stat(f"/proc/{srv.pid}/ns/net").st_ino  # type: ignore[attr-defined]


def test_listener_gone_is_gone(servers: Servers) -> None:
    srv = servers.tcp()
    assert rows_for(srv.port)
    srv.stop()
    servers.running.remove(srv)
    assert rows_for(srv.port) == []


def test_ls_json_has_the_whole_command_and_the_table_fits_the_terminal(servers: Servers) -> None:
    from infra import portdoctor_cli
    from portdoctor.render import escape_argv

    srv = servers.tcp()  # python -c <a program of many lines> <spec>: a long command line
    whole = " ".join(srv.argv)
    assert len(whole) > 200
    [row] = [r for r in json.loads(portdoctor_cli("ls", "--json").stdout) if r["socket"]["port"] == srv.port]
    assert row["command"] == whole and row["holder"]["cmdline"] == srv.argv

    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}

    def line_of(out: str) -> tuple[str, str]:
        lines = out.splitlines()
        [line] = [x for x in lines if x.split()[:1] == [str(srv.port)]]
        return line, line[lines[0].index("COMMAND") :]

    line, command = line_of(portdoctor_cli("ls", env=env).stdout)  # a pipe: whole
    assert command == escape_argv(srv.argv)
    line, command = line_of(portdoctor_cli("ls", env={**env, "COLUMNS": "80"}).stdout)
    assert command.endswith("…") and escape_argv(srv.argv).startswith(command[:-1])
    # The line fits, unless other rows' columns leave COMMAND no more than its narrowest width.
    assert len(line) <= 80 or len(command) == 16, line
