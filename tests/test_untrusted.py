"""Reading and running what other users control: untrusted.py, command.py, hostile CLI input."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from infra import find_tool, other_user, portdoctor_cli
from portdoctor.command import account, find_program, run_command
from portdoctor.untrusted import (
    MAX_FILE,
    cap_fields,
    is_dir_of,
    is_socket_of,
    nul_fields,
    read_file,
    read_proc,
    read_text,
)


def _cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return portdoctor_cli(*args, env={**os.environ, **(env or {})}, timeout=timeout)


# --- untrusted.read_file --------------------------------------------------------------------


def test_read_file_takes_a_regular_file_only(tmp_path: Path) -> None:
    good = tmp_path / "package.json"
    good.write_text('{"name": "shop"}')
    assert read_text(str(good)) == '{"name": "shop"}'

    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    t0 = time.monotonic()
    assert read_file(str(fifo)) is None  # a plain open() would block here for ever
    assert time.monotonic() - t0 < 5

    zero = tmp_path / "zero.json"
    zero.symlink_to("/dev/zero")
    assert read_file(str(zero)) is None  # a link: not followed (and /dev/zero is not regular)

    link = tmp_path / "link.json"
    link.symlink_to(good)
    assert read_file(str(link)) is None  # even a link to a harmless file: never followed

    assert read_file(str(tmp_path)) is None  # a directory
    assert read_file(str(tmp_path / "missing")) is None


def test_read_file_caps_the_size(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    big.write_bytes(b" " * (MAX_FILE + 1))
    assert read_file(str(big)) is None
    assert read_file(str(big), limit=MAX_FILE + 1) is not None
    sparse = tmp_path / "sparse.json"
    with open(sparse, "wb") as f:
        f.truncate(50 << 30)  # 50 GiB of holes: must not be read
    assert read_file(str(sparse)) is None


def test_read_file_of_a_file_that_grows_while_read(tmp_path: Path) -> None:
    path = tmp_path / "growing"
    path.write_bytes(b"x")
    stop = threading.Event()

    def grow() -> None:
        with open(path, "ab") as f:
            while not stop.is_set():
                f.write(b"y" * 65536)

    t = threading.Thread(target=grow)
    t.start()
    try:
        time.sleep(0.05)
        data = read_file(str(path), limit=1 << 20)
        assert data is None or len(data) <= 1 << 20
    finally:
        stop.set()
        t.join()


def test_read_proc_is_capped() -> None:
    data = read_proc(f"/proc/{os.getpid()}/environ", limit=16)
    assert data is not None and len(data) == 16
    assert read_proc("/proc/0/environ") is None


def test_nul_fields_keeps_at_most_the_cap_and_says_so() -> None:
    assert nul_fields(b"a\0b\0c\0", 3) == ["a", "b", "c"]  # exactly the cap: all of them
    assert nul_fields(b"a\0b\0c\0d\0", 3) == ["a", "b", "…"]
    assert nul_fields(b"a\0\0b\0\0", 9) == ["a", "", "b"]  # empty arguments are arguments


def test_cap_fields_cuts_split_fields_as_nul_fields_cuts_the_read_file() -> None:
    """psutil hands over argv and environ already split; the cut must be the Linux back-end's,
    a read of ``size`` bytes split by nul_fields, whatever the fields."""
    import random

    rng = random.Random(10)
    words = ["", "a", "bb", "é", "\udcff", "x" * 17, "€uro"]
    for _ in range(5000):
        fields = [rng.choice(words) for _ in range(rng.choice([0, 1, 2, 3, 5, 9, 20]))]
        most, size = rng.randint(1, 10), rng.randint(0, 60)
        read = b"".join(f.encode("utf-8", "surrogateescape") + b"\0" for f in fields)[:size]
        assert cap_fields(fields, most, size) == nul_fields(read, most), (fields, most, size)
    # It stops at the cap: a generator of a million fields is not consumed.
    taken = []
    endless = (taken.append(i) or "ab" for i in range(1_000_000))
    assert cap_fields(endless, 4, 1 << 20) == ["ab", "ab", "ab", "…"] and len(taken) == 5


def test_socket_and_dir_ownership(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "rpc.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(path))
    try:
        assert is_socket_of(str(path), os.geteuid())
        assert not is_socket_of(str(path), os.geteuid() + 1)
        link = tmp_path / "link.sock"
        link.symlink_to(path)
        assert not is_socket_of(str(link), os.geteuid())
        assert not is_socket_of(str(tmp_path), os.geteuid())
        assert is_dir_of(str(tmp_path), os.geteuid())
        (tmp_path / "dirlink").symlink_to(tmp_path)
        assert not is_dir_of(str(tmp_path / "dirlink"), os.geteuid())
    finally:
        s.close()


# --- command.find_program / run_command ------------------------------------------------------


def _program(d: Path, name: str = "tool") -> Path:
    d.mkdir(parents=True, exist_ok=True)
    p = d / name
    p.write_text("#!/bin/sh\necho ran\n")
    p.chmod(0o755)
    return p


def test_find_program_only_where_no_other_user_can_write(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    safe = _program(tmp_path / "safe")
    (tmp_path / "safe").chmod(0o755)
    assert find_program("tool", path=str(tmp_path / "safe")) == str(safe)

    _program(tmp_path / "open")
    (tmp_path / "open").chmod(0o777)
    assert find_program("tool", path=str(tmp_path / "open")) is None  # others may replace it

    p = _program(tmp_path / "grp")
    (tmp_path / "grp").chmod(0o755)
    p.chmod(0o775)
    os.chown(p, -1, 4242)  # group-writable by a group that is not root's
    assert find_program("tool", path=str(tmp_path / "grp")) is None

    # A relative or empty PATH entry means the current directory: never.
    assert find_program("tool", path=f"safe{os.pathsep}{os.pathsep}") is None
    # A name with a separator came from somewhere else: never looked up.
    assert find_program(str(safe)) is None and find_program("safe/tool", path=str(tmp_path)) is None
    # The first match is what a shell would run: a bad first match is not skipped for a later one.
    assert find_program("tool", path=f"{tmp_path / 'open'}{os.pathsep}{tmp_path / 'safe'}") is None


def test_find_program_checks_where_a_link_leads(tmp_path: Path) -> None:
    tmp_path.chmod(0o755)
    target = _program(tmp_path / "open")
    (tmp_path / "open").chmod(0o777)
    (tmp_path / "bin").mkdir(mode=0o755)
    (tmp_path / "bin" / "tool").symlink_to(target)
    assert find_program("tool", path=str(tmp_path / "bin")) is None


def test_find_program_refuses_another_users_file(tmp_path: Path) -> None:
    user = other_user()
    uid = account_uid(user)
    tmp_path.chmod(0o755)
    p = _program(tmp_path / "theirs")
    (tmp_path / "theirs").chmod(0o755)
    os.chown(p, uid, -1)
    assert find_program("tool", path=str(tmp_path / "theirs")) is None
    os.chown(p, 0, -1)
    os.chown(tmp_path / "theirs", uid, -1)
    assert find_program("tool", path=str(tmp_path / "theirs")) is None


def account_uid(user: str) -> int:
    import pwd

    return pwd.getpwnam(user).pw_uid


def test_run_command_as_another_user(tmp_path: Path) -> None:
    user = other_user()
    who = account(account_uid(user))
    assert who is not None and who.name == user and who.home.startswith("/")
    out = run_command(["/bin/sh", "-c", 'id -u; id -G; echo "$HOME $USER"; pwd'], timeout=30, user=who)
    assert out.ok, out.reason()
    uid, groups, env, cwd = out.stdout.splitlines()
    assert int(uid) == who.uid
    assert set(map(int, groups.split())) == set(who.groups) | {who.gid}
    assert "0" not in groups.split()  # root's groups are dropped
    assert env == f"{who.home} {user}" and cwd == "/"


def test_run_command_as_another_user_passes_none_of_our_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    # A program run as them (their manager's client) can be read by them (/proc/PID/environ,
    # ptrace): what a root shell exported (a token) must not reach it; what it needs does.
    monkeypatch.setenv("PORTDOCTOR_TEST_SECRET", "hunter2")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    who = account(account_uid(other_user()))
    assert who is not None
    out = run_command(["/usr/bin/env"], timeout=30, user=who, env={"PM2_HOME": "/tmp/x"})
    assert out.ok, out.reason()
    env = dict(line.split("=", 1) for line in out.stdout.splitlines() if "=" in line)
    assert "PORTDOCTOR_TEST_SECRET" not in env and "hunter2" not in out.stdout
    assert env["HOME"] == who.home and env["USER"] == who.name and env["PATH"] == os.environ["PATH"]
    assert env["LC_ALL"] == "C.UTF-8" and env["PM2_HOME"] == "/tmp/x"
    mine = run_command(["/usr/bin/env"], timeout=30)  # as ourselves: our environment, as it is
    assert "PORTDOCTOR_TEST_SECRET=hunter2" in mine.stdout


def test_run_command_reports_missing_and_slow_programs(tmp_path: Path) -> None:
    assert run_command([str(tmp_path / "nope")], timeout=5).error is not None
    slow = run_command(["/bin/sleep", "5"], timeout=0.2)
    assert slow.returncode is None and "no answer" in slow.reason()
    assert slow.timed_out and not run_command(["/bin/true"], timeout=5).timed_out
    bad = run_command(["/bin/sh", "-c", "echo boom >&2; exit 3"], timeout=5)
    assert bad.reason() == "exit 3: boom" and not bad.timed_out
    # A crash's trace (node's ends with its version, and "}"): the error line is the reason.
    node = find_tool("node")
    if node is not None:
        script = "require('net').connect('/nonexistent/rpc.sock')"
        crashed = run_command([node, "-e", script], timeout=30)
        assert crashed.reason() == "exit 1: Error: connect ENOENT /nonexistent/rpc.sock", crashed.stderr


def test_run_command_stops_reading_a_flood_and_kills_its_session() -> None:
    # A client that answers with endless output (a hostile daemon it relays) is cut at the cap,
    # as another user when it runs as one: memory stays bounded and the session is killed.
    import resource

    from portdoctor.command import OUTPUT_CAP

    who = account(account_uid(other_user()))
    assert who is not None
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.monotonic()
    flood = run_command(["/bin/sh", "-c", "yes flood & yes flood >&2; wait"], timeout=60, user=who)
    assert time.monotonic() - t0 < 30, "the flood was read until the timeout"
    assert flood.returncode is None and not flood.timed_out
    assert flood.reason() == f"more than {OUTPUT_CAP >> 20} MiB of output"
    grown_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kib < 64 * 1024, grown_kib
    time.sleep(0.2)
    ps = subprocess.run(["ps", "-o", "stat=,comm=", "-u", str(who.uid)], capture_output=True, text=True)
    alive = [line for line in ps.stdout.splitlines() if line.split()[1:] == ["yes"] and line[0] != "Z"]
    assert alive == [], "the flood's session outlived it"  # (a zombie waits for pid 1 to reap it)


def _daemon_script(pid_file: Path, before_answer: str = "") -> str:
    """A command that starts a child in a session of its own, which keeps stdout open, then
    answers (after ``before_answer``)."""
    return (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        f"    open({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
        "    time.sleep(600)\n"
        f"{before_answer}print('answer', flush=True)\n"
    )


def _kill_daemon(pid_file: Path) -> None:
    deadline = time.monotonic() + 10
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    try:
        os.kill(int(pid_file.read_text()), signal.SIGKILL)
    except (OSError, ValueError):
        pass


def test_run_command_does_not_wait_for_a_descendant_that_keeps_its_output(tmp_path: Path) -> None:
    # The command exits; a child it started in a session of its own keeps the pipe open (a
    # daemon that did not close its stdout). The answer is complete: no wait for that child.
    first, second = tmp_path / "first.pid", tmp_path / "second.pid"
    t0 = time.monotonic()
    try:
        out = run_command([sys.executable, "-c", _daemon_script(first)], timeout=20)
        took = time.monotonic() - t0
    finally:
        _kill_daemon(first)
    assert out.ok and out.stdout == "answer\n", out.reason()
    assert took < 10, f"it waited {took:.1f}s for the descendant"
    try:  # a command that itself does not answer still times out, also with such a child
        slow = run_command([sys.executable, "-c", _daemon_script(second, "time.sleep(30); ")], timeout=1)
    finally:
        _kill_daemon(second)
    assert slow.timed_out


# --- hostile input on the command line ------------------------------------------------------


@pytest.mark.parametrize("command", ["why", "check", "free"])
def test_a_5000_digit_port_is_one_line_and_exit_2(command: str) -> None:
    out = _cli(command, "9" * 5000)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.splitlines()) == 1
    assert len(out.stderr) < 300


def test_unrecognized_arguments_are_escaped() -> None:
    out = _cli("ls", "--bogus=\x1b[31mRED\x07")
    assert out.returncode == 2
    assert "\x1b" not in out.stderr and "\x07" not in out.stderr
    assert "\\x1b[31mRED" in out.stderr


def test_registry_on_a_device_is_one_line_at_once() -> None:
    t0 = time.monotonic()
    out = _cli("reserve", "q", env={"PORTDOCTOR_REGISTRY": "/dev/null"})
    assert time.monotonic() - t0 < 8  # the lock wait is 10 s: it must not be reached
    assert out.returncode == 2 and "not a regular file" in out.stderr, out.stderr


def test_registry_on_a_full_disk_says_full(tmp_path: Path) -> None:
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root")
    mnt = tmp_path / "full"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mnt)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        fd = os.open(mnt / "fill", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass  # ENOSPC: full
        finally:
            os.close(fd)
        out = _cli("reserve", "q", env={"PORTDOCTOR_REGISTRY": str(mnt / "reg.db")})
        assert out.returncode == 2 and "disk is full" in out.stderr, out.stderr
        assert "permission" not in out.stderr.lower()
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def test_stop_record_json_shape() -> None:
    from portdoctor.model import Cause, Stop

    c = Cause("pm2", "s", stop=Stop("pm2", ("pm2", "stop", "web"), (("PM2_HOME", "/h"),), uid=5, pids=(1,)))
    want = {"argv": ["pm2", "stop", "web"], "env": {"PM2_HOME": "/h"}, "uid": 5}
    assert c.to_dict()["details"]["stop"] == want
    signals = Cause("reloader", "s", stop=Stop("nodemon", signal_pids=(3, 4)))
    assert signals.to_dict()["details"]["stop"] == {"signal_pids": [3, 4]}
    assert stat.S_ISREG(os.stat(__file__).st_mode)


def test_why_exits_1_when_the_described_bind_fails() -> None:
    from infra import free_port

    port = free_port()
    out = _cli("why", str(port), "--host", "192.0.2.1")  # TEST-NET-1: never an address of ours
    assert out.returncode == 1 and "not an address of this machine" in out.stdout, out.stdout
    assert _cli("why", str(port), "--host", "127.0.0.1").returncode == 0


def test_a_timed_out_command_takes_what_it_started_with_it(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    out = run_command(["/bin/sh", "-c", f"sleep 300 & echo $! > {pidfile}; wait"], timeout=0.5)
    assert out.returncode is None and "no answer" in out.reason()
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        raise AssertionError("the command's own child survived its timeout")
