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

