"""The ``portdoctor`` command: parse arguments, call the library, hand the result to a renderer.

Each command lives in its own module of this package (``cli/why.py``, ``cli/free.py``...) and
exposes ``register(subparsers)``, which adds its parser with ``set_defaults(run=run)``, and
``run(args) -> int``. Command modules import the library inside ``run`` so that start-up
stays cheap.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from ..errors import ExitStatus, PortdoctorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

# Module names under portdoctor.cli, in the order they appear in --help.
COMMANDS = (
    "why", "ls", "check", "explain",
    "pick", "wait", "registry", "reserve", "release", "reservations",
)  # fmt: skip

__version__ = "0.1.0"


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one clear line on bad input, and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print one line and exit 2 (never a traceback)."""
        self.exit(ExitStatus.USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def build_parser() -> ArgumentParser:
    """The argument parser with every command registered."""
    parser = ArgumentParser(
        prog="portdoctor",
        description="Who holds this port, why, and how to get it back safely.",
        epilog="'portdoctor PORT' is 'portdoctor why PORT'; 'portdoctor' alone is 'portdoctor ls'.",
    )
    parser.add_argument("--version", action="version", version=f"portdoctor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=ArgumentParser)
    for name in COMMANDS:
        import_module(f"{__name__}.{name}").register(sub)
    return parser


def _normalise(argv: list[str]) -> list[str]:
    """'portdoctor' -> 'ls'; 'portdoctor 3000 ...' -> 'why 3000 ...'."""
    first = next((a for a in argv if not a.startswith("-") or a == "-"), None)
    if any(a in ("-h", "--help", "--version") for a in argv[:1]):
        return argv
    if first is None:
        return ["ls", *argv]
    if first in COMMANDS or first in ALIASES:
        return argv
    return ["why", *argv]


# Extra names a command module may register (e.g. 'registry' for 'reservations').
ALIASES: set[str] = set()


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (see README: exit codes)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(_normalise(args_list))
    run = getattr(args, "run", None)
    if run is None:
        parser.print_help()
        return ExitStatus.USAGE
    try:
        return int(run(args))
    except PortdoctorError as exc:
        sys.stderr.write(f"portdoctor: {exc}\n")
        return exc.exit_status
    except KeyboardInterrupt:
        sys.stderr.write("portdoctor: interrupted\n")
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (portdoctor ls | head): not an error of ours.
        try:
            sys.stdout = None  # type: ignore[assignment]
        finally:
            return ExitStatus.OK  # noqa: B012
