"""``portdoctor free PORT [PORT...]``: stop what holds the port the right way, and prove it worked."""

from __future__ import annotations

from ..errors import ExitStatus
from .common import add_json, ask_yes, port_arg, seconds_arg

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from .._free import FreeResult, Step
    from ..render import Painter


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``free`` command."""
    p = sub.add_parser(
        "free",
        help="stop what holds PORT safely (through its manager when it has one) and verify",
        description=(
            "Stop what holds each PORT: through its manager (pm2, docker, supervisorctl, systemctl, "
            "the nodemon parent) when it has one, else SIGTERM to the holders; wait for the port to be "
            "released and check that nothing re-bound it. Exit 0: all freed; 1: not freed or respawned; "
            "3: refused; 2: bad input."
        ),
    )
    p.add_argument("ports", type=port_arg, nargs="+", metavar="PORT")
    p.add_argument("--udp", action="store_true", help="the UDP port (default: TCP)")
    p.add_argument(
        "--force",
        action="store_true",
        help="send SIGKILL if SIGTERM is not enough; also stop other users' processes and services",
    )
    p.add_argument(
        "--timeout",
        type=seconds_arg,
        default=5.0,
        metavar="S",
        help="seconds to wait for the port (default 5)",
    )
    p.add_argument("--dry-run", action="store_true", help="show the plan, touch nothing")
    p.add_argument("-y", "--yes", action="store_true", help="send SIGKILL when needed without asking")
    add_json(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Free each port; exit 0 when all are free, 1 when one is not, 3 when one was refused."""
    import sys

    from .._free import FreeRefused, free
    from ..errors import PermissionProblem
    from ..render import Painter, print_json

    protocol = "udp" if args.udp else "tcp"
    interactive = not args.json and sys.stdin.isatty() and sys.stderr.isatty()
    ask = _always if args.yes else (ask_yes if interactive else None)
    # On a terminal each step is printed as it completes (a stop can take seconds); into a pipe
    # or a file, the aligned table once it is over.
    live = not args.json and not args.dry_run and sys.stdout.isatty()
    paint = Painter()
    results: list[FreeResult] = []
    status: int = ExitStatus.OK
    for port in dict.fromkeys(args.ports):
        shown = _Live(f"{port}/{protocol}", paint) if live else None
        try:
            r = free(
                port, protocol=protocol, force=args.force, timeout=args.timeout, dry_run=args.dry_run,
                ask=ask, progress=shown,
            )  # fmt: skip
        except FreeRefused as exc:
            r = exc.result
            status = ExitStatus.REFUSED
        except PermissionProblem as exc:
            raise PermissionProblem(_sudo_free(str(exc), port, args)) from None
        else:
            if not r.freed and not r.dry_run:
                status = max(status, ExitStatus.IN_USE)
        results.append(r)
        if not args.json:
            out = sys.stderr if r.refused else sys.stdout
            # Live, the steps are out already; the verdict names the cause the heading could not.
            text = "\n".join(_tail(r, paint, cause=True)) if shown and shown.count else _text(r, paint)
            out.write(text + "\n")
            out.flush()
    if args.json:
        data = [r.to_dict() for r in results]
        print_json(data[0] if len(data) == 1 else data)
    return status


def _sudo_free(message: str, port: int, args: argparse.Namespace) -> str:
    """``message`` with its sudo hint (the library's ``sudo portdoctor free PORT``) made the whole
    command the user ran: every port, and ``--force`` / ``--dry-run`` when given."""
    from ..invocation import sudo_command

    udp = ["--udp"] if args.udp else []
    plain = sudo_command("free", str(port), *udp)
    again = [*(str(p) for p in dict.fromkeys(args.ports)), *udp]
    again += [flag for flag, on in (("--force", args.force), ("--dry-run", args.dry_run)) if on]
    return message.replace(f"(try: {plain})", f"(try: {sudo_command('free', *again)})")


def _always(question: str) -> bool:
    return True


class _Live:
    """free()'s progress on a terminal: the port's name, then one line per step as it completes."""

    def __init__(self, where: str, paint: Painter) -> None:
        self.where = where
        self.paint = paint
        self.count = 0

    def __call__(self, step: Step) -> None:
        import sys

        from ..render import escape

        if not self.count:
            sys.stdout.write(self.paint(self.where, "bold") + "\n")
        self.count += 1
        what = f"{escape(step.target)}: {escape(step.result)}"
        sys.stdout.write(f"  {step.action:<8}  {what} ({step.seconds:.2f}s)\n")
        sys.stdout.flush()


def _text(r: FreeResult, paint: Painter) -> str:
    from ..render import escape, table, terminal_width

    where = f"{r.port}/{r.protocol}"
    lines: list[str] = []
    if r.refused:
        lines.append(paint(f"{where}: refused", "red", "bold"))
        lines.extend(f"  - {escape(reason)}" for reason in r.refused)
        return "\n".join(lines)
    head = f"{where}" + (f" ({r.cause})" if r.cause else "") + (": plan (dry run)" if r.dry_run else "")
    lines.append(paint(head, "bold"))
    rows = [
        [s.action, escape(s.target), escape(s.result), "" if r.dry_run else f"{s.seconds:.2f}s"]
        for s in r.steps
    ]
    # The whole target is in --json. Here a process's command line is cut to fit the terminal (the
    # table is indented by 2); a port or a manager's command (no pid) is never cut.
    width = terminal_width()
    whole = max((len(row[1]) for row, s in zip(rows, r.steps) if s.pid is None), default=0)
    body = table(
        rows, ["STEP", "TARGET", "RESULT", "" if r.dry_run else "TIME"],
        width=None if width is None else width - 2, squeeze={1: max(whole, 32)},
    )  # fmt: skip
    lines.extend("  " + line for line in body.splitlines())
    return "\n".join([*lines, *_tail(r, paint)])


def _tail(r: FreeResult, paint: Painter, cause: bool = False) -> list[str]:
    """The lines after the steps: the verdict, and the respawn watch or what still holds it."""
    from ..render import escape

    where = f"{r.port}/{r.protocol}" + (f" ({r.cause})" if cause and r.cause else "")
    if r.dry_run:
        return [escape(r.summary)]
    if r.freed:
        lines = [paint(f"{where} is free ({r.seconds:.2f}s).", "green")]
        if r.steps and r.steps[-1].result != "already free":
            from .._free import watch_text

            lines.append(escape(watch_text(r.watched, r.respawn_risk)))
        return lines
    return [paint(escape(r.summary), "yellow")]
