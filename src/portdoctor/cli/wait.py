"""``portdoctor wait PORT``: wait until the port is free (or listening, or bindable); exit 1 on timeout."""

from __future__ import annotations

from ..errors import ExitStatus
from .common import add_json, port_arg, seconds_arg

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``wait`` command."""
    p = sub.add_parser("wait", help="wait until PORT is free (or --listening); exit 1 on timeout")
    p.add_argument("port", type=port_arg, metavar="PORT")
    state = p.add_mutually_exclusive_group()
    state.add_argument(
        "--free",
        dest="until",
        action="store_const",
        const="free",
        help="until a server can bind and listen on it, with or without SO_REUSEADDR (default)",
    )
    state.add_argument(
        "--listening",
        dest="until",
        action="store_const",
        const="listening",
        help="until something listens",
    )
    state.add_argument(
        "--bindable",
        dest="until",
        action="store_const",
        const="bindable",
        help="until a real bind would succeed (also waits out TIME_WAIT with --no-reuseaddr)",
    )
    p.add_argument("--host", metavar="ADDR", help="with --bindable: the address to bind (default: all)")
    p.add_argument(
        "--no-reuseaddr",
        dest="reuseaddr",
        action="store_false",
        help="with --bindable: bind without SO_REUSEADDR, as a server that does not set it",
    )
    p.add_argument(
        "--timeout",
        type=seconds_arg,
        default=30.0,
        metavar="S",
        help="give up after S seconds (default 30)",
    )
    p.add_argument("--udp", action="store_true", help="the UDP port (default: TCP)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    add_json(p)
    p.set_defaults(run=run, until="free", host=None, reuseaddr=True)


def run(args: argparse.Namespace) -> int:
    """Wait; exit 0 when the state is reached, 1 on timeout."""
    import time

    from .._wait import wait
    from ..errors import UsageError

    protocol = "udp" if args.udp else "tcp"
    if args.until != "bindable" and (args.host is not None or not args.reuseaddr):
        raise UsageError("--host and --no-reuseaddr go with --bindable")
    started = time.monotonic()
    reached = wait(
        args.port,
        until=args.until,
        timeout=args.timeout,
        protocol=protocol,
        host=args.host,
        reuseaddr=args.reuseaddr,
    )
    waited = round(time.monotonic() - started, 3)
    if args.json:
        from ..render import print_json

        print_json(
            {
                "port": args.port,
                "protocol": protocol,
                "until": args.until,
                "reached": reached,
                "waited": waited,
            }
        )
    elif not args.quiet:
        if reached:
            print(f"{args.port}/{protocol}: {args.until}")
        else:
            import sys

            sys.stderr.write(
                f"portdoctor: {args.port}/{protocol} not {args.until} after {args.timeout:g} s\n"
            )
    return ExitStatus.OK if reached else ExitStatus.IN_USE
