"""``portdoctor ui``: a live, interactive table of every listening port (Textual; also ``ls -i``)."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``ui`` command."""
    p = sub.add_parser(
        "ui",
        help="a live, interactive view of every listening port: filter, why, free, pick (needs textual)",
        description=(
            "A full-screen table of the listening ports, refreshed every second. Keys: / filter, "
            "enter details (the full why), f free (asks first), c copy the suggested command, "
            "p pick a free port near, a all users / mine, u UDP, r refresh, q quit."
        ),
    )
    add_options(p)
    p.set_defaults(run=run)


def add_options(p: argparse.ArgumentParser) -> None:
    """--udp and --mine (shared with ``ls -i``)."""
    p.add_argument("--udp", action="store_true", help="show UDP ports too (key u)")
    p.add_argument("--mine", action="store_true", help="only my processes' ports (key a)")


def run(args: argparse.Namespace) -> int:
    """Run the app; exit 0 when the user quits."""
    from ..ui import run as run_ui

    return run_ui(udp=bool(args.udp), mine=bool(getattr(args, "mine", False)))
