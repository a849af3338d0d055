"""The public API: every exported name resolves, and the functions that share a name with their
module stay callable whichever was imported first."""

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
def test_function_callable_after_its_module_was_imported(name: str) -> None:
    # A fresh interpreter: import the submodule first (as the library itself does), then call
    # the package attribute, which the import system has bound to the module.
    code = (
        "import importlib, portdoctor\n"
        f"importlib.import_module('portdoctor.{name}')\n"
        f"attr = portdoctor.{name}\n"
        "assert callable(attr), type(attr)\n"
        f"assert hasattr(attr, '__call__')\n"
        f"import portdoctor.{name} as m\n"
        f"assert callable(getattr(m, '{name}'))\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_callable_module_calls_the_function() -> None:
    import portdoctor.find

    finding = portdoctor.find(1, ("tcp",))  # the module, called: the function runs
    assert type(finding).__name__ == "Finding"
    assert portdoctor.find.find is not None  # and it is still the module
