"""``portdoctor ui``: a live table of listening ports, the diagnosis and a safe free one key away.

Built on Textual (imported only here, by ``portdoctor ui`` and ``portdoctor ls -i``). Daemon
threads do the work off the event loop: one scans the listeners about once a second
(``listening()``, a few ms), one diagnoses the rows one by one (``why()``, each port again only
when its holders change), and the selected row is diagnosed at once in a thread of its own, so
a slow diagnosis elsewhere (a Docker engine that takes its time) never holds it up. The table
is updated in place, cell by cell, so it does not flicker and the cursor stays on its row.

Every string from another process is escaped (render.escape) and drawn as a rich Text, never
parsed as markup: a process named ``[red]x[/]`` shows exactly that.
"""

from __future__ import annotations

import os
import threading
import time

from rich.text import Text
from textual import work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Input, Static

from ..render import Painter, diagnosis_text, escape
from .rows import PENDING, Row, cause_word, matches, rows_of, suggested

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .._free import FreeResult, Plan, Step
    from ..model import Diagnosis

SCAN_INTERVAL = 1.0  # seconds between two scans of the listeners
MARK_SECONDS = 3.0  # how long a new row stays marked '+', a gone row '-' before it goes
FREE_TIMEOUT = 5.0  # as `portdoctor free`
SLOW = 3.0  # seconds the background diagnosis waits for one row before it goes on to the next

# (key, header, width): widths add up to 77, so the table fits 80 columns with its scrollbar.
COLUMNS = (
    ("mark", "", 2),
    ("port", "PORT", 6),
    ("proto", "PROTO", 6),
    ("address", "ADDRESS", 14),
    ("pid", "PID", 8),
    ("user", "USER", 7),
    ("name", "NAME", 10),
    ("project", "PROJECT", 9),
    ("cause", "CAUSE", 11),
    ("up", "UP", 4),
)


def _cut(text: str, width: int) -> str:
    """``text`` cut to fit ``width - 1`` cells (one cell separates the columns)."""
    room = width - 1
    return text if len(text) <= room else text[: max(room - 1, 0)] + "…"


def _cell(text: str, width: int, style: str = "") -> Text:
    return Text(_cut(text, width), style=style, no_wrap=True, overflow="ellipsis")


class FreeScreen(ModalScreen[bool]):
    """Free one port: the plan and exactly what it stops, 'y' to go, then live steps and the result."""

    BINDINGS = [
        Binding("y", "confirm", "Yes, free it"),
        Binding("n", "cancel", "No"),
        Binding("escape", "cancel", "Close"),
    ]
    DEFAULT_CSS = """
    FreeScreen { align: center middle; }
    FreeScreen > VerticalScroll {
        width: 100%; max-width: 100; height: auto; max-height: 100%;
        border: round $accent; padding: 0 1; background: $surface;
    }
    """

    def __init__(self, port: int, protocol: str) -> None:
        super().__init__()
        self.port = port
        self.protocol = protocol
        self.state = "planning"  # planning, confirm, refused, running, asking, done, error
        self.plan: Plan | None = None
        self.result: FreeResult | None = None
        self.started = 0.0
        self._answer: bool | None = None
        self._answered = threading.Event()
        self._question = ""
        self._done: list[Step] = []  # steps completed so far (appended by the free thread)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(f"Free {self.port}/{self.protocol}: planning…"), id="free-body")

    def on_mount(self) -> None:
        self._make_plan()

    @property
    def body(self) -> Static:
        return self.query_one("#free-body", Static)

    @work(thread=True, exit_on_error=False)
    def _make_plan(self) -> None:
        from .._free import plan
        from ..errors import PortdoctorError

        try:
            p = plan(self.port, self.protocol)
        except PortdoctorError as exc:
            self.app.call_from_thread(self._show_error, str(exc))
            return
        self.app.call_from_thread(self._show_plan, p)

    def _show_error(self, message: str) -> None:
        self.state = "error"
        t = Text()
        t.append(f"Cannot free {self.port}/{self.protocol}\n\n", style="bold")
        t.append(escape(message))
        t.append("\n\nesc: close", style="dim")
        self.body.update(t)

    def _show_plan(self, p: Plan) -> None:
        from .._free import GRACE, KILL, SETTLE, TERM

        self.plan = p
        where = f"{p.port}/{p.protocol}"
        t = Text()
        if not p.in_use:
            self.state = "done"
            t.append(f"{where} is already free.\n\nesc: close")
            self.body.update(t)
            return
        if p.refused:
            self.state = "refused"
            t.append(f"Refused: portdoctor will not free {where}\n\n", style="bold reverse")
            for reason in p.refused:
                t.append(f"  - {escape(reason)}\n")
            t.append("\nThe same refusal as `portdoctor free`; nothing was touched.\n")
            t.append("esc: close", style="dim")
            self.body.update(t)
            return
        self.state = "confirm"
        t.append(f"Free {where}?\n", style="bold")
        if p.summary:
            t.append(escape(p.summary) + "\n")
        t.append("\n")
        if p.command:
            from ..quoting import join as shell_join

            manager = f" ({escape(p.manager)})" if p.manager else ""
            t.append(f"Will run{manager}:\n", style="bold")
            t.append("  " + escape(shell_join(p.command)) + "\n")
            t.append("which stops:\n", style="bold")
            for h in p.holders:
                t.append(f"  {escape(h.label)}, user {escape(h.user or h.uid or '?')}\n")
        else:
            t.append(f"Will send {TERM} to:\n", style="bold")
            for target in p.targets:
                who = escape(target.user or target.uid or "?")
                t.append(f"  {escape(target.label)}, user {who}{' *' if target.follower else ''}\n")
            if any(target.follower for target in p.targets):
                t.append(f"  * a worker: only if still alive {GRACE:g}s after its master\n")
        t.append(f"\nthen wait up to {FREE_TIMEOUT:g}s for the port and watch {SETTLE:g}s for a respawn")
        if not p.command:
            t.append(f"; {KILL} only if you say yes again")
        t.append(".\n\n")
        t.append("y: yes, free it    n / esc: no", style="bold")
        self.body.update(t)

    def action_confirm(self) -> None:
        if self.state == "confirm" and self.plan is not None:
            self.state = "running"
            self.started = time.monotonic()
            self.set_interval(0.1, self._tick)
            self._execute(self.plan)
        elif self.state == "asking":
            self._answer = True
            self._answered.set()

    def action_cancel(self) -> None:
        if self.state == "asking":
            self._answer = False
            self._answered.set()
            return
        if self.state == "running":
            return  # the stop is under way: it finishes (or times out) on its own
        self.dismiss(self.state == "done" and self.result is not None and self.result.freed)

    @work(thread=True, exit_on_error=False)
    def _execute(self, p: Plan) -> None:
        from .._free import FreeRefused, execute

        try:
            result = execute(p, timeout=FREE_TIMEOUT, ask=self._ask_from_thread, progress=self._done.append)
        except FreeRefused as exc:
            result = exc.result
        except Exception as exc:  # noqa: BLE001 - shown, never a traceback over the screen
            self.app.call_from_thread(self._show_error, f"{type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show_result, result)

    def _ask_from_thread(self, question: str) -> bool:
        """``execute``'s question before SIGKILL, asked on the screen; blocks the free thread."""
        self._answered.clear()
        self.app.call_from_thread(self._show_question, question)
        self._answered.wait()
        self.state = "running"
        return bool(self._answer)

    def _show_question(self, question: str) -> None:
        self.state = "asking"
        self._question = question

    def _tick(self) -> None:
        """Live progress while the stop runs: elapsed time and each step as free completes it
        (its progress callback), with no look at the processes or the port of its own."""
        if self.state not in ("running", "asking") or self.plan is None:
            return
        p = self.plan
        t = Text()
        t.append(f"Freeing {p.port}/{p.protocol}… {time.monotonic() - self.started:.1f}s\n\n", style="bold")
        for s in list(self._done):
            t.append(_step_line(s))
        if self.state == "running":
            t.append("  …\n", style="dim")
        if self.state == "asking":
            t.append("\n" + escape(self._question) + "\n", style="bold")
            t.append("y: yes    n: no", style="bold")
        self.body.update(t)

    def _show_result(self, r: FreeResult) -> None:
        self.state = "done"
        self.result = r
        where = f"{r.port}/{r.protocol}"
        t = Text()
        if r.refused:
            t.append(f"Refused: {escape(r.summary)}\n", style="bold reverse")
        elif r.freed:
            t.append(f"{where} is free ({r.seconds:.2f}s).\n", style="bold")
        else:
            t.append(f"Not freed: {escape(r.summary)}\n", style="bold reverse")
        t.append("\n")
        for s in r.steps:
            t.append(_step_line(s))
        if r.respawned_by:
            cmd = r.respawned_by.get("command")
            t.append(f"\nRespawned by {escape(r.respawned_by.get('name') or '?')}", style="bold")
            if cmd:
                t.append(f"; stop that first: {escape(cmd)}")
            t.append("\n")
        elif r.freed:
            t.append("\nNo respawn: nothing re-bound the port.\n")
        t.append("\nesc: close", style="dim")
        self.body.update(t)


def _step_line(s: Step) -> str:
    """One step of a free, as the screen lists them (escaped)."""
    return f" {s.seconds:.2f}s {s.action:<7} {escape(s.target)}: {escape(s.result)}\n"


class PortTable(DataTable[Text]):
    """The table of ports; enter shows the details (named in the footer)."""

    BINDINGS = [Binding("enter", "select_cursor", "Why")]

    def on_key(self, event: Any) -> None:
        _filter_keys(self, event)


def _filter_keys(widget: Widget, event: Any) -> None:
    """While the filter is open, keys are typed into it by the focused widget, before any binding
    sees them, so nothing typed fast is lost to a change of focus; '/' opens it the same way, as
    the keys typed right after it are already queued for this widget."""
    app = widget.app
    if not isinstance(app, PortsApp):
        return
    if event.key == "slash" and not app.typing:
        app.action_filter()
    elif not app.filter_key(event.key, event.character, event.is_printable):
        return
    event.stop()
    event.prevent_default()


class Details(VerticalScroll):
    """The full why of the selected row; it takes the focus, so arrows and page keys scroll it."""

    BINDINGS = [Binding("enter", "app.close", "Back")]

    def on_key(self, event: Any) -> None:
        _filter_keys(self, event)


class PortsApp(App[None]):
    """The live table of listening ports."""

    TITLE = "portdoctor"
    ENABLE_COMMAND_PALETTE = False
    CSS = """
    Screen { layout: vertical; }
    #status { height: 1; padding: 0 1; background: $panel; }
    #table { height: 1fr; scrollbar-size-vertical: 1; }
    #details { height: 1fr; display: none; border-top: solid $accent; padding: 0 1; }
    #details.shown { display: block; }
    #filter { height: 1; border: none; padding: 0 1; display: none; }
    #filter.shown { display: block; }
    #message { height: auto; max-height: 3; padding: 0 1; }
    """
    BINDINGS = [
        Binding("slash", "filter", "Filter"),
        Binding("f", "free", "Free"),
        Binding("c", "copy", "Copy"),
        Binding("p", "pick", "Pick"),
        Binding("a", "toggle_all", "Mine"),
        Binding("u", "toggle_udp", "UDP"),
        Binding("r", "refresh", "Refresh"),
        Binding("q", "quit", "Quit"),
        Binding("escape", "close", "Close", show=False),
    ]

    def __init__(self, *, udp: bool = False, mine: bool = False, interval: float = SCAN_INTERVAL) -> None:
        super().__init__()
        self.udp = udp
        self.mine = mine
        self.interval = interval
        self.query_text = ""
        self.euid = os.geteuid() if hasattr(os, "geteuid") else -1
        self.rows: dict[str, Row] = {}  # the latest scan, by key
        self.shown: dict[str, tuple[tuple[str, str], ...]] = {}  # key -> cells drawn (text, style)
        self.new_until: dict[str, float] = {}  # key -> until when it is marked new
        self.gone: dict[str, tuple[Row, float]] = {}  # key -> (last row, until when it is shown)
        self.diagnoses: dict[str, tuple[tuple[Any, ...], Diagnosis | None, str | None]] = {}
        self.scans = 0
        self.message_text = ""
        self._claims = threading.Lock()  # guards _inflight
        self._inflight: set[tuple[str, tuple[Any, ...]]] = set()  # (key, fingerprint) being diagnosed
        self._stop = threading.Event()
        self._scan_now = threading.Event()
        self._diagnose_now = threading.Event()
        self._first_scan = True
        self._status_text = ""
        self._scan_started: float | None = None  # set by the scan thread while it scans
        self._last_protocols: tuple[str, ...] = ()
        self._typing = False

    # -- layout ----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Static(Text("portdoctor: scanning…"), id="status")
        with Vertical():
            yield PortTable(id="table", cursor_type="row", cell_padding=0)
            with Details(id="details"):
                yield Static(Text(""), id="details-body")
        yield Static(Text(""), id="message")
        filt = Input(placeholder="filter: port, name, project, user, cause", id="filter")
        filt.can_focus = False  # typed into from the table (see PortTable.on_key)
        yield filt
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#table", DataTable)
        for key, header, width in COLUMNS:
            table.add_column(Text(header, style="bold"), key=key, width=width)
        table.focus()
        threading.Thread(target=self._scan_loop, name="portdoctor-ui-scan", daemon=True).start()
        threading.Thread(target=self._diagnose_loop, name="portdoctor-ui-diagnose", daemon=True).start()
        self.set_interval(0.5, self._expire_marks)

    def on_unmount(self) -> None:
        self._stop.set()
        self._scan_now.set()
        self._diagnose_now.set()

    @property
    def table(self) -> DataTable[Text]:
        return self.query_one("#table", DataTable)

    # -- the scan thread ---------------------------------------------------------------------------

    def _scan_loop(self) -> None:
        from ..listing import listening

        while not self._stop.is_set():
            protocols = ("tcp", "udp") if self.udp else ("tcp",)
            self._scan_started = time.monotonic()
            try:
                rows = rows_of(listening(protocols))
                error = None
            except Exception as exc:  # noqa: BLE001 - shown on the status line, the loop goes on
                rows, error = None, f"{type(exc).__name__}: {exc}"
            self._scan_started = None
            if not self._post(self._apply_scan, rows, error, protocols):
                return
            self._scan_now.wait(self.interval)
            self._scan_now.clear()

    def _post(self, fn: Any, *args: Any) -> bool:
        """Run ``fn`` on the event loop; False once the app is gone."""
        if self._stop.is_set():
            return False
        try:
            self.call_from_thread(self._guarded, fn, *args)
        except Exception:  # noqa: BLE001 - the app closed under us
            return False
        return True

    def _guarded(self, fn: Any, *args: Any) -> None:
        """Run a thread's result on the loop, unless the app is closing (its widgets are gone)."""
        from textual.css.query import NoMatches

        if self._stop.is_set():
            return
        try:
            fn(*args)
        except NoMatches:
            pass  # the widgets it updates exist from mount to exit: the app is closing

    def _apply_scan(self, rows: list[Row] | None, error: str | None, protocols: tuple[str, ...]) -> None:
        if rows is None:
            self._say(f"scan failed: {escape(error or '?')}")
            return
        if protocols != (("tcp", "udp") if self.udp else ("tcp",)):
            return  # a scan from before the UDP toggle: the next one is under way
        now = time.monotonic()
        fresh = {r.key: r for r in rows}
        # Rows come and go with the UDP toggle too: only a change between two scans of the same
        # protocols is a listener that appeared or went away.
        if not self._first_scan and protocols == self._last_protocols:
            for key in fresh.keys() - self.rows.keys():
                self.new_until[key] = now + MARK_SECONDS
                self.gone.pop(key, None)
            for key in self.rows.keys() - fresh.keys():
                self.gone[key] = (self.rows[key], now + MARK_SECONDS)
                self.new_until.pop(key, None)
        self._first_scan = False
        self._last_protocols = protocols
        self.rows = fresh
        self.scans += 1
        self._redraw()
        self._diagnose_now.set()

    # -- the diagnosis thread ----------------------------------------------------------------------

    def _diagnose_loop(self) -> None:
        """Diagnose every row once per set of holders, in table order, one at a time.

        Each diagnosis runs in a thread of its own that this loop waits for at most SLOW
        seconds: a diagnosis that hangs (a process whose files block, a manager that does not
        answer) keeps its row at '…' but never holds up the other rows.
        """
        while not self._stop.is_set():
            self._diagnose_now.wait(1.0)
            self._diagnose_now.clear()
            while not self._stop.is_set():
                row = self._claim()
                if row is None:
                    break
                worker = threading.Thread(target=self._diagnose, args=(row,), name="pd-ui-why", daemon=True)
                worker.start()
                worker.join(SLOW)

    def _diagnose(self, row: Row) -> bool:
        """Run why() for a claimed row and hand the result to the event loop; False once closed."""
        from ..diagnose import why
        from ..errors import PortdoctorError

        d: Diagnosis | None = None
        error = None
        try:
            d = why(row.port, row.protocol)
        except PortdoctorError as exc:
            error = str(exc)
        except Exception as exc:  # noqa: BLE001 - shown in the details, the loop goes on
            error = f"{type(exc).__name__}: {exc}"
        finally:
            with self._claims:
                self._inflight.discard((row.key, row.fingerprint))
        return self._post(self._diagnosed, row, d, error)

    def _claim(self, only: Row | None = None) -> Row | None:
        """The next row to diagnose (``only``, or any in table order) that no thread is on."""
        rows = [only] if only is not None else list(self.rows.values())
        with self._claims:
            for r in rows:
                have = self.diagnoses.get(r.key)
                claim = (r.key, r.fingerprint)
                if (have is None or have[0] != r.fingerprint) and claim not in self._inflight:
                    self._inflight.add(claim)
                    return r
        return None

    def _diagnose_selected(self) -> None:
        """Diagnose the selected row now, in a thread of its own (another may be slow: docker)."""
        row = self.selected_row()
        if row is not None and row.key in self.rows and self._claim(row) is not None:
            threading.Thread(target=self._diagnose, args=(row,), name="pd-ui-why", daemon=True).start()

    def _diagnosed(self, row: Row, d: Diagnosis | None, error: str | None) -> None:
        self.diagnoses[row.key] = (row.fingerprint, d, error)
        self._redraw()
        if row.key == self.selected_key():
            self._show_details()

    def diagnosis(self, key: str) -> Diagnosis | None:
        """The current diagnosis of a row, or None while it is being made."""
        row = self.rows.get(key)
        have = self.diagnoses.get(key)
        if row is None or have is None or have[0] != row.fingerprint:
            return None
        return have[1]

    # -- drawing -----------------------------------------------------------------------------------

    def wanted_rows(self) -> list[tuple[Row, str]]:
        """(row, state) to draw, sorted by port: state is 'new', 'gone' or ''."""
        now = time.monotonic()
        out: list[tuple[Row, str]] = []
        for key, row in self.rows.items():
            out.append((row, "new" if self.new_until.get(key, 0) > now else ""))
        for key, (row, until) in self.gone.items():
            if until > now and key not in self.rows:
                out.append((row, "gone"))
        out = [(r, st) for r, st in out if self._wanted(r)]
        out.sort(key=lambda item: (item[0].port, item[0].protocol))
        return out

    def _wanted(self, row: Row) -> bool:
        if self.mine and not row.mine(self.euid):
            return False
        return not self.query_text or matches(row, self._cause(row), self.query_text)

    def _cause(self, row: Row) -> str:
        have = self.diagnoses.get(row.key)
        if have is not None and have[0] == row.fingerprint:
            return cause_word(have[1], row) if have[1] is not None else "error"
        return cause_word(None, row)

    def _cells(self, row: Row, state: str) -> tuple[tuple[str, str], ...]:
        style = {"new": "bold", "gone": "strike dim"}.get(state, "")
        mark = {"new": "+", "gone": "-"}.get(state, " ")
        values = (
            mark,
            str(row.port),
            row.protocol,
            row.address,
            row.pid_text,
            row.user,
            row.name or ("(hidden)" if row.hidden else ""),
            row.project,
            "" if state == "gone" and self._cause(row) == PENDING else self._cause(row),
            row.uptime(),
        )
        return tuple((v, style) for v in values)

    def _redraw(self) -> None:
        """Bring the table in line with visible(): add, remove and update cells in place."""
        table = self.table
        selected = self.selected_key()
        want = self.wanted_rows()
        wanted_keys = {r.key for r, _ in want}
        for key in list(self.shown):
            if key not in wanted_keys:
                table.remove_row(key)
                del self.shown[key]
        added = False
        for row, state in want:
            cells = self._cells(row, state)
            old = self.shown.get(row.key)
            if old is None:
                table.add_row(*(_cell(v, w, s) for (v, s), (_, _, w) in zip(cells, COLUMNS)), key=row.key)
                added = True
            elif old != cells:
                for (v, s), (o, (col, _, w)) in zip(cells, zip(old, COLUMNS)):
                    if (v, s) != o:
                        table.update_cell(row.key, col, _cell(v, w, s))
            self.shown[row.key] = cells
        if added:
            table.sort("port", "proto", key=lambda cells: (int(cells[0].plain), cells[1].plain))
        if selected is not None and selected in self.shown:
            index = table.get_row_index(selected)
            if index != table.cursor_row:
                table.move_cursor(row=index, animate=False)
        self._status()

    def _expire_marks(self) -> None:
        now = time.monotonic()
        expired = [k for k, until in self.new_until.items() if until <= now]
        expired += [k for k, (_, until) in self.gone.items() if until <= now]
        for k in expired:
            self.new_until.pop(k, None)
            self.gone.pop(k, None)
        if expired:
            self._redraw()
        started = self._scan_started
        if started is not None and now - started > SLOW:
            self._status(f"scan running for {now - started:.0f}s")
        elif "scan running" in self._status_text:
            self._status()

    def _status(self, note: str = "") -> None:
        shown = sum(1 for _ in self.shown)
        what = "TCP+UDP" if self.udp else "TCP"
        who = "mine" if self.mine else "all users"
        t = Text()
        t.append("portdoctor ", style="bold")
        t.append(f"{shown} {what} ports · {who}")
        if self.query_text:
            t.append(f" · filter: {escape(self.query_text)}")
        hidden = sum(1 for key in self.shown if key in self.rows and self.rows[key].hidden)
        if hidden:
            t.append("  ")
            if self.euid not in (0, -1):
                # The command that works for this install (sudo's PATH has no venv or pipx), when
                # it fits: a command cut at the edge would not work when copied.
                from ..invocation import sudo_command

                full = f"{hidden} hidden: {sudo_command('ui')}"
                fits = len(t.plain) + len(full) + len(note) + 4 <= self.size.width
                t.append(full if fits else f"{hidden} hidden: needs sudo (Enter shows how)", style="bold")
            else:
                t.append(f"{hidden} hidden (see why)", style="dim")
        if note:
            t.append(f"  {note}", style="bold")
        if t.plain != self._status_text:  # an unchanged line is not redrawn
            self._status_text = t.plain
            self.query_one("#status", Static).update(t)

    def _say(self, message: str, style: str = "") -> None:
        """Show one line at the bottom (already escaped)."""
        self.message_text = message
        self.query_one("#message", Static).update(Text(message, style=style))

    # -- selection and details ---------------------------------------------------------------------

    def selected_key(self) -> str | None:
        """The key of the row under the cursor."""
        table = self.query_one("#table", DataTable)
        if table.row_count == 0:
            return None
        try:
            return str(table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value)
        except Exception:  # noqa: BLE001 - an empty or changing table
            return None

    def selected_row(self) -> Row | None:
        """The row under the cursor (a gone row too, while it is shown)."""
        key = self.selected_key()
        if key is None:
            return None
        return self.rows.get(key) or (self.gone[key][0] if key in self.gone else None)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        from textual.css.query import NoMatches

        try:
            shown = self.query_one("#details").has_class("shown")
        except NoMatches:
            return  # a highlight queued while the app closes: its widgets are gone
        if shown:
            self._show_details()
        self._diagnose_selected()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_details()

    def action_details(self) -> None:
        """Show (or hide) the full diagnosis of the selected row."""
        details = self.query_one("#details")
        if details.has_class("shown"):
            self.action_close()
            return
        details.add_class("shown")
        details.focus()
        self._show_details()

    def _show_details(self) -> None:
        body = self.query_one("#details-body", Static)
        row = self.selected_row()
        if row is None:
            body.update(Text("No port selected."))
            return
        have = self.diagnoses.get(row.key)
        if row.key in self.gone and row.key not in self.rows:
            body.update(Text(f"{row.port}/{row.protocol}: nothing listens on it any more."))
        elif have is None or have[0] != row.fingerprint:
            body.update(Text(f"{row.port}/{row.protocol}: diagnosing…"))
            self._diagnose_selected()
        elif have[1] is None:
            body.update(Text(f"{row.port}/{row.protocol}: {escape(have[2] or '?')}"))
        else:
            body.update(Text(diagnosis_text(have[1], Painter(False))))

    def action_close(self) -> None:
        """esc: close the details, else the filter (clearing it)."""
        details = self.query_one("#details")
        if details.has_class("shown"):
            details.remove_class("shown")
            self.table.focus()
            return
        self._clear_filter()

    def _clear_filter(self) -> None:
        filt = self.query_one("#filter", Input)
        if filt.has_class("shown"):
            self._typing = False
            filt.value = ""
            filt.remove_class("shown")
            self._set_query("")

    # -- filter ------------------------------------------------------------------------------------

    def action_filter(self) -> None:
        """Type to filter by port, name, project, user, cause (enter keeps it, esc clears it)."""
        self.query_one("#filter", Input).add_class("shown")
        self._typing = True
        self.table.focus()

    @property
    def typing(self) -> bool:
        """True while keys go into the filter."""
        return self._typing

    def filter_key(self, key: str, character: str | None, printable: bool) -> bool:
        """Handle a key typed while the filter is open; False when it is not the filter's."""
        if not self._typing:
            return False
        filt = self.query_one("#filter", Input)
        if key == "enter":
            self._typing = False
            if not filt.value:
                filt.remove_class("shown")
        elif key == "escape":
            self._clear_filter()
        elif key == "backspace":
            filt.value = filt.value[:-1]
        elif character and printable:
            filt.value += character
        else:
            return False  # arrows, page keys: the table moves under the filter
        self._set_query(filt.value)
        return True

    def _set_query(self, text: str) -> None:
        if text.strip() != self.query_text:
            self.query_text = text.strip()
            self._redraw()

    # -- actions on the selected row ---------------------------------------------------------------

    def action_refresh(self) -> None:
        """Scan now and diagnose every row again."""
        self.diagnoses.clear()
        self._redraw()
        self._scan_now.set()
        self._diagnose_now.set()
        self._say("refreshed")

    def action_toggle_udp(self) -> None:
        """Show UDP ports too, or TCP only."""
        self.udp = not self.udp
        self._say("showing TCP and UDP" if self.udp else "showing TCP only")
        self._scan_now.set()
        self._status()

    def action_toggle_all(self) -> None:
        """All users' ports, or only mine."""
        self.mine = not self.mine
        self._say("showing only your ports" if self.mine else "showing every user's ports")
        self._redraw()

    def action_free(self) -> None:
        """Free the selected port through the right manager, after a confirmation."""
        row = self.selected_row()
        if row is None:
            self._say("no port selected")
            return

        def done(freed: bool | None) -> None:
            self._scan_now.set()
            self.table.focus()

        self.push_screen(FreeScreen(row.port, row.protocol), done)

    def action_copy(self) -> None:
        """Copy the suggested next step (OSC 52) and show it on the bottom line."""
        row = self.selected_row()
        if row is None:
            self._say("no port selected")
            return
        d = self.diagnosis(row.key)
        if d is None:
            self._diagnose_then_copy(row)
            return
        self._copy_from(d)

    @work(thread=True, exit_on_error=False)
    def _diagnose_then_copy(self, row: Row) -> None:
        from ..diagnose import why

        d = why(row.port, row.protocol)
        self._post(self._copy_from, d)

    def _copy_from(self, d: Diagnosis) -> None:
        command = suggested(d)
        if command is None:
            self._say(f"{d.port}/{d.protocol}: no command to copy")
            return
        shown = escape(command)
        # The escaped form: a command line never carries control characters to a clipboard.
        self.copy_to_clipboard(shown)
        self._say(f"copied (OSC 52): {shown}", "bold")

    def action_pick(self) -> None:
        """Pick a free, safe port near the selected one."""
        row = self.selected_row()
        if row is None:
            self._say("no port selected")
            return
        self._pick_near(row)

    @work(thread=True, exit_on_error=False)
    def _pick_near(self, row: Row) -> None:
        from .._pick import pick
        from ..errors import PortdoctorError

        try:
            p = pick(near=row.port, protocol=row.protocol)
        except PortdoctorError as exc:
            self._post(self._say, f"pick: {escape(exc)}")
            return
        self._post(self._say, f"port {p.port}/{p.protocol} is free and safe to use near {row.port}", "bold")


__all__ = ["FreeScreen", "PortTable", "PortsApp"]
