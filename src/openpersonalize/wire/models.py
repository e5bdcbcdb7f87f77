"""The three botocore service models this server implements, loaded once."""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.model import OperationModel, ServiceModel

CONTROL_PLANE = "personalize"
RUNTIME = "personalize-runtime"
EVENTS = "personalize-events"
SERVICES = (CONTROL_PLANE, RUNTIME, EVENTS)


@cache
def service_model(service: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(service)


def operation(service: str, name: str) -> OperationModel:
    return service_model(service).operation_model(name)


@cache
def rest_routes() -> dict[str, tuple[str, str]]:
    """``/path`` → (service, operation) for the rest-json services (runtime and events)."""
    routes: dict[str, tuple[str, str]] = {}
    for service in (RUNTIME, EVENTS):
        model = service_model(service)
        for name in model.operation_names:
            http = model.operation_model(name).http
            routes[http["requestUri"]] = (service, name)
    return routes
