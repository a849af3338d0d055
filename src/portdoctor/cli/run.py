"""``portdoctor run [--port N | --name NAME] [--on-busy ...] -- CMD ARGS...``: start CMD on a free port.

Exit status: CMD's own (128+N when signal N killed it); 1 when the port is busy and
``--on-busy fail`` (or ``ask`` away from a terminal, or an abort) or it could not be freed;
2 bad input; 3 refused to free the port (pid 1, another user's process...); 126 CMD cannot
be executed; 127 CMD not found.
"""

from __future__ import annotations

from .common import ask_yes, port_arg

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from ..model import Diagnosis


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``run`` command."""
    import argparse

    p = sub.add_parser(
        "run",
        help="run a command on a free port (PORT and {port}); explain its bind errors",
        description=(
            "Check the port, settle a conflict (--on-busy), then run CMD on it: with PORT=<port> in "
            "its environment, {port} in its arguments replaced, and, for a server portdoctor knows "
            "(vite, next, flask, django, uvicorn, gunicorn, npm run SCRIPT...), its own port flag "
            "set (vite --port N --strictPort). Signals are passed on to CMD; its "
            "exit status is returned. When CMD fails with a bind error, the port it names is "
            "diagnosed. The port: --port, --name (the registry), the port a known server's CMD "
            "already names (http.server 8000, vite --port 5173), $PORT, else a free one (pick)."
        ),
        epilog="example: portdoctor run --port 3000 --on-busy next -- python -m http.server {port}",
    )
    which = p.add_mutually_exclusive_group()
    which.add_argument("--port", type=port_arg, metavar="N", help="the port CMD should use")
    which.add_argument("--name", metavar="NAME", help="the port reserved for NAME in the registry")
    p.add_argument(
        "--on-busy",
        choices=("ask", "free", "next", "fail"),
        default="ask",
        help="when the port is busy: ask (on a terminal; else fail), free it safely, "
        "use the next free port, or fail with the diagnosis (default: ask)",
    )
    p.add_argument("--host", metavar="ADDR", help="the address CMD binds (default: all addresses)")
    p.add_argument("--udp", action="store_true", help="a UDP port (default: TCP)")
    p.add_argument(
        "--no-capture",
        dest="capture",
        action="store_false",
        help="leave CMD's stderr alone (no pipe; no diagnosis of its bind errors)",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing of ours unless CMD fails")
    p.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Decide the port, settle a conflict, run the command; return its exit status."""
    import sys

    from .. import run as runner
    from ..errors import UsageError
    from ..render import escape

    argv = list(args.argv)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        raise UsageError(
            "no command to run: give it after '--', e.g. portdoctor run --port 3000 -- npm start"
        )
    protocol = "udp" if args.udp else "tcp"
    choice = runner.initial_port(port=args.port, name=args.name, protocol=protocol, command=argv)
    literal = None
    if args.on_busy == "next" and choice.source in ("env", "picked"):
        # node srv.js 3000 with 3000 busy: PORT would not move it; its port word gets the next port
        literal = runner.literal_port(argv, protocol, args.host)
        if literal is not None:
            choice = runner.Choice(literal, protocol, "command")
    ask = _ask if runner.interactive() else None
    try:
        choice = runner.settle(
            choice, args.on_busy, host=args.host, command=argv, ask=ask, ask_kill=ask and ask_yes
        )
    except runner.PortBusy as exc:
        sys.stderr.write(f"portdoctor: {escape(str(exc))}\n")
        if exc.diagnosis is not None:
            sys.stderr.write(
                f"  see 'portdoctor why {exc.diagnosis.port}'; to go on, run it again with "
                "--on-busy next (the next free port) or --on-busy free (stop the holder safely)\n"
            )
        return int(exc.exit_status)
    # The server's own port flag (vite --port N --strictPort...), from the relaunch table.
    final, extra_env, how = runner.with_port(argv, choice.port, literal=literal)
    if not args.quiet:
        for note in choice.notes:
            sys.stderr.write(f"portdoctor: {escape(note)}\n")
        # Say how the port reaches CMD when portdoctor changed CMD, or chose the port itself
        # (then a CMD that ignores PORT would go elsewhere: say when that may happen).
        if final != argv or extra_env or choice.source == "picked" or choice.action == "next":
            sys.stderr.write(f"portdoctor: {escape(how)}\n")
    sys.stderr.flush()
    sys.stdout.flush()
    env = runner.environment(choice.port)
    env.update(extra_env)
    outcome = runner.execute(final, env, capture_stderr=args.capture)
    error, diagnosis = runner.bind_failure(outcome, final, protocol, choice.port)
    if diagnosis is not None:
        _report(error, diagnosis, final)
    return outcome.status


def _report(error: object, d: Diagnosis, argv: list[str]) -> None:
    import sys

    from ..quoting import join_visible
    from ..render import Painter, diagnosis_text, escape

    paint = Painter(None if sys.stderr.isatty() else False)
    kind = getattr(error, "kind", "unknown")
    # Whole and quoted for a shell (control characters as $'\n' escapes): it can be copied and run.
    sys.stderr.write(
        f"\nportdoctor: {join_visible(argv)} failed to bind port {d.port}/{d.protocol}"
        f" ({escape(kind)})\n" + diagnosis_text(d, paint) + "\n"
    )


def _ask(d: Diagnosis, next_port: int | None) -> str:
    import sys

    from ..render import escape

    summary = escape(d.cause.summary) if d.cause else f"port {d.port}/{d.protocol} is in use"
    options = "[f] free it"
    if next_port is not None:
        options += f", [n] use the next free port ({next_port})"
    options += ", [a] abort"
    sys.stderr.write(f"portdoctor: port {d.port}/{d.protocol} is busy: {summary}\n  {options}? ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer in ("f", "free"):
        return "free"
    if answer in ("n", "next") and next_port is not None:
        return "next"
    return "fail"
