"""The back-end contract (platforms/contract.py), run on every back-end available here.

Like psutil's test_contracts.py: each back-end goes through the same calls against the same real
processes and sockets, so that one cannot drift from the interface or from the other.
"""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import time
from types import ModuleType

import pytest

from infra import wait_until
from portdoctor.model import Hidden, Socket
from portdoctor.platforms import contract, linux
from portdoctor.platforms.common import GONE, RECYCLED, ProcessFacts
from servers import Servers


def _backends() -> list[ModuleType]:
    found = [linux]
    try:
        from portdoctor.platforms import generic
    except ImportError:  # psutil is optional on Linux
        return found
    return [*found, generic]


BACKENDS = _backends()
IDS = [b.NAME if b is linux else "generic" for b in BACKENDS]
CONTRACT = [
    name
    for name, member in vars(contract.Backend).items()
    if callable(member) and not name.startswith("_")
]


def test_the_contract_names_what_callers_use() -> None:
    assert {"sockets", "attach_holders", "process", "environ", "pin"} <= set(CONTRACT)
    assert len(BACKENDS) == 2, "psutil is installed in the test venv: both back-ends must be checked"


@pytest.mark.parametrize("backend", BACKENDS, ids=IDS)
def test_every_function_of_the_contract_with_its_parameters(backend: ModuleType) -> None:
    assert isinstance(backend.NAME, str) and backend.NAME in ("linux", "macos", "windows", "bsd")
    for name in CONTRACT:
        fn = getattr(backend, name, None)
        assert callable(fn), f"{backend.__name__} lacks {name}()"
        want = [p for p in inspect.signature(getattr(contract.Backend, name)).parameters if p != "self"]
        have = list(inspect.signature(fn).parameters)
        assert have == want, f"{backend.__name__}.{name}{have} != contract {want}"


@pytest.mark.parametrize("backend", BACKENDS, ids=IDS)
def test_sockets_and_holders_of_a_real_listener(backend: ModuleType, servers: Servers) -> None:
    srv = servers.tcp()  # type: ignore[attr-defined]
    found = backend.sockets(srv.port, ("tcp",))
    assert found and all(isinstance(s, Socket) for s in found)
    listeners = [s for s in found if s.listening and s.port == srv.port]
    assert listeners, found
    attached, hidden, denied = backend.attach_holders(listeners)
    assert all(isinstance(h, Hidden) for h in hidden) and isinstance(denied, set)
    assert any(srv.pid in s.holders for s in attached), attached


@pytest.mark.parametrize("backend", BACKENDS, ids=IDS)
def test_process_facts(backend: ModuleType) -> None:
    me = os.getpid()
    facts = backend.process(me)
    assert isinstance(facts, ProcessFacts)
    assert facts.pid == me and facts.ppid == os.getppid()
    assert isinstance(facts.cmdline, tuple) and facts.cmdline
    assert facts.uid == os.geteuid() and facts.user == backend.username(os.geteuid())
    assert facts.started is not None and abs(facts.started - backend.start_time(me)) < 0.01
    assert facts.started <= time.time()
    assert me in backend.all_pids()
    assert backend.cgroup(me) is None or isinstance(backend.cgroup(me), str)
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"], env={**os.environ, "PD_CONTRACT": "yes"}
    )
    try:
        assert child.pid in backend.children(me)
        # (right after fork, before exec, the child still shows our environment)
        wait_until(lambda: (backend.environ(child.pid) or {}).get("PD_CONTRACT") == "yes", timeout=10)
    finally:
        child.kill()
        child.wait()
    assert backend.process(child.pid) is None  # reaped: gone


@pytest.mark.parametrize("backend", BACKENDS, ids=IDS)
def test_pin_signal_alive(backend: ModuleType) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        started = backend.start_time(child.pid)
        held, why = backend.pin(child.pid, started)
        assert held is not None and why is None and held.pid == child.pid
        assert held.alive()
        assert backend.pin(child.pid, (started or 0) - 5) == (None, RECYCLED)  # another start time
        assert held.signal(False) == "sent"
        assert child.wait(timeout=30) != 0
        assert not held.alive()
        held.close()
        assert backend.pin(child.pid, started) == (None, GONE)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


# --- what a process chooses: its command line and environment -------------------------------


def _spawn_waiting(args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    """A process with ``args`` after its script and exactly ``env``; returned once it runs."""
    script = "import sys, time; print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([sys.executable, "-c", script, *args], env=env, stdout=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    return proc


@pytest.mark.parametrize("backend", BACKENDS, ids=IDS)
def test_a_huge_command_line_and_environment_are_capped(backend: ModuleType) -> None:
    """A process picks the size of its argv and environment: every back-end keeps the same capped
    part of them (untrusted.py's limits), and psutil's the same as the Linux back-end's."""
    from portdoctor.untrusted import MAX_CMDLINE, MAX_ENV, MAX_FIELDS, MAX_PROC

    base = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    # Many short fields: the count caps. 100,000 arguments (~300 KB), 10,000 variables.
    many = _spawn_waiting(["ab"] * 100_000, {**base, **{f"PD_{i}": "x" for i in range(10_000)}})
    # Few long ones: the byte caps. 4 arguments of 100 KB, 12 variables of 100 KB (~1.2 MB).
    long = _spawn_waiting(["y" * 100_000] * 4, {**base, **{f"PD_L{i}": "z" * 100_000 for i in range(12)}})
    try:
        facts = backend.process(many.pid)
        assert facts is not None
        assert len(facts.cmdline) == MAX_FIELDS and facts.cmdline[-1] == "…"
        assert facts.cmdline[3:-1] == ("ab",) * (MAX_FIELDS - 4)
        env = backend.environ(many.pid)
        assert env is not None and len(env) == MAX_ENV - 1  # and "…", which is no variable
        assert env["PATH"] == base["PATH"] and env["PD_0"] == "x"

        facts = backend.process(long.pid)
        assert facts is not None
        kept = sum(len(a.encode()) + 1 for a in facts.cmdline)
        assert MAX_CMDLINE - 100_000 < kept <= MAX_CMDLINE + 1, kept  # cut inside an argument
        assert facts.cmdline[-1] == "y" * (len(facts.cmdline[-1])) and len(facts.cmdline[-1]) < 100_000
        env = backend.environ(long.pid)
        assert env is not None
        assert MAX_PROC - 200_000 < sum(len(k) + len(v) + 2 for k, v in env.items()) <= MAX_PROC + 1

        for proc in (many, long):  # the same cut as the Linux back-end's
            theirs, ours = backend.process(proc.pid), linux.process(proc.pid)
            assert theirs is not None and ours is not None and theirs.cmdline == ours.cmdline
            assert backend.environ(proc.pid) == linux.environ(proc.pid)
    finally:
        for proc in (many, long):
            proc.kill()
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()


# --- the writers of a pipe (portdoctor explain reading `cmd 2>&1 | portdoctor explain`) --------


@pytest.mark.parametrize("backend", BACKENDS, ids=IDS)
def test_pipe_writers(backend: ModuleType) -> None:
    """Linux names the processes holding the write end of the pipe we read (not those that only
    read it, not us); psutil lists no pipes, so the generic back-end says [] (the contract)."""
    r, w = os.pipe()
    sleeper = [sys.executable, "-c", "import time; time.sleep(30)"]
    writer = subprocess.Popen(sleeper, stdout=w)
    reader = subprocess.Popen(sleeper, stdin=r)  # holds the read end only
    os.close(w)
    try:
        found = backend.pipe_writers(r)
        if backend is linux:
            assert found == [writer.pid], (found, writer.pid, reader.pid)
        else:
            assert found == []
        with open(os.devnull) as devnull:  # not a pipe: nobody
            assert backend.pipe_writers(devnull.fileno()) == []
    finally:
        for proc in (writer, reader):
            proc.kill()
            proc.wait()
        os.close(r)
    assert backend.pipe_writers(r) == []  # closed: no pipe at all
