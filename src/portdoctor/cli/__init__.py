"""The ``portdoctor`` command: parse arguments, call the library, hand the result to a renderer.

Each command lives in its own module of this package (``cli/why.py``, ``cli/free.py``...) and
exposes ``register(subparsers)``, which adds its parser with ``set_defaults(run=run)``, and
``run(args) -> int``. Command modules import the library inside ``run`` so that start-up
stays cheap.
"""

from __future__ import annotations

import gc
import os
import sys

from .. import submodule
from ..errors import ExitStatus, PortdoctorError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

# Module names under portdoctor.cli, in the order they appear in --help.
COMMANDS = (
    "why", "ls", "check", "explain", "free",
    "pick", "wait", "run", "registry", "reserve", "release", "reservations",
    "ui",
)  # fmt: skip

def _normalise(argv: list[str]) -> list[str]:
    """'portdoctor' -> 'ls'; 'portdoctor 3000 ...' -> 'why 3000 ...'."""
    # A negative number is a (bad) port, not a flag: 'portdoctor -1' must say so.
    first = next((a for a in argv if not a.startswith("-") or a == "-" or a[1:].isdigit()), None)
    if any(a in ("-h", "--help", "-V", "--version") for a in argv[:1]):
        return argv
    if argv[:1] == ["help"]:  # 'portdoctor help' and 'portdoctor help free', as git and pip have
        if len(argv) == 1:
            return ["--help"]
        if len(argv) == 2 and argv[1] in COMMANDS:
            return [argv[1], "--help"]
        from ..errors import UsageError
        from .common import unknown_command

        wrong = argv[1] if len(argv) == 2 else " ".join(argv[1:])
        usage = f"unknown command {wrong!r}; commands: {', '.join(COMMANDS)}"  # repr escapes
        raise UsageError(unknown_command(wrong, COMMANDS) or usage)
    if first is None:
        return ["ls", *argv]
    if first in COMMANDS:
        return argv
    if first.isalpha():  # a word, not a port: 'portdoctor kill 3000'
        from ..errors import UsageError
        from .common import unknown_command

        message = unknown_command(first, COMMANDS)
        if message:
            raise UsageError(message)
    return ["why", *argv]


def _fast_args(argv: list[str]) -> Any:
    """Parse the commonest command lines (``why PORT --json``...) without argparse.

    argparse, gettext, locale and shutil cost ~5 ms of a ~30 ms run. A command module that
    declares ``FAST_FLAGS`` ({flag: (dest, value)}) and ``FAST_DEFAULTS`` gets a plain parse
    when its arguments are one port and flags from that table (and ``--host ADDR``); anything
    else (help, errors, abbreviations, ``--flag=value``) goes to argparse, which stays the
    reference: tests/test_cli.py checks that both give the same namespace.
    """
    if len(argv) < 2 or argv[0] not in ("why", "check"):
        return None
    module = submodule(f"{__name__}.{argv[0]}")
    flags: dict[str, tuple[str, object]] | None = getattr(module, "FAST_FLAGS", None)
    if flags is None:
        return None
    values: dict[str, object] = dict(module.FAST_DEFAULTS)
    port = None
    i = 1
    while i < len(argv):
        arg = argv[i]
        if arg in flags:
            dest, value = flags[arg]
            values[dest] = value
        elif arg == "--host" and "host" in values and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            values["host"] = argv[i + 1]
            i += 1
        elif port is None and arg.isascii() and arg.isdigit() and len(arg) <= 5 and 1 <= int(arg) <= 65535:
            port = int(arg)
        else:
            return None
        i += 1
    if port is None:
        return None
    return _Namespace(command=argv[0], port=port, run=module.run, **values)


class _Namespace:
    """The parsed arguments, as argparse's Namespace holds them (``types`` costs ~0.2 ms)."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)


# Commands that answer at once and exit, run without the cyclic garbage collector (see main()).
# The others (a stop that waits, a poll loop, a supervisor, an interface, a stream) keep it.
_QUICK = ("why", "check", "ls", "pick")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (see README: exit codes).

    The cyclic garbage collector is paused until the command is known, and for the quick ones
    (:data:`_QUICK`) until they end: importing the modules of ``why`` allocates enough objects
    to trigger a full collection (~1 ms, 5% of the run) that finds nothing to free (portdoctor's
    values hold no reference cycles).
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _main(argv, collecting)
    finally:
        if collecting:
            gc.enable()


def entry() -> int:
    """The installed command (``bin/portdoctor``, ``python -m portdoctor``, the zipapp): :func:`main`,
    then an exit without the interpreter's last garbage collection.

    At exit CPython looks once more for reference cycles among every object still alive, mostly
    the modules and their functions: ~1.3 ms after ``why``, a tenth of what portdoctor adds to
    the interpreter's own start-up. portdoctor leaves no cycle whose finalizer matters (the
    registry commits each change, files are closed by ``with``, the standard streams are flushed
    by the interpreter anyway), so what is alive at the end is moved out of its reach.
    """
    status = main()
    gc.freeze()
    return status


def _main(argv: Sequence[str] | None, collecting: bool) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        args_list = _normalise(args_list)
    except PortdoctorError as exc:
        sys.stderr.write(f"portdoctor: {exc}\n")
        return exc.exit_status
    if any(":" in a or "/" in a for a in args_list[1:3]):  # ':::3000', '3000/udp', a URL
        from .common import expand_targets

        args_list = expand_targets(args_list)
    if args_list[:1] == ["explain"]:  # (explainpipe) see cli/explain.py: its writer may exit soon
        from .explain import look_upstream

        look_upstream(args_list)
    args = _fast_args(args_list)
    if args is None:
        from .parser import build_parser

        first = args_list[0] if args_list else None
        parser = build_parser(first if first in COMMANDS else None)
        args = parser.parse_args(args_list)
        if getattr(args, "run", None) is None:
            parser.print_help()
            return ExitStatus.USAGE
    if collecting and args.command not in _QUICK:
        gc.enable()
    run = args.run
    try:
        return int(run(args))
    except PortdoctorError as exc:
        from ..errors import UsageError

        # Bad input the command found itself: point at its own help, as its parser's errors do.
        see = f" (see 'portdoctor {args.command} --help')" if isinstance(exc, UsageError) else ""
        sys.stderr.write(f"portdoctor: {exc}{see}\n")
        if getattr(args, "json", False):
            # A script reading --json gets JSON on stdout, also when the answer is an error.
            from ..render import print_json

            print_json({"error": str(exc), "exit_status": exc.exit_status})
        return exc.exit_status
    except KeyboardInterrupt:
        sys.stderr.write("portdoctor: interrupted\n")
        return ExitStatus.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (portdoctor ls | head). The answer was not delivered: never report
        # it as 0 ("free"), which `if portdoctor check 3000 | ...` would take for one. 141 is what
        # a shell reports for a command ended by SIGPIPE.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())  # the interpreter's final flush must not fail again
        except (OSError, ValueError, AttributeError):
            pass
        return ExitStatus.BROKEN_PIPE
