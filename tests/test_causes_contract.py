"""The detectors' contract: every name in ORDER is a module with detect(ctx); every cause kind a
detector can return is one of model.CAUSE_KINDS (a misspelled one would reach users' JSON)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import portdoctor.causes as causes
from portdoctor.model import CAUSE_KINDS

CAUSES = Path(causes.__file__).parent


def test_every_detector_in_order_exists_and_detects() -> None:
    assert len(set(causes.ORDER)) == len(causes.ORDER)
    for name in causes.ORDER:
        module = importlib.import_module(f"portdoctor.causes.{name}")
        assert callable(getattr(module, "detect", None)), name
    for name in causes.ANNOTATORS:
        assert callable(importlib.import_module(f"portdoctor.causes.{name}").annotate), name


def test_every_detector_module_is_in_order() -> None:
    helpers = {"__init__", "actions", "argv", "gates"}
    modules = {p.stem for p in CAUSES.glob("*.py")} - helpers
    assert modules == set(causes.ORDER), modules ^ set(causes.ORDER)


def _kinds_in(path: Path) -> set[str]:
    """The string literals given as ``kind=`` (or first argument) to Cause(...) in a module."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Cause":
            values = [k.value for k in node.keywords if k.arg == "kind"] + node.args[:1]
            found |= {v.value for v in values if isinstance(v, ast.Constant) and isinstance(v.value, str)}
    return found


def test_every_cause_kind_is_declared() -> None:
    kinds: set[str] = set()
    for path in sorted(CAUSES.glob("*.py")):
        kinds |= _kinds_in(path)
    assert kinds, "the scan found no Cause(kind=...) at all"
    assert kinds <= set(CAUSE_KINDS), kinds - set(CAUSE_KINDS)
    assert {"pm2", "docker", "reloader", "orphan", "time-wait"} <= kinds


def test_the_scan_sees_a_misspelled_kind(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text('Cause(kind="pm 2", summary="x")\nCause("dokcer", "y")\n')
    assert _kinds_in(bad) == {"pm 2", "dokcer"}
