"""portdoctor ui end to end: the real command in a real terminal (tmux, 80x24), keys and screen text.

tmux runs on a private socket (-L) so that it never touches a user's sessions; the server is
killed at the end of each test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest

from infra import alive, listening, other_user, require
from servers import Servers, setpriv

pytest.importorskip("textual", reason="portdoctor ui needs textual (pip install -e '.[dev]')")

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence


class Tmux:
    """One tmux server of our own with one 80x24 window running a command."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.socket = f"portdoctor-test-{os.getpid()}-{time.monotonic_ns()}"

    def __call__(self, *args: str) -> str:
        done = subprocess.run(
            [self.binary, "-L", self.socket, *args], capture_output=True, text=True, timeout=60,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        assert done.returncode == 0, f"tmux {' '.join(args)}: {done.stderr}"
        return done.stdout

    def start(self, argv: Sequence[str], cwd: str, env: dict[str, str]) -> None:
        import shlex

        command = " ".join(shlex.quote(a) for a in ["env", *(f"{k}={v}" for k, v in env.items()), *argv])
        self("new-session", "-d", "-x", "80", "-y", "24", "-c", cwd, f"{command}; sleep 600")
        self("set-option", "-g", "set-clipboard", "on")

    def screen(self) -> str:
        return self("capture-pane", "-p")

    def keys(self, *keys: str) -> None:
        self("send-keys", *keys)

    def wait_for(self, text: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if text in screen:
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{text!r} not on the screen after {timeout:.0f}s:\n{screen}")
            time.sleep(0.2)

    def kill(self) -> None:
        subprocess.run([self.binary, "-L", self.socket, "kill-server"], capture_output=True, timeout=60)


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    binary = shutil.which("tmux")
    require(binary is not None, "tmux not found (apt-get install tmux)")
    assert binary is not None
    t = Tmux(binary)
    try:
        yield t
    finally:
        t.kill()


def _env(**extra: str) -> dict[str, str]:
    env = {"TERM": "xterm-256color", "NO_COLOR": "1", "LANG": "C.UTF-8", "PATH": os.environ.get("PATH", "")}
    env.update(extra)
    return env


def test_ui_frees_a_real_server_in_a_real_terminal(tmux: Tmux, tmp_path: os.PathLike[str]) -> None:
    project = os.path.join(str(tmp_path), "myshop")
    os.mkdir(project)
    with open(os.path.join(project, "package.json"), "w") as f:
        f.write('{"name": "myshop"}\n')
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        cwd=project, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        from infra import wait_listening

        wait_listening(port)
        tmux.start([sys.executable, "-m", "portdoctor", "ui"], str(tmp_path), _env())
        tmux.wait_for("q Quit")
        tmux.keys("/", str(port), "Enter")
        screen = tmux.wait_for("myshop")
        row = next(line for line in screen.splitlines() if f" {port} " in line)
        assert str(server.pid) in row and "python" in row, screen
        # c: the suggested command, on the screen and (OSC 52) in tmux's clipboard buffer.
        tmux.keys("c")
        screen = tmux.wait_for("copied (OSC 52): ")
        shown = screen.split("copied (OSC 52): ", 1)[1].splitlines()[0].strip()
        assert str(port) in shown or str(server.pid) in shown, shown
        assert tmux("show-buffer").strip() == shown
        tmux.keys("Enter")
        tmux.wait_for("Holders")
        tmux.keys("End")  # the details have the focus: the page keys scroll them
        tmux.wait_for("Next steps")
        tmux.keys("f")
        screen = tmux.wait_for("y: yes")
        assert f"pid {server.pid}" in screen and "SIGTERM" in screen
        assert listening(port)
        tmux.keys("y")
        screen = tmux.wait_for(f"{port}/tcp is free")
        assert "No respawn" in screen
        assert not listening(port)
        assert server.wait(timeout=10) is not None
        tmux.keys("Escape")
        deadline = time.monotonic() + 30
        while "esc: close" in tmux.screen() and time.monotonic() < deadline:
            time.sleep(0.2)
        tmux.keys("q")
        deadline = time.monotonic() + 30
        while "q Quit" in tmux.screen() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "q Quit" not in tmux.screen(), "q quits"
    finally:
        if server.poll() is None:
            server.kill()
        server.wait(timeout=10)


def test_hidden_holders_say_sudo(tmux: Tmux, servers: Servers, tmp_path: os.PathLike[str]) -> None:
    """As an unprivileged user, root's listener is a hidden row and the status line says sudo."""
    user = other_user()
    srv = servers.tcp()  # root's
    probe = subprocess.run(
        [*setpriv(user), sys.executable, "-c", "import portdoctor.ui.app"],
        capture_output=True, text=True, timeout=120, cwd="/", stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if probe.returncode != 0:
        pytest.skip(f"{user} cannot run this checkout's interpreter: {probe.stderr.strip()[-200:]}")
    tmux.start([*setpriv(user), sys.executable, "-m", "portdoctor", "ui"], "/", _env(HOME="/"))
    tmux.wait_for("q Quit")
    tmux.keys("/", str(srv.port), "Enter")
    screen = tmux.wait_for("(hidden)")
    # The command that works for this install (sudo's PATH has no venv; here: python -m portdoctor)
    # when it fits in the 80 columns, never cut.
    command = f"sudo {sys.executable} -m portdoctor ui"
    status = screen.splitlines()[0]
    short = "hidden: needs sudo (Enter shows how)" in status and len(command) > 25  # 80 - the rest
    assert command in status or short, status
    row = next(line for line in screen.splitlines() if f" {srv.port} " in line)
    assert "?" in row and "hidden" in row, row
    tmux.keys("Enter")
    tmux.wait_for("sudo")  # the diagnosis's hint
    tmux.keys("q")
    assert alive(srv.pid)
