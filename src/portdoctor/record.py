"""portdoctor's one value type: :class:`Record`, an immutable class whose fields are declared once.

::

    class Step(Record):
        action: str
        target: str
        seconds: float = 0.0

is a frozen value with ``__slots__``, a keyword/positional ``__init__``, ``==``, ``hash()``, a
readable ``repr()``, :meth:`Record.replace` and a generic :meth:`Record.to_dict` (the JSON form:
nested records, tuples, lists, dicts and frozensets converted). A class overrides ``to_dict``
only where its JSON differs from its fields.

Why not ``@dataclass``: importing ``dataclasses`` (it pulls in ``inspect`` and ``ast``) and
generating the methods of a few dozen classes costs ~9 ms, most of the start-up budget of a
command that should answer in about twice the interpreter's own start-up time. The metaclass
below reads the class's annotations as written (names only: they stay strings, never evaluated)
and gives each class a generic ``__init__`` that compiles the class's own (one small ``exec``)
once the class is used a lot (see :func:`_init_on_first_use`). tests/test_record.py holds
its behaviour; mypy sees the classes as frozen dataclasses (``dataclass_transform``).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, ClassVar, TypeVar

    from typing_extensions import dataclass_transform

    R = TypeVar("R", bound="Record")
else:

    def dataclass_transform(**_: object) -> object:
        return lambda cls: cls


_MISSING = object()


def _fields_of(namespace: dict[str, Any]) -> list[str]:
    """The field names a class body declares: its annotations, minus ClassVars and private names."""
    out = []
    for name, kind in namespace.get("__annotations__", {}).items():
        class_var = isinstance(kind, str) and kind.startswith(("ClassVar", "typing.ClassVar"))
        if name.startswith("_") or class_var:
            continue
        out.append(name)
    return out


@dataclass_transform(frozen_default=True)
class RecordType(type):
    """Builds ``__slots__`` and ``__init__`` of a Record from the fields its body declares.

    A class that writes ``__slots__`` itself keeps the older hand-written style (its own
    ``__init__`` calling :meth:`Record._fill`).
    """

    def __new__(mcs, name: str, bases: tuple[type, ...], namespace: dict[str, Any]) -> RecordType:
        if "__slots__" in namespace:
            return super().__new__(mcs, name, bases, namespace)
        inherited: list[str] = []
        defaults: dict[str, Any] = {}
        for base in reversed(bases):
            inherited += [f for f in getattr(base, "_record_fields", ()) if f not in inherited]
            defaults.update(getattr(base, "_record_defaults", {}))
        declared = _fields_of(namespace)
        own = [f for f in declared if f not in inherited]
        for f in declared:
            value = namespace.pop(f, _MISSING)
            if value is not _MISSING:
                defaults[f] = value
        fields = inherited + own
        namespace["__slots__"] = tuple(own)
        namespace["_record_fields"] = tuple(fields)
        namespace["_record_defaults"] = defaults
        cls = super().__new__(mcs, name, bases, namespace)
        if "__init__" not in namespace:
            cls.__init__ = _init_on_first_use(cls, fields, defaults)  # type: ignore[misc]
        return cls


# Instances built by the generic __init__ before the class gets a compiled one.
COMPILE_AFTER = 32


def _init_on_first_use(cls: type, fields: list[str], defaults: dict[str, Any]) -> Any:
    """An ``__init__`` that binds arguments generically, then compiles the class's own.

    Compiling an ``__init__`` costs 50-150 µs a class, and a command such as ``why`` builds a
    few instances each of a dozen classes: the generic binding (~1 µs slower an instance) is
    cheaper for them. After :data:`COMPILE_AFTER` instances (``ls`` on a busy machine builds
    thousands) the compiled one takes its place. The order of defaults is checked at once, as a
    dataclass would.
    """
    seen_default = False
    for f in fields:
        if f in defaults:
            seen_default = True
        elif seen_default:
            raise TypeError(f"{cls.__name__}: field {f!r} without a default follows one with a default")
    name = cls.__name__
    known = frozenset(fields)
    uses = 0

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        nonlocal uses
        uses += 1
        if uses > COMPILE_AFTER:
            init = _make_init(name, fields, defaults)
            cls.__init__ = init  # type: ignore[misc]
            init(self, *args, **kwargs)
            return
        if len(args) > len(fields):
            raise TypeError(f"{name}() takes {len(fields)} positional arguments but {len(args)} were given")
        values = dict(zip(fields, args))
        for key, value in kwargs.items():
            if key in values:
                raise TypeError(f"{name}() got multiple values for argument {key!r}")
            if key not in known:
                raise TypeError(f"{name}() got an unexpected keyword argument {key!r}")
            values[key] = value
        for f in fields:
            if f in values:
                _set(self, f, values[f])
            elif f in defaults:
                _set(self, f, defaults[f])
            else:
                raise TypeError(f"{name}() missing required argument: {f!r}")

    __init__.__qualname__ = f"{name}.__init__"
    return __init__


_set = object.__setattr__


def _make_init(name: str, fields: list[str], defaults: dict[str, Any]) -> Any:
    params, body = [], []
    for f in fields:
        params.append(f"{f}=_d[{f!r}]" if f in defaults else f)
        body.append(f"    _set(self, {f!r}, {f})")
    source = f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(body) or "    pass") + "\n"
    scope: dict[str, Any] = {"_d": defaults, "_set": object.__setattr__}
    exec(source, scope)  # noqa: S102 - our own field names, checked identifiers
    init = scope["__init__"]
    init.__qualname__ = f"{name}.__init__"
    return init


def _jsonable(value: Any) -> Any:
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, frozenset):
        return sorted(_jsonable(v) for v in value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


class Record(metaclass=RecordType):
    """An immutable value with named fields."""

    __slots__: ClassVar[tuple[str, ...]] = ()
    _record_fields: ClassVar[tuple[str, ...]] = ()
    _record_defaults: ClassVar[dict[str, Any]] = {}
    _unhashed: ClassVar[tuple[str, ...]] = ()  # fields left out of == and hash() (e.g. free-form dicts)

    def _fill(self, values: dict[str, Any]) -> None:
        """Set every slot from ``values`` (a hand-written ``__init__``'s ``locals()``)."""
        for name in self._names():
            object.__setattr__(self, name, values[name])

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        if cls._record_fields and "_record_fields" in vars(cls):
            return cls._record_fields
        names: list[str] = []
        for klass in reversed(cls.__mro__):
            names += [n for n in vars(klass).get("__slots__", ()) if n not in names]
        return tuple(names)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: use .replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self._names() if n not in self._unhashed)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined, no-any-return]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self._names())
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild, (type(self), self.fields()))

    def replace(self: R, **changes: Any) -> R:
        """A copy with some fields changed (like ``dataclasses.replace``)."""
        values = {n: getattr(self, n) for n in self._names()}
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"{type(self).__name__} has no field {sorted(unknown)[0]!r}")
        values.update(changes)
        return type(self)(**values)

    def fields(self) -> dict[str, Any]:
        """The fields and their values, in declaration order."""
        return {n: getattr(self, n) for n in self._names()}

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every field, nested values converted (override where the JSON differs)."""
        return {n: _jsonable(getattr(self, n)) for n in self._names()}


def _rebuild(cls: type[R], fields: dict[str, Any]) -> R:
    return cls(**fields)
