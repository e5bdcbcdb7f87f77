"""Response serialisation driven by the botocore output shapes.

Handlers return plain dicts. Here members the shape does not declare are dropped, ``None`` values
are omitted, and timestamps (``datetime`` or numbers) become epoch seconds, as AWS sends them.

Each shape is compiled once into a function (as :mod:`.validate` compiles its checks): a
structure knows its members and which of them need converting, so the runtime's responses (a
list of hundreds of item entries) cost one dictionary pass per entry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

Convert = Callable[[Any], Any]

# Shapes whose values pass unchanged (string, integer, long, boolean, blob, ...).
_CONVERTED = ("structure", "list", "map", "timestamp", "double", "float")

_COMPILED: dict[int, tuple[Shape, Convert]] = {}
_LOCK = threading.RLock()


class Shaped(dict[str, Any]):
    """A response already in its output shape's wire form (only declared members, no ``None``,
    numbers as JSON numbers): :func:`serialize` passes it through. For hot paths whose builders
    guarantee the form; their tests check it against the compiled converter."""

    __slots__ = ()


def serialize(shape: StructureShape | None, value: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, Shaped):
        return value
    if shape is None:
        return {}
    result = _converter(shape)(value)
    return result if isinstance(result, dict) else {}


def _converter(shape: Shape) -> Convert:
    found = _COMPILED.get(id(shape))
    if found is not None and found[0] is shape:
        return found[1]
    with _LOCK:
        found = _COMPILED.get(id(shape))
        if found is not None and found[0] is shape:
            return found[1]
        return _compile(shape)


def _member(shape: Shape) -> Convert | None:
    """The converter of a member's shape; None: its values pass unchanged."""
    return _converter(shape) if shape.type_name in _CONVERTED else None


def _compile(shape: Shape) -> Convert:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        members: list[tuple[str, Convert | None]] = []

        def structure(value: Any) -> Any:
            if value is None:
                return None
            out: dict[str, Any] = {}
            for name, convert in members:
                if name in value:
                    item = value[name]
                    if item is not None and convert is not None:
                        item = convert(item)
                    if item is not None:
                        out[name] = item
            return out

        # Registered before its members are compiled: a shape may contain itself.
        _COMPILED[id(shape)] = (shape, structure)
        members.extend((name, _member(m)) for name, m in shape.members.items())
        return structure
    if kind == "list":
        assert isinstance(shape, ListShape)
        item = _member(shape.member)

        def listing(value: Any) -> Any:
            if value is None:
                return None
            if item is None:
                return list(value)
            return [None if v is None else item(v) for v in value]

        fn: Convert = listing
    elif kind == "map":
        assert isinstance(shape, MapShape)
        entry = _member(shape.value)

        def mapping(value: Any) -> Any:
            if value is None:
                return None
            if entry is None:
                return dict(value)
            return {k: None if v is None else entry(v) for k, v in value.items()}

        fn = mapping
    elif kind == "timestamp":
        fn = _timestamp
    elif kind in ("double", "float"):
        fn = _float
    else:
        fn = _same
    _COMPILED[id(shape)] = (shape, fn)
    return fn


def _timestamp(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    return float(value)


def _float(value: Any) -> Any:
    return None if value is None else float(value)


def _same(value: Any) -> Any:
    return value
