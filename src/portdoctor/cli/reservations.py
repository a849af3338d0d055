"""``portdoctor reservations``: list reservations (same as 'registry list')."""

from __future__ import annotations

from .registry import add_list, run_list

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

run = run_list


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``reservations`` command."""
    add_list(sub, "reservations")
