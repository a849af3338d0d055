"""``portdoctor check PORT``: exit 0 when the port is free, 1 when it is in use."""

from __future__ import annotations

from ..errors import ExitStatus
from .common import PLAIN_DEFAULTS, PLAIN_FLAGS, add_bind_options, add_json, add_target, described_bind

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``check`` command."""
    p = sub.add_parser("check", help="exit 0 if PORT is free, 1 if it is in use (for scripts)")
    add_target(p)
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing")
    add_bind_options(p)
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Exit 0 when the port is free by the one definition (probe.availability), else 1.

    A described bind (--host, --ipv6, --[no-]reuseaddr) that fails for any other reason (a low
    port, an address that is not local) is also exit 1: that bind cannot be made.
    """
    from .._find import sockets
    from ..probe import availability

    protocol = "udp" if args.udp else "tcp"
    listeners = [s for s in sockets(args.port, (protocol,), all_netns=False) if s.listening]
    described = described_bind(args)
    a = availability(args.port, protocol, host=args.host, ipv6=args.ipv6, reuseaddr=args.reuseaddr)
    in_use = not a.free or (described and not a.bindable)
    failed = a.blocked or next((r for _, r in a.binds if not r.ok), None)
    # Free, but a low port this user may not bind (EACCES): say so; still exit 0 unless the bind
    # was described (the port is free: nobody holds it; root or a capable server can use it).
    needs_privilege = a.free and any(r.error == "permission" for _, r in a.binds)
    # "bind": the bind that failed, else (for a described bind) the one that worked.
    shown = failed if failed is not None and (described or in_use) else None
    if shown is None and described and a.binds:
        shown = a.binds[0][1]
    if args.json:
        from ..render import print_json

        print_json(
            {
                "port": args.port,
                "protocol": protocol,
                "in_use": in_use,
                "free": a.free,
                "listeners": [s.to_dict() for s in listeners],
                "bind": None if shown is None else shown.to_dict(),
                "binds": a.to_dict(),
                "needs_privilege": needs_privilege,
            }
        )
    elif not args.quiet:
        if in_use and failed is not None and (described or not listeners):
            host = f"[{failed.host}]" if ":" in failed.host else failed.host
            line = f"{args.port}/{protocol}: cannot bind {host}:{args.port}: {failed.message}"
            if failed.error == "permission":
                reason, step = _privileged(args.port, protocol)
                line += f": {reason}\n  {step}"
            print(line)
        elif needs_privilege and not in_use:
            reason, step = _privileged(args.port, protocol)
            print(f"{args.port}/{protocol}: free, but {reason}\n  {step}")
        else:
            print(f"{args.port}/{protocol}: {'in use' if in_use else 'free'}")
    return ExitStatus.IN_USE if in_use else ExitStatus.OK


def _privileged(port: int, protocol: str) -> tuple[str, str]:
    """Why this user may not bind the port, and the next step, as this user can run it."""
    from ..invocation import own_command
    from ..ranges import unprivileged_port_start

    start = unprivileged_port_start()
    below = f"ports below {start} (net.ipv4.ip_unprivileged_port_start)" if start > port else "this port"
    why = own_command("why", str(port), *(["--udp"] if protocol == "udp" else []))
    return (
        f"binding it needs root or CAP_NET_BIND_SERVICE: {below}",
        f"the ways to bind it (setcap, the sysctl) or a port you can use: {why}",
    )


# The plain parse of the commonest command lines (see cli._fast_args); must match register().
FAST_FLAGS = {**PLAIN_FLAGS, "-q": ("quiet", True), "--quiet": ("quiet", True)}
FAST_DEFAULTS = {**PLAIN_DEFAULTS, "quiet": False}
