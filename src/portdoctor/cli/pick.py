"""``portdoctor pick``: print a free, safe port (the same one every time with --name)."""

from __future__ import annotations

from ..errors import ExitStatus
from .common import add_json, checked_arg, port_arg

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def range_arg(text: str) -> tuple[int, int]:
    """argparse type for FIRST-LAST: one clear error line on bad input."""
    from .._pick import parse_range

    return checked_arg(parse_range, text)


def name_arg(text: str) -> str:
    """argparse type for a reservation name."""
    from ..registry import check_name

    return checked_arg(check_name, text)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``pick`` command."""
    p = sub.add_parser(
        "pick",
        help="print a free port that is safe to use (PORT=$(portdoctor pick))",
        description=(
            "Print a free port that is safe to use: not in use, not below 1024, not a service from"
            " /etc/services, not in the ephemeral range, not reserved, not refused by browsers,"
            " not reserved for another name. Default range 3000-9999."
        ),
    )
    p.add_argument(
        "--near",
        type=port_arg,
        metavar="N",
        help="the closest free port at or above N (then below)",
    )
    p.add_argument(
        "--range",
        type=range_arg,
        metavar="A-B",
        dest="range",
        help="search A-B (default 3000-9999)",
    )
    p.add_argument(
        "--name",
        type=name_arg,
        metavar="NAME",
        help="reserve the port for NAME in the registry: the same port every time",
    )
    p.add_argument("--udp", action="store_true", help="a UDP port (default: TCP)")
    p.add_argument("--no-registry", action="store_true", help="ignore the port registry")
    p.add_argument("-v", "--verbose", action="store_true", help="say why this port was chosen (on stderr)")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the port; exit 1 when the name's reserved port is busy or no port is free."""
    import sys

    from .._pick import REUSED, pick

    result = pick(
        near=args.near,
        range=args.range,
        name=args.name,
        protocol="udp" if args.udp else "tcp",
        registry=False if args.no_registry else None,
    )
    if args.json:
        from ..render import print_json

        print_json(result.to_dict())
    else:
        print(result.port)
        for note in result.notes:
            sys.stderr.write(f"portdoctor: {note}\n")
        if result.moved_text:  # not the port asked for: say which ports were passed over, and why
            sys.stderr.write(f"portdoctor: {result.moved_text}\n")
        if args.verbose:
            sys.stderr.write(f"portdoctor: {explain(result)}\n")
    return ExitStatus.IN_USE if result.reason == REUSED and result.in_use else ExitStatus.OK


def explain(result: object) -> str:
    """One line on why the port was chosen."""
    from .._pick import FREE, RESERVED, Pick

    assert isinstance(result, Pick)
    where = f"{result.port}/{result.protocol}"
    if result.reason == FREE:
        return f"{where}: free and safe to use"
    if result.reason == RESERVED:
        return f"{where}: free, now reserved for '{result.name}'"
    state = "in use now" if result.in_use else "free now"
    return f"{where}: reserved for '{result.name}' ({state})"
