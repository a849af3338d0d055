"""Options and helpers shared by several commands."""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse


def add_json(p: argparse.ArgumentParser) -> None:
    """--json: machine-readable output (schema in README.md)."""
    p.add_argument("--json", action="store_true", help="print JSON (schema in README.md)")


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


def port_arg(text: str) -> int:
    """argparse type for a port: one clear error line on bad input."""
    import argparse

    from ..errors import UsageError, parse_port

    try:
        return parse_port(text)
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seconds_arg(text: str) -> float:
    """argparse type for a timeout in seconds."""
    import argparse
    import math

    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value >= 0 or math.isinf(value):
        from ..errors import shown

        raise argparse.ArgumentTypeError(f"invalid timeout {shown(text)}: expected a number of seconds >= 0")
    return value
