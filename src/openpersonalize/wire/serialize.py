"""Response serialisation driven by the botocore output shapes.

Handlers return plain dicts. Here members the shape does not declare are dropped, ``None`` values
are omitted, and timestamps (``datetime`` or numbers) become epoch seconds, as AWS sends them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape


def serialize(shape: StructureShape | None, value: dict[str, Any]) -> dict[str, Any]:
    if shape is None:
        return {}
    result = _walk(shape, value)
    return result if isinstance(result, dict) else {}


def _walk(shape: Shape, value: Any) -> Any:
    if value is None:
        return None
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        out: dict[str, Any] = {}
        for name, member in shape.members.items():
            if name in value:
                converted = _walk(member, value[name])
                if converted is not None:
                    out[name] = converted
        return out
    if kind == "list":
        assert isinstance(shape, ListShape)
        return [_walk(shape.member, v) for v in value]
    if kind == "map":
        assert isinstance(shape, MapShape)
        return {k: _walk(shape.value, v) for k, v in value.items()}
    if kind == "timestamp":
        if isinstance(value, datetime):
            return value.timestamp()
        return float(value)
    if kind in ("double", "float"):
        return float(value)
    return value
