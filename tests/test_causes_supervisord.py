"""supervisord cause: a real private supervisord running a program that listens."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from infra import Supervisord, free_port
from portdoctor.causes import supervisord as sd
from portdoctor.diagnose import why


def test_program_of_a_real_supervisord(supervisord: Supervisord) -> None:
    port = free_port()
    supervisord.add_program("web", port=port)
    d = why(port, cwd="/")
    assert d.cause is not None and d.cause.kind == "supervisord", d.cause
    details = d.cause.details
    assert details["manager"] == "supervisord"
    assert details["program"] == "web"
    assert details["supervisord_pid"] == supervisord.pid
    assert details["config"] == str(supervisord.conf)
    stop = d.cause.stop
    assert stop is not None and stop.argv == ("supervisorctl", "-c", str(supervisord.conf), "stop", "web")
    assert stop.confirm == ("supervisorctl", "-c", str(supervisord.conf), "pid", "web")
    assert stop.uid == os.geteuid() and stop.pids[0] == supervisord.program_pid("web")
    assert details["respawns"] is False  # the fixture's programs have autorestart=false
    assert "'web'" in d.cause.summary
    assert d.actions[0].kind == "supervisorctl-stop"
    assert d.actions[0].command == f"supervisorctl -c {supervisord.conf} stop web"
    out = subprocess.run(
        [sys.executable, "-m", "portdoctor", "why", str(port), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert json.loads(out.stdout)["cause"]["details"]["program"] == "web"
    # the advertised command really stops it
    subprocess.run([supervisorctl_path(supervisord), "-c", str(supervisord.conf), "stop", "web"], check=True,
                   capture_output=True, timeout=60)  # fmt: skip
    assert why(port).in_use is False


def supervisorctl_path(s: Supervisord) -> str:
    return s.supervisorctl_bin


def test_config_and_names() -> None:
    assert sd.config_path(["supervisord", "-c", "etc/sd.conf"], "/srv") == "/srv/etc/sd.conf"
    assert sd.config_path(["supervisord", "--configuration=/etc/s.conf"]) == "/etc/s.conf"
    assert sd.config_path(["/usr/bin/python3", "/usr/bin/supervisord", "-n"]) is None
    assert sd.is_supervisord(["/usr/bin/python3", "/usr/bin/supervisord", "-n", "-c", "/etc/x.conf"])
    assert not sd.is_supervisord(["python3", "-m", "http.server"])
    assert sd.process_spec({"SUPERVISOR_PROCESS_NAME": "web"}) == "web"
    env = {"SUPERVISOR_PROCESS_NAME": "web_01", "SUPERVISOR_GROUP_NAME": "web"}
    assert sd.process_spec(env) == "web:web_01"
    assert sd.process_spec({}) is None


def test_autorestart_read_from_included_files(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    conf = tmp_path / "supervisord.conf"
    conf.write_text("[supervisord]\nnodaemon=true\n\n[include]\nfiles = conf.d/*.conf\n")
    (tmp_path / "conf.d" / "a.conf").write_text("[program:a]\ncommand=x\nautorestart=false\n")
    (tmp_path / "conf.d" / "b.conf").write_text("[program:b]\ncommand=x\n")
    assert sd.autorestarts(str(conf), "a") is False
    assert sd.autorestarts(str(conf), "b") is True  # default autorestart=unexpected: a kill restarts it
    assert sd.autorestarts(None, "a") is True
