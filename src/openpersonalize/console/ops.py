"""The console's way to the API: the same operation handlers, called in-process.

Parameters are validated against the botocore model first, exactly as the HTTP layer does, so a
form gets the same ``InvalidInputException`` text a boto3 client would.
"""

from __future__ import annotations

from typing import Any

from openpersonalize.controlplane import OPERATIONS
from openpersonalize.controlplane.context import Context
from openpersonalize.errors import PersonalizeError
from openpersonalize.wire import models
from openpersonalize.wire.validate import validate


class NotAvailable(PersonalizeError):
    """A runtime or events operation that this build has no handler for (yet)."""

    code = "UnknownOperationException"


def call(ctx: Context, name: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run a control-plane operation like a client would (validation included)."""
    body = {k: v for k, v in (params or {}).items() if v is not None}
    validate(models.operation(models.CONTROL_PLANE, name).input_shape, body)
    return OPERATIONS[name](ctx, body)


def list_all(ctx: Context, name: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every page of a List* operation."""
    out: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = call(ctx, name, {**params, "maxResults": 100, "nextToken": token})
        out.extend(page.get(key, []))
        token = page.get("nextToken")
        if not token:
            return out


def rest(ctx: Context, service: str, name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Run a runtime or events operation (``personalize-runtime``, ``personalize-events``)."""
    from openpersonalize.api.app import REST_OPERATIONS

    body = {k: v for k, v in params.items() if v is not None}
    validate(models.operation(service, name).input_shape, body)
    handler = REST_OPERATIONS.get((service, name))
    if handler is None:
        raise NotAvailable(f"{name} is not available in this server yet.")
    return handler(ctx, body)


def rest_available(service: str, name: str) -> bool:
    from openpersonalize.api.app import REST_OPERATIONS

    return (service, name) in REST_OPERATIONS
