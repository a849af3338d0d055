"""The public API: every exported name resolves, and a function is never shadowed by a module
of the same name (the implementation modules are private: portdoctor._free holds free())."""

from __future__ import annotations

import subprocess
import sys

import pytest

import portdoctor

FUNCTIONS = ("find", "free", "pick", "wait")


def test_every_exported_name_resolves() -> None:
    for name in portdoctor.__all__:
        assert getattr(portdoctor, name) is not None, name


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_is_the_function_after_its_module_was_imported(name: str) -> None:
    # A fresh interpreter: import the private module first (as the library itself does), then
    # the package attribute is still the function: implementation modules are private
    # (portdoctor._free holds free()), so no module shadows a function of the same name.
    code = (
        "import importlib, types, portdoctor\n"
        f"importlib.import_module('portdoctor._{name}')\n"
        f"attr = portdoctor.{name}\n"
        "assert isinstance(attr, types.FunctionType), type(attr)\n"
        f"assert attr is importlib.import_module('portdoctor._{name}').{name}\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_no_public_module_shadows_a_function() -> None:
    import importlib.util

    for name in (*FUNCTIONS, "explain"):
        assert importlib.util.find_spec(f"portdoctor.{name}") is None, name


def test_in_use_and_is_free_are_the_one_definition_of_free() -> None:
    # The answer of check, why and free (real binds), not only "something listens".
    import socket

    from infra import free_port, portdoctor_cli
    from servers import leave_time_wait

    port = leave_time_wait()  # nothing listens, yet a plain bind fails (EADDRINUSE)
    assert not any(s.listening for s in portdoctor.sockets(port, all_netns=False))
    assert (portdoctor.in_use(port), portdoctor.is_free(port)) == (True, False)
    assert portdoctor.in_use(port, host="127.0.0.1") is True
    assert portdoctor_cli("check", str(port)).returncode == 1  # the same answer as the command

    idle = free_port()
    assert (portdoctor.in_use(idle), portdoctor.is_free(idle)) == (False, True)
    with socket.create_server(("127.0.0.1", idle)):
        assert (portdoctor.in_use(idle), portdoctor.is_free(idle)) == (True, False)
