"""The ASGI application: one port for the control plane, runtime, events, health and metrics.

Routing only: the control plane by ``X-Amz-Target``, runtime and events by path. Requests are
validated against the botocore model, handlers run in a thread pool, and every error becomes an
AWS-shaped body here and nowhere else.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from openpersonalize import __version__
from openpersonalize.controlplane import OPERATIONS
from openpersonalize.controlplane.context import Context
from openpersonalize.errors import (
    InternalFailure,
    MethodNotAllowedException,
    PersonalizeError,
    SerializationException,
    UnknownOperationException,
)
from openpersonalize.wire import models, sigv4
from openpersonalize.wire.serialize import serialize
from openpersonalize.wire.validate import validate

log = logging.getLogger("openpersonalize.api")

TARGET_PREFIX = "AmazonPersonalize."
CONTROL_CONTENT_TYPE = "application/x-amz-json-1.1"

# Runtime and events handlers: (service, operation) -> handler. Filled by serving/ingestion.
RestHandler = Callable[[Context, dict[str, Any]], dict[str, Any]]
REST_OPERATIONS: dict[tuple[str, str], RestHandler] = {}


def rest_operation(service: str, name: str) -> Callable[[RestHandler], RestHandler]:
    def register(handler: RestHandler) -> RestHandler:
        REST_OPERATIONS[(service, name)] = handler
        return handler

    return register


def error_response(error: PersonalizeError, *, control_plane: bool) -> JSONResponse:
    # The control plane (awsJson1.1) answers every client error with 400; the REST services use
    # the status of the error class (404 for unknown resources, 409 in use, 403 auth).
    status = error.status
    if control_plane and status not in (403, 500):
        status = 400
    return JSONResponse(
        {"__type": error.code, "message": error.message},
        status_code=status,
        headers={"x-amzn-ErrorType": error.code},
        media_type=CONTROL_CONTENT_TYPE if control_plane else "application/json",
    )


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Api:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.credentials = ctx.config.credentials()

    async def _body(self, request: Request) -> tuple[bytes, dict[str, Any]]:
        raw = await request.body()
        if not raw.strip():
            return raw, {}
        try:
            params = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise SerializationException(f"The request body is not valid JSON: {exc}") from None
        if not isinstance(params, dict):
            raise SerializationException("The request body must be a JSON object.")
        return raw, params

    def _authenticate(self, request: Request, raw: bytes) -> None:
        if not self.credentials:
            return  # loopback-only server: any credentials are accepted
        sigv4.verify(
            request.method,
            str(request.url),
            {k.lower(): v for k, v in request.headers.items()},
            raw,
            self.credentials,
        )

    async def control_plane(self, request: Request) -> Response:
        try:
            raw, params = await self._body(request)
            self._authenticate(request, raw)
            target = request.headers.get("x-amz-target", "")
            name = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
            handler = OPERATIONS.get(name)
            if handler is None:
                shown = target or "(missing X-Amz-Target header)"
                raise UnknownOperationException(f"Unknown operation {shown}.")
            op = models.operation(models.CONTROL_PLANE, name)
            validate(op.input_shape, params)
            result = await run_in_threadpool(handler, self.ctx, params)
            body = serialize(op.output_shape, result)
            return JSONResponse(body, media_type=CONTROL_CONTENT_TYPE)
        except PersonalizeError as error:
            return error_response(error, control_plane=True)
        except Exception:
            log.exception("unhandled error in control plane request")
            return error_response(InternalFailure("Internal server error."), control_plane=True)

    async def rest(self, request: Request) -> Response:
        try:
            route = models.rest_routes()[request.url.path]
            if request.method != "POST":
                raise MethodNotAllowedException(
                    f"{request.method} is not allowed on {request.url.path}; use POST."
                )
            raw, params = await self._body(request)
            self._authenticate(request, raw)
            service, name = route
            op = models.operation(service, name)
            validate(op.input_shape, params)
            handler = REST_OPERATIONS.get(route)
            if handler is None:
                raise UnknownOperationException(f"{name} is not available in this server.")
            result = await run_in_threadpool(handler, self.ctx, params)
            return JSONResponse(serialize(op.output_shape, result))
        except PersonalizeError as error:
            return error_response(error, control_plane=False)
        except Exception:
            log.exception("unhandled error in %s", request.url.path)
            return error_response(InternalFailure("Internal server error."), control_plane=False)

    async def root(self, request: Request) -> Response:
        if request.method != "POST":
            return error_response(
                MethodNotAllowedException("Use POST with an X-Amz-Target header."),
                control_plane=False,
            )
        return await self.control_plane(request)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def not_found(self, request: Request) -> Response:
        error = UnknownOperationException(f"No operation at {request.method} {request.url.path}.")
        error.status = 404
        return error_response(error, control_plane=False)


def create_app(ctx: Context) -> Starlette:
    # Importing registers the runtime and events handlers.
    from openpersonalize.api import rest_handlers  # noqa: F401

    api = Api(ctx)
    routes: list[BaseRoute] = [
        Route("/", api.root, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]),
        Route("/health", api.health, methods=["GET"]),
    ]
    for path in models.rest_routes():
        routes.append(Route(path, api.rest, methods=["GET", "POST", "PUT", "DELETE", "PATCH"]))
    from openpersonalize.console.routes import console_routes

    routes.extend(console_routes())
    routes.append(Route("/{path:path}", api.not_found, methods=["GET", "POST", "PUT", "DELETE"]))
    app = Starlette(routes=routes)
    app.state.ctx = ctx
    return app
