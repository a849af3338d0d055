"""``portdoctor explain [TEXT...]``: what a bind error means, and who holds its port."""

from __future__ import annotations

import sys

from .common import add_json

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse

    from ..explain import BindError
    from ..model import Diagnosis


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``explain`` command."""
    p = sub.add_parser(
        "explain",
        help="recognise a runtime's 'address already in use' error and diagnose its port",
        description=(
            "Recognise the bind error a server printed (Node, Python, Go, Java, Ruby, .NET, "
            "Docker, nginx, PostgreSQL, Redis, Vite...) and diagnose the port it names. "
            "Reads standard input when no TEXT is given: 'npm run dev 2>&1 | portdoctor explain'."
        ),
    )
    p.add_argument("text", nargs="*", metavar="TEXT", help="the error text (default: stdin)")
    p.add_argument("-v", "--verbose", action="store_true", help="full command lines")
    add_json(p)
    p.set_defaults(run=run)


def _read(args: argparse.Namespace) -> str:
    if args.text and args.text != ["-"]:
        return " ".join(args.text)
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        sys.stderr.write("paste the error, then press Ctrl-D\n")
    return sys.stdin.read()


def _diagnose(error: BindError) -> Diagnosis | None:
    from ..diagnose import why
    from ..errors import UsageError

    if error.port is None:
        return None
    try:
        return why(error.port, host=error.address)
    except UsageError:
        # A host name the probe cannot bind ("myhost.local"): diagnose the port alone.
        return why(error.port)


def run(args: argparse.Namespace) -> int:
    """Exit 0: the port is free now; 1: still in use (or unknown); 2: no bind error found."""
    from ..errors import UsageError
    from ..explain import advice, describe, parse_bind_error
    from ..render import Painter, diagnosis_text, escape, print_json

    error = parse_bind_error(_read(args))
    if error is None:
        raise UsageError(
            "no bind error recognised in the text (expected e.g. 'EADDRINUSE', "
            "'Address already in use', 'port is already allocated')"
        )
    d = _diagnose(error)
    if args.json:
        print_json(
            {
                "port": error.port,
                "error": error.to_dict(),
                "advice": advice(error),
                "diagnosis": d.to_dict() if d is not None else None,
            }
        )
    else:
        paint = Painter()
        out = [paint(escape(describe(error)), "bold"), "  " + paint(escape(error.line), "dim")]
        hint = advice(error)
        if hint:
            out.append(f"  {escape(hint)}")
        out.append("")
        if d is not None:
            out.append(diagnosis_text(d, paint, verbose=args.verbose))
        else:
            out.append("The text names no port: run 'portdoctor why PORT' with the port the server used.")
        print("\n".join(out))
    return 1 if d is None or not d.free else 0
