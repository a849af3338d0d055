"""invocation.py: which command a sudo hint names, for each way portdoctor can be started.

The end-to-end checks (the hint printed to an unprivileged user, run through sudo) are in
test_pyz.py (the single file) and test_readme_install.py (a venv install from the README).
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

import pytest

from portdoctor import invocation


def test_library_use_says_portdoctor() -> None:
    # Under pytest, sys.argv[0] is pytest's: not a portdoctor entry point.
    assert invocation.sudo_command("why", "3000") == "sudo portdoctor why 3000"


def test_a_console_script_off_sudos_path_is_named_by_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bin_dir = tmp_path / "my venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "portdoctor"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.chdir(bin_dir)
    monkeypatch.setattr(sys, "argv", ["./portdoctor", "why", "3000"])
    assert invocation.sudo_command("why", "3000") == f"sudo '{script}' why 3000"


def test_python_dash_m_names_the_interpreter(monkeypatch: pytest.MonkeyPatch) -> None:
    main = types.ModuleType("__main__")
    main.__spec__ = types.SimpleNamespace(name="portdoctor.__main__")  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "__main__", main)
    monkeypatch.setattr(sys, "argv", ["/somewhere/portdoctor/__main__.py"])
    python = os.path.abspath(sys.executable)
    command = invocation.sudo_command("free", "8080", "--force")
    assert command == f"sudo {python} -m portdoctor free 8080 --force"



def _adapt_by_pattern(command: str, prefix: str, udp: bool) -> str:
    """The rewrite as a regular expression: the reference adapt_commands is held to."""
    import re

    def adapt(m: re.Match[str]) -> str:
        args = m.group(1)
        if udp and "--udp" not in args.split():
            args += " --udp"
        return prefix + args

    own = r"(?<![\w./-])(?<!-m )portdoctor( (?:why|free|pick|check|wait)\b[^\"')|;&]*?)(?=[\"')|;&]|\Z)"
    return re.sub(own, adapt, command)


def test_adapt_commands_rewrites_each_portdoctor_command_of_a_shell_line() -> None:
    import random

    from portdoctor.causes import adapt_commands

    prefix = "/opt/venv/bin/portdoctor"
    assert adapt_commands("portdoctor free 3000", prefix) == f"{prefix} free 3000"
    assert adapt_commands("portdoctor free 53", prefix, udp=True) == f"{prefix} free 53 --udp"
    line = "PORT=$(portdoctor pick --near 5173) npm run dev; until portdoctor check 80 -q; do sleep 1; done"
    assert adapt_commands(line, "pd") == (
        "PORT=$(pd pick --near 5173) npm run dev; until pd check 80 -q; do sleep 1; done"
    )
    named = "sudo /venv/bin/python -m portdoctor why 1"  # a sudo hint names it already: kept as it is
    for same in ("pip install portdoctor ", "/bin/portdoctor free 1", "xportdoctor why 1", "portdoctor whyx"):
        assert adapt_commands(same, "pd") == same
    for same in (named,):
        assert adapt_commands(same, "pd") == same
    samples = [line, "portdoctor why 1 --udp", "echo 'portdoctor free 2' & portdoctor wait 3|x"]
    rng = random.Random(16)
    pieces = ["portdoctor ", "-m ", "why", "free", "pick", "wait", "check", " ", "1", "--udp", "'", '"', ")",
              "|", ";", "&", "/", ".", "-", "x", "é", "_", "$("]
    samples += ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 12))) for _ in range(4000)]
    for text in samples:
        for udp in (False, True):
            assert adapt_commands(text, prefix, udp=udp) == _adapt_by_pattern(text, prefix, udp), repr(text)
