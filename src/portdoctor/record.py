"""A tiny base for portdoctor's immutable value classes.

The model classes are written out by hand on top of :class:`Record` instead of using
``@dataclass``: importing ``dataclasses`` (it pulls in ``inspect`` and ``ast``) and generating
the methods of a dozen classes costs ~9 ms, which is most of the start-up budget of a command
that should answer in about twice the interpreter's own start-up time. They behave like frozen
dataclasses: keyword construction, ``==``, ``hash()``, a readable ``repr()``, assignment refused,
and :meth:`Record.replace` in place of ``dataclasses.replace``.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeVar

    R = TypeVar("R", bound="Record")


class Record:
    """An immutable value with named fields (its ``__slots__``)."""

    __slots__: tuple[str, ...] = ()
    _unhashed: tuple[str, ...] = ()  # fields left out of == and hash() (e.g. free-form dicts)

    def _fill(self, values: dict[str, Any]) -> None:
        """Set every slot from ``values`` (an ``__init__``'s ``locals()``)."""
        for name in self.__slots__:
            object.__setattr__(self, name, values[name])

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable: use .replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def _key(self) -> tuple[Any, ...]:
        return tuple(getattr(self, n) for n in self.__slots__ if n not in self._unhashed)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined, no-any-return]

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._key()))

    def __repr__(self) -> str:
        fields = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__slots__)
        return f"{type(self).__name__}({fields})"

    def replace(self: R, **changes: Any) -> R:
        """A copy with some fields changed (like ``dataclasses.replace``)."""
        values = {n: getattr(self, n) for n in self.__slots__}
        values.update(changes)
        return type(self)(**values)

    def fields(self) -> dict[str, Any]:
        """The fields and their values, in declaration order."""
        return {n: getattr(self, n) for n in self.__slots__}


def callable_module(module_name: str, function: str) -> None:
    """Make ``portdoctor.<module>(...)`` call the function of the same name.

    ``portdoctor.free``, ``.pick``, ``.find`` and ``.wait`` are both modules and the functions
    of the public API. Once a submodule is imported, the import system binds the package
    attribute to the module, hiding the lazily exported function; a module that can be called
    keeps ``portdoctor.free(3000)`` working whichever was imported first.
    """
    import sys
    import types

    module = sys.modules[module_name]

    class CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            return getattr(self, function)(*args, **kwargs)

    module.__class__ = CallableModule
