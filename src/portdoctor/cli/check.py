"""``portdoctor check PORT``: exit 0 when the port is free, 1 when it is in use."""

from __future__ import annotations

from .common import add_bind_options, add_json, port_arg

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``check`` command."""
    p = sub.add_parser("check", help="exit 0 if PORT is free, 1 if it is in use (for scripts)")
    p.add_argument("port", type=port_arg, metavar="PORT")
    p.add_argument("--udp", action="store_true", help="the UDP port (default: TCP)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    add_bind_options(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Check the port from the kernel's socket table, or with a real bind when a bind is described."""
    from ..find import sockets

    protocol = "udp" if args.udp else "tcp"
    listeners = [s for s in sockets(args.port, (protocol,), all_netns=False) if s.listening]
    in_use = bool(listeners)
    probe = None
    if args.host is not None or args.ipv6 or args.reuseaddr is not None:
        from ..probe import can_bind

        probe = can_bind(
            args.port,
            host=args.host,
            protocol=protocol,
            ipv6=args.ipv6,
            reuseaddr=True if args.reuseaddr is None else args.reuseaddr,
        )
        in_use = not probe.ok
    if args.json:
        from ..render import print_json

        print_json(
            {
                "port": args.port,
                "protocol": protocol,
                "in_use": in_use,
                "listeners": [s.to_dict() for s in listeners],
                "bind": None
                if probe is None
                else {
                    "ok": probe.ok,
                    "error": probe.error,
                    "host": probe.host,
                    "family": probe.family,
                    "message": probe.message,
                },
            }
        )
    elif not args.quiet:
        if probe is not None and not probe.ok:
            print(f"{args.port}/{protocol}: cannot bind {probe.host}: {probe.message}")
        else:
            print(f"{args.port}/{protocol}: {'in use' if in_use else 'free'}")
    return 1 if in_use else 0


# The plain parse of the commonest command lines (see cli._fast_args); must match register().
FAST_FLAGS = {
    "--udp": ("udp", True),
    "-q": ("quiet", True),
    "--quiet": ("quiet", True),
    "--json": ("json", True),
    "--ipv6": ("ipv6", True),
    "--reuseaddr": ("reuseaddr", True),
    "--no-reuseaddr": ("reuseaddr", False),
}
FAST_DEFAULTS = {"udp": False, "quiet": False, "json": False, "host": None, "ipv6": None, "reuseaddr": None}
