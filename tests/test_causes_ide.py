"""ide cause: recorded parent chains of IDE run/debug sessions and terminals, and a live server
started (without a shell) by a process named `code`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from infra import free_port, kill_session, wait_listening
from portdoctor.causes import ide
from portdoctor.diagnose import why
from portdoctor.model import Holder, ProcessRef

CHAINS = json.loads((Path(__file__).parent / "fixtures" / "proc" / "ide-chains.json").read_text())["cases"]


def holder_from_chain(chain: list[list[str]]) -> Holder:
    refs = tuple(
        ProcessRef(
            pid=1000 - i if i < len(chain) - 1 else 1,
            name=os.path.basename(argv[0].split()[0]),
            cmdline=tuple(argv),
        )
        for i, argv in enumerate(chain[1:], start=1)
    )
    argv = chain[0]
    return Holder(
        pid=1000, ppid=refs[0].pid, name=os.path.basename(argv[0]), cmdline=tuple(argv), parents=refs
    )


@pytest.mark.parametrize("case", CHAINS, ids=[c["name"] for c in CHAINS])
def test_recorded_chains(case: dict[str, object]) -> None:
    chain = case["chain"]
    assert isinstance(chain, list)
    env = case.get("env")
    found = ide.find_session(holder_from_chain(chain), env if isinstance(env, dict) else None)
    expected = case["expect"]
    if expected is None:
        assert found is None
    else:
        assert found is not None and [found[0], found[1]] == expected


def test_interactive_shells() -> None:
    assert ide.is_interactive_shell(["bash"])
    assert ide.is_interactive_shell(["-zsh"])
    assert ide.is_interactive_shell(["/bin/bash", "--init-file", "/x/shellIntegration-bash.sh"])
    assert ide.is_interactive_shell(["fish", "-l"])
    assert not ide.is_interactive_shell(["/bin/sh", "-c", "npm run dev"])
    assert not ide.is_interactive_shell(["bash", "-lc", "make run"])
    assert not ide.is_interactive_shell(["bash", "run.sh"])
    assert not ide.is_interactive_shell(["nvim"])


def test_ide_of_names() -> None:
    assert ide.ide_of(
        ["/opt/idea/jbr/bin/java", "-Didea.paths.selector=GoLand2024.1", "com.intellij.idea.Main"]
    ) == (
        "GoLand",
        "ide",
    )
    assert ide.ide_of(["/usr/share/code/code"]) == ("VS Code", "ide")
    assert ide.ide_of(["/usr/bin/python3", "-m", "debugpy", "--listen", "5678", "app.py"])[1] == "debugger"  # type: ignore[index]
    assert ide.ide_of(["nvim", "--embed"]) is None
    assert ide.ide_of(["node", "server.js"]) is None


@pytest.fixture
def code_wrapper() -> object:
    """A directory with an executable named `code` (a real interpreter under that name)."""
    d = Path(tempfile.mkdtemp(prefix="portdoctor-ide-"))
    real = os.path.realpath(sys.executable)
    (d / "code").symlink_to(real)
    yield d / "code"
    shutil.rmtree(d, ignore_errors=True)


def test_live_run_session_of_code(code_wrapper: Path) -> None:
    port = free_port()
    # `code` starts the server itself (no shell in between): what a run configuration / task does.
    launcher = (
        "import subprocess, sys\n"
        "p = subprocess.Popen([sys.argv[1], '-m', 'http.server', sys.argv[2], '--bind', '127.0.0.1'],"
        " stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "p.wait()\n"
    )
    proc = subprocess.Popen(
        [str(code_wrapper), "-c", launcher, sys.executable, str(port)],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_listening(port, what="the server run by `code`")
        d = why(port)
        assert d.cause is not None and d.cause.kind == "ide", d.cause
        assert d.cause.details["ide"] == "VS Code"
        assert d.cause.details["session"] == "run"
        assert d.cause.details["ide_pid"] == proc.pid
        assert "VS Code" in d.cause.summary
        assert any("Shift+F5" in a.description for a in d.actions)
        assert any(a.command == f"portdoctor free {port}" and a.safe for a in d.actions)
        out = subprocess.run(
            [sys.executable, "-m", "portdoctor", "why", str(port), "--json"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert json.loads(out.stdout)["cause"]["kind"] == "ide"
    finally:
        kill_session(proc.pid)
        proc.wait(timeout=30)


def test_live_shell_typed_server_is_not_an_ide_session(code_wrapper: Path) -> None:
    # code -> bash (interactive, as in the integrated terminal) -> server: the user's shell.
    port = free_port()
    launcher = (
        "import subprocess, sys\n"
        "subprocess.run(['bash', '--norc', '-i'], input=sys.argv[1] + ' -m http.server ' + sys.argv[2] +"
        " ' --bind 127.0.0.1\\n', text=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
    )
    proc = subprocess.Popen(
        [str(code_wrapper), "-c", launcher, sys.executable, str(port)],
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_listening(port, what="the server typed into bash under `code`")
        d = why(port)
        assert d.cause is not None and d.cause.kind != "ide", d.cause
    finally:
        kill_session(proc.pid)
        proc.wait(timeout=30)
