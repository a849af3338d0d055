"""Output helpers: escaping of other processes' strings, colour rules, tables, the why report."""

from __future__ import annotations

import io
import json
import re
import unicodedata

import pytest

from portdoctor.model import Action, Cause, Diagnosis, Hidden, Holder, ProcessRef, Project, Socket
from portdoctor.render import (
    Painter,
    diagnosis_text,
    dumps,
    escape,
    escape_argv,
    socket_label,
    table,
    use_colour,
)

# Strings a hostile process can put in its name, argv or cwd.
EVIL = [
    "\x1b[31mred\x1b[0m",  # SGR
    "\x1b]0;pwned\x07",  # OSC: set the window title
    "\x1b]52;c;ZXZpbA==\x07",  # OSC 52: write the clipboard
    "\x9b31m",  # C1 CSI
    "a\rb",  # carriage return: overwrite the line
    "line\nbreak",
    "\x08\x08\x08",  # backspaces
    "\u202eevil\u202c",  # bidi override
    "zero\u200bwidth",
    "\x00nul",
    "del\x7f",
]

SGR = re.compile(r"\x1b\[[0-9;]*m")


def unsafe(text: str) -> list[str]:
    """Characters that must never reach a terminal from another process's strings."""
    return [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch != "\n"]


@pytest.mark.parametrize("evil", EVIL)
def test_escape_removes_every_control(evil: str) -> None:
    out = escape(evil)
    assert not unsafe(out)
    assert "\n" not in out
    assert out.isprintable()


def test_escape_is_visible_and_reversible_enough() -> None:
    assert escape("\x1b[31mx") == "\\x1b[31mx"
    assert escape("\u202e") == "\\u202e"
    assert escape("\U000e0001") == "\\U000e0001"  # a tag character (Cf)


@pytest.mark.parametrize("plain", ["node", "python3 -m http.server", "café", "日本語", "emoji 🚀", "a\\x1b"])
def test_escape_keeps_printable_text(plain: str) -> None:
    assert escape(plain) == plain


def test_escape_accepts_non_strings() -> None:
    assert escape(1234) == "1234"
    assert escape(None) == "None"


def test_escape_argv() -> None:
    assert escape_argv(["node", "\x1b[2Jserver.js"]) == "node \\x1b[2Jserver.js"
    long = escape_argv(["x" * 50, "y" * 50], limit=20)
    assert len(long) == 20
    assert long.endswith("…")
    assert escape_argv(["a", "b"], limit=20) == "a b"


def test_use_colour(monkeypatch: pytest.MonkeyPatch) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.setenv("TERM", "xterm-256color")
    assert use_colour(Tty()) is True
    assert use_colour(io.StringIO()) is False  # not a terminal
    monkeypatch.setenv("NO_COLOR", "1")
    assert use_colour(Tty()) is False
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert use_colour(Tty()) is False  # NO_COLOR wins
    monkeypatch.delenv("NO_COLOR")
    assert use_colour(io.StringIO()) is True  # forced
    monkeypatch.delenv("FORCE_COLOR")
    monkeypatch.setenv("TERM", "dumb")
    assert use_colour(Tty()) is False


def test_painter() -> None:
    assert Painter(False)("x", "bold", "red") == "x"
    assert Painter(True)("x", "bold", "red") == "\x1b[1;31mx\x1b[0m"
    assert Painter(True)("x") == "x"


def test_table_alignment() -> None:
    out = table([["1", "long-name", "tail"], ["22222", "n", "t"]], ["A", "NAME", "LAST"])
    lines = out.splitlines()
    assert lines[0] == "A      NAME       LAST"
    assert lines[1] == "1      long-name  tail"
    assert lines[2] == "22222  n          t"
    assert all(line == line.rstrip() for line in lines)


def test_table_cuts_the_squeezed_columns_to_the_width() -> None:
    rows = [["1", "n" * 30, "c" * 50], ["2", "short", "cmd"]]
    assert table(rows, ["A", "NAME", "CMD"]) == table(rows, ["A", "NAME", "CMD"], width=None, squeeze={2: 5})
    out = table(rows, ["A", "NAME", "CMD"], width=40, squeeze={2: 5, 1: 4})
    lines = out.splitlines()
    assert all(len(line) <= 40 for line in lines), out
    assert lines[1].endswith("…") and "…" in lines[1].split()[1]  # the widest are cut first, both
    assert lines[2] == "2  short" + " " * (len(lines[2]) - 11) + "cmd"
    # Never below the narrowest width: the line is then wider than asked.
    out = table(rows, ["A", "NAME", "CMD"], width=10, squeeze={2: 8})
    assert out.splitlines()[1] == "1  " + "n" * 30 + "  " + "c" * 7 + "…"


def test_socket_label() -> None:
    s4 = Socket("tcp", "ipv4", "127.0.0.1", 3000, "LISTEN")
    s6 = Socket("udp", "ipv6", "::", 53, "UNCONN")
    est = Socket("tcp", "ipv6", "::1", 3000, "ESTABLISHED", remote_address="::1", remote_port=5555)
    assert socket_label(s4) == "tcp 127.0.0.1:3000"
    assert socket_label(s6) == "udp6 [::]:53"
    assert socket_label(est) == "tcp6 [::1]:3000 -> [::1]:5555"


def evil_diagnosis() -> Diagnosis:
    bad = "".join(EVIL)
    sock = Socket("tcp", "ipv4", "127.0.0.1", 3000, "LISTEN", uid=1000, inode=42, holders=(4242,))
    h = Holder(
        pid=4242,
        ppid=1,
        name="\x1b[31mevil",
        cmdline=("\x1b]0;pwned\x07", bad),
        user="\x1b[2Juser",
        cwd="/tmp/\x1b[31mdir\u202e",
        started=0.0,
        tty="pts/\x1b[1m",
        project=Project(name="\x1b[5mproj", root="/tmp", manifest="package.json"),
        parents=(ProcessRef(1, "\x1b[31minit\x9b"),),
        inodes=(42,),
    )
    hidden = Hidden(inode=43, uid=0, user="root", reason="\x1b[31mreason", hint="sudo \x1b[31m")
    cause = Cause(
        kind="dev-server",
        summary="held by \x1b[31mevil",
        evidence=("\x1b]0;ev\x07",),
        actions=(Action(description="stop \x1b[31mevil", command="kill \x1b[31m4242", safe=False),),
    )
    return Diagnosis(
        port=3000,
        protocol="tcp",
        in_use=True,
        sockets=(sock,),
        holders=(h,),
        hidden=(hidden,),
        cause=cause,
        notes=("note \x1b[31m",),
    )


def test_diagnosis_text_escapes_everything_without_colour() -> None:
    out = diagnosis_text(evil_diagnosis(), Painter(False), verbose=True)
    assert "\x1b" not in out
    assert not unsafe(out)
    assert "\\x1b[31mevil" in out
    assert "\\u202e" in out


def test_diagnosis_text_escapes_everything_with_colour() -> None:
    out = diagnosis_text(evil_diagnosis(), Painter(True), verbose=True)
    assert "\x1b[" in out  # our own colours
    # Remove our own SGR codes; the hostile ones were escaped, so nothing is left.
    assert not unsafe(SGR.sub("", out))
    assert "\\x1b[31mevil" in out


def test_diagnosis_text_free_port() -> None:
    out = diagnosis_text(Diagnosis(port=3000, protocol="tcp", in_use=False), Painter(False))
    assert "3000" in out and "free" in out


def test_diagnosis_text_shows_hidden_hint() -> None:
    d = Diagnosis(
        port=3000,
        protocol="tcp",
        in_use=True,
        sockets=(Socket("tcp", "ipv4", "0.0.0.0", 3000, "LISTEN", uid=0, inode=9),),
        hidden=(Hidden(inode=9, uid=0, user="root", reason="r", hint="sudo portdoctor why 3000"),),
    )
    out = diagnosis_text(d, Painter(False))
    assert "free" not in out.lower()
    assert "sudo portdoctor why 3000" in out


def test_json_keeps_raw_strings() -> None:
    d = evil_diagnosis()
    data = json.loads(dumps(d.to_dict()))
    assert data["holders"][0]["name"] == "\x1b[31mevil"
    assert data["holders"][0]["cmdline"][1] == "".join(EVIL)
    assert data["holders"][0]["parents"][0]["name"] == "\x1b[31minit\x9b"


def test_json_text_is_safe_on_a_terminal() -> None:
    # `portdoctor why 3000 --json` is often read on a terminal: the JSON text itself must carry
    # no raw control or bidi characters (JSON escapes keep the values intact).
    text = dumps(evil_diagnosis().to_dict())
    assert not unsafe(text), sorted({f"U+{ord(c):04X}" for c in unsafe(text)})
