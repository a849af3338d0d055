"""portdoctor ui: the real Textual app, driven headless (App.run_test + Pilot) against real listeners.

The end-to-end tests in test_ui_tmux.py run the command in a real terminal (tmux).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

import pytest

from infra import PM2, alive, free_port, listening, other_user, wait_until
from servers import Servers

textual = pytest.importorskip("textual", reason="portdoctor ui needs textual (pip install -e '.[dev]')")

from portdoctor.listing import listening as listeners  # noqa: E402
from portdoctor.ui.app import FreeScreen, PortsApp  # noqa: E402
from portdoctor.ui.rows import rows_of  # noqa: E402

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

    from textual.pilot import Pilot

SIZE = (80, 24)
INTERVAL = 0.3  # scan faster than the default second: the tests wait less


def drive(test: Callable[[PortsApp, Pilot[None]], Awaitable[None]], **kw: object) -> None:
    """Run the app headless in 80x24 and hand it to ``test``."""

    async def main() -> None:
        app = PortsApp(interval=INTERVAL, **kw)  # type: ignore[arg-type]
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: app.scans > 0, "the first scan")
            await test(app, pilot)

    asyncio.run(main())


async def until(pilot: Pilot[None], predicate: Callable[[], object], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            app = pilot.app
            seen = screen_text(app) if isinstance(app, PortsApp) else ""
            raise AssertionError(f"timed out waiting for {what}; the screen:\n{seen}")
        await pilot.pause(0.05)


def cell(app: PortsApp, key: str, column: str) -> str:
    return str(app.table.get_cell(key, column).plain)


async def select(app: PortsApp, pilot: Pilot[None], port: int) -> str:
    """Put the cursor on the row of ``port`` (waiting for it to appear); its key."""
    key = f"tcp/{port}"
    await until(pilot, lambda: key in app.shown, f"the row of port {port}")
    app.table.move_cursor(row=app.table.get_row_index(key), animate=False)
    await until(pilot, lambda: app.selected_key() == key, f"the cursor on {key}")
    return key


def screen_text(app: PortsApp) -> str:
    """What the screen shows, as text (from Textual's own SVG screenshot)."""
    import html
    import re

    svg = app.export_screenshot()
    return "".join(html.unescape(t) for t in re.findall(r">([^<]*)</text>", svg)).replace("\xa0", " ")


def text_of(widget: object) -> str:
    """The plain text a Static shows."""
    content = widget.content  # type: ignore[attr-defined]
    return str(getattr(content, "plain", content))


# ---------------------------------------------------------------------------------------------
# rows: one row per port


def test_prefork_and_reuseport_groups_are_one_row(servers: Servers) -> None:
    prefork = servers.tcp(workers=2)
    group = servers.reuseport(3)
    rows = {r.port: r for r in rows_of(listeners())}
    row = rows[prefork.port]
    assert set(row.pids) == set(prefork.pids)
    assert row.pids[0] == prefork.pid, "the master leads its workers"
    assert row.sockets == 1 and row.pid_text == f"{prefork.pid}+2"
    row = rows[group[0].port]
    assert set(row.pids) == {s.pid for s in group}
    assert row.sockets == 3 and row.address == "127.0.0.1"


def test_why_and_ls_do_not_import_textual(servers: Servers) -> None:
    srv = servers.tcp()
    code = (
        "import sys\nfrom portdoctor.cli import main\n"
        f"main(['why', '{srv.port}'])\nmain(['ls'])\n"
        "sys.stderr.write(repr(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('textual', 'rich', 'portdoctor.ui'))))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 0, proc.stderr
    assert str(srv.pid) in proc.stdout
    assert proc.stderr.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("argv", [["ui"], ["ls", "-i"], ["ui", "--udp", "--mine"]])
def test_ui_without_a_terminal_is_one_line_and_exit_2(argv: list[str]) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "portdoctor", *argv], capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "needs a terminal" in proc.stderr


def test_ui_without_textual_says_how_to_install_it() -> None:
    code = (
        "import sys\nsys.modules['textual'] = None\nfrom portdoctor.cli import main\nsys.exit(main(['ui']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1
    step = proc.stderr.strip().split("install it where portdoctor runs: ", 1)[1]
    assert step == f"{sys.executable} -m pip install 'textual>=8'", proc.stderr
    # copied, it installs into this interpreter's environment (here, where it is: nothing to do)
    done = subprocess.run(["bash", "-c", step + " --dry-run --no-index"], capture_output=True, text=True)
    assert done.returncode == 0 and "already satisfied" in done.stdout, done.stdout + done.stderr


def test_the_install_step_follows_the_installer(monkeypatch: pytest.MonkeyPatch) -> None:
    from portdoctor.errors import install_command

    monkeypatch.setattr(sys, "prefix", "/home/me/.local/share/pipx/venvs/portdoctor")
    assert install_command("textual>=8") == "pipx inject portdoctor 'textual>=8'"
    monkeypatch.setattr(sys, "prefix", "/home/me/.local/share/uv/tools/portdoctor")
    monkeypatch.setattr(sys, "executable", "/home/me/.local/share/uv/tools/portdoctor/bin/python")
    assert install_command("textual>=8") == (
        "uv pip install --python /home/me/.local/share/uv/tools/portdoctor/bin/python 'textual>=8'"
    )


# ---------------------------------------------------------------------------------------------
# the app


def test_rows_appear_and_disappear_marked(servers: Servers) -> None:
    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        srv = servers.tcp()
        key = f"tcp/{srv.port}"
        await until(pilot, lambda: key in app.shown, "the new row")
        assert cell(app, key, "mark") == "+"
        assert cell(app, key, "pid") == str(srv.pid)
        srv.stop()
        await until(pilot, lambda: key in app.shown and cell(app, key, "mark") == "-", "the row marked gone")
        await until(pilot, lambda: key not in app.shown, "the gone row to leave")

    drive(test)


def test_refresh_keeps_the_selection(servers: Servers) -> None:
    a, b = servers.tcp(), servers.tcp()

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        key = await select(app, pilot, max(a.port, b.port))
        scans = app.scans
        # A new row sorted before the selected one moves it down: the cursor follows it.
        servers.tcp()
        await until(pilot, lambda: app.scans >= scans + 3, "three more scans")
        assert app.selected_key() == key

    drive(test)


def test_filter_by_port_and_name(servers: Servers) -> None:
    a, b = servers.tcp(), servers.tcp(comm="pdfilterme")

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: {f"tcp/{a.port}", f"tcp/{b.port}"} <= app.shown.keys(), "both rows")
        await pilot.press("slash", *str(a.port))
        assert set(app.shown) == {f"tcp/{a.port}"}
        await pilot.press("escape")
        assert {f"tcp/{a.port}", f"tcp/{b.port}"} <= app.shown.keys()
        await pilot.press("slash", *"pdfilter", "enter")
        assert set(app.shown) == {f"tcp/{b.port}"}
        assert not app.typing, "enter leaves the filter and keeps it"
        await pilot.pause(INTERVAL * 3)
        assert set(app.shown) == {f"tcp/{b.port}"}, "a refresh keeps the filter"

    drive(test)


def test_details_show_the_full_why(servers: Servers, tmp_path: os.PathLike[str]) -> None:
    project = os.path.join(str(tmp_path), "shop")
    os.mkdir(project)
    with open(os.path.join(project, "package.json"), "w") as f:
        f.write('{"name": "shop"}\n')
    srv = servers.tcp(cwd=project)

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        key = await select(app, pilot, srv.port)
        await until(pilot, lambda: cell(app, key, "project") == "shop", "the project column")
        await pilot.press("enter")
        body = app.query_one("#details-body")
        await until(pilot, lambda: "Next steps" in text_of(body), "the diagnosis")
        text = text_of(body)
        for part in ("Sockets", "Holders", f"{srv.pid} ", "parents:", "1. ", f"portdoctor free {srv.port}"):
            assert part in text, part
        assert cell(app, key, "cause") not in ("", "…")
        await pilot.press("escape")
        assert not app.query_one("#details").has_class("shown")
        await pilot.press("slash", *str(srv.port), "enter", "enter")
        await until(pilot, lambda: app.query_one("#details").has_class("shown"), "the details again")
        await pilot.press("escape")
        assert not app.query_one("#details").has_class("shown")
        assert app.query_text == str(srv.port), "esc closes the details first, the filter stays"
        await pilot.press("escape")
        assert app.query_text == ""

    drive(test)


def test_markup_and_control_characters_render_literally(servers: Servers) -> None:
    markup = servers.tcp(comm="[red]x[/]")
    evil = servers.tcp(comm="\x1b[31mevil")

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        k1 = await select(app, pilot, markup.port)
        assert cell(app, k1, "name") == "[red]x[/]"
        await until(pilot, lambda: "[red]x[/]" in screen_text(app), "the name drawn literally, not as markup")
        await pilot.press("enter")
        body = app.query_one("#details-body")
        await until(pilot, lambda: "Holders" in text_of(body), "the diagnosis")
        assert "[red]x[/]" in text_of(body)
        k2 = await select(app, pilot, evil.port)
        assert cell(app, k2, "name").startswith("\\x1b[31m")
        await until(pilot, lambda: "Holders" in text_of(body) and str(evil.pid) in text_of(body), "details")
        assert "\x1b" not in text_of(body)
        await until(pilot, lambda: "\\x1b[31mevil" in screen_text(app), "the escaped name on the screen")

    drive(test)


def test_free_asks_then_frees_and_the_port_is_free(servers: Servers) -> None:
    srv = servers.tcp()

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        screen = await free_selected(app, pilot, srv.port)
        await until(pilot, lambda: screen.state == "confirm", "the plan")
        said = text_of(screen.body)
        assert f"pid {srv.pid}" in said and "SIGTERM" in said and "y: yes" in said
        assert listening(srv.port), "nothing is touched before 'y'"
        await pilot.press("y")
        await until(pilot, lambda: screen.state == "done", "the result", timeout=60)
        assert screen.result is not None and screen.result.freed, text_of(screen.body)
        assert "is free" in text_of(screen.body) and "No respawn" in text_of(screen.body)
        assert not listening(srv.port)
        wait_until(lambda: not alive(srv.pid), 10, message="the server to exit")
        await pilot.press("escape")
        assert not isinstance(app.screen, FreeScreen)

    drive(test)


def test_free_answered_no_touches_nothing(servers: Servers) -> None:
    srv = servers.tcp()

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        screen = await free_selected(app, pilot, srv.port)
        await until(pilot, lambda: screen.state == "confirm", "the plan")
        await pilot.press("n")
        assert not isinstance(app.screen, FreeScreen)
        assert alive(srv.pid) and listening(srv.port)

    drive(test)


def test_free_of_another_users_process_is_refused_with_the_reason(servers: Servers) -> None:
    user = other_user()
    srv = servers.tcp(user=user)

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        key = await select(app, pilot, srv.port)
        assert cell(app, key, "user").startswith(user[:5])
        await pilot.press("f")
        screen = app.screen
        assert isinstance(screen, FreeScreen)
        await until(pilot, lambda: screen.state == "refused", "the refusal")
        said = text_of(screen.body)
        assert "Refused" in said and user in said, said
        await pilot.press("y")  # no effect: a refusal cannot be confirmed
        await pilot.pause(0.5)
        assert screen.state == "refused"
        assert alive(srv.pid) and listening(srv.port)

    drive(test)


def test_copy_puts_the_suggested_command_on_the_clipboard(servers: Servers) -> None:
    srv = servers.tcp()

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        await select(app, pilot, srv.port)
        await pilot.press("c")
        await until(pilot, lambda: app.clipboard, "the copy")
        assert app.clipboard == f"portdoctor free {srv.port}"
        assert f"copied (OSC 52): portdoctor free {srv.port}" in app.message_text

    drive(test)


def test_pick_finds_a_free_port_near(servers: Servers) -> None:
    srv = servers.tcp()

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        await select(app, pilot, srv.port)
        await pilot.press("p")
        await until(pilot, lambda: "free and safe" in app.message_text, "the pick")
        picked = int(app.message_text.split()[1].split("/")[0])
        assert picked != srv.port and not listening(picked)

    drive(test)


def test_udp_toggle_and_mine(servers: Servers) -> None:
    user = other_user()
    udp = servers.udp()
    theirs = servers.tcp(user=user)

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        await until(pilot, lambda: f"tcp/{theirs.port}" in app.shown, "the other user's row")
        assert f"udp/{udp.port}" not in app.shown
        await pilot.press("u")
        await until(pilot, lambda: f"udp/{udp.port}" in app.shown, "the UDP row")
        assert cell(app, f"udp/{udp.port}", "mark") == " ", "a toggle is not a new listener"
        await pilot.press("a")
        assert f"tcp/{theirs.port}" not in app.shown and f"udp/{udp.port}" in app.shown
        await pilot.press("a")
        assert f"tcp/{theirs.port}" in app.shown

    drive(test)


def test_no_color(monkeypatch: pytest.MonkeyPatch, servers: Servers) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    srv = servers.tcp()

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        assert app.no_color
        await select(app, pilot, srv.port)
        await until(pilot, lambda: "Quit" in screen_text(app), "the footer")
        shown = screen_text(app)
        for key in ("Why", "Filter", "Free", "Copy", "Pick", "Mine", "UDP", "Refresh", "Quit"):
            assert key in shown, f"{key} in the footer of an 80x24 screen"
        assert str(srv.port) in shown

    drive(test)


# ---------------------------------------------------------------------------------------------
# free: escalation, respawn, refusals, a manager


@pytest.fixture
def scripts() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Run a fixture server script in its own session until it listens; killed after the test."""
    from infra import SERVERS, kill_session, wait_listening

    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, port: int, *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, str(SERVERS / name), str(port), *args],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        procs.append(proc)
        wait_listening(port, what=name)
        return proc

    yield start
    for proc in procs:
        kill_session(proc.pid, timeout=5.0)
        proc.wait(timeout=30)


async def free_selected(app: PortsApp, pilot: Pilot[None], port: int) -> FreeScreen:
    await select(app, pilot, port)
    await pilot.press("f")
    screen = app.screen
    assert isinstance(screen, FreeScreen)
    await until(pilot, lambda: screen.state != "planning", "the plan")
    return screen


def test_free_asks_again_before_sigkill(
    scripts: Callable[..., subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    import portdoctor.ui.app

    monkeypatch.setattr(portdoctor.ui.app, "FREE_TIMEOUT", 1.0)
    port = free_port()
    proc = scripts("term_server.py", port, "ignore")

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        screen = await free_selected(app, pilot, port)
        assert screen.state == "confirm"
        await pilot.press("y")
        await until(pilot, lambda: screen.state == "asking", "the SIGKILL question")
        await pilot.pause(0.3)
        said = text_of(screen.body)
        assert "SIGKILL" in said and f"pid {proc.pid}" in said and "y: yes" in said
        # The steps done so far, from free's progress callback: SIGTERM sent, the wait over.
        assert f"SIGTERM pid {proc.pid} (" in said and ": sent" in said, said
        assert f"port {port}/tcp: still held" in said, said
        assert alive(proc.pid), "nothing is killed before the second 'y'"
        await pilot.press("y")
        await until(pilot, lambda: screen.state == "done", "the result")
        assert screen.result is not None and screen.result.freed
        assert any(s.action == "SIGKILL" for s in screen.result.steps)
        assert "SIGKILL" in text_of(screen.body)
        assert not listening(port)

    drive(test)


def test_free_shows_a_respawn(scripts: Callable[..., subprocess.Popen[bytes]]) -> None:
    port = free_port()
    proc = scripts("respawner.py", port)

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        screen = await free_selected(app, pilot, port)
        assert screen.state == "confirm", text_of(screen.body)
        await pilot.press("y")
        await until(pilot, lambda: screen.state == "done", "the result")
        said = text_of(screen.body)
        assert screen.result is not None and not screen.result.freed
        assert "Respawned by" in said and str(proc.pid) in said, said

    drive(test)


def test_free_refuses_portdoctor_itself() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]

        async def test(app: PortsApp, pilot: Pilot[None]) -> None:
            screen = await free_selected(app, pilot, port)
            assert screen.state == "refused"
            said = text_of(screen.body)
            assert "Refused" in said and str(os.getpid()) in said, said

        drive(test)
        assert listening(port)


@pytest.mark.pm2
def test_free_goes_through_pm2(pm2: PM2) -> None:
    port = free_port()
    name = pm2.start(name="uiweb", port=port)

    async def test(app: PortsApp, pilot: Pilot[None]) -> None:
        screen = await free_selected(app, pilot, port)
        assert screen.state == "confirm", text_of(screen.body)
        said = text_of(screen.body)
        assert "Will run (pm2)" in said and f"stop {name}" in said, said
        await pilot.press("y")
        await until(pilot, lambda: screen.state == "done", "the result", timeout=120)
        assert screen.result is not None and screen.result.freed, text_of(screen.body)
        assert not listening(port)

    drive(test)
    assert pm2.pids(name) == []
