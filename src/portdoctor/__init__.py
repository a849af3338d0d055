"""portdoctor: who holds this port, why, and how to get it back safely.

The library API the ``portdoctor`` command is a thin layer over::

    import portdoctor
    d = portdoctor.why(3000)          # Diagnosis: sockets, holders, cause, actions
    portdoctor.listening()            # every listener with its holder
    portdoctor.in_use(3000)           # a fast yes/no from the kernel's socket table

Names are imported lazily so that ``import portdoctor`` stays cheap.
"""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .diagnose import why
    from .errors import PortdoctorError, RefusedError, UsageError
    from .find import Finding, find, in_use, sockets
    from .listing import Listener, listening
    from .model import Action, Cause, Diagnosis, Hidden, Holder, ProcessRef, Project, Socket

_LAZY = {
    "why": "diagnose",
    "find": "find",
    "Finding": "find",
    "in_use": "find",
    "sockets": "find",
    "listening": "listing",
    "Listener": "listing",
    "Action": "model",
    "Cause": "model",
    "Diagnosis": "model",
    "Hidden": "model",
    "Holder": "model",
    "ProcessRef": "model",
    "Project": "model",
    "Socket": "model",
    "PortdoctorError": "errors",
    "UsageError": "errors",
    "RefusedError": "errors",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'portdoctor' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
