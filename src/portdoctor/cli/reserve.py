"""``portdoctor reserve``: reserve a port for NAME (same as 'registry reserve')."""

from __future__ import annotations

from .registry import add_reserve, run_reserve

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

run = run_reserve


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``reserve`` command."""
    add_reserve(sub, "reserve")
