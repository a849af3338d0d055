"""Shared fixtures: the infra plugin (Docker, PM2, nodemon, supervisord) and real listeners."""

from __future__ import annotations

import pytest

from servers import Servers

pytest_plugins = ["infra"]

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
