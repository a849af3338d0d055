"""portdoctor: who holds this port, why, and how to get it back safely.

The library API the ``portdoctor`` command is a thin layer over::

    import portdoctor
    d = portdoctor.why(3000)          # Diagnosis: sockets, holders, cause, actions
    portdoctor.listening()            # every listener with its holder
    portdoctor.is_free(3000)          # free by the one definition (real binds), as `check` says
    portdoctor.free(3000)             # the safe stop, verified
    portdoctor.pick(near=3000)        # a free port that is safe to use
    portdoctor.explain(error_text)    # a runtime's bind error: what it means, who holds the port

Names are imported lazily so that ``import portdoctor`` stays cheap.
"""

from __future__ import annotations

import sys

__version__ = "0.1.0"

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

    from ._explain import BindError, Explanation, explain, parse_bind_error
    from ._find import Finding, find, in_use, is_free, sockets
    from ._free import FreeResult, Step, free
    from ._pick import Pick, pick
    from ._wait import wait
    from .bind import bind_or_explain, listen_or_explain
    from .diagnose import why
    from .errors import (
        CommandNotStarted,
        DockerUnavailable,
        ExitStatus,
        FreeRefused,
        MissingDependency,
        NoFreePort,
        PermissionProblem,
        PortBusy,
        PortdoctorError,
        PortInUseError,
        PortPermissionError,
        RefusedError,
        RegistryError,
        ReservationConflict,
        UsageError,
    )
    from .listing import Listener, listening
    from .model import Action, Cause, Diagnosis, Hidden, Holder, ProcessRef, Project, Socket
    from .probe import BindResult, can_bind
    from .registry import Registry, Reservation

_LAZY = {
    "why": "diagnose",
    "find": "_find",
    "Finding": "_find",
    "in_use": "_find",
    "is_free": "_find",
    "sockets": "_find",
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
    "RegistryError": "errors",
    "CommandNotStarted": "errors",
    "DockerUnavailable": "errors",
    "ExitStatus": "errors",
    "FreeRefused": "errors",
    "MissingDependency": "errors",
    "NoFreePort": "errors",
    "PermissionProblem": "errors",
    "PortBusy": "errors",
    "PortInUseError": "errors",
    "PortPermissionError": "errors",
    "ReservationConflict": "errors",
    "bind_or_explain": "bind",
    "listen_or_explain": "bind",
    "parse_bind_error": "_explain",
    "BindError": "_explain",
    "explain": "_explain",
    "Explanation": "_explain",
    "pick": "_pick",
    "Pick": "_pick",
    "can_bind": "probe",
    "BindResult": "probe",
    "Registry": "registry",
    "Reservation": "registry",
    "wait": "_wait",
    "free": "_free",
    "FreeResult": "_free",
    "Step": "_free",
}

__all__ = [
    "Action",
    "BindError",
    "BindResult",
    "Cause",
    "CommandNotStarted",
    "Diagnosis",
    "DockerUnavailable",
    "ExitStatus",
    "Explanation",
    "Finding",
    "FreeRefused",
    "FreeResult",
    "Hidden",
    "Holder",
    "Listener",
    "MissingDependency",
    "NoFreePort",
    "PermissionProblem",
    "Pick",
    "PortBusy",
    "PortInUseError",
    "PortPermissionError",
    "PortdoctorError",
    "ProcessRef",
    "Project",
    "RefusedError",
    "Registry",
    "RegistryError",
    "Reservation",
    "ReservationConflict",
    "Socket",
    "Step",
    "UsageError",
    "__version__",
    "bind_or_explain",
    "can_bind",
    "explain",
    "find",
    "free",
    "in_use",
    "is_free",
    "listen_or_explain",
    "listening",
    "parse_bind_error",
    "pick",
    "sockets",
    "wait",
    "why",
]


def submodule(name: str) -> ModuleType:
    """The module ``name`` (``portdoctor.cli.why``), imported (importlib costs ~0.5 ms of start-up)."""
    __import__(name)
    return sys.modules[name]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'portdoctor' has no attribute {name!r}")
    value = getattr(submodule(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value
