"""application cause: known services (by process name) and other users' processes are protected."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

import pytest

from infra import why_json as cli_why
from portdoctor.causes import application
from portdoctor.diagnose import why

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.mark.parametrize(
    ("name", "argv", "expected"),
    [
        ("nginx", ["nginx: master process /usr/sbin/nginx -g daemon off;"], "nginx"),
        ("postgres", ["postgres: checkpointer"], "postgres"),
        ("redis-server", ["/usr/bin/redis-server 127.0.0.1:6379"], "redis-server"),
        ("php-fpm8.2", ["php-fpm: master process (/etc/php/8.2/fpm/php-fpm.conf)"], "php-fpm"),
        ("java", ["/usr/bin/java", "-Xms1g", "org.elasticsearch.bootstrap.Elasticsearch"], "elasticsearch"),
        ("beam.smp", ["/usr/lib/erlang/erts-13/bin/beam.smp", "--", "-s", "rabbit", "boot"], "rabbitmq"),
        ("beam.smp", ["/usr/lib/erlang/erts-13/bin/beam.smp", "--", "-s", "elixir", "phx.server"], None),
        ("master", ["/usr/lib/postfix/sbin/master", "-w"], "master"),
        ("master", ["./master"], None),
        ("node", ["node", "server.js"], None),
        ("python3", ["python3", "-m", "http.server"], None),
    ],
)
def test_service_names(name: str, argv: list[str], expected: str | None) -> None:
    assert application.service_name(name, argv) == expected


SERVER = (
    "import socket, sys\n"
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "sys.stdin.read()\n"
)


@pytest.fixture
def fake_nginx(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A real Python listener run through a symlink named `nginx`: comm and argv[0] say nginx."""
    link = tmp_path / "nginx"
    link.symlink_to(os.path.realpath(sys.executable))
    proc = subprocess.Popen(
        [str(link), "-c", SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdin is not None
    try:
        yield proc, int(proc.stdout.readline())
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


def test_a_listener_named_nginx_is_protected(fake_nginx: tuple[subprocess.Popen[str], int]) -> None:
    proc, port = fake_nginx
    srv = types.SimpleNamespace(port=port, pid=proc.pid)
    d = why(srv.port)
    assert d.cause is not None and d.cause.kind == "application", d.cause
    assert d.cause.details["protected"] is True
    # Its name says nginx, its program (/proc/PID/exe) is Python: not the nginx service.
    assert d.cause.details["service"] is None and d.cause.details["named_like"] == "nginx"
    assert "a process named nginx" in d.cause.summary
    assert "nothing proves it is the nginx service" in d.cause.summary
    assert not any("nginx -s" in (a.command or "") or a.kind == "systemctl-stop" for a in d.actions)
    assert d.actions[0].kind == "pick" and d.actions[0].command == f"portdoctor pick --near {srv.port}"
    stops = [a for a in d.actions if a.kind != "pick"]
    assert stops and all(not a.safe for a in stops)
    data = cli_why(srv.port)
    assert data["cause"]["kind"] == "application"  # type: ignore[index]


def test_a_real_redis_server_is_protected(tmp_path: object) -> None:
    import shutil

    from infra import free_port, require, wait_listening

    exe = shutil.which("redis-server")
    require(exe is not None, "redis-server not installed (apt-get install redis-server)")
    assert exe is not None
    port = free_port()
    proc = subprocess.Popen(
        [
            exe,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_listening(port, what="redis-server")
        d = why(port)
        assert d.cause is not None and d.cause.kind == "application", d.cause
        assert d.cause.details["service"] == "redis-server" and d.cause.details["named_like"] is None
        assert "Redis" in d.cause.summary
        # Root's own real redis-server (its program /usr/bin/redis-server's real file): the step
        # that stops the service is offered, and works as copied (no systemd here: its native one).
        stops = [a for a in d.actions if "Redis" in a.description]
        assert len(stops) == 1 and stops[0].command, d.actions
        if not os.path.isdir("/run/systemd/system"):
            assert stops[0].command == f"redis-cli -p {port} shutdown", stops
            subprocess.run(["bash", "-c", stops[0].command], check=True, timeout=30, capture_output=True)
            assert proc.wait(timeout=30) == 0
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_another_users_listener_is_protected(servers: object) -> None:
    if os.geteuid() != 0:
        pytest.skip("starting a process as nobody needs root")
    srv = servers.tcp(user="nobody")  # type: ignore[attr-defined]
    d = why(srv.port)
    assert d.cause is not None and d.cause.kind == "application", d.cause
    assert d.cause.details["protected"] is True
    assert d.cause.details["service"] is None
    assert d.cause.details["owner"] == "nobody"
    assert "nobody" in d.cause.summary and "not you" in d.cause.summary
    assert any(a.command and a.command.endswith("--force") and not a.safe for a in d.actions)


def test_own_plain_process_is_not_an_application(servers: object) -> None:
    srv = servers.tcp(cwd="/")  # type: ignore[attr-defined]
    d = why(srv.port)
    assert d.cause is not None and d.cause.kind != "application", d.cause


def test_a_service_without_systemd_or_a_native_stop_gets_its_init_script() -> None:
    # (no systemd unit seen: the step names the service's own unit, never "service None stop")
    from portdoctor.causes.application import _stop_service

    assert _stop_service("postgres", 5432, "", None).command == "service postgresql stop"
    assert _stop_service("sshd", 22, "sudo ", None).command == "sudo service ssh stop"
