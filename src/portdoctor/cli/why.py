"""``portdoctor why PORT``: who holds the port, why, and what to do."""

from __future__ import annotations

from ..errors import ExitStatus
from .common import PLAIN_DEFAULTS, PLAIN_FLAGS, add_bind_options, add_json, add_target, described_bind

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``why`` command."""
    p = sub.add_parser("why", help="who holds PORT, why, and what to do (the default command)")
    add_target(p)
    p.add_argument("-v", "--verbose", action="store_true", help="full command lines")
    add_bind_options(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the diagnosis; exit 0 when the port is free (probe.availability), 1 when it is not."""
    from ..diagnose import why
    from ..render import Painter, diagnosis_text, print_json

    d = why(args.port, "udp" if args.udp else "tcp", host=args.host, ipv6=args.ipv6, reuseaddr=args.reuseaddr)
    if args.json:
        print_json(d.to_dict())
    else:
        print(diagnosis_text(d, Painter(), verbose=args.verbose))
    if described_bind(args) and d.availability is not None and not d.availability.bindable:
        return ExitStatus.IN_USE  # the bind the user described fails (not an address here, EACCES...)
    return ExitStatus.OK if d.free else ExitStatus.IN_USE


# The plain parse of the commonest command lines (see cli._fast_args); must match register().
FAST_FLAGS = {**PLAIN_FLAGS, "-v": ("verbose", True), "--verbose": ("verbose", True)}
FAST_DEFAULTS = {**PLAIN_DEFAULTS, "verbose": False}
