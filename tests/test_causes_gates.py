"""The gates that spare importing detectors: true whenever their detector could match."""

from __future__ import annotations

import os
import sys

from portdoctor._find import Finding
from portdoctor.causes import Context
from portdoctor.causes.gates import ANNOTATOR_GATES, GATES
from portdoctor.model import Holder, ProcessRef, Socket

# A pid no process has (above the kernel's pid_max limit): nothing of the test runner leaks in.
NO_SUCH_PID = 2**22 + 1
PLAIN = ProcessRef(pid=1, name="init", cmdline=("/sbin/init",))


ME = os.geteuid()


def ctx_with(holder: Holder, port: int = 3000) -> Context:
    sock = Socket(
        protocol="tcp",
        family="ipv4",
        address="0.0.0.0",
        port=port,
        state="LISTEN",
        inode=7,
        holders=(holder.pid,),
    )
    return Context(port=port, protocol="tcp", finding=Finding((sock,), (holder,), ()))


def holder(**kw: object) -> Holder:
    base: dict[str, object] = {
        "pid": NO_SUCH_PID,
        "ppid": 1,
        "name": "node",
        "cmdline": ("node", "server.js"),
        "parents": (PLAIN,),
    }
    base.update(kw)
    return Holder(**base)  # type: ignore[arg-type]


def open_gates(h: Holder) -> set[str]:
    ctx = ctx_with(h)
    # (mismatch's gate makes a real bind of port 3000: tested with real sockets below)
    return {name for name, gate in GATES.items() if name != "mismatch" and gate(ctx)}


HOLDER_GATES = {"reloader", "ide", "application", "duplicate", "orphan", "devserver"}
PLAIN_GATES = {"duplicate", "orphan", "devserver"}


def test_a_plain_process_opens_no_manager_gate() -> None:
    assert open_gates(holder(cgroup="/")) == PLAIN_GATES
    assert open_gates(holder(cgroup="/", uid=ME)) == PLAIN_GATES  # yours: no reloader, IDE, service


def test_reloader_gate() -> None:
    nodemon = ProcessRef(pid=9, name="node", cmdline=("node", "/usr/lib/node_modules/nodemon/bin/nodemon.js"))
    assert "reloader" in open_gates(holder(cgroup="/", uid=ME, parents=(nodemon, PLAIN)))
    reload = ("/v/bin/python3", "/v/bin/uvicorn", "app:app", "--reload")
    assert "reloader" in open_gates(holder(cgroup="/", uid=ME, name="python3", cmdline=reload))
    # another user's: the reloader detector speaks only of yours ('application' speaks for theirs)
    theirs = open_gates(holder(cgroup="/", uid=ME + 1, parents=(nodemon, PLAIN)))
    assert "reloader" not in theirs and "application" in theirs


def test_ide_gate() -> None:
    code = ProcessRef(pid=9, name="code", cmdline=("/usr/share/code/code", "--type=utility"))
    assert "ide" in open_gates(holder(cgroup="/", uid=ME, parents=(code, PLAIN)))
    debugpy = ("/usr/bin/python3", "-m", "debugpy", "--listen", "5678", "app.py")
    assert "ide" in open_gates(holder(cgroup="/", uid=ME, name="python3", cmdline=debugpy))
    assert "ide" not in open_gates(holder(cgroup="/", uid=ME + 1, parents=(code, PLAIN)))


def test_application_gate() -> None:
    assert "application" in open_gates(holder(cgroup="/", uid=ME, name="nginx", cmdline=("nginx: master",)))
    java = ("java", "-cp", "/x", "org.elasticsearch.bootstrap.Elasticsearch")
    assert "application" in open_gates(holder(cgroup="/", uid=ME, name="java", cmdline=java))
    assert "application" in open_gates(holder(cgroup="/", uid=ME + 1))


def test_privileged_annotator_gate() -> None:
    from portdoctor.ranges import unprivileged_port_start

    gate = ANNOTATOR_GATES["privileged"]
    start = unprivileged_port_start()
    assert not gate(ctx_with(holder(), port=max(start, 1)))
    if start > 1:
        assert gate(ctx_with(holder(), port=start - 1)) == (sys.platform != "win32")


def test_no_holder_opens_no_gate() -> None:
    # A free port, or one whose holder cannot be seen: no detector that reads holders is imported.
    sock = Socket(protocol="tcp", family="ipv4", address="0.0.0.0", port=3000, state="LISTEN", inode=7)
    ctx = Context(port=3000, protocol="tcp", finding=Finding((sock,), (), ()))
    assert {name for name, gate in GATES.items() if gate(ctx)} & HOLDER_GATES == set()


def test_docker_gate() -> None:
    assert "docker" in open_gates(holder(name="docker-proxy", cgroup="/"))
    assert "docker" in open_gates(holder(cgroup="/system.slice/docker-" + "a" * 64 + ".scope"))
    shim = ProcessRef(
        pid=9, name="containerd-shim", cmdline=("containerd-shim-runc-v2", "-namespace", "moby")
    )
    assert "docker" in open_gates(holder(cgroup="/", parents=(shim, PLAIN)))


def test_pm2_gate() -> None:
    god = ProcessRef(pid=9, name="PM2 v7.0.4: God", cmdline=("PM2 v7.0.4: God Daemon (/root/.pm2)",))
    assert "pm2" in open_gates(holder(cgroup="/", parents=(god, PLAIN)))
    assert "pm2" in open_gates(
        holder(name="PM2 v5.3.0: God", cmdline=("PM2 v5.3.0: God Daemon (/x)",), cgroup="/")
    )


def test_supervisord_gate() -> None:
    sd = ProcessRef(
        pid=9, name="python3", cmdline=("/usr/bin/python3", "/usr/bin/supervisord", "-c", "/etc/s.conf")
    )
    assert "supervisord" in open_gates(holder(cgroup="/", parents=(sd, PLAIN)))


def test_systemd_gate() -> None:
    assert "systemd" in open_gates(holder(cgroup="/system.slice/myapp.service"))
    assert "systemd" in open_gates(
        holder(pid=1, name="systemd", cmdline=("/lib/systemd/systemd",), cgroup="/")
    )


def test_platform_gates_follow_the_platform() -> None:
    opened = open_gates(holder(cgroup="/"))
    assert ("windows" in opened) == (sys.platform == "win32")
    assert ("macos" in opened) == (sys.platform == "darwin")


def test_mismatch_gate_opens_only_where_the_detector_can_speak() -> None:
    """Closed for a plain 'why PORT' of a port a listener blocks (the detector says nothing
    there); open for a described bind and for a bind that works beside the listener."""
    import socket

    from portdoctor._find import find

    gate = GATES["mismatch"]
    with socket.socket() as wild:
        wild.bind(("0.0.0.0", 0))
        wild.listen()
        port = wild.getsockname()[1]
        finding = find(port)
        assert not gate(Context(port=port, protocol="tcp", finding=finding))
        assert gate(Context(port=port, protocol="tcp", finding=finding, host="127.0.0.1"))
    with socket.socket(socket.AF_INET6) as v6only:
        # An IPv6-only listener: the plain (IPv4 wildcard) bind works beside it; the detector
        # notes that a dual-stack bind would not.
        v6only.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        v6only.bind(("::", 0))
        v6only.listen()
        port = v6only.getsockname()[1]
        ctx = Context(port=port, protocol="tcp", finding=find(port))
        assert gate(ctx)
        from portdoctor.causes import mismatch

        assert mismatch.detect(ctx) is None and any("IPv6-only" in n for n in ctx.notes)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    assert not gate(Context(port=port, protocol="tcp", finding=find(port)))  # nothing listens
