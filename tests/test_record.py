"""record.Record, portdoctor's one value type: fields declared once, frozen, generic to_dict()."""

from __future__ import annotations

import pickle
import subprocess
import sys
from typing import ClassVar

import pytest

from portdoctor.record import Record


class Point(Record):
    x: int
    y: int = 0
    tags: tuple[str, ...] = ()
    KIND: ClassVar[str] = "point"


class Named(Point):
    name: str = "p"


class Box(Record):
    corner: Point
    points: tuple[Point, ...] = ()
    meta: dict[str, object] | None = None
    seen: frozenset[int] = frozenset()
    _unhashed = ("meta",)


def test_fields_declared_once_give_init_slots_and_defaults() -> None:
    p = Point(1)
    assert (p.x, p.y, p.tags) == (1, 0, ())
    assert Point(1, 2).y == 2 and Point(x=3, y=4, tags=("a",)).tags == ("a",)
    assert Point.__slots__ == ("x", "y", "tags") and Point.KIND == "point"
    assert not hasattr(p, "__dict__")  # slots only
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, z=2)  # type: ignore[call-arg]


def test_frozen() -> None:
    p = Point(1)
    with pytest.raises(AttributeError, match="immutable"):
        p.x = 2  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del p.x  # type: ignore[misc]


def test_equality_hash_repr_replace() -> None:
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(2, 1)
    assert hash(Point(1, 2)) == hash(Point(1, 2))
    assert Point(1, 2) != Named(1, 2)  # another type is never equal
    assert repr(Point(1, 2)) == "Point(x=1, y=2, tags=())"
    q = Point(1, 2).replace(y=5)
    assert q == Point(1, 5) and type(q) is Point
    with pytest.raises(TypeError, match="no field 'z'"):
        Point(1).replace(z=1)


def test_unhashed_fields_are_left_out_of_eq_and_hash() -> None:
    a = Box(Point(1), meta={"a": 1})
    b = Box(Point(1), meta={"b": 2})
    assert a == b and hash(a) == hash(b)


def test_inheritance_appends_fields() -> None:
    n = Named(1, 2, ("t",), "n")
    assert n.fields() == {"x": 1, "y": 2, "tags": ("t",), "name": "n"}
    assert Named(7).name == "p"


def test_generic_to_dict_converts_nested_values() -> None:
    box = Box(Point(1, tags=("a",)), (Point(2), Named(3)), {"k": (1, 2)}, frozenset({3, 1}))
    assert box.to_dict() == {
        "corner": {"x": 1, "y": 0, "tags": ["a"]},
        "points": [{"x": 2, "y": 0, "tags": []}, {"x": 3, "y": 0, "tags": [], "name": "p"}],
        "meta": {"k": [1, 2]},
        "seen": [1, 3],
    }


def test_a_required_field_after_a_default_is_refused() -> None:
    with pytest.raises(TypeError, match="without a default"):

        class Bad(Record):
            a: int = 0
            b: int


def test_pickles() -> None:
    assert pickle.loads(pickle.dumps(Point(1, 2))) == Point(1, 2)


# What importing record adds (a coverage run may have imported typing itself, before).
PROBE = (
    "import sys; before = set(sys.modules); import portdoctor.record; new = set(sys.modules) - before; "
    "print('dataclasses' in new, 'typing' in new)"
)


def test_importing_record_imports_neither_dataclasses_nor_typing() -> None:
    out = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_generic_and_compiled_init_take_and_refuse_the_same_arguments() -> None:
    from portdoctor import record

    def outcomes() -> list[object]:
        class Base(Record):
            a: int
            b: int = 2

        class Child(Base):
            c: str = "c"

        calls: list[tuple[type[Record], tuple[object, ...], dict[str, object]]] = [
            (Base, (1,), {}), (Base, (), {"a": 1, "b": 3}), (Child, (1, 2, "x"), {}),
            (Child, (1,), {"c": "y"}),
            (Base, (), {}), (Base, (1, 2, 3), {}), (Base, (1,), {"a": 1}), (Base, (1,), {"z": 1}),
            (Child, (), {"b": 1}),
        ]  # fmt: skip
        out: list[object] = []
        for _ in range(record.COMPILE_AFTER + 2):  # the generic __init__, then the compiled one
            for cls, args, kwargs in calls:
                try:
                    out.append(cls(*args, **kwargs).fields())
                except TypeError:
                    out.append(TypeError)
        assert Base.__init__.__qualname__ == "Base.__init__"
        assert "uses" not in Base.__init__.__code__.co_freevars  # compiled by now
        return out

    results = outcomes()
    per_round = len(results) // (record.COMPILE_AFTER + 2)
    first, last = results[:per_round], results[-per_round:]
    assert first == last
    assert first[0] == {"a": 1, "b": 2} and first[2] == {"a": 1, "b": 2, "c": "x"}
    assert first[3] == {"a": 1, "b": 2, "c": "y"} and first[4:] == [TypeError] * 5
