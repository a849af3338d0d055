"""The `portdoctor` command, run as a real subprocess: why, ls, check, the short forms, bad input,
colour rules, escaping, JSON schema, and what an unprivileged user sees."""

from __future__ import annotations

import errno
import json
import os
import pwd
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from infra import free_port
from portdoctor.cli import COMMANDS
from servers import Servers, leave_time_wait, python_for, setpriv

SRC = str(Path(__file__).resolve().parent.parent / "src")
TIMEOUT = 120


def env(**extra: str) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    e["PYTHONPATH"] = SRC
    e.update(extra)
    return e


def pd(
    *args: str, environ: dict[str, str] | None = None, user: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run portdoctor (python -m portdoctor, this checkout) and capture its output."""
    prefix: list[str] = []
    python = sys.executable
    e = environ or env()
    if user is not None:
        prefix = setpriv(user)
        python = python_for(user)
        e = {**e, "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/"}
    return subprocess.run(
        [*prefix, python, "-m", "portdoctor", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=e,
        cwd="/" if user else None,
        stdin=subprocess.DEVNULL,
    )


def pd_tty(*args: str, environ: dict[str, str] | None = None) -> tuple[int, str]:
    """Run portdoctor with stdout and stderr on a pseudo-terminal; return (exit code, output)."""
    master, slave = os.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "portdoctor", *args],
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
        env=environ or env(TERM="xterm-256color"),
    )
    os.close(slave)
    chunks = []
    deadline = time.monotonic() + TIMEOUT
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if not ready:
                if proc.poll() is not None:
                    continue
                continue
            try:
                data = os.read(master, 65536)
            except OSError as exc:
                if exc.errno == errno.EIO:  # the other side closed
                    break
                raise
            if not data:
                break
            chunks.append(data)
        code = proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return code, b"".join(chunks).decode("utf-8", "replace")


def one_clean_error(r: subprocess.CompletedProcess[str]) -> None:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert r.stdout == ""


# --- why -------------------------------------------------------------------------------------


def test_why_human(servers: Servers, tmp_path: Path) -> None:
    (tmp_path / "package.json").write_text(json.dumps({"name": "cli-fixture"}))
    srv = servers.tcp(cwd=os.path.realpath(tmp_path), workers=1)
    r = pd("why", str(srv.port))
    assert r.returncode == 1, r.stderr
    out = r.stdout
    assert str(srv.port) in out
    for pid in srv.pids:
        assert str(pid) in out
    assert "cli-fixture" in out
    assert os.path.realpath(tmp_path) in out
    assert "\x1b" not in out
    assert r.stderr == ""


def test_why_free_port() -> None:
    port = free_port()
    r = pd("why", str(port))
    assert r.returncode == 0, r.stderr
    assert "free" in r.stdout
    j = json.loads(pd("why", str(port), "--json").stdout)
    assert j["in_use"] is False and j["sockets"] == [] and j["holders"] == []


def test_port_alone_is_why(servers: Servers) -> None:
    srv = servers.tcp()
    short = pd(str(srv.port), "--json")
    long = pd("why", str(srv.port), "--json")
    assert short.returncode == long.returncode == 1
    a, b = json.loads(short.stdout), json.loads(long.stdout)
    for d in (a, b):
        for h in d["holders"]:
            h.pop("parents")  # the chain includes the portdoctor process's parent, us: same
    assert a["sockets"] == b["sockets"]
    assert [h["pid"] for h in a["holders"]] == [h["pid"] for h in b["holders"]] == [srv.pid]
    # The first line names the process and its age ("started 0s ago" may turn "1s" in between).
    import re

    def first(out: str) -> str:
        return re.sub(r"\b\d+(s|min|h|d) ago\b", "N ago", out.splitlines()[0])

    assert first(pd(str(srv.port)).stdout) == first(pd("why", str(srv.port)).stdout)
    assert pd("--json", str(srv.port)).returncode == 1


WHY_KEYS = {"port", "protocol", "in_use", "sockets", "holders", "hidden", "cause", "actions"}
SOCKET_KEYS = {"family", "address", "port", "state", "uid", "inode", "holders"}
HOLDER_KEYS = {"pid", "ppid", "name", "cmdline", "user", "cwd", "started", "project", "parents"}


def test_why_json_schema(servers: Servers, tmp_path: Path) -> None:
    (tmp_path / "Cargo.toml").write_text('[package]\nname = "crab"\n')
    srv = servers.tcp(cwd=os.path.realpath(tmp_path))
    r = pd("why", str(srv.port), "--json")
    assert r.returncode == 1
    d = json.loads(r.stdout)
    assert set(d) >= WHY_KEYS
    assert (d["port"], d["protocol"], d["in_use"]) == (srv.port, "tcp", True)
    assert isinstance(d["hidden"], list) and isinstance(d["actions"], list)
    [s] = d["sockets"]
    assert set(s) >= SOCKET_KEYS
    assert (s["family"], s["address"], s["port"], s["state"]) == ("ipv4", "127.0.0.1", srv.port, "LISTEN")
    assert (s["uid"], s["inode"], s["holders"]) == (os.geteuid(), srv.inode, [srv.pid])
    [h] = d["holders"]
    assert set(h) >= HOLDER_KEYS
    assert (h["pid"], h["ppid"], h["cmdline"]) == (srv.pid, os.getpid(), srv.argv)
    assert h["user"] == pwd.getpwuid(os.geteuid()).pw_name
    assert h["cwd"] == os.path.realpath(tmp_path)
    assert isinstance(h["started"], (int, float))
    assert h["project"]["name"] == "crab"
    assert h["parents"][0]["pid"] == os.getpid()
    assert h["parents"][-1]["pid"] == 1
    assert {"pid", "name", "cmdline"} <= set(h["parents"][0])


def test_why_udp(servers: Servers) -> None:
    srv = servers.udp()
    assert pd("why", str(srv.port)).returncode == 0  # TCP: free
    r = pd("why", str(srv.port), "--udp", "--json")
    assert r.returncode == 1
    d = json.loads(r.stdout)
    assert d["protocol"] == "udp"
    [s] = d["sockets"]
    assert (s["state"], s["holders"]) == ("UNCONN", [srv.pid])


def test_why_ipv6_only_json(servers: Servers) -> None:
    try:
        srv = servers.tcp("::1", v6only=True)
    except AssertionError:
        pytest.skip("no IPv6 loopback")
    d = json.loads(pd("why", str(srv.port), "--json").stdout)
    [s] = d["sockets"]
    assert (s["family"], s["address"], s["v6only"]) == ("ipv6", "::1", True)
    assert "v6only" in pd("why", str(srv.port)).stdout


def test_why_time_wait_json() -> None:

    port = leave_time_wait()
    r = pd("why", str(port), "--json")
    # Only a remnant, yet not free: a bind without SO_REUSEADDR fails (the one definition of free).
    assert r.returncode == 1
    d = json.loads(r.stdout)
    assert d["free"] is False and d["bind"]["free"] is False
    # The old socket did not set SO_REUSEADDR, so even a bind with it fails over the remnant.
    assert d["bind"]["reusable"] is False
    assert {b["reuseaddr"] for b in d["bind"]["binds"] if b["error"] == "in-use"} == {True, False}
    tw = [s for s in d["sockets"] if s["state"] == "TIME_WAIT"]
    assert tw, d["sockets"]
    assert all(s["holders"] == [] for s in tw)
    assert d["in_use"] is False
    assert d["hidden"] == []
    assert "TIME_WAIT" in pd("why", str(port)).stdout


def test_why_reuseport_and_passed_socket(servers: Servers) -> None:
    group = servers.reuseport(2)
    d = json.loads(pd("why", str(group[0].port), "--json").stdout)
    assert sorted((s["inode"], tuple(s["holders"])) for s in d["sockets"]) == sorted(
        (g.inode, (g.pid,)) for g in group
    )
    rx = servers.passed_socket()
    d = json.loads(pd("why", str(rx.port), "--json").stdout)
    assert [s["holders"] for s in d["sockets"]] == [[rx.pid]]


def test_why_other_netns(servers: Servers) -> None:
    ns = servers.new_netns()
    port = free_port()
    srv = servers.tcp("0.0.0.0", port=port, netns=ns)
    r = pd("why", str(port), "--json")
    assert r.returncode == 0
    d = json.loads(r.stdout)
    assert d["in_use"] is False
    [s] = d["sockets"]
    assert s["foreign_netns"] is True and s["holders"] == [srv.pid]
    assert pd("check", str(port)).returncode == 0
    ls = pd("ls", "--all")
    row = [line for line in ls.stdout.splitlines() if line.startswith(f"{port} ")]
    assert row and "tcp*" in row[0], ls.stdout
    assert str(srv.pid) in row[0]
    assert str(port) not in {line.split()[0] for line in pd("ls").stdout.splitlines()[1:] if line}


# --- escaped names -----------------------------------------------------------------------------


EVIL_COMM = "\x1b[31mevil\x1b[0m"  # 13 bytes: fits the 15 of a comm
EVIL_ARGV0 = "\x1b[31mevil\x1b]0;pwned\x07"


def test_escaped_name_and_argv(servers: Servers) -> None:
    srv = servers.tcp(comm=EVIL_COMM, argv0=EVIL_ARGV0)
    for args in (("why", str(srv.port)), ("why", str(srv.port), "-v"), ("ls",), ()):
        r = pd(*args)
        assert "\x1b" not in r.stdout, args
        assert "\x07" not in r.stdout, args
        assert "\\x1b[31mevil" in r.stdout, (args, r.stdout)
    code, out = pd_tty("why", str(srv.port), environ=env(TERM="xterm-256color", FORCE_COLOR="1"))
    assert code == 1
    assert "\x1b]" not in out and "\x07" not in out
    assert "\x1b[31mevil" not in out  # the hostile sequence itself never reaches the terminal
    assert "\\x1b[31mevil" in out
    d = json.loads(pd("why", str(srv.port), "--json").stdout)
    [h] = d["holders"]
    assert h["name"] == EVIL_COMM
    assert h["cmdline"][0] == EVIL_ARGV0
    rows = json.loads(pd("ls", "--json").stdout)
    [row] = [r for r in rows if r["socket"]["port"] == srv.port]
    assert row["holder"]["name"] == EVIL_COMM


def test_a_name_made_whole_from_argv0_is_escaped(servers: Servers) -> None:
    # comm keeps 15 bytes; the whole name comes from argv[0], which its process chose: hostile.
    argv0 = "/opt/evil-program-\x1b[31mred\x1b]0;pwned\x07"
    srv = servers.tcp(comm="evil-program-\x1b[", argv0=argv0)
    whole = "evil-program-\x1b[31mred\x1b]0;pwned\x07"
    for args in (("why", str(srv.port)), ("ls",)):
        r = pd(*args)
        assert "\x1b" not in r.stdout and "\x07" not in r.stdout, args
        assert "evil-program-\\x1b[31mred\\x1b]0;pwned\\x07" in r.stdout, (args, r.stdout)
    [h] = json.loads(pd("why", str(srv.port), "--json").stdout)["holders"]
    assert h["name"] == whole


# --- colour ------------------------------------------------------------------------------------


def test_no_colour_when_piped(servers: Servers) -> None:
    srv = servers.tcp()
    for args in (("why", str(srv.port)), ("ls",)):
        assert "\x1b" not in pd(*args).stdout


def test_force_colour(servers: Servers) -> None:
    srv = servers.tcp()
    assert "\x1b[" in pd("why", str(srv.port), environ=env(FORCE_COLOR="1")).stdout
    assert "\x1b[" in pd("ls", environ=env(FORCE_COLOR="1")).stdout
    assert "\x1b" not in pd("why", str(srv.port), environ=env(FORCE_COLOR="1", NO_COLOR="1")).stdout


def test_colour_on_a_terminal_and_no_color(servers: Servers) -> None:
    srv = servers.tcp()
    code, out = pd_tty("why", str(srv.port))
    assert code == 1
    assert "\x1b[" in out
    code, out = pd_tty("why", str(srv.port), environ=env(TERM="xterm-256color", NO_COLOR="1"))
    assert code == 1
    assert "\x1b" not in out
    assert str(srv.pid) in out


def test_json_never_coloured(servers: Servers) -> None:
    srv = servers.tcp()
    code, out = pd_tty("why", str(srv.port), "--json")
    assert code == 1
    assert "\x1b" not in out
    assert json.loads(out)["port"] == srv.port


# --- ls ------------------------------------------------------------------------------------------


def test_ls_and_bare_command(servers: Servers) -> None:
    a = servers.tcp(workers=1)
    b = servers.tcp()
    for args in (("ls",), ()):
        r = pd(*args)
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert lines[0].split()[:4] == ["PORT", "PROTO", "ADDRESS", "PID"]
        ports = [int(line.split()[0]) for line in lines[1:] if line.strip()]
        assert ports == sorted(ports)
        pids_a = {int(line.split()[3]) for line in lines[1:] if line.split()[0] == str(a.port)}
        assert pids_a == set(a.pids)
        assert any(line.split()[0] == str(b.port) and line.split()[3] == str(b.pid) for line in lines[1:])


def test_ls_udp_and_all(servers: Servers) -> None:
    t = servers.tcp()
    u = servers.udp()
    udp_rows = json.loads(pd("ls", "--udp", "--json").stdout)
    assert u.port in {r["socket"]["port"] for r in udp_rows}
    assert all(r["socket"]["protocol"] == "udp" for r in udp_rows)
    tcp_rows = json.loads(pd("ls", "--json").stdout)
    assert all(r["socket"]["protocol"] == "tcp" for r in tcp_rows)
    assert t.port in {r["socket"]["port"] for r in tcp_rows}
    both = json.loads(pd("ls", "--all", "--json").stdout)
    got = {(r["socket"]["protocol"], r["socket"]["port"]) for r in both}
    assert {("tcp", t.port), ("udp", u.port)} <= got


def test_ls_json_schema(servers: Servers) -> None:
    srv = servers.tcp()
    rows = json.loads(pd("ls", "--json").stdout)
    [row] = [r for r in rows if r["socket"]["port"] == srv.port]
    assert set(row) >= {"socket", "holder", "hidden"}
    assert set(row["socket"]) >= SOCKET_KEYS
    assert set(row["holder"]) >= HOLDER_KEYS
    assert row["holder"]["pid"] == srv.pid and row["hidden"] is False


# --- check ---------------------------------------------------------------------------------------


def test_check_exit_codes(servers: Servers) -> None:
    srv = servers.tcp()
    r = pd("check", str(srv.port))
    assert r.returncode == 1 and "in use" in r.stdout
    assert pd("check", "-q", str(srv.port)).stdout == ""
    port = free_port()
    r = pd("check", str(port))
    assert r.returncode == 0 and "free" in r.stdout
    d = json.loads(pd("check", str(srv.port), "--json").stdout)
    assert (d["port"], d["in_use"]) == (srv.port, True)
    u = servers.udp()
    assert pd("check", str(u.port)).returncode == 0
    assert pd("check", "--udp", str(u.port)).returncode == 1


def test_check_sees_a_listener_started_after_a_check(servers: Servers) -> None:
    port = free_port()
    assert pd("check", str(port)).returncode == 0
    servers.tcp(port=port)
    assert pd("check", str(port)).returncode == 1


# --- bad input -----------------------------------------------------------------------------------


BAD_PORTS = ["abc", "70000", "-1", "0", "65536", "3000.5", "", "0x10", " "]


@pytest.mark.parametrize("bad", BAD_PORTS)
@pytest.mark.parametrize("prefix", [(), ("why",), ("check",)], ids=["bare", "why", "check"])
def test_bad_port(prefix: tuple[str, ...], bad: str) -> None:
    one_clean_error(pd(*prefix, bad))


@pytest.mark.parametrize("command", [*COMMANDS, ""])
def test_unknown_flag(command: str) -> None:
    args = [command] if command else []
    one_clean_error(pd(*args, "--no-such-flag"))


@pytest.mark.parametrize(
    "args",
    [("why",), ("check",), ("ls", "3000"), ("why", "3000", "4000"), ("why", "3000", "--udp=yes")],
)
def test_bad_usage(args: tuple[str, ...]) -> None:
    one_clean_error(pd(*args))


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (("ls", "--no-such-flag"), "ls"),
        (("free", "3000", "--no-such-flag"), "free"),
        (("why", "3000", "--no-such-flag"), "why"),
        (("3000", "--no-such-flag"), "why"),  # 'portdoctor PORT' is why
        (("check", "3000", "--no-such-flag"), "check"),
        (("explain", "--no-such-flag"), "explain"),
        (("free",), "free"),
        (("pick", "--range", "x"), "pick"),
        # Found by the command itself, after parsing:
        (("pick", "--near", "5000", "--range", "3000-3999"), "pick"),
        (("run",), "run"),
        (("check", "3000", "--host", "not-an-address"), "check"),
    ],
)
def test_usage_errors_point_at_the_commands_help(args: tuple[str, ...], command: str) -> None:
    r = pd(*args)
    one_clean_error(r)
    assert r.stderr.rstrip("\n").endswith(f"(see 'portdoctor {command} --help')"), r.stderr
    helped = pd(command, "--help")  # the pointer works when copied
    assert helped.returncode == 0 and f"usage: portdoctor {command}" in helped.stdout


def test_bad_port_message_is_clear() -> None:
    r = pd("why", "70000")
    assert "70000" in r.stderr and "65535" in r.stderr


def test_help_and_version() -> None:
    r = pd("--help")
    assert r.returncode == 0 and "why" in r.stdout
    r = pd("--version")
    assert r.returncode == 0 and r.stdout.startswith("portdoctor ")
    short = pd("-V")  # as python -V, pip -V: not an unknown option of 'ls'
    assert short.returncode == 0 and short.stdout == r.stdout and short.stderr == "", short.stderr


def test_help_command() -> None:
    top = pd("--help")
    r = pd("help")
    assert r.returncode == 0 and r.stdout == top.stdout and r.stderr == "", r.stderr
    for command in ("free", "why", "run"):
        r = pd("help", command)
        assert r.returncode == 0 and r.stdout == pd(command, "--help").stdout, r.stderr
        assert r.stdout.startswith(f"usage: portdoctor {command}")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("help", "kil"), "portdoctor: unknown command 'kil'; did you mean 'portdoctor free'?"),
        (("help", "3000"), "portdoctor: unknown command '3000'; commands: why, ls, "),
        (("help", "free", "extra"), "portdoctor: unknown command 'free extra'; commands: why, ls, "),
        (("help", "\x1b[31mx"), "portdoctor: unknown command '\\x1b[31mx'; commands: "),
        (("help", "a\nb"), "portdoctor: unknown command 'a\\nb'; commands: "),
    ],
)
def test_help_of_an_unknown_command_is_one_line(args: tuple[str, ...], message: str) -> None:
    r = pd(*args)
    assert r.returncode == 2 and r.stdout == "", r.stdout
    assert r.stderr.startswith(message) and r.stderr.count("\n") == 1, r.stderr


# --- an unprivileged user ----------------------------------------------------------------------


needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)


@needs_root
def test_hidden_holder_as_nobody(servers: Servers) -> None:
    srv = servers.tcp()  # ours, root's
    r = pd("why", str(srv.port), "--json", user="nobody")
    assert r.returncode == 1, r.stderr
    d = json.loads(r.stdout)
    assert d["in_use"] is True
    assert d["holders"] == []
    [s] = d["sockets"]
    assert s["uid"] == 0 and s["holders"] == []
    [h] = d["hidden"]
    assert h["inode"] == srv.inode
    assert h["uid"] == 0 and h["user"] == "root"
    assert "sudo" in (h["hint"] or "")
    human = pd("why", str(srv.port), user="nobody")
    assert human.returncode == 1
    assert "is free" not in human.stdout.lower()
    assert "free" not in human.stdout.splitlines()[0].lower()
    assert "sudo" in human.stdout
    assert pd("check", str(srv.port), user="nobody").returncode == 1
    rows = json.loads(pd("ls", "--json", user="nobody").stdout)
    [row] = [r for r in rows if r["socket"]["port"] == srv.port]
    assert row["holder"] is None and row["hidden"] is True
    ls = pd("ls", user="nobody").stdout
    [line] = [x for x in ls.splitlines() if x.startswith(f"{srv.port} ")]
    assert "sudo" in line


@needs_root
def test_free_of_a_hidden_holder_suggests_free_under_sudo(servers: Servers) -> None:
    """The user ran free: the hint is 'sudo ... free PORT' (not 'why'), and it works when copied."""
    srv = servers.tcp()  # ours, root's: hidden from nobody
    python = python_for("nobody")
    r = pd("free", str(srv.port), user="nobody")
    assert r.returncode == 4 and r.stdout == "", r.stdout
    [line] = r.stderr.splitlines()
    step = f"sudo {python} -m portdoctor free {srv.port}"
    assert line.endswith(f"(try: {step})"), line
    udp = servers.udp()
    r = pd("free", str(udp.port), "--udp", "--dry-run", user="nobody")
    assert r.stderr.rstrip("\n").endswith(
        f"(try: sudo {python} -m portdoctor free {udp.port} --udp --dry-run)"
    ), r.stderr
    # Copied as printed (we are root already: without sudo where it is not installed).
    copied = step if shutil.which("sudo") else step[len("sudo ") :]
    done = subprocess.run(["bash", "-c", copied], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{srv.port}/tcp is free" in done.stdout
    assert srv.proc.wait(TIMEOUT) is not None


@needs_root
def test_ls_with_hidden_holders_gives_the_sudo_command_that_works(servers: Servers) -> None:
    """ls as a user who cannot see root's holders: one line names the command that shows them
    (this install's, as for why and free: plain 'sudo portdoctor' is not found for a venv, pipx
    or python -m), with ls's flags; copied as printed, it lists the holder."""
    srv = servers.udp()  # ours, root's: hidden from nobody
    python = python_for("nobody")
    ls = pd("ls", "--udp", user="nobody")
    assert ls.returncode == 0, ls.stderr
    [row] = [x for x in ls.stdout.splitlines() if x.startswith(f"{srv.port} ")]
    assert " ? " in row, row
    step = f"sudo {python} -m portdoctor ls --udp"
    assert any(line.endswith(step) for line in ls.stdout.splitlines()), ls.stdout
    copied = step if shutil.which("sudo") else step[len("sudo ") :]
    done = subprocess.run(["bash", "-c", copied], capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stdout + done.stderr
    [row] = [x for x in done.stdout.splitlines() if x.startswith(f"{srv.port} ")]
    assert f" {srv.pid} " in row, row
    # Nothing hidden: no such line.
    assert "sudo" not in pd("ls", "--udp").stdout


@needs_root
def test_nobody_sees_its_own_listener(servers: Servers) -> None:
    srv = servers.tcp(user="nobody")
    d = json.loads(pd("why", str(srv.port), "--json", user="nobody").stdout)
    assert [h["pid"] for h in d["holders"]] == [srv.pid]
    assert d["hidden"] == []
    assert d["holders"][0]["user"] == "nobody"


@needs_root
def test_root_sees_nobodys_listener(servers: Servers) -> None:
    srv = servers.tcp(user="nobody")
    d = json.loads(pd("why", str(srv.port), "--json").stdout)
    assert [h["pid"] for h in d["holders"]] == [srv.pid]
    assert d["holders"][0]["user"] == "nobody"
    assert d["hidden"] == []


@needs_root
def test_check_a_privileged_port_as_another_user_says_binding_needs_root() -> None:
    import shlex

    from infra import other_user
    from portdoctor.probe import availability
    from portdoctor.ranges import unprivileged_port_start

    user = other_user()
    start = unprivileged_port_start()
    if start <= 1:
        pytest.skip("net.ipv4.ip_unprivileged_port_start lets anyone bind every port here")
    # A privileged port nobody holds, found by real binds as root (the kernel picks no such port).
    port = next(p for p in range(start - 1, 0, -1) if availability(p).bindable)
    r = pd("check", str(port), user=user)
    assert r.returncode == 0, r.stderr  # free: nobody holds it (documented)
    first, step = r.stdout.splitlines()
    assert first == (
        f"{port}/tcp: free, but binding it needs root or CAP_NET_BIND_SERVICE: ports below {start}"
        " (net.ipv4.ip_unprivileged_port_start)"
    )
    # The next step, copied and run as that user, explains the ways (setcap, the sysctl, a port).
    command = step.rsplit(": ", 1)[1]
    assert command.endswith(f"why {port}")
    e = {**env(), "PYTHONDONTWRITEBYTECODE": "1", "HOME": "/"}
    ran = subprocess.run(
        [*setpriv(user), *shlex.split(command)],
        capture_output=True,
        text=True,
        env=e,
        cwd="/",
        timeout=TIMEOUT,
    )
    assert ran.returncode == 0, ran.stderr
    assert "privileged port" in ran.stdout and "net.ipv4.ip_unprivileged_port_start" in ran.stdout
    d = json.loads(pd("check", str(port), "--json", user=user).stdout)
    assert (d["free"], d["in_use"], d["needs_privilege"]) == (True, False, True)
    # A described bind cannot be made: exit 1, with the same words.
    described = pd("check", str(port), "--host", "0.0.0.0", user=user)
    assert described.returncode == 1
    assert "needs root or CAP_NET_BIND_SERVICE" in described.stdout and command in described.stdout
    # Root may bind it: plain "free".
    assert pd("check", str(port)).stdout == f"{port}/tcp: free\n"
    assert json.loads(pd("check", str(port), "--json").stdout)["needs_privilege"] is False


def test_ls_hidden_row_as_root_does_not_suggest_sudo() -> None:
    import socket

    if os.geteuid() != 0:
        pytest.skip("needs root")
    a, b = socket.socketpair()
    lst = socket.socket()
    try:
        lst.bind(("127.0.0.1", 0))
        lst.listen()
        port = lst.getsockname()[1]
        socket.send_fds(a, [b"x"], [lst.fileno()])  # in flight: nobody holds it
        lst.close()
        rows = json.loads(pd("ls", "--json").stdout)
        [row] = [r for r in rows if r["socket"]["port"] == port]
        assert row["holder"] is None and row["hidden"] is True
        out = pd("ls").stdout
        [line] = [x for x in out.splitlines() if x.startswith(f"{port} ")]
        assert "sudo" not in line, line
        why = pd("why", str(port))
        assert why.returncode == 1
        assert "is free" not in why.stdout
    finally:
        a.close()
        b.close()
        lst.close()


@pytest.mark.parametrize("bad", ["-1", "-80"])
def test_bare_negative_port_says_port(bad: str) -> None:
    # `portdoctor -1` is a bad port, not an unknown option of `ls`
    r = pd(bad)
    one_clean_error(r)
    assert "invalid port" in r.stderr, r.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["why", "3000"],
        ["why", "3000", "--json"],
        ["why", "--udp", "53", "-v"],
        ["why", "8080", "--host", "127.0.0.1", "--ipv6", "--no-reuseaddr"],
        ["why", "8080", "--reuseaddr", "--verbose", "--json"],
        ["check", "3000"],
        ["check", "3000", "-q", "--udp"],
        ["check", "--json", "443", "--host", "::1", "--quiet", "--ipv6", "--reuseaddr"],
    ],
)
def test_plain_parse_matches_argparse(argv: list[str]) -> None:
    """The argparse-free fast path gives exactly the namespace argparse gives."""
    from portdoctor.cli import _fast_args
    from portdoctor.cli.parser import build_parser

    fast = _fast_args(argv)
    assert fast is not None, "this command line should take the fast path"
    slow = build_parser(argv[0]).parse_args(argv)
    assert vars(fast) == vars(slow)


@pytest.mark.parametrize(
    ("answer", "expected"), [("y\n", True), (" YES \n", True), ("n\n", False), ("", False)]
)
def test_yes_no_question_takes_only_yes_and_escapes_the_question(
    answer: str, expected: bool, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """free's and run's "send SIGKILL?" prompt: a process name in it is escaped; y/yes only."""
    import io

    from portdoctor.cli.common import ask_yes

    monkeypatch.setattr(sys, "stdin", io.StringIO(answer))
    assert ask_yes("Kill pid 7 (evil\x1b[2J)?") is expected
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert err.endswith(" [y/N] ")


@pytest.mark.parametrize(
    "argv",
    [["why", "3000", "--js"], ["why", "abc"], ["why", "70000"], ["why", "--host=::1", "80"], ["why"], ["ls"]],
)
def test_plain_parse_leaves_the_rest_to_argparse(argv: list[str]) -> None:
    from portdoctor.cli import _fast_args

    assert _fast_args(argv) is None


def test_main_gives_back_the_garbage_collector_as_it_found_it(capsys: pytest.CaptureFixture[str]) -> None:
    """main() pauses the cyclic collector for a quick command; a library caller gets it back."""
    import gc

    from portdoctor.cli import main

    assert gc.isenabled()
    assert main(["check", str(free_port()), "--json"]) == 0
    assert gc.isenabled()
    gc.disable()
    try:
        assert main(["pick", "--json", "--no-registry"]) == 0
        assert not gc.isenabled()  # left off, as it was
    finally:
        gc.enable()
    capsys.readouterr()


def test_the_installed_command_exits_with_its_status_and_output(servers: Servers) -> None:
    # cli.entry() skips the interpreter's last collection: the output must still be complete.
    srv = servers.tcp()  # type: ignore[attr-defined]
    script = Path(sys.executable).with_name("portdoctor")
    done = subprocess.run([str(script), "why", str(srv.port), "--json"], capture_output=True, text=True)
    assert done.returncode == 1
    assert json.loads(done.stdout)["port"] == srv.port
