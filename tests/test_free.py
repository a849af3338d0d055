"""portdoctor free: real servers, real signals, the port checked in the kernel's table."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from infra import SERVERS, alive, free_port, holders, kill_session, listening, wait_listening, wait_until
from infra import portdoctor_cli as cli

pytest_plugins = ["infra"]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="starts Linux servers")

TERM_SERVER = SERVERS / "term_server.py"
PREFORK = SERVERS / "prefork_server.py"
RESPAWNER = SERVERS / "respawner.py"
ANCESTOR = SERVERS / "ancestor_holder.py"


class Servers:
    """Starts fixture servers in their own sessions; kills every session at the end."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[str]] = []

    def start(self, script: object, *args: str, port: int) -> subprocess.Popen[str]:
        """Run a fixture script (a .py with this Python, else the program itself) until it listens."""
        argv = [sys.executable, str(script)] if str(script).endswith(".py") else [str(script)]
        proc = subprocess.Popen(
            [*argv, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.procs.append(proc)
        wait_listening(port, what=str(script))
        return proc

    def cleanup(self) -> None:
        for proc in self.procs:
            kill_session(proc.pid, timeout=5.0)
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
            if proc.stdout:
                proc.stdout.close()


@pytest.fixture
def servers() -> object:
    s = Servers()
    try:
        yield s
    finally:
        s.cleanup()


def test_clean_exit_on_sigterm(servers: Servers) -> None:
    port = free_port()
    proc = servers.start(TERM_SERVER, str(port), port=port)
    r = cli("free", str(port), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["port"] == port and data["freed"] is True
    assert data["respawned_by"] is None and data["holders_after"] == []
    actions = [(s["action"], s["pid"], s["result"]) for s in data["steps"]]
    assert ("SIGTERM", proc.pid, "sent") in actions
    assert actions[-1][0] == "verify" and actions[-1][2] == "free"
    assert all(isinstance(s["seconds"], (int, float)) for s in data["steps"])
    assert proc.wait(timeout=30) == 0  # it exited through its own SIGTERM handler: a clean exit
    assert not listening(port)


def test_human_output_lists_steps_with_durations(servers: Servers) -> None:
    port = free_port()
    servers.start(TERM_SERVER, str(port), port=port)
    r = cli("free", str(port))
    assert r.returncode == 0, r.stderr
    assert "SIGTERM" in r.stdout and "released" in r.stdout
    assert f"{port}/tcp is free (" in r.stdout
    assert "s\n" in r.stdout  # durations like 0.01s


def test_ignores_sigterm_without_force_names_the_holder(servers: Servers) -> None:
    port = free_port()
    proc = servers.start(TERM_SERVER, str(port), "ignore", port=port)
    r = cli("free", str(port), "--timeout", "1", "--json")
    assert r.returncode == 1, r.stderr
    data = json.loads(r.stdout)
    assert data["freed"] is False
    assert [h["pid"] for h in data["holders_after"]] == [proc.pid]
    assert str(proc.pid) in data["summary"] and "--force" in data["summary"]
    assert not any(s["action"] == "SIGKILL" for s in data["steps"])
    assert alive(proc.pid) and listening(port)
    human = cli("free", str(port), "--timeout", "0.5")
    assert human.returncode == 1
    assert f"still held by pid {proc.pid}" in human.stdout


def test_ignores_sigterm_with_force_is_killed(servers: Servers) -> None:
    port = free_port()
    proc = servers.start(TERM_SERVER, str(port), "ignore", port=port)
    r = cli("free", str(port), "--timeout", "1", "--force", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["freed"] is True
    kills = [s for s in data["steps"] if s["action"] == "SIGKILL"]
    assert [(s["pid"], s["result"]) for s in kills] == [(proc.pid, "sent")]
    assert proc.wait(timeout=30) == -signal.SIGKILL
    assert not listening(port)


def test_ask_callback_escalates(servers: Servers) -> None:
    from portdoctor._free import free

    port = free_port()
    proc = servers.start(TERM_SERVER, str(port), "ignore", port=port)
    questions: list[str] = []

    def no(question: str) -> bool:
        questions.append(question)
        return False

    result = free(port, timeout=0.5, ask=no)
    assert not result.freed and len(questions) == 1 and str(proc.pid) in questions[0]
    assert alive(proc.pid)
    result = free(port, timeout=0.5, ask=lambda q: True)
    assert result.freed
    assert proc.wait(timeout=30) == -signal.SIGKILL


def test_forked_worker_group(servers: Servers) -> None:
    from portdoctor._free import plan

    port = free_port()
    proc = servers.start(PREFORK, str(port), "2", port=port)
    assert proc.stdout is not None
    workers = [int(p) for p in proc.stdout.readline().split()[1:]]
    wait_until(lambda: set(holders(port)) == {proc.pid, *workers}, message="master and workers hold the port")
    p = plan(port)
    assert [t.pid for t in p.targets if not t.follower] == [proc.pid]  # the master first
    assert sorted(t.pid for t in p.targets if t.follower) == sorted(workers)
    r = cli("free", str(port), "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["freed"] is True
    assert proc.wait(timeout=30) == 0
    for w in workers:
        wait_until(lambda w=w: not alive(w), message=f"worker {w} gone")
    assert not listening(port)


def test_holder_is_portdoctors_ancestor_is_refused() -> None:
    port = free_port()
    r = subprocess.run(
        [sys.executable, str(ANCESTOR), str(port)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 3, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["freed"] is False
    assert any("ancestor of portdoctor" in reason for reason in data["refused"])
    assert data["steps"] == []  # nothing was signalled: we are alive to tell


def test_ancestor_refused_even_with_force() -> None:
    port = free_port()
    r = subprocess.run(
        [sys.executable, str(ANCESTOR), str(port), "--force"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 3, r.stdout + r.stderr


def test_pid_exits_between_diagnosis_and_signal(servers: Servers) -> None:
    from portdoctor._free import execute, plan

    port = free_port()
    proc = servers.start(TERM_SERVER, str(port), port=port)
    p = plan(port)
    assert [t.pid for t in p.targets] == [proc.pid]
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)  # gone (and reaped) before the plan runs
    result = execute(p, timeout=5)
    assert result.freed
    assert [(s.action, s.pid, s.result) for s in result.steps][0] == ("SIGTERM", proc.pid, "already gone")
    assert not listening(port)


def test_zombie_counts_as_gone(servers: Servers) -> None:
    from portdoctor._free import execute, plan

    port = free_port()
    proc = servers.start(TERM_SERVER, str(port), port=port)
    p = plan(port)
    os.kill(proc.pid, signal.SIGKILL)
    wait_until(lambda: not alive(proc.pid), message="a zombie")  # exited, not reaped yet
    result = execute(p, timeout=5)
    assert result.freed and result.steps[0].result == "already gone"


def test_recycled_pid_is_never_signalled(servers: Servers) -> None:
    from portdoctor._free import execute, pin, plan

    port = free_port()
    proc = servers.start(TERM_SERVER, str(port), port=port)
    p = plan(port)
    target = p.targets[0]
    assert target.pid == proc.pid and target.started is not None
    # The same pid with another start time: what a recycled pid looks like to the plan.
    wrong = target.replace(started=target.started - 12.5)
    pinned, why = pin(wrong)
    assert pinned is None and why is not None and "start time differs" in why
    result = execute(p.replace(targets=(wrong,)), timeout=0.5)
    assert not result.freed
    assert result.steps[0].action == "SIGTERM" and "start time differs" in result.steps[0].result
    assert alive(proc.pid) and listening(port)


def test_respawn_names_the_parent(servers: Servers) -> None:
    port = free_port()
    sup = servers.start(RESPAWNER, str(port), port=port)
    first = wait_until(lambda: list(holders(port)), message="the child holds the port")
    assert isinstance(first, list) and sup.pid not in first
    r = cli("free", str(port), "--json")
    assert r.returncode == 1, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["freed"] is False
    by = data["respawned_by"]
    assert by is not None and by["pid"] == sup.pid
    assert by["command"] == f"kill {sup.pid}"
    after = [h["pid"] for h in data["holders_after"]]
    assert after and not set(after) & set(first)
    assert alive(sup.pid) and listening(port)
    human = cli("free", str(port))
    assert human.returncode == 1
    assert "re-bound by" in human.stdout and f"kill {sup.pid}" in human.stdout


def test_dry_run_touches_nothing(servers: Servers) -> None:
    port = free_port()
    proc = servers.start(TERM_SERVER, str(port), port=port)
    r = cli("free", str(port), "--dry-run", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["dry_run"] is True and data["freed"] is False
    assert all(s["result"].startswith("planned") for s in data["steps"])
    assert any(s["action"] == "SIGTERM" and s["pid"] == proc.pid for s in data["steps"])
    assert alive(proc.pid) and listening(port)
    human = cli("free", str(port), "--dry-run")
    assert human.returncode == 0 and "plan (dry run)" in human.stdout and "planned" in human.stdout


def test_several_ports_and_a_free_one(servers: Servers) -> None:
    a, b, idle = free_port(), free_port(), free_port()
    servers.start(TERM_SERVER, str(a), port=a)
    servers.start(TERM_SERVER, str(b), port=b)
    r = cli("free", str(a), str(b), str(idle), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [d["port"] for d in data] == [a, b, idle]
    assert all(d["freed"] for d in data)
    assert data[2]["steps"][0]["result"] == "already free"


def test_other_users_process_needs_force(servers: Servers) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to start a process as another user")
    import shutil

    python = shutil.which("python3", path="/usr/bin:/usr/local/bin:/bin")
    probe = subprocess.run(["su", "nobody", "-s", "/bin/sh", "-c", f"{python} -c pass"], capture_output=True)
    if python is None or probe.returncode != 0:
        pytest.skip("no Python the user nobody can run")
    port = free_port()
    proc = subprocess.Popen(
        [python, str(TERM_SERVER), str(port)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
        user=65534,
        group=65534,
    )
    servers.procs.append(proc)
    wait_listening(port, what="a server run by nobody")
    r = cli("free", str(port), "--json")
    assert r.returncode == 3, r.stdout + r.stderr
    assert any("not you" in reason for reason in json.loads(r.stdout)["refused"])
    assert alive(proc.pid)
    r = cli("free", str(port), "--force", "--json")
    assert r.returncode == 0, r.stdout + r.stderr


def test_pid_1_is_refused() -> None:
    from portdoctor._free import Plan, Target, execute
    from portdoctor.stopplan import _refusals as refusals

    init = Target(1, "init", 0.0)
    p = Plan(port=1, protocol="tcp", in_use=True, targets=(init,), holders=(init,))
    reasons = refusals(p, {}, (), [init], [init], force=True, kind=None)
    assert any("init process" in r for r in reasons)
    from portdoctor.errors import RefusedError

    with pytest.raises(RefusedError):
        execute(p.replace(refused=tuple(reasons)))


def test_bad_input_exit_2() -> None:
    assert cli("free", "70000").returncode == 2
    assert cli("free", "80", "--timeout", "-1").returncode == 2
    assert cli("free").returncode == 2


def test_application_is_protected_without_force(servers: Servers, tmp_path: object) -> None:
    pytest.importorskip("portdoctor.causes.application", reason="the application detector has not landed yet")
    from pathlib import Path

    link = Path(str(tmp_path)) / "redis-server"
    link.symlink_to(sys.executable)  # a process named like Redis: a service the diagnosis protects
    port = free_port()
    proc = servers.start(link, str(TERM_SERVER), str(port), port=port)
    r = cli("free", str(port), "--json")
    assert r.returncode == 3, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert data["cause"] == "application" and data["steps"] == []
    assert any("--force" in reason for reason in data["refused"])
    assert alive(proc.pid)
    human = cli("free", str(port))
    assert human.returncode == 3 and "refused" in human.stderr
    r = cli("free", str(port), "--force", "--json")
    assert r.returncode == 0, r.stdout + r.stderr
    assert proc.wait(timeout=30) == 0


def test_progress_reports_each_step_as_it_completes(servers: Servers) -> None:
    """Each step reaches ``progress`` when it is done: by the time free asks about SIGKILL, the
    SIGTERM and the wait were reported; the steps reported are the result's, in order."""
    from portdoctor import Step, free

    port = free_port()
    proc = servers.start(TERM_SERVER, str(port), "ignore", port=port)
    seen: list[Step] = []
    when_asked: list[list[str]] = []

    def ask(question: str) -> bool:
        when_asked.append([s.action for s in seen])
        return True

    assert free(port, dry_run=True, progress=seen.append).dry_run and seen == []  # nothing done
    result = free(port, timeout=0.5, ask=ask, progress=seen.append)
    assert result.freed and proc.wait(timeout=30) == -signal.SIGKILL
    assert when_asked == [["SIGTERM", "wait"]]
    assert seen == list(result.steps) and [s.action for s in seen][-1] == "verify"


def _pty_run(argv: list[str], answer: bytes, after: str, timeout: float = 60.0) -> tuple[str, str, int]:
    """Run ``argv`` on a pseudo-terminal (stdin, stdout, stderr); once ``after`` has been shown,
    note whether it still runs, and type ``answer``. (output until then, the rest, exit code)"""
    import select
    import time

    master, slave = os.openpty()
    env = {**os.environ, "NO_COLOR": "1", "TERM": "xterm"}
    proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True, env=env)
    os.close(slave)
    seen, rest = b"", b""
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: the other side closed
                    break
                if not data:
                    break
                if after.encode() in seen:
                    rest += data
                else:
                    seen += data
                    if after.encode() in seen:
                        assert proc.poll() is None, "it ended before the answer was typed"
                        os.write(master, answer)
            elif proc.poll() is not None:
                break
        code = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return seen.decode("utf-8", "replace"), rest.decode("utf-8", "replace"), code


def test_on_a_terminal_each_step_is_shown_as_it_completes(servers: Servers) -> None:
    """What a user at a terminal sees: the SIGTERM and the wait as they happen, then the question,
    then the rest. Into a pipe, the table once it is over (as before)."""
    port = free_port()
    proc = servers.start(TERM_SERVER, str(port), "ignore", port=port)
    argv = [sys.executable, "-m", "portdoctor", "free", str(port), "--timeout", "1"]
    before, after, code = _pty_run(argv, b"y\n", after="[y/N]")
    assert code == 0, before + after
    lines = [line.strip() for line in before.replace("\r", "").splitlines() if line.strip()]
    assert lines[0] == f"{port}/tcp", lines
    assert lines[1].startswith(f"SIGTERM   pid {proc.pid} (") and ": sent (" in lines[1], lines
    assert lines[2].startswith("wait") and f"port {port}/tcp: still held (" in lines[2], lines
    assert "STEP" not in before and "Send SIGKILL" in lines[3], lines
    assert f"SIGKILL   pid {proc.pid}" in after and "verify" in after, after
    assert f"{port}/tcp" in after and " is free (" in after, after
    assert proc.wait(timeout=30) == -signal.SIGKILL

    port = free_port()
    servers.start(TERM_SERVER, str(port), port=port)
    piped = cli("free", str(port))
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.splitlines()[1].split() == ["STEP", "TARGET", "RESULT", "TIME"], piped.stdout


def test_json_targets_are_whole_and_the_table_cuts_them_to_the_terminal(servers: Servers) -> None:
    port = free_port()
    tail = "--an-argument-long-enough-to-be-cut=" + "x" * 80
    proc = servers.start(TERM_SERVER, str(port), "clean", tail, port=port)
    whole = f"pid {proc.pid} ({os.path.basename(sys.executable)} {TERM_SERVER} {port} clean {tail})"
    data = json.loads(cli("free", str(port), "--dry-run", "--json").stdout)
    assert [s["target"] for s in data["steps"] if s["pid"] == proc.pid] == [whole, whole]  # SIGTERM, SIGKILL
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}
    piped = cli("free", str(port), "--dry-run", env=env)  # not a terminal: whole lines
    assert whole in piped.stdout
    narrow = cli("free", str(port), "--dry-run", env={**env, "COLUMNS": "80"})
    [term] = [line for line in narrow.stdout.splitlines() if line.split()[:1] == ["SIGTERM"]]
    cell = term.split("  ")[2]  # "  SIGTERM  pid N (python3 ...…  planned"
    assert cell.startswith(f"pid {proc.pid} (") and cell.endswith("…") and len(term) <= 80, term
    assert f"port {port}/tcp " in narrow.stdout  # a port is never cut
    real = cli("free", str(port), "--json")
    assert real.returncode == 0 and whole in [s["target"] for s in json.loads(real.stdout)["steps"]]
