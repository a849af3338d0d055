"""Options and helpers shared by several commands."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar("T")


def add_json(p: argparse.ArgumentParser) -> None:
    """--json: machine-readable output (schema in README.md)."""
    p.add_argument("--json", action="store_true", help="print JSON (schema in README.md)")


def add_target(p: argparse.ArgumentParser) -> None:
    """PORT and --udp: the one port a command looks at."""
    p.add_argument("port", type=port_arg, metavar="PORT")
    p.add_argument("--udp", action="store_true", help="the UDP port (default: TCP)")


def add_bind_options(p: argparse.ArgumentParser) -> None:
    """The bind the user wants to make: --host, --ipv6, --reuseaddr / --no-reuseaddr."""
    p.add_argument("--host", metavar="ADDR", help="the address you want to bind (default: all addresses)")
    p.add_argument("--ipv6", action="store_true", default=None, help="your bind is IPv6 (::)")
    p.add_argument(
        "--reuseaddr",
        dest="reuseaddr",
        action="store_true",
        default=None,
        help="your server sets SO_REUSEADDR (Node, Python's http.server, most servers do)",
    )
    p.add_argument(
        "--no-reuseaddr", dest="reuseaddr", action="store_false", help="your server does not set SO_REUSEADDR"
    )


# The plain parse (cli._fast_args) of what add_target, add_bind_options and add_json declare;
# a command adds its own flags to these. Must match those functions.
PLAIN_FLAGS = {
    "--udp": ("udp", True),
    "--json": ("json", True),
    "--ipv6": ("ipv6", True),
    "--reuseaddr": ("reuseaddr", True),
    "--no-reuseaddr": ("reuseaddr", False),
}
PLAIN_DEFAULTS = {"udp": False, "json": False, "host": None, "ipv6": None, "reuseaddr": None}


def described_bind(args: argparse.Namespace) -> bool:
    """True when the user described the bind to make (--host, --ipv6, --[no-]reuseaddr)."""
    return args.host is not None or args.ipv6 is not None or args.reuseaddr is not None


def checked_arg(check: Callable[[str], T], text: str) -> T:
    """``check(text)``, its UsageError turned into argparse's one-line error (for ``type=``)."""
    import argparse

    from ..errors import UsageError

    try:
        return check(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def port_arg(text: str) -> int:
    """argparse type for a port: one clear error line on bad input."""
    from ..errors import parse_port

    return checked_arg(parse_port, text)


def seconds_arg(text: str) -> float:
    """argparse type for a timeout in seconds (errors.parse_seconds, the library's validator)."""
    from ..errors import parse_seconds

    return checked_arg(parse_seconds, text)


def ask_yes(question: str) -> bool:
    """Ask ``question`` (escaped) on stderr; True only for an answer of y or yes on stdin."""
    import sys

    from ..render import escape

    sys.stderr.write(escape(question) + " [y/N] ")
    sys.stderr.flush()
    return sys.stdin.readline().strip().lower() in ("y", "yes")


# Commands whose PORT may be pasted as ADDRESS:PORT, PORT/udp or a URL, and the flags they take.
_TARGET_FLAGS = {
    "why": ("--host", "--udp"),
    "check": ("--host", "--udp"),
    "wait": ("--host", "--udp"),
    "free": ("--udp",),
}
_VALUED = ("--host", "--timeout", "--interval", "--signal", "--grace", "--name", "--near")


def expand_targets(argv: list[str]) -> list[str]:
    """``why :::3000`` -> ``why 3000 --host ::``; ``free 3000/udp`` -> ``free 3000 --udp``.

    The forms people paste from Node's errors, ss, fuser and browsers (errors.parse_target).
    Plain numbers and anything that is not such a form are left for the parser to judge.
    """
    if not argv or argv[0] not in _TARGET_FLAGS:
        return argv
    from ..errors import UsageError, parse_target

    flags = _TARGET_FLAGS[argv[0]]
    out = [argv[0]]
    extra: list[str] = []
    skip = False
    for arg in argv[1:]:
        if skip or arg.startswith("-") or arg.isdigit() or not any(c in arg for c in ":/"):
            skip = arg in _VALUED
            out.append(arg)
            continue
        try:
            port, host, protocol = parse_target(arg)
        except UsageError:
            out.append(arg)  # the parser says what is wrong with it
            continue
        out.append(str(port))
        if host and "--host" in flags and "--host" not in argv and "--host" not in extra:
            extra += ["--host", host]
        if protocol == "udp" and "--udp" in flags and "--udp" not in argv and "--udp" not in extra:
            extra.append("--udp")
    return out + extra


# Words people type for a command portdoctor names otherwise.
_SYNONYMS = {
    "kill": "free",
    "stop": "free",
    "release": "free",
    "list": "ls",
    "ps": "ls",
    "who": "why",
    "port": "why",
}


def unknown_command(word: str, commands: tuple[str, ...]) -> str | None:
    """The message for a first word that is neither a command nor a port (None: let it pass)."""
    if not word.isascii() or not word.isalpha():
        return None  # a port, pasted or mistyped: the port parser answers
    import difflib

    near = difflib.get_close_matches(word.lower(), [*commands, *_SYNONYMS], 1)
    guess = _SYNONYMS.get(near[0], near[0]) if near else None
    hint = f"; did you mean 'portdoctor {guess}'?" if guess else f"; commands: {', '.join(commands)}"
    return f"unknown command {word!r}{hint}"
