"""``portdoctor ui`` (and ``portdoctor ls -i``): the interactive, live view of every listening port.

Textual is an optional dependency (the ``ui`` extra, or ``textual>=8`` beside portdoctor),
imported only here, so the start-up of every other command does not change.
"""

from __future__ import annotations

import sys

from ..errors import MissingDependency, UsageError


def run(*, udp: bool = False, mine: bool = False) -> int:
    """Run the app in this terminal until the user quits; exit status 0."""
    try:
        from .app import PortsApp
    except ImportError as exc:
        if exc.name is not None and exc.name.split(".")[0] in ("textual", "rich"):
            raise MissingDependency("textual", "portdoctor ui", "textual>=8") from None
        raise
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError("portdoctor ui needs a terminal (for a list to read or parse: portdoctor ls --json)")
    PortsApp(udp=udp, mine=mine).run()
    return 0
