"""One back-end per platform, same functions (``contract.Backend``), chosen once.

- ``linux.py``: NETLINK_SOCK_DIAG and /proc, no dependency;
- ``generic.py``: psutil, for macOS, Windows and the BSDs (and Linux with
  ``PORTDOCTOR_BACKEND=generic``, which the tests use to run it here).

The platform flags are defined here and nowhere else: code outside ``platforms/`` asks
``platforms.LINUX`` / ``MACOS`` / ``WINDOWS``, never ``sys.platform``. The back-end itself
(``platforms.current``) is imported on first use, so a module that only needs a flag does not
pay for it (nor, on macOS or Windows without psutil, fail for it).
"""

from __future__ import annotations

import os
import sys

LINUX = sys.platform.startswith("linux")
MACOS = sys.platform == "darwin"
WINDOWS = sys.platform == "win32"
BSD = "bsd" in sys.platform or sys.platform.startswith("dragonfly")

TYPE_CHECKING = False
if TYPE_CHECKING:
    from . import generic, linux
    from .contract import Backend

    current: Backend
    # mypy checks that each back-end module implements the contract:
    _linux: Backend = linux
    _generic: Backend = generic


def _choose() -> object:
    # PORTDOCTOR_BACKEND=generic forces the psutil back-end (to test it on Linux).
    if LINUX and os.environ.get("PORTDOCTOR_BACKEND") != "generic":
        from . import linux

        return linux
    try:  # pragma: no cover - exercised on macOS/Windows, and on Linux by the generic tests
        from . import generic

        return generic
    except ModuleNotFoundError as exc:
        # psutil is optional (the Linux back-end and the single-file build do without it).
        if exc.name != "psutil":
            raise
        from ..errors import MissingDependency

        raise MissingDependency("psutil", "the psutil back-end (every platform but Linux)") from None


def __getattr__(name: str) -> object:
    if name == "current":
        backend = _choose()
        globals()["current"] = backend
        return backend
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BSD", "LINUX", "MACOS", "WINDOWS", "current"]
