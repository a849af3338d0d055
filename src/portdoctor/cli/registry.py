"""``portdoctor registry {list,reserve,release}``: the ports remembered for names.

The top-level commands ``reservations``, ``reserve`` and ``release`` (cli/reservations.py,
cli/reserve.py, cli/release.py) are the same functions.
"""

from __future__ import annotations

from ..errors import ExitStatus
from .common import add_json, port_arg

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``registry`` command and its actions."""
    p = sub.add_parser("registry", help="ports reserved for names: list, reserve NAME, release NAME")
    add_json(p)
    p.set_defaults(run=run_list)
    actions = p.add_subparsers(dest="action", metavar="ACTION", parser_class=type(p))
    add_list(actions, "list")
    add_reserve(actions, "reserve")
    add_release(actions, "release")


def add_list(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    """The ``list`` action (also ``portdoctor reservations``)."""
    p = sub.add_parser(name, help="every reservation, with whether its port is in use now")
    add_json(p)
    p.set_defaults(run=run_list)


def add_reserve(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    """The ``reserve`` action (also ``portdoctor reserve``)."""
    from .pick import name_arg, range_arg

    p = sub.add_parser(name, help="reserve a port for NAME (a free one, or --port N)")
    p.add_argument("name", type=name_arg, metavar="NAME")
    p.add_argument("--port", type=port_arg, metavar="N", help="reserve this port (default: pick a free one)")
    p.add_argument("--near", type=port_arg, metavar="N", help="pick the closest free port at or above N")
    p.add_argument(
        "--range",
        type=range_arg,
        metavar="A-B",
        dest="range",
        help="pick in A-B (default 3000-9999)",
    )
    p.add_argument("--udp", action="store_true", help="a UDP port (default: TCP)")
    add_json(p)
    p.set_defaults(run=run_reserve)


def add_release(sub: argparse._SubParsersAction[argparse.ArgumentParser], name: str) -> None:
    """The ``release`` action (also ``portdoctor release``)."""
    from .pick import name_arg

    p = sub.add_parser(name, help="forget the port reserved for NAME")
    p.add_argument("name", type=name_arg, metavar="NAME")
    add_json(p)
    p.set_defaults(run=run_release)


def run_list(args: argparse.Namespace) -> int:
    """Print every reservation; exit 0."""
    from ..registry import Registry

    reg = Registry()
    rows = reg.all()
    busy = _listening({r.protocol for r in rows})
    if getattr(args, "json", False):
        from ..render import print_json

        print_json(
            {
                "path": reg.path,
                "reservations": [dict(r.to_dict(), in_use=(r.port, r.protocol) in busy) for r in rows],
            }
        )
        return ExitStatus.OK
    if not rows:
        print(f"no reservations ({_escape(reg.path)})")
        return ExitStatus.OK
    from ..render import Painter, ago, escape, table

    paint = Painter()
    cells = [
        [
            escape(r.name),
            str(r.port),
            r.protocol,
            "in use" if (r.port, r.protocol) in busy else "free",
            ago(r.last_used) + " ago",
            escape(r.cwd or "-"),
        ]
        for r in rows
    ]
    print(table(cells, ["NAME", "PORT", "PROTO", "NOW", "USED", "RESERVED FROM"], paint))
    return ExitStatus.OK


def run_reserve(args: argparse.Namespace) -> int:
    """Reserve; exit 0, 1 when the name or the port is already taken."""
    import sys

    from ..registry import Registry

    protocol = "udp" if args.udp else "tcp"
    if args.port is not None and (args.near is not None or args.range is not None):
        from ..errors import UsageError

        raise UsageError("--port cannot be combined with --near or --range")
    r = Registry().reserve(args.name, args.port, near=args.near, range=args.range, protocol=protocol)
    notes = []
    if r.new and args.port is not None:
        from .._pick import usable
        from ..ranges import why_unsafe

        unsafe = why_unsafe(r.port, protocol)
        if unsafe:
            notes.append(f"port {r.port} is not a good choice: {unsafe}")
        if not usable(r.port, protocol):
            notes.append(f"port {r.port} is in use now (see 'portdoctor why {r.port}')")
    if args.json:
        from ..render import print_json

        print_json(dict(r.to_dict(), notes=notes))
    else:
        what = "reserved" if r.new else "already reserved"
        print(f"{_escape(r.name)}: {r.port}/{r.protocol} ({what})")
        for note in notes:
            sys.stderr.write(f"portdoctor: {note}\n")
    return ExitStatus.OK


def run_release(args: argparse.Namespace) -> int:
    """Release; exit 0, or 1 when NAME had no reservation."""
    import sys

    from ..registry import Registry

    r = Registry().release(args.name)
    if args.json:
        from ..render import print_json

        print_json({"name": args.name, "released": r.to_dict() if r else None})
    elif r is None:
        sys.stderr.write(f"portdoctor: no reservation named '{_escape(args.name)}'\n")
    else:
        print(f"{_escape(r.name)}: released {r.port}/{r.protocol}")
    return ExitStatus.OK if r is not None else ExitStatus.IN_USE


def _escape(text: str) -> str:
    from ..render import escape

    return escape(text)


def _listening(protocols: set[str]) -> set[tuple[int, str]]:
    """(port, protocol) of every listener in our namespace: one look at the socket table."""
    if not protocols:
        return set()
    from .._find import sockets

    found = sockets(None, tuple(sorted(protocols)))
    return {(s.port, s.protocol) for s in found if s.listening and not s.foreign_netns}
