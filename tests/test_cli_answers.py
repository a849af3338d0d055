"""The CLI's answers hold where scripts read them: exit codes through a closed pipe, --json on
errors, and next steps that keep the protocol (found by trying portdoctor as a new user would)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

from infra import free_port, wait_until
from servers import Servers

CLI = [sys.executable, "-m", "portdoctor"]


def _run(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, cwd="/")


def test_a_closed_pipe_never_turns_busy_into_free(servers: Servers) -> None:
    srv = servers.tcp()  # type: ignore[attr-defined]
    for args in (("check", str(srv.port)), ("why", str(srv.port))):
        for _ in range(3):
            # The reader is gone before portdoctor writes: its answer cannot be delivered.
            r, w = os.pipe()
            os.close(r)
            done = subprocess.run([*CLI, *args], stdout=w, stderr=subprocess.PIPE, timeout=60, cwd="/")
            os.close(w)
            assert done.returncode in (1, 141), (args, done.returncode, done.stderr)
            assert b"Traceback" not in done.stderr


def test_json_on_stdout_for_an_error() -> None:
    port = free_port()
    with socket.socket() as s:
        s.bind(("0.0.0.0", port))
        s.listen()
        # A range whose only port is busy: no free port (exit 1), still JSON.
        done = _run("pick", "--range", f"{port}-{port}", "--json", "--no-registry")
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    assert data["exit_status"] == 1 and "no free port" in data["error"]


def test_udp_next_steps_keep_udp_and_work() -> None:
    port = free_port(kind=socket.SOCK_DGRAM)
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import socket,time; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); "
         f"s.bind(('0.0.0.0', {port})); print('ok', flush=True); time.sleep(120)"],
        stdout=subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == b"ok"
        d = json.loads(_run("why", str(port), "--udp", "--json").stdout)
        commands = [a["command"] for a in d["actions"] if a["command"] and "portdoctor" in a["command"]]
        assert commands and all("--udp" in c for c in commands), commands
        step = next(c for c in commands if " free " in f"{c} ")
        done = subprocess.run(step, shell=True, capture_output=True, text=True, timeout=60, cwd="/")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "udp" in done.stdout
        wait_until(lambda: holder.poll() is not None, timeout=10, message="the UDP holder to exit")
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()


def test_localhost_means_both_loopback_addresses() -> None:
    port = free_port("::1")
    with socket.socket(socket.AF_INET6) as s:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        s.bind(("::1", port))
        s.listen()
        for args in ((f"localhost:{port}",), ("check", str(port), "--host", "localhost")):
            done = _run(*args)
            assert done.returncode == 1, (args, done.stdout)  # taken on ::1: not free for localhost
        assert _run("check", str(port), "--host", "127.0.0.1").returncode == 0  # the IPv4 one is
