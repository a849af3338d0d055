"""``portdoctor ls``: every listening socket and its holder, one row each, sorted by port."""

from __future__ import annotations

import os

from ..errors import ExitStatus
from .common import add_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``ls`` command."""
    p = sub.add_parser("ls", help="every listening socket with its holder (the default with no PORT)")
    p.add_argument("--udp", action="store_true", help="UDP sockets instead of TCP")
    p.add_argument("--all", action="store_true", help="TCP and UDP, and other network namespaces")
    p.add_argument(
        "-i", "--interactive", action="store_true", help="the live, interactive view (portdoctor ui)"
    )
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """List listeners; exit 0."""
    if args.interactive:
        from ..ui import run as run_ui

        return run_ui(udp=bool(args.udp or args.all))
    from ..listing import listening
    from ..render import Painter, escape, escape_argv, print_json, table, terminal_width

    protocols = ("tcp", "udp") if args.all else (("udp",) if args.udp else ("tcp",))
    rows = listening(protocols, all_netns=args.all)
    if args.json:
        print_json([r.to_dict() for r in rows])
        return ExitStatus.OK
    paint = Painter()
    # Privileges show every holder but those in another user namespace or protected processes.
    # (Windows has no euid and no sudo: its hidden rows say only that.)
    sudo_helps = hasattr(os, "geteuid") and os.geteuid() != 0
    hidden_label = "(not visible: try sudo)" if sudo_helps else "(not visible)"
    out = []
    for r in rows:
        s, h = r.socket, r.holder
        addr = f"[{s.address}]" if s.family == "ipv6" else s.address
        proto = s.protocol + ("6" if s.family == "ipv6" else "")
        if s.foreign_netns:
            proto += "*"
        out.append(
            [
                str(s.port),
                proto,
                escape(addr),
                str(h.pid) if h else ("?" if r.hidden else "-"),
                escape(r.user or ""),
                escape(h.name) if h else (hidden_label if r.hidden else ""),
                escape(h.project.name or "") if h and h.project else "",
                escape_argv(h.cmdline) if h else "",
            ]
        )
    headers = ["PORT", "PROTO", "ADDRESS", "PID", "USER", "NAME", "PROJECT", "COMMAND"]
    # COMMAND (then a long NAME) is cut to the terminal's width: whole in a pipe and in --json.
    print(table(out, headers, paint, width=terminal_width(), squeeze={7: 16, 5: 15}))
    if args.all and any(r.socket.foreign_netns for r in rows):
        print(paint("* in another network namespace: does not conflict with yours", "dim"))
    hidden = sum(1 for r in rows if r.hidden)
    if hidden and sudo_helps:
        # The command that works for this install (sudo's PATH has no venv, pipx or python -m).
        from ..invocation import sudo_command

        flags = ["--all"] if args.all else (["--udp"] if args.udp else [])
        what = "holder is" if hidden == 1 else "holders are"
        print(f"{hidden} {what} not visible to you; to see them: {sudo_command('ls', *flags)}")
    return ExitStatus.OK
