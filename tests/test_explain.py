"""portdoctor.explain and ``portdoctor explain``: recorded runtime errors, and live ones."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from infra import explain_from, require
from portdoctor._explain import KINDS, BindError, BindErrorScanner, _clean, advice, describe, parse_bind_error

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "bind_errors"
INDEX = json.loads((FIXTURES / "index.json").read_text())
SRC = str(Path(__file__).resolve().parents[1] / "src")
ENV = {**os.environ, "NO_COLOR": "1", "PYTHONPATH": SRC}


# ---------------------------------------------------------------------------------------------
# the recorded corpus


# The families of issue 13, each of which the corpus must hold, and the share of each family's
# samples that must come out fully right (kind, port, address, protocol, socket file...).
FAMILIES = (
    "node", "node-old", "node-cluster", "dev-server", "jvm", "erlang", "php", "address-forms",
    "unix-socket", "not-available", "windows-permission", "localised", "errno-platform", "pasted",
    "udp", "python", "go", "ruby", "dotnet", "docker", "servers",
)  # fmt: skip
BARS = {family: 1.0 for family in FAMILIES}
SCORED = ("runtime", "kind", "port", "address", "platform", "protocol", "path", "moved_on", "new_port")


def test_index_lists_every_fixture() -> None:
    on_disk = {p.name for p in FIXTURES.glob("*.txt")}
    assert on_disk == set(INDEX)
    assert {e["source"] for e in INDEX.values()} <= {"recorded", "documented", "constructed"}
    assert all(e["kind"] in KINDS for e in INDEX.values() if e["family"] != "negative")
    assert all(e["origin"] for e in INDEX.values()), "every sample names where it came from"
    families = {e["family"] for e in INDEX.values()}
    assert families == {*FAMILIES, "negative"}
    # Documented samples name the thread or page they were copied from.
    documented = [e for e in INDEX.values() if e["source"] == "documented" and e["origin"].startswith("http")]
    assert len(documented) >= 30


def _right(name: str) -> bool:
    expected = INDEX[name]
    error = parse_bind_error((FIXTURES / name).read_text())
    if expected["family"] == "negative":
        return error is None
    return error is not None and all(getattr(error, k) == expected[k] for k in SCORED)


def test_corpus_score() -> None:
    """Score the whole corpus; no negative may be taken for a bind error, no family below its bar."""
    per_family: dict[str, list[bool]] = {}
    for name, entry in INDEX.items():
        per_family.setdefault(entry["family"], []).append(_right(name))
    right = sum(sum(v) for v in per_family.values())
    print(f"\nexplain corpus: {right}/{len(INDEX)} fully right")
    for family, results in sorted(per_family.items()):
        print(f"  {family:20} {sum(results)}/{len(results)}")
    wrong_negatives = [n for n, e in INDEX.items() if e["family"] == "negative" and not _right(n)]
    assert not wrong_negatives, f"taken for a bind error: {wrong_negatives}"
    below = {
        f: f"{sum(r)}/{len(r)}"
        for f, r in per_family.items()
        if f != "negative" and sum(r) / len(r) < BARS[f]
    }
    assert not below, f"families below their bar: {below}"


@pytest.mark.parametrize("name", sorted(INDEX))
def test_corpus_sample(name: str) -> None:
    expected = INDEX[name]
    text = (FIXTURES / name).read_text()
    error = parse_bind_error(text)
    if expected["family"] == "negative":
        assert error is None, error
        return
    assert error is not None, f"{name}: not recognised"
    got = {k: getattr(error, k) for k in SCORED}
    assert got == {k: expected[k] for k in SCORED}
    assert error.line in (_clean(line).strip() for line in text.splitlines())


# ---------------------------------------------------------------------------------------------
# the texts named in the issue, one line each


@pytest.mark.parametrize(
    ("text", "port", "kind", "runtime", "address"),
    [
        ("Error: listen EADDRINUSE: address already in use :::3000", 3000, "in-use", "node", "::"),
        ("Error: listen EACCES: permission denied 0.0.0.0:80", 80, "permission", "node", "0.0.0.0"),
        (
            "Error: listen EADDRNOTAVAIL: address not available 192.0.2.1:3000",
            3000,
            "address-not-available",
            "node",
            "192.0.2.1",
        ),
        (
            "Error: listen EADDRINUSE: address already in use 127.0.0.1:5432",
            5432,
            "in-use",
            "node",
            "127.0.0.1",
        ),
        ("Error: listen EADDRINUSE: address already in use ::1:8080", 8080, "in-use", "node", "::1"),
        (
            "ERROR: [Errno 98] error while attempting to bind on address ('127.0.0.1', 8000): "
            "address already in use",
            8000,
            "in-use",
            "uvicorn",
            "127.0.0.1",
        ),
        (
            "Address already in use\nPort 5000 is in use by another program. Either identify and "
            "stop that program, or start the server with a different port.",
            5000,
            "in-use",
            "flask",
            None,
        ),
        ("Error: That port is already in use.", None, "in-use", "django", None),
        ("listen tcp :8080: bind: address already in use", 8080, "in-use", "go", None),
        ("listen tcp6 [::1]:8080: bind: address already in use", 8080, "in-use", "go", "::1"),
        ("java.net.BindException: Address already in use", None, "in-use", "java", None),
        ("Web server failed to start. Port 8080 was already in use.", 8080, "in-use", "spring", None),
        (
            'Address already in use - bind(2) for "0.0.0.0" port 3000 (Errno::EADDRINUSE)',
            3000,
            "in-use",
            "ruby",
            "0.0.0.0",
        ),
        (
            "Failed to bind to address http://127.0.0.1:5000: address already in use.",
            5000,
            "in-use",
            "dotnet",
            "127.0.0.1",
        ),
        (
            "Failed to bind to address http://localhost:5000 on the IPv4 loopback interface: port "
            "already in use.",
            5000,
            "in-use",
            "dotnet",
            "localhost",
        ),
        ("Bind for 0.0.0.0:8080 failed: port is already allocated", 8080, "in-use", "docker", "0.0.0.0"),
        (
            "failed to bind port 0.0.0.0:80/tcp: Error starting userland proxy: listen tcp4 "
            "0.0.0.0:80: bind: address already in use",
            80,
            "in-use",
            "docker",
            "0.0.0.0",
        ),
        (
            "nginx: [emerg] bind() to 0.0.0.0:80 failed (98: Address already in use)",
            80,
            "in-use",
            "nginx",
            "0.0.0.0",
        ),
        (
            "nginx: [emerg] bind() to [::]:443 failed (99: Cannot assign requested address)",
            443,
            "address-not-available",
            "nginx",
            "::",
        ),
        (
            'could not bind IPv4 address "127.0.0.1": Address already in use\nHINT:  Is another '
            "postmaster already running on port 5432? If not, wait a few seconds and retry.",
            5432,
            "in-use",
            "postgresql",
            "127.0.0.1",
        ),
        (
            "Could not create server TCP listening socket *:6379: bind: Address already in use",
            6379,
            "in-use",
            "redis",
            None,
        ),
        ("Port 5173 is in use, trying another one...", 5173, "in-use", "vite", None),
        ("error when starting dev server:\nError: Port 5173 is already in use", 5173, "in-use", "vite", None),
        (
            "OSError: [WinError 10048] Only one usage of each socket address (protocol/network "
            "address/port) is normally permitted",
            None,
            "in-use",
            "python",
            None,
        ),
        (
            "PermissionError: [WinError 10013] An attempt was made to access a socket in a way "
            "forbidden by its access permissions",
            None,
            "permission",
            "python",
            None,
        ),
        (
            "System.Net.Sockets.SocketException: Only one usage of each socket address "
            "(protocol/network address/port) is normally permitted",
            None,
            "in-use",
            "windows",
            None,
        ),
        ("bind failed: WSAEADDRINUSE", None, "in-use", "windows", None),
        ("OSError: [Errno 98] Address already in use", None, "in-use", "python", None),
        ("PermissionError: [Errno 13] Permission denied", None, "permission", "python", None),
        (
            "OSError: [Errno 99] Cannot assign requested address",
            None,
            "address-not-available",
            "python",
            None,
        ),
        ("server: bind: EADDRINUSE", None, "in-use", "unknown", None),
        ("myserver: bind() failed: Address already in use", None, "in-use", "unknown", None),
    ],
)
def test_known_texts(text: str, port: int | None, kind: str, runtime: str, address: str | None) -> None:
    error = parse_bind_error(text)
    assert error is not None
    assert (error.port, error.kind, error.runtime, error.address) == (port, kind, runtime, address)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "hello world",
        "PermissionError: [Errno 13] Permission denied: '/etc/shadow'",
        "cat: /root/x: Permission denied",
        "Error: connect ECONNREFUSED 127.0.0.1:5432",
        "curl: (7) Failed to connect to localhost port 3000: Connection refused",
        "Server running at http://localhost:3000/",
        "12:34:56 INFO listening on port 8080",
    ],
)
def test_not_a_bind_error(text: str) -> None:
    assert parse_bind_error(text) is None


def test_port_of_the_error_line_wins() -> None:
    # A log that names other ports before and after: the error line's port is the one.
    text = (
        "proxy: forwarding :9000 -> http://127.0.0.1:9001/\n"
        "2024/01/01 12:00:00 listen tcp 127.0.0.1:8081: bind: address already in use\n"
        "admin api on port 9100\n"
    )
    error = parse_bind_error(text)
    assert error is not None
    assert (error.port, error.address, error.runtime) == (8081, "127.0.0.1", "go")


def test_port_from_nearest_line_when_the_error_names_none() -> None:
    # Django names no port; the command line above it does (and a far one must lose).
    text = (
        "$ curl http://localhost:9999/health\n"
        "ok\n"
        "$ python manage.py runserver 0.0.0.0:8001\n"
        "Performing system checks...\n"
        "Error: That port is already in use.\n"
    )
    error = parse_bind_error(text)
    assert error is not None
    assert (error.port, error.address, error.runtime) == (8001, "0.0.0.0", "django")


def test_most_specific_rule_wins() -> None:
    # Docker's message embeds Go's; uvicorn's embeds asyncio's; both must name the outer runtime.
    docker = parse_bind_error(
        "Error response from daemon: Ports are not available: exposing port TCP 0.0.0.0:80 -> "
        "0.0.0.0:0: listen tcp 0.0.0.0:80: bind: An attempt was made to access a socket in a way "
        "forbidden by its access permissions."
    )
    assert docker is not None
    assert (docker.runtime, docker.kind, docker.port, docker.platform) == (
        "docker",
        "permission",
        80,
        "windows",
    )


def test_port_out_of_range_is_ignored() -> None:
    error = parse_bind_error("listen tcp :99999: bind: address already in use")
    assert error is not None
    assert error.port is None


def test_describe_and_advice() -> None:
    in_use = BindError(3000, "in-use", "node", "::", "Error: listen EADDRINUSE")
    assert describe(in_use) == "port 3000 is already in use on :: (node)"
    assert advice(in_use) is None
    low = BindError(80, "permission", "go", None, "x")
    assert "CAP_NET_BIND_SERVICE" in (advice(low) or "")
    win = BindError(8000, "permission", "python", None, "x", platform="windows")
    assert "excludedportrange" in (advice(win) or "")
    gone = BindError(8000, "address-not-available", "python", "192.0.2.1", "x")
    assert "192.0.2.1 is not an address" in (advice(gone) or "")
    assert in_use.to_dict()["port"] == 3000


# ---------------------------------------------------------------------------------------------
# live: make the runtime fail for real, parse what it printed


@pytest.fixture
def held_port():
    """A port held by a listening socket of this process (IPv4 wildcard and IPv6 wildcard)."""
    v4 = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    v4.bind(("0.0.0.0", 0))
    v4.listen()
    port = v4.getsockname()[1]
    v6 = None
    if socket.has_ipv6:
        try:
            v6 = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
            v6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            v6.bind(("::", port))
            v6.listen()
        except OSError:
            if v6 is not None:
                v6.close()
            v6 = None
    yield port
    v4.close()
    if v6 is not None:
        v6.close()


def _output(argv: list[str], timeout: float = 60) -> str:
    proc = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode != 0, f"{argv[0]} did not fail: {proc.stdout}{proc.stderr}"
    return proc.stdout + proc.stderr


def test_live_node(held_port: int) -> None:
    node = shutil.which("node")
    require(node is not None, "node is not installed")
    assert node is not None
    text = _output([node, "-e", f"require('http').createServer().listen({held_port})"])
    error = parse_bind_error(text)
    assert error is not None, text
    assert (error.runtime, error.kind, error.port) == ("node", "in-use", held_port)


def test_live_node_not_available() -> None:
    node = shutil.which("node")
    require(node is not None, "node is not installed")
    assert node is not None
    text = _output([node, "-e", "require('net').createServer().listen(4321, '192.0.2.1')"])
    error = parse_bind_error(text)
    assert error is not None, text
    assert (error.runtime, error.kind, error.port, error.address) == (
        "node",
        "address-not-available",
        4321,
        "192.0.2.1",
    )


def test_live_python_http_server(held_port: int) -> None:
    text = _output([sys.executable, "-m", "http.server", str(held_port)])
    error = parse_bind_error(text)
    assert error is not None, text
    # http.server's traceback names no port: we must not invent one.
    assert (error.runtime, error.kind, error.port) == ("python", "in-use", None)
    assert error.line.endswith("Address already in use")


def test_live_python_asyncio(held_port: int) -> None:
    code = (
        "import asyncio\n"
        "async def main():\n"
        f"    await asyncio.start_server(lambda r, w: None, '127.0.0.1', {held_port})\n"
        "asyncio.run(main())\n"
    )
    error = parse_bind_error(_output([sys.executable, "-c", code]))
    assert error is not None
    assert (error.runtime, error.kind, error.port, error.address) == (
        "python",
        "in-use",
        held_port,
        "127.0.0.1",
    )


def test_live_python_create_server(held_port: int) -> None:
    code = f"import socket; socket.create_server(('127.0.0.1', {held_port}))"
    error = parse_bind_error(_output([sys.executable, "-c", code]))
    assert error is not None
    assert (error.kind, error.port, error.address) == ("in-use", held_port, "127.0.0.1")


# ---------------------------------------------------------------------------------------------
# the command


def _explain(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "portdoctor", "explain", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env=ENV,
    )


def test_cli_port_still_held(held_port: int) -> None:
    text = f"Error: listen EADDRINUSE: address already in use :::{held_port}"
    proc = _explain(text, "--json")
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert out["port"] == held_port
    assert out["error"]["kind"] == "in-use"
    assert out["error"]["runtime"] == "node"
    assert out["diagnosis"]["in_use"] is True
    assert os.getpid() in [h["pid"] for h in out["diagnosis"]["holders"]]

    human = _explain(stdin=text)  # the same text on stdin, human output
    assert human.returncode == 1
    assert f"port {held_port} is already in use" in human.stdout
    assert str(os.getpid()) in human.stdout


def test_cli_port_free_now() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = _explain("--json", stdin=f"listen tcp 127.0.0.1:{port}: bind: address already in use\n")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["port"] == port
    assert out["diagnosis"]["in_use"] is False


def test_cli_no_port_named() -> None:
    proc = _explain("--json", stdin="OSError: [Errno 98] Address already in use\n")
    assert proc.returncode == 1
    out = json.loads(proc.stdout)
    assert out["port"] is None and out["diagnosis"] is None
    human = _explain("OSError: [Errno 98] Address already in use")
    assert "portdoctor why PORT" in human.stdout


def test_cli_unrecognised() -> None:
    proc = _explain("everything is fine")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "no bind error recognised" in proc.stderr


def test_cli_escapes_the_line() -> None:
    proc = _explain(stdin="\x1b]0;pwned\x07listen tcp :1: bind: address already in use\n")
    assert "\x1b" not in proc.stdout
    assert "\\x1b" in proc.stdout


# ---------------------------------------------------------------------------------------------
# streaming, UDP, Unix sockets, long lines


def _node_or_skip() -> str:
    node = shutil.which("node")
    require(node is not None, "node is not installed")
    assert node is not None
    return node


def test_cli_streams_while_the_writer_keeps_the_pipe_open(held_port: int) -> None:
    # A watcher (nodemon, node --watch) prints the crash and keeps running: the pipe never closes.
    node = _node_or_skip()
    script = f"{node} -e \"require('http').createServer().listen({held_port})\"; exec sleep 120"
    explain, writer = explain_from(["sh", "-c", script], "--json", env=ENV)
    try:
        out, err = explain.communicate(timeout=60)
        assert writer.poll() is None, "the writer ended: this test did not keep the pipe open"
    finally:
        os.killpg(writer.pid, 9)
        writer.wait()
    assert explain.returncode == 1, err
    answer = json.loads(out)
    assert (answer["port"], answer["error"]["runtime"], answer["error"]["protocol"]) == (
        held_port,
        "node",
        "tcp",
    )
    assert os.getpid() in [h["pid"] for h in answer["diagnosis"]["holders"]]


def test_cli_wait_reads_to_the_end(held_port: int) -> None:
    # --wait answers only once the writer has closed the pipe.
    code = (
        "import sys, time\n"
        f"print('Error: listen EADDRINUSE: address already in use :::{held_port}', flush=True)\n"
        "time.sleep(1.5)\n"
        "print('[nodemon] app crashed - waiting for file changes before starting...', flush=True)\n"
    )
    explain, writer = explain_from([sys.executable, "-c", code], "--wait", "--json", env=ENV)
    try:
        out, err = explain.communicate(timeout=60)
    finally:
        writer.wait()
    assert explain.returncode == 1, err
    assert json.loads(out)["port"] == held_port


def test_scanner_answers_after_the_context() -> None:
    scanner = BindErrorScanner(context=3)
    scanner.feed("starting")
    assert not scanner.pending
    scanner.feed("Error: bind EADDRINUSE 0.0.0.0")
    assert scanner.pending and not scanner.ready
    for line in ("    at node:dgram:364:20", "  syscall: 'bind',", "  port: 41234"):
        scanner.feed(line)
    assert scanner.ready
    error = scanner.result()
    assert error is not None
    assert (error.port, error.protocol, error.address) == (41234, "udp", "0.0.0.0")


@pytest.fixture
def held_udp_port():
    """A UDP port bound by this process."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", 0))
    yield s.getsockname()[1]
    s.close()


def test_cli_udp_error_diagnosed_as_udp(held_udp_port: int) -> None:
    node = _node_or_skip()
    text = _output([node, "-e", f"require('dgram').createSocket('udp4').bind({held_udp_port})"])
    proc = _explain("--json", stdin=text)
    assert proc.returncode == 1, proc.stderr
    answer = json.loads(proc.stdout)
    assert answer["error"]["protocol"] == "udp"
    assert answer["diagnosis"]["protocol"] == "udp"
    assert answer["diagnosis"]["in_use"] is True
    assert os.getpid() in [h["pid"] for h in answer["diagnosis"]["holders"]]
    human = _explain(stdin=text)
    assert f"port {held_udp_port}/udp is already in use" in human.stdout


def test_cli_unix_socket_names_the_file(tmp_path: Path) -> None:
    path = str(tmp_path / "app.sock")
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(path)
        server.listen()
        node = _node_or_skip()
        text = _output([node, "-e", f"require('net').createServer().listen({json.dumps(path)})"])
    proc = _explain("--json", stdin=text)
    answer = json.loads(proc.stdout)
    assert proc.returncode == 1
    assert (answer["port"], answer["error"]["protocol"], answer["error"]["path"]) == (None, "unix", path)
    assert answer["diagnosis"] is None and "Unix socket file, not a TCP port" in answer["advice"]
    human = _explain(stdin=text)
    assert f"the Unix socket {path} is already in use (node)" in human.stdout
    assert "ss -xlp" in human.stdout


def test_not_available_is_never_in_use() -> None:
    for text in (
        "Error: listen EADDRNOTAVAIL: address not available 192.0.2.1:3000",
        "java.net.BindException: Cannot assign requested address:"
        " bind\nPerhaps a server is already running on that port?",
        "LOG:  could not bind IPv4 socket: Can't assign requested address\n"
        "HINT:  Is another postmaster already running on port 5432? If not, wait a few seconds and retry.",
    ):
        error = parse_bind_error(text)
        assert error is not None and error.kind == "address-not-available", text


def test_one_megabyte_line() -> None:
    # A minified bundle or a JSON log record before the error (issue 11: this took minutes).
    long_line = '{"log":"' + "a:1 listen bind error " * 50_000 + '"}'
    assert len(long_line) > 1_000_000
    error = parse_bind_error(long_line + "\nError: listen EADDRINUSE: address already in use :::4123\n")
    assert error is not None and (error.port, error.address) == (4123, "::")
    # The error at the end of the long line itself; the line shown is a short excerpt.
    error = parse_bind_error(long_line + " Error: listen EADDRINUSE: address already in use 127.0.0.1:4124")
    assert error is not None and (error.port, error.address) == (4124, "127.0.0.1")
    assert len(error.line) < 600
    assert parse_bind_error(long_line) is None
    # Trigger words all over a long line do not hide an error at its end.
    noisy = "address in use? listen: bind error, port 1 failed " * 30_000
    error = parse_bind_error(noisy + " listen tcp 127.0.0.1:4125: bind: address already in use")
    assert error is not None and (error.runtime, error.port) == ("go", 4125)


@pytest.mark.parametrize(
    ("text", "runtime", "kind", "port", "address", "new_port"),
    [
        ("\u26a0 Port 3000 is in use, trying 3001 instead.", "next", "in-use", 3000, None, 3001),
        (
            "? Port 6006 is not available. Would you like to run Storybook on port 6007 instead? (Y/n)",
            "storybook",
            "in-use",
            6006,
            None,
            6007,
        ),
        ("Something is already running at port 8000", "gatsby", "in-use", 8000, None, None),
        (
            "Port 8080 seems to be in use by another process. Quarkus may already be running or the port is "
            "used by another application.",
            "quarkus",
            "in-use",
            8080,
            None,
            None,
        ),
        (
            "TensorBoard could not bind to port 6006, it was already in use",
            "tensorboard",
            "in-use",
            6006,
            None,
            None,
        ),
        ("OSError: Cannot find empty port in range: 7860-7860.", "gradio", "in-use", 7860, None, None),
        (
            "error: Uncaught (in promise) AddrInUse: Address already in use (os error 98)",
            "deno",
            "in-use",
            None,
            None,
            None,
        ),
        (
            "bind [127.0.0.1]:8080: Address already in use\n"
            "channel_setup_fwd_listener_tcpip: cannot listen to port: 8080\n"
            "Could not request local forwarding.",
            "ssh",
            "in-use",
            8080,
            "127.0.0.1",
            None,
        ),
        (
            "bind [::1]:5432: Cannot assign requested address",
            "ssh",
            "address-not-available",
            5432,
            "::1",
            None,
        ),
        (
            "(OS 10048)Only one usage of each socket address (protocol/network address/port) is normally "
            "permitted.  : AH00072: make_sock: could not bind to address 0.0.0.0:80",
            "apache",
            "in-use",
            80,
            "0.0.0.0",
            None,
        ),
        ("[error]\tPort 4000 is currently in use by another program", "unknown", "in-use", 4000, None, None),
        (
            "BindTransportException[Failed to bind to [9300-9400]]; "
            "nested: BindException[Address already in use];",
            "java",
            "in-use",
            None,
            None,
            None,
        ),
    ],
)
def test_more_runtimes(
    text: str, runtime: str, kind: str, port: int | None, address: str | None, new_port: int | None
) -> None:
    error = parse_bind_error(text)
    assert error is not None
    assert (error.runtime, error.kind, error.port, error.address, error.new_port) == (
        runtime,
        kind,
        port,
        address,
        new_port,
    )


# ---------------------------------------------------------------------------------------------
# the library call


def test_portdoctor_explain_callable_after_its_module_was_imported() -> None:
    code = (
        "import portdoctor, portdoctor._explain as impl\n"
        "e = portdoctor.explain('listen tcp :1: bind: address already in use', diagnose=False)\n"
        "assert type(e).__name__ == 'Explanation', type(e)\n"
        "assert (e.error.port, e.error.runtime, e.diagnosis) == (1, 'go', None)\n"
        "assert impl.parse_bind_error is portdoctor.parse_bind_error\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, env=ENV)


def test_explain_reads_lines_only_as_far_as_needed(held_port: int) -> None:
    import portdoctor

    def lines():
        yield "starting"
        yield f"Error: listen EADDRINUSE: address already in use 0.0.0.0:{held_port}"
        for n in range(40):
            yield f"    at frame {n}"
        raise AssertionError("read past the error and its context")

    answer = portdoctor.explain(lines())
    assert answer is not None and answer.diagnosis is not None
    assert (answer.error.port, answer.error.address, answer.diagnosis.in_use) == (held_port, "0.0.0.0", True)
    assert answer.to_dict()["error"]["protocol"] == "tcp"
    assert portdoctor.explain("nothing to see", diagnose=False) is None


@pytest.mark.parametrize(
    ("text", "runtime", "kind", "port", "platform"),
    [
        (
            "thread 'main' panicked at 'called `Result::unwrap()` on an `Err` value: Os { code: 98, kind: "
            'AddrInUse, message: "Address already in use" }\', src/main.rs:10:50',
            "rust",
            "in-use",
            None,
            "linux",
        ),
        (
            "uwsgi: probably another instance of uWSGI is running on the same address (:8000).\n"
            "bind(): Address already in use [core/socket.c line 769]",
            "uwsgi",
            "in-use",
            8000,
            None,
        ),
        (
            'Exception in thread "main" java.net.BindException: Address already in use: bind\n'
            "\tat java.base/sun.nio.ch.Net.bind0(Native Method)",
            "java",
            "in-use",
            None,
            "windows",
        ),
        (
            "[ERROR] Can't start server: Bind on TCP/IP port. Got error: 98: Address already in use\n"
            "[ERROR] Do you already have another server running on port: 3306 ?",
            "mysql",
            "in-use",
            3306,
            "linux",
        ),
    ],
)
def test_platform_and_runtime_from_the_message(
    text: str, runtime: str, kind: str, port: int | None, platform: str | None
) -> None:
    error = parse_bind_error(text)
    assert error is not None
    assert (error.runtime, error.kind, error.port, error.platform) == (runtime, kind, port, platform)


@pytest.mark.parametrize(
    "text",
    [
        'Error: Os { code: 13, kind: PermissionDenied, message: "Permission denied" }',
        "npm ERR! Error: EACCES: permission denied, mkdir '/usr/lib/node_modules/x'",
        "Error: connect EADDRINUSE 127.0.0.1:5432",
    ],
)
def test_file_and_client_errors_are_not_bind_errors(text: str) -> None:
    assert parse_bind_error(text) is None
