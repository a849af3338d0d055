"""The argparse parser of the ``portdoctor`` command (imported only when it is needed)."""

from __future__ import annotations

import argparse
import os
from importlib import import_module

from .. import __version__
from ..errors import ExitStatus
from . import COMMANDS

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _width() -> int:
    """The terminal's width, found without shutil (which argparse would import: ~3 ms)."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(2).columns
    except OSError:
        return 80


def _formatter(prog: str) -> argparse.HelpFormatter:
    return argparse.HelpFormatter(prog, width=_width() - 2)


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one clear line on bad input, and exit code 2."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("formatter_class", _formatter)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def error(self, message: str) -> None:  # type: ignore[override]
        """Print one line and exit 2 (never a traceback); what the user typed is escaped."""
        from ..render import escape

        self.exit(ExitStatus.USAGE, f"{self.prog}: error: {escape(message)} (see '{self.prog} --help')\n")


class CommandParser(ArgumentParser):
    """The parser of one command: arguments it does not know are its error, so the line points
    at ``portdoctor COMMAND --help`` (argparse would hand them to the top-level parser)."""

    def parse_known_args(self, args: Any = None, namespace: Any = None) -> Any:
        """Parse; anything left over is an error of this command (one line, exit 2)."""
        parsed, extra = super().parse_known_args(args, namespace)
        if extra:
            self.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed, extra


def build_parser(only: str | None = None) -> ArgumentParser:
    """The argument parser with every command registered (or just ``only``: argparse and its
    gettext look-ups cost ~0.4 ms a command, so a run builds the one parser it needs)."""
    parser = ArgumentParser(
        prog="portdoctor",
        description="Who holds this port, why, and how to get it back safely.",
        epilog=(
            "'portdoctor PORT' is 'portdoctor why PORT'; 'portdoctor' alone is 'portdoctor ls'; "
            "'portdoctor help COMMAND' is 'portdoctor COMMAND --help'."
        ),
    )
    parser.add_argument("-V", "--version", action="version", version=f"portdoctor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    for name in (only,) if only else COMMANDS:
        import_module(f"portdoctor.cli.{name}").register(sub)
    return parser
