"""One back-end per platform, same functions, chosen once at import.

Every back-end module exposes:

- ``sockets(port, protocols) -> list[Socket]``: sockets whose local port is ``port`` (every
  port when None), with their state, owner uid and inode; holders may be empty.
- ``attach_holders(sockets) -> tuple[list[Socket], list[Hidden], set[int]]``: the same sockets
  with the pids of every process holding them; the sockets whose holders we could not see;
  the pids whose file descriptors we could not read.
- ``process(pid) -> ProcessFacts | None``: raw facts about one process, None if it is gone.
- ``environ(pid) -> dict[str, str] | None``: its environment, if readable.
- ``cgroup(pid) -> str | None``: its cgroup path (Linux), else None.
- ``children(pid) -> list[int]``: its direct children.
- ``all_pids() -> list[int]``: every process id.
- ``NAME``: "linux", "macos", "windows" or "bsd".
"""

from __future__ import annotations

import os
import sys

# PORTDOCTOR_BACKEND=generic forces the psutil back-end (to test it on Linux).
if sys.platform.startswith("linux") and os.environ.get("PORTDOCTOR_BACKEND") != "generic":
    from . import linux as current
else:  # pragma: no cover - exercised on macOS/Windows
    try:
        from . import generic as current  # type: ignore[no-redef, attr-defined, unused-ignore]
    except ModuleNotFoundError as exc:
        # psutil is optional (the Linux back-end and the single-file build do without it).
        if exc.name != "psutil":
            raise
        from ..errors import MissingDependency

        raise MissingDependency("psutil", "the psutil back-end (every platform but Linux)") from None

__all__ = ["current"]
