"""Operation name → handler. Resource modules register themselves with :func:`operation`."""

from __future__ import annotations

from collections.abc import Callable

from openpersonalize.controlplane.context import Handler

OPERATIONS: dict[str, Handler] = {}


def operation(name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        if name in OPERATIONS:
            raise RuntimeError(f"operation {name} registered twice")
        OPERATIONS[name] = handler
        return handler

    return register
