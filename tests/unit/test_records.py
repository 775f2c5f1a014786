"""pyns.records behaves like the dataclasses it replaces, for what pyns uses."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyns.records import FrozenInstanceError, as_dict, field, field_names, record, replace


def pair(frozen: bool = False, eq: bool = True):
    """The same class twice: as a dataclass and as a record."""
    def body():
        class Point:
            kind: ClassVar[str] = "point"
            x: int
            y: int = 0
            tags: list[str] = field(default_factory=list)
            note: str = field(default="", compare=False)
        return Point

    def dc_body():
        class Point:
            kind: ClassVar[str] = "point"
            x: int
            y: int = 0
            tags: list[str] = dataclasses.field(default_factory=list)
            note: str = dataclasses.field(default="", compare=False)
        return Point

    return dataclasses.dataclass(frozen=frozen, eq=eq)(dc_body()), record(frozen=frozen, eq=eq)(body())


@given(st.integers(), st.integers(), st.lists(st.text(max_size=3), max_size=3), st.text(max_size=3),
       st.integers(), st.booleans())
def test_construction_repr_and_equality_match_dataclasses(x, y, tags, note, other_x, frozen):
    dc, rec = pair(frozen=frozen)
    a, b = dc(x, y=y, tags=tags, note=note), rec(x, y=y, tags=tags, note=note)
    assert repr(a).replace("dc_body.<locals>.", "") == repr(b).replace("body.<locals>.", "")
    assert (a == dc(other_x, y, list(tags), "n")) == (b == rec(other_x, y, list(tags), "n"))
    assert (b == rec(x, y, list(tags), "other note")) is True  # compare=False
    if frozen:
        assert hash(rec(x, y, tuple(tags), note)) == hash(rec(x, y, tuple(tags), "other"))


def test_defaults_are_fresh_and_class_attributes_like_dataclasses():
    _, Point = pair()
    p, q = Point(1), Point(2)
    p.tags.append("a")
    assert q.tags == [] and Point.y == 0 and not hasattr(Point, "tags")
    assert Point.kind == "point" and field_names(Point) == ("x", "y", "tags", "note")


def test_constructor_errors():
    _, Point = pair()
    with pytest.raises(TypeError, match="missing required argument: 'x'"):
        Point()
    with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
        Point(1, z=2)
    with pytest.raises(TypeError, match="multiple values for argument 'x'"):
        Point(1, x=2)
    with pytest.raises(TypeError, match="takes 4 positional arguments"):
        Point(1, 2, [], "", 5)
    with pytest.raises(TypeError, match="non-default field 'b' follows default field 'a'"):
        @record
        class Bad:
            a: int = 0
            b: int


def test_frozen_refuses_assignment_and_hashes_by_fields():
    _, Point = pair(frozen=True)
    p = Point(1, 2, ())
    with pytest.raises(FrozenInstanceError):
        p.x = 3
    with pytest.raises(FrozenInstanceError):
        del p.x
    assert hash(p) == hash(Point(1, 2, ())) and {p, Point(1, 2, ())} == {p}


def test_mutable_records_are_unhashable_and_eq_false_means_identity():
    _, Point = pair()
    with pytest.raises(TypeError):
        hash(Point(1))
    _, Ident = pair(eq=False)
    a = Ident(1)
    assert a != Ident(1) and a == a and hash(a) == hash(a)


def test_inheritance_replace_and_as_dict():
    @record(frozen=True)
    class Base:
        a: int
        b: int = 1

    @record(frozen=True)
    class Child(Base):
        c: list[Base] = field(default_factory=list)

    ch = Child(5, c=[Base(1)])
    assert field_names(Child) == ("a", "b", "c") and ch.b == 1
    assert replace(ch, b=7) == Child(5, 7, [Base(1)]) and ch.b == 1
    assert as_dict(ch) == {"a": 5, "b": 1, "c": [{"a": 1, "b": 1}]}
    with pytest.raises(TypeError, match="no field 'z'"):
        replace(ch, z=1)


def test_the_start_path_imports_none_of_the_expensive_modules():
    """The reason records exist, and the CLI's start-up budget: the start
    path's modules, in a fresh interpreter without site (as bin/pyns runs)."""
    heavy = ["dataclasses", "click", "typing", "hashlib", "shutil", "tempfile", "subprocess", "secrets", "inspect"]
    probe = ("import sys\n"
             "import pyns.containers.container, pyns.containers.launch, pyns.images.store, pyns.runtime.seccomp\n"
             "import pyns.cli.running, pyns.cli.lifecycle, pyns.cli.quick, pyns.cli.main\n"
             f"print(sorted(m for m in {heavy!r} if m in sys.modules))\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    out = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"
