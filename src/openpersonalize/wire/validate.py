"""Request validation driven by the botocore shapes.

Checks what the model declares — required members, types, string/list/map lengths, numeric ranges,
regular-expression patterns and enums — and raises ``InvalidInputException`` naming the member path
and the rule, in the wording AWS uses ("1 validation error detected: Value ... at 'name' failed to
satisfy constraint: ...").

Two walkers: :func:`_check` collects every violation with its member path (the reference, and the
source of every message); :func:`_compiled` turns a shape into nested closures that only answer
"valid or not", without building a path string per member. Requests are checked by the compiled
closure first and walked by ``_check`` only when it says no, so the valid-request hot path
(PutEvents at thousands of calls a second) pays for no messages.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from functools import cache
from typing import Any

from botocore.model import ListShape, MapShape, Shape, StructureShape

from openpersonalize.errors import InvalidInputException

# Java regex constructs in the models that Python's ``re`` lacks.
_JAVA_CLASSES = {
    r"\p{ASCII}": r"[\x00-\x7F]",
    r"\p{L}": r"\w",
    r"\p{N}": r"\d",
    r"\p{Z}": r"\s",
}


_LOCAL_LOCATION = re.compile(r"(file://|/|~|\.{1,2}/).+")


@cache
def _compile(pattern: str) -> re.Pattern[str]:
    text = pattern
    inside = text.replace(r"\p{ASCII}", "\x00ASCII\x00")
    for java, python in _JAVA_CLASSES.items():
        if java != r"\p{ASCII}":
            inside = inside.replace(java, python)
    text = inside.replace("\x00ASCII\x00", r"[\x00-\x7F]")
    return re.compile(text, re.DOTALL)


def _short(value: Any) -> str:
    text = str(value)
    return text if len(text) <= 80 else text[:77] + "..."


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, value: Any, path: str, rule: str) -> None:
        shown = "null" if value is None else _short(value)
        self.items.append(f"Value '{shown}' at '{path}' failed to satisfy constraint: {rule}")

    def raise_if_any(self) -> None:
        if not self.items:
            return
        count = len(self.items)
        noun = "error" if count == 1 else "errors"
        raise InvalidInputException(
            f"{count} validation {noun} detected: " + "; ".join(self.items[:10])
        )


def validate(shape: StructureShape | None, params: Any) -> None:
    """Validate a request body against an operation's input shape (raises on the first batch)."""
    if shape is None:
        return
    if not isinstance(params, dict):
        raise InvalidInputException("The request body must be a JSON object.")
    if _compiled(shape)(params):
        return
    errors = _Errors()
    _check(shape, params, "", errors)
    errors.raise_if_any()


# -- the compiled (yes/no) validator --------------------------------------------------------------

Valid = Callable[[Any], bool]
_COMPILED: weakref.WeakKeyDictionary[Shape, Valid] = weakref.WeakKeyDictionary()


_COMPILING: set[int] = set()


def _compiled(shape: Shape) -> Valid:
    valid = _COMPILED.get(shape)
    if valid is None:
        _COMPILING.add(id(shape))
        try:
            valid = _compile_shape(shape)
        finally:
            _COMPILING.discard(id(shape))
        _COMPILED[shape] = valid
    return valid


def _member(shape: Shape) -> Valid:
    """A member's validator; a shape that contains itself is looked up on first use instead."""
    if id(shape) not in _COMPILING:
        return _compiled(shape)
    compiled: list[Valid] = []

    def valid(value: Any) -> bool:
        if not compiled:
            compiled.append(_compiled(shape))
        return compiled[0](value)

    return valid


def _bounds(shape: Shape) -> tuple[float, float]:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    return (-float("inf") if low is None else low, float("inf") if high is None else high)


def _compile_shape(shape: Shape) -> Valid:
    kind = shape.type_name
    low, high = _bounds(shape)
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        required = tuple(shape.required_members)
        members = {name: _member(member) for name, member in shape.members.items()}

        def valid_structure(value: Any) -> bool:
            if not isinstance(value, dict):
                return False
            for name in required:
                if value.get(name) is None:
                    return False
            for name, element in value.items():
                check = members.get(name)
                if check is not None and element is not None and not check(element):
                    return False
            return True

        return valid_structure
    if kind == "list":
        assert isinstance(shape, ListShape)
        element_valid = _member(shape.member)

        def valid_list(value: Any) -> bool:
            return (
                isinstance(value, list)
                and low <= len(value) <= high
                and all(element_valid(e) for e in value)
            )

        return valid_list
    if kind == "map":
        assert isinstance(shape, MapShape)
        key_valid, value_valid = _member(shape.key), _member(shape.value)

        def valid_map(value: Any) -> bool:
            return (
                isinstance(value, dict)
                and low <= len(value) <= high
                and all(key_valid(k) and value_valid(v) for k, v in value.items())
            )

        return valid_map
    if kind == "string":
        enum = frozenset(shape.enum or ())
        pattern = shape.metadata.get("pattern")
        regex = _compile(pattern) if pattern else None
        local_ok = shape.name == "S3Location"

        def valid_string(value: Any) -> bool:
            if not isinstance(value, str) or not low <= len(value) <= high:
                return False
            if enum and value not in enum:
                return False
            if regex is None or (local_ok and _LOCAL_LOCATION.match(value)):
                return True
            return regex.fullmatch(value) is not None

        if not enum and regex is None:
            return lambda value: isinstance(value, str) and low <= len(value) <= high
        return valid_string
    if kind in ("integer", "long"):
        return lambda value: (
            not isinstance(value, bool) and isinstance(value, int) and low <= value <= high
        )
    if kind in ("double", "float"):
        return lambda value: (
            not isinstance(value, bool) and isinstance(value, int | float) and low <= value <= high
        )
    if kind == "boolean":
        return lambda value: isinstance(value, bool)
    if kind == "timestamp":

        def valid_timestamp(value: Any) -> bool:
            if isinstance(value, bool) or not isinstance(value, int | float | str):
                return False
            if isinstance(value, str):
                try:
                    float(value)
                except ValueError:
                    return False
            return True

        return valid_timestamp
    if kind == "blob":
        return lambda value: isinstance(value, str)
    return lambda value: True


# -- the reference walker: every violation, with its path -----------------------------------------


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def _check(shape: Shape, value: Any, path: str, errors: _Errors) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            errors.add(value, path, "Member must be a structure")
            return
        for name in shape.required_members:
            if value.get(name) is None:
                errors.add(None, _join(path, name), "Member must not be null")
        for name, member in shape.members.items():
            if name in value and value[name] is not None:
                _check(member, value[name], _join(path, name), errors)
        return
    if kind == "list":
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            errors.add(value, path, "Member must be a list")
            return
        _check_length(shape, value, len(value), path, errors)
        for i, element in enumerate(value):
            _check(shape.member, element, f"{path}.{i + 1}", errors)
        return
    if kind == "map":
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            errors.add(value, path, "Member must be a map")
            return
        _check_length(shape, value, len(value), path, errors)
        for key, element in value.items():
            _check(shape.key, key, f"{path}.{key}.key", errors)
            _check(shape.value, element, f"{path}.{key}.value", errors)
        return
    if kind == "string":
        if not isinstance(value, str):
            errors.add(value, path, "Member must be a string")
            return
        _check_length(shape, value, len(value), path, errors)
        enum = shape.enum
        if enum and value not in enum:
            errors.add(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]")
        pattern = shape.metadata.get("pattern")
        if shape.name == "S3Location" and _LOCAL_LOCATION.match(value):
            pattern = None  # the server also reads and writes local paths and file:// URLs
        if pattern and not _compile(pattern).fullmatch(value):
            errors.add(value, path, f"Member must satisfy regular expression pattern: {pattern}")
        return
    if kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            errors.add(value, path, "Member must be an integer")
            return
        _check_range(shape, value, path, errors)
        return
    if kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            errors.add(value, path, "Member must be a number")
            return
        _check_range(shape, value, path, errors)
        return
    if kind == "boolean":
        if not isinstance(value, bool):
            errors.add(value, path, "Member must be a boolean")
        return
    if kind == "timestamp":
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            errors.add(value, path, "Member must be a timestamp")
            return
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                errors.add(value, path, "Member must be a timestamp in epoch seconds")
        return
    if kind == "blob" and not isinstance(value, str):
        errors.add(value, path, "Member must be a base64-encoded string")


def _check_length(shape: Shape, value: Any, length: int, path: str, errors: _Errors) -> None:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and length < low:
        errors.add(value, path, f"Member must have length greater than or equal to {low}")
    if high is not None and length > high:
        errors.add(value, path, f"Member must have length less than or equal to {high}")


def _check_range(shape: Shape, value: float, path: str, errors: _Errors) -> None:
    low = shape.metadata.get("min")
    high = shape.metadata.get("max")
    if low is not None and value < low:
        errors.add(value, path, f"Member must have value greater than or equal to {low}")
    if high is not None and value > high:
        errors.add(value, path, f"Member must have value less than or equal to {high}")
