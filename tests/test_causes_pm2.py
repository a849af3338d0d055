"""pm2 cause: real PM2 daemons (cluster and fork apps), plus parsing of recorded PM2 outputs."""

from __future__ import annotations

import os
from pathlib import Path

from infra import PM2, free_port
from infra import why_json as cli_why
from portdoctor.diagnose import why
from portdoctor.managers import pm2 as pm2mod

FIXTURES = Path(__file__).parent / "fixtures" / "pm2"


def read_environ(name: str) -> dict[str, str]:
    raw = (FIXTURES / name).read_bytes().split(b"\0")
    return dict(x.decode().split("=", 1) for x in raw if b"=" in x)


# -- recorded outputs -------------------------------------------------------------------------


def test_daemon_title() -> None:
    title = (FIXTURES / "cmdline-god-daemon").read_bytes().split(b"\0")[0].decode()
    assert pm2mod.daemon_home(title) == "/tmp/pd-explore-pm2"
    assert pm2mod.is_daemon("PM2 v7.0.4: God", ())  # comm, truncated to 15 bytes
    assert pm2mod.daemon_home("PM2 v7.0.4: God") is None
    assert pm2mod.is_daemon("node", ("node", "/usr/lib/node_modules/pm2/lib/Daemon.js"))
    assert not pm2mod.is_daemon("node", ("node", "server.js"))


def test_parse_jlist() -> None:
    text = "[PM2][WARN] something\n" + (FIXTURES / "jlist-cluster-and-fork.json").read_text()
    apps = {a.name: a for a in pm2mod.parse_jlist(text)}
    web, api = apps["web"], apps["api"]
    assert (web.mode, web.instances, web.pm_id, web.port_env) == ("cluster", 2, 0, "39001")
    assert len(web.pids) == 2 and web.names_port(39001) and not web.names_port(39002)
    assert (api.mode, api.instances, api.pm_id, api.port_env) == ("fork", 1, 1, "39002")


def test_environments_of_app_processes() -> None:
    cluster = pm2mod.process_entry(read_environ("environ-cluster-worker"))
    fork = pm2mod.process_entry(read_environ("environ-fork-app"))
    assert cluster is not None and fork is not None
    apps = {a.name: a for a in pm2mod.group([(11, cluster), (12, fork)])}
    assert apps["web"].mode == "cluster" and apps["web"].port_env == "39001"
    assert apps["api"].mode == "fork" and apps["api"].pm_id == 1 and apps["api"].autorestart
    assert pm2mod.process_entry({"PATH": "/bin"}) is None


def test_match_cluster_apps() -> None:
    a = pm2mod.App("a", 0, "cluster", 2, [10, 11], port_env="3000")
    b = pm2mod.App("b", 2, "cluster", 1, [12], args=["--port", "4000"])
    c = pm2mod.App("c", 3, "cluster", 1, [13])
    f = pm2mod.App("f", 4, "fork", 1, [14], port_env="3000")
    assert pm2mod.App("x", 0, "fork", 1, args=["--port=4000"]).names_port(4000)
    from portdoctor.causes.pm2 import match

    assert match([a, b, c, f], 3000, set(), True) == ([a], False)
    assert match([a, b, c, f], 4000, set(), True) == ([b], False)
    assert match([a, b, c, f], 5000, set(), True) == ([a, b, c], True)  # nobody names it
    assert match([c, f], 5000, set(), True) == ([c], False)  # the only cluster app
    assert match([a, f], 3000, {14}, False) == ([f], False)  # fork: by pid


# -- live PM2 ---------------------------------------------------------------------------------


def test_cluster_app_next_to_another_app(pm2: PM2) -> None:
    port, other_port = free_port(), free_port()
    pm2.start(name="web", instances=2, exec_mode="cluster", port=port)
    pm2.start(name="api", exec_mode="fork", port=other_port)
    god = pm2.god_pid()
    assert god is not None

    d = why(port)
    assert d.cause is not None and d.cause.kind == "pm2", d.cause
    c = d.cause
    assert "PM2 app 'web'" in c.summary and "cluster mode, 2 instances" in c.summary
    details = c.details
    assert details["manager"] == "pm2" and details["shared"] is True
    assert details["daemon_pid"] == god and details["pm2_home"] == str(pm2.home)
    assert [a["name"] for a in details["apps"]] == ["web"]
    assert sorted(details["apps"][0]["pids"]) == sorted(pm2.pids("web"))
    assert c.stop is not None and c.stop.argv == ("pm2", "stop", "web")
    assert c.stop.confirm == ("pm2", "pid", "web")  # free asks the daemon for its pids first
    assert dict(c.stop.env) == {"PM2_HOME": str(pm2.home)} and c.stop.uid == os.geteuid()
    commands = [a.command for a in c.actions]
    assert commands[0] == f"PM2_HOME={pm2.home} pm2 stop web"
    assert f"PM2_HOME={pm2.home} pm2 delete web" in commands
    warning = [a for a in c.actions if not a.safe]
    assert len(warning) == 1 and str(god) in warning[0].description and "'api'" in warning[0].description

    data = cli_why(port)
    cause = data["cause"]
    assert isinstance(cause, dict) and cause["kind"] == "pm2"
    assert cause["details"]["apps"][0]["name"] == "web"
    actions = data["actions"]
    assert isinstance(actions, list) and actions[0]["command"] == f"PM2_HOME={pm2.home} pm2 stop web"


def test_fork_app(pm2: PM2) -> None:
    port = free_port()
    pm2.start(name="solo", exec_mode="fork", port=port)
    (pid,) = pm2.pids("solo")

    d = why(port)
    assert d.cause is not None and d.cause.kind == "pm2", d.cause
    assert [h.pid for h in d.holders] == [pid]
    assert "PM2 app 'solo'" in d.cause.summary and "fork mode" in d.cause.summary
    details = d.cause.details
    assert details["shared"] is False and details["apps"][0]["pids"] == [pid]
    assert details["respawns"] is False  # the fixture starts apps with autorestart: false
    assert d.cause.actions[0].kind == "pm2-stop" and d.cause.actions[0].command.endswith("pm2 stop solo")

    data = cli_why(port)
    assert data["cause"]["kind"] == "pm2"  # type: ignore[index]
    assert data["cause"]["details"]["apps"][0]["pm_id"] is not None  # type: ignore[index]
