"""Opaque ``nextToken`` values that botocore paginators follow.

A token encodes the offset into a listing and a fingerprint of the request's filter, so a token
from one listing is refused by another (``InvalidNextTokenException``).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from typing import TypeVar

from openpersonalize.errors import InvalidNextTokenException

T = TypeVar("T")


def _fingerprint(scope: str) -> str:
    return hashlib.sha256(scope.encode()).hexdigest()[:16]


def encode_token(offset: int, scope: str) -> str:
    raw = json.dumps({"o": offset, "s": _fingerprint(scope)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_token(token: str | None, scope: str) -> int:
    if not token:
        return 0
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
        offset = int(data["o"])
        if data["s"] != _fingerprint(scope) or offset < 0:
            raise ValueError("scope")
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as exc:
        raise InvalidNextTokenException("The nextToken is not valid.") from exc
    return offset


def page(
    items: Sequence[T], next_token: str | None, max_results: int | None, scope: str, default: int
) -> tuple[list[T], str | None]:
    """One page of ``items`` and the token of the next page (None on the last page)."""
    offset = decode_token(next_token, scope)
    size = max_results or default
    chunk = list(items[offset : offset + size])
    end = offset + size
    return chunk, (encode_token(end, scope) if end < len(items) else None)
