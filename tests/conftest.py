"""Shared fixtures: the infra plugin (Docker, PM2, nodemon, supervisord) and real listeners."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from servers import Servers

pytest_plugins = ["infra"]

# The test interpreter's bin directory (the venv: supervisorctl, ruff...) on PATH, as for a user
# whose shell has the venv active: portdoctor runs manager clients from its PATH only.
_BIN = os.path.dirname(sys.executable)
if _BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = _BIN + os.pathsep + os.environ.get("PATH", "")

# Every diagnosis the suite makes, in this process and in the portdoctor commands it runs, proves
# the gates it finds closed (causes.CHECK_GATES): a gate that would lose a cause fails the test.
os.environ["PORTDOCTOR_CHECK_GATES"] = "1"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator


@pytest.fixture
def servers() -> Iterator[Servers]:
    """Start real listeners in subprocesses; every one is stopped after the test."""
    s = Servers()
    try:
        yield s
    finally:
        s.cleanup()


@pytest.fixture
def static_site(tmp_path: Path) -> Path:
    """A directory with an index.html that ``python3 -m http.server`` serves."""
    d = tmp_path / "site"
    d.mkdir()
    (d / "index.html").write_text("hello from http.server\n")
    return d
