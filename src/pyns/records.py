"""Record classes: fields, constructor, repr and equality, without the
start-up cost of dataclasses.

@dataclasses.dataclass writes every class's methods as source text and
exec()s it: ~0.8 ms per class on the dev machine, ~20 ms for the classes a
`pyns run` loads, plus ~5 ms to import dataclasses itself (inspect, ast,
dis). That is a third of a container start. @record gives the classes on
the start path the same behaviour from methods shared by all of them, so
defining a class compiles nothing.

Supported, as dataclasses does it: fields from the class's annotations in
order (a ClassVar annotation is not a field), defaults, fresh defaults
from ``field(default_factory=...)``, fields left out of comparison
(``field(compare=False)``), positional or keyword construction, ``repr``,
``==`` between instances of the same class, ``frozen=True`` (assignment
raises, instances hash by their fields), ``eq=False`` (identity
equality), inherited fields, :func:`replace`, :func:`as_dict` and
:func:`field_names`. Every pyns class that would be a dataclass is a
record, so the two never meet (dataclasses.asdict does not descend into
a record).
"""
from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (see pyns/__init__.py)
if TYPE_CHECKING:
    from typing import Any, Callable, TypeVar

    T = TypeVar("T")

_NO_DEFAULT = object()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record."""


class _Factory:
    __slots__ = ("make",)

    def __init__(self, make: Callable[[], Any]) -> None:
        self.make = make


class _Field:
    __slots__ = ("default", "compare", "hash")

    def __init__(self, default: Any, compare: bool, hash: bool) -> None:  # noqa: A002 - dataclasses' name
        self.default, self.compare, self.hash = default, compare, hash


def field(*, default: Any = _NO_DEFAULT, default_factory: Callable[[], Any] | None = None,
          compare: bool = True, hash: bool | None = None) -> Any:  # noqa: A002 - dataclasses' name
    """A field's default made afresh for every instance (a list, a dict,
    another record), and/or a field that == (compare) or hash() leave out;
    hash follows compare unless given."""
    if default_factory is not None:
        default = _Factory(default_factory)
    return _Field(default, compare, compare if hash is None else hash)


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    cls = type(self)
    fill: tuple[tuple[str, Any, bool], ...] = cls.__record_fill__
    if len(args) > len(fill):
        raise TypeError(f"{cls.__name__}() takes {len(fill)} positional arguments but {len(args)} were given")
    put = object.__setattr__
    for (name, _, _), value in zip(fill, args):
        put(self, name, value)
    if kwargs:
        names = cls.__record_fields__
        for name, value in kwargs.items():
            if name not in names:
                raise TypeError(f"{cls.__name__}() got an unexpected keyword argument {name!r}")
            if name in names[:len(args)]:
                raise TypeError(f"{cls.__name__}() got multiple values for argument {name!r}")
            put(self, name, value)
    for name, default, factory in fill[len(args):]:
        if kwargs and name in kwargs:
            continue
        if default is _NO_DEFAULT:
            raise TypeError(f"{cls.__name__}() missing required argument: {name!r}")
        put(self, name, default() if factory else default)


def _values(self: Any) -> tuple[Any, ...]:
    return tuple(getattr(self, n) for n in self.__record_compared__)


def _repr(self: Any) -> str:
    inner = ", ".join(f"{n}={getattr(self, n)!r}" for n in self.__record_fields__)
    return f"{type(self).__qualname__}({inner})"


def _eq(self: Any, other: Any) -> Any:
    if other.__class__ is not self.__class__:
        return NotImplemented
    return _values(self) == _values(other)


def _hash(self: Any) -> int:
    return hash(tuple(getattr(self, n) for n in self.__record_hashed__))


def _frozen_setattr(self: Any, name: str, value: Any) -> None:
    raise FrozenInstanceError(f"cannot assign to field {name!r}")


def _frozen_delattr(self: Any, name: str) -> None:
    raise FrozenInstanceError(f"cannot delete field {name!r}")


def _fields_of(cls: type) -> tuple[tuple[str, ...], dict[str, Any], tuple[str, ...], tuple[str, ...]]:
    """(field names in order, their defaults, the names == compares, the names hash() takes)."""
    names: list[str] = []
    defaults: dict[str, Any] = {}
    uncompared: set[str] = set()
    unhashed: set[str] = set()
    for base in reversed(cls.__mro__[1:]):
        for n in getattr(base, "__record_fields__", ()):
            if n not in names:
                names.append(n)
            if n not in getattr(base, "__record_compared__", (n,)):
                uncompared.add(n)
            if n not in getattr(base, "__record_hashed__", (n,)):
                unhashed.add(n)
        defaults.update(getattr(base, "__record_defaults__", {}))
    for name, annotation in cls.__dict__.get("__annotations__", {}).items():
        if isinstance(annotation, str) and annotation.split("[", 1)[0].rsplit(".", 1)[-1] == "ClassVar":
            continue
        if name not in names:
            names.append(name)
        value = cls.__dict__.get(name, _NO_DEFAULT)
        if type(value) is _Field:
            (uncompared.discard if value.compare else uncompared.add)(name)
            (unhashed.discard if value.hash else unhashed.add)(name)
            value = value.default
            if value is _NO_DEFAULT or type(value) is _Factory:
                delattr(cls, name)
            else:
                setattr(cls, name, value)
        elif type(value) is _Factory:
            delattr(cls, name)
        if value is _NO_DEFAULT:
            defaults.pop(name, None)
        else:
            defaults[name] = value
    seen_default = None
    for n in names:
        if n in defaults:
            seen_default = n
        elif seen_default:
            raise TypeError(f"{cls.__name__}: non-default field {n!r} follows default field {seen_default!r}")
    return (tuple(names), defaults, tuple(n for n in names if n not in uncompared),
            tuple(n for n in names if n not in unhashed))


def record(cls: type[T] | None = None, *, frozen: bool = False, eq: bool = True) -> Any:
    """Class decorator, used like @dataclass / @dataclass(frozen=True, eq=False)."""
    def wrap(c: type[T]) -> type[T]:
        (c.__record_fields__, c.__record_defaults__,  # type: ignore[attr-defined]
         c.__record_compared__, c.__record_hashed__) = _fields_of(c)  # type: ignore[attr-defined]
        # What __init__ walks: (name, default or _NO_DEFAULT, whether the default is a factory).
        c.__record_fill__ = tuple(  # type: ignore[attr-defined]
            (n, d.make if type(d) is _Factory else d, type(d) is _Factory)
            for n in c.__record_fields__ for d in (c.__record_defaults__.get(n, _NO_DEFAULT),))
        c.__init__ = _init  # type: ignore[misc]
        if "__repr__" not in c.__dict__:
            c.__repr__ = _repr  # type: ignore[method-assign]
        class_hash = c.__dict__.get("__hash__", _NO_DEFAULT)
        explicit_hash = not (class_hash is _NO_DEFAULT or (class_hash is None and "__eq__" in c.__dict__))
        if eq and "__eq__" not in c.__dict__:
            c.__eq__ = _eq  # type: ignore[method-assign]
        if eq and not explicit_hash:
            c.__hash__ = _hash if frozen else None  # type: ignore[method-assign,assignment]
        if frozen:
            c.__setattr__ = _frozen_setattr  # type: ignore[method-assign,assignment]
            c.__delattr__ = _frozen_delattr  # type: ignore[method-assign,assignment]
        return c

    return wrap if cls is None else wrap(cls)


def replace(obj: T, **changes: Any) -> T:
    """A copy of a record with some fields changed (dataclasses.replace)."""
    values = {n: getattr(obj, n) for n in type(obj).__record_fields__}  # type: ignore[attr-defined]
    unknown = set(changes) - set(values)
    if unknown:
        raise TypeError(f"{type(obj).__name__} has no field {sorted(unknown)[0]!r}")
    return type(obj)(**{**values, **changes})


def field_names(cls_or_obj: Any) -> tuple[str, ...]:
    """A record's field names, in order (dataclasses.fields, names only)."""
    return cls_or_obj.__record_fields__


def as_dict(obj: Any) -> Any:
    """A record as a dict, records inside lists, tuples and dicts too
    (dataclasses.asdict): what json.dumps can write."""
    if hasattr(type(obj), "__record_fields__"):
        return {n: as_dict(getattr(obj, n)) for n in obj.__record_fields__}
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a NamedTuple
        return type(obj)(*(as_dict(v) for v in obj))
    if isinstance(obj, (list, tuple)):
        return type(obj)(as_dict(v) for v in obj)
    if isinstance(obj, dict):
        return {k: as_dict(v) for k, v in obj.items()}
    return obj
