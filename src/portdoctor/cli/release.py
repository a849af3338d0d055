"""``portdoctor release``: forget the port reserved for NAME (same as 'registry release')."""

from __future__ import annotations

from .registry import add_release, run_release

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

run = run_release


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``release`` command."""
    add_release(sub, "release")
