"""The ASGI application: one port for the control plane, runtime, events, health and metrics.

Routing only: the control plane by ``X-Amz-Target``, runtime and events by path. Requests are
validated against the botocore model, handlers run in a thread pool (or, for the async handlers of
the ingestion hot path, on the event loop), and every error becomes an AWS-shaped body here and
nowhere else. Every request is counted for ``GET /metrics``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from openpersonalize import __version__
from openpersonalize.api.metrics import PROMETHEUS_CONTENT_TYPE, render_metrics, server_counters
from openpersonalize.controlplane import OPERATIONS
from openpersonalize.controlplane.context import Context
from openpersonalize.errors import (
    InternalFailure,
    MethodNotAllowedException,
    PersonalizeError,
    SerializationException,
    UnknownOperationException,
)
from openpersonalize.wire import jsonbytes, models, sigv4
from openpersonalize.wire.serialize import serialize
from openpersonalize.wire.validate import validate

log = logging.getLogger("openpersonalize.api")

TARGET_PREFIX = "AmazonPersonalize."
CONTROL_CONTENT_TYPE = "application/x-amz-json-1.1"

# Runtime and events handlers: (service, operation) -> handler. Filled by serving/ingestion.
RestHandler = Callable[[Context, dict[str, Any]], dict[str, Any]]
REST_OPERATIONS: dict[tuple[str, str], RestHandler] = {}
# Handlers that never block (they await their I/O) and so run on the event loop itself.
AsyncRestHandler = Callable[[Context, dict[str, Any]], Awaitable[dict[str, Any]]]
ASYNC_REST_OPERATIONS: dict[tuple[str, str], AsyncRestHandler] = {}


def rest_operation(service: str, name: str) -> Callable[[RestHandler], RestHandler]:
    def register(handler: RestHandler) -> RestHandler:
        REST_OPERATIONS[(service, name)] = handler
        return handler

    return register


def async_rest_operation(
    service: str, name: str, *, blocking: RestHandler | None = None
) -> Callable[[AsyncRestHandler], AsyncRestHandler]:
    """Register an async handler; :data:`REST_OPERATIONS` gets ``blocking`` (the same operation
    for in-process callers on threads, such as the console's views), by default an adapter."""

    def register(handler: AsyncRestHandler) -> AsyncRestHandler:
        ASYNC_REST_OPERATIONS[(service, name)] = handler
        REST_OPERATIONS[(service, name)] = blocking or _blocking(handler)
        return handler

    return register


def _blocking(handler: AsyncRestHandler) -> RestHandler:
    def call(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(_await(handler, ctx, params))  # a thread without a loop: fine
        raise RuntimeError("on an event loop, await the async handler instead")

    return call


async def _await(handler: AsyncRestHandler, ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return await handler(ctx, params)


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
        self.counters = server_counters(ctx)

    async def _body(self, request: Request) -> tuple[bytes, dict[str, Any]]:
        raw = await request.body()
        return raw, _parse(raw)

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
        name = ""
        try:
            raw, params = await self._body(request)
            self._authenticate(request, raw)
            target = request.headers.get("x-amz-target", "")
            name = target[len(TARGET_PREFIX) :] if target.startswith(TARGET_PREFIX) else ""
            handler = OPERATIONS.get(name)
            if handler is None:
                shown = target or "(missing X-Amz-Target header)"
                raise UnknownOperationException(f"Unknown operation {shown}.")
            self.counters.request(models.CONTROL_PLANE, name)
            op = models.operation(models.CONTROL_PLANE, name)
            validate(op.input_shape, params)
            result = await run_in_threadpool(handler, self.ctx, params)
            body = serialize(op.output_shape, result)
            return JSONResponse(body, media_type=CONTROL_CONTENT_TYPE)
        except PersonalizeError as error:
            self.counters.error(models.CONTROL_PLANE, name, error.code)
            return error_response(error, control_plane=True)
        except Exception:
            log.exception("unhandled error in control plane request")
            self.counters.error(models.CONTROL_PLANE, name, InternalFailure.code)
            return error_response(InternalFailure("Internal server error."), control_plane=True)

    async def rest(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The runtime and events routes as a raw ASGI app: no Request / Response objects on the
        ingestion hot path (a Request is built only to verify a signature)."""
        path: str = scope["path"]
        service, name = route = models.rest_routes()[path]
        self.counters.request(service, name)
        try:
            if scope["method"] != "POST":
                raise MethodNotAllowedException(
                    f"{scope['method']} is not allowed on {path}; use POST."
                )
            raw = await _read_body(receive)
            params = _parse(raw)
            if self.credentials:
                self._authenticate(Request(scope), raw)
            op = models.operation(service, name)
            validate(op.input_shape, params)
            async_handler = ASYNC_REST_OPERATIONS.get(route)
            if async_handler is not None:
                result = await async_handler(self.ctx, params)
            else:
                handler = REST_OPERATIONS.get(route)
                if handler is None:
                    raise UnknownOperationException(f"{name} is not available in this server.")
                result = await run_in_threadpool(handler, self.ctx, params)
            body = jsonbytes.dumps(serialize(op.output_shape, result))
        except PersonalizeError as error:
            self.counters.error(service, name, error.code)
            await error_response(error, control_plane=False)(scope, receive, send)
            return
        except Exception:
            log.exception("unhandled error in %s", path)
            self.counters.error(service, name, InternalFailure.code)
            failure = InternalFailure("Internal server error.")
            await error_response(failure, control_plane=False)(scope, receive, send)
            return
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def root(self, request: Request) -> Response:
        if request.method != "POST":
            return error_response(
                MethodNotAllowedException("Use POST with an X-Amz-Target header."),
                control_plane=False,
            )
        return await self.control_plane(request)

    async def health(self, request: Request) -> Response:
        return JSONResponse({"status": "ok", "version": __version__})

    async def metrics(self, request: Request) -> Response:
        """Prometheus text exposition: server counters and metric attribution aggregates."""
        text = await run_in_threadpool(render_metrics, self.ctx)
        return Response(text, media_type=PROMETHEUS_CONTENT_TYPE)

    async def not_found(self, request: Request) -> Response:
        error = UnknownOperationException(f"No operation at {request.method} {request.url.path}.")
        error.status = 404
        return error_response(error, control_plane=False)


def _parse(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        return {}
    try:
        params = jsonbytes.loads(raw)
    except (jsonbytes.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SerializationException(f"The request body is not valid JSON: {exc}") from None
    if not isinstance(params, dict):
        raise SerializationException("The request body must be a JSON object.")
    return params


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise SerializationException("The client disconnected before sending the body.")
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class _AsgiEndpoint:
    """Marks a route endpoint as a raw ASGI app (Starlette wraps plain functions and methods in
    a Request/Response adapter)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class _App(Starlette):
    """Starlette, with the runtime and events paths answered before its middleware and router:
    :meth:`Api.rest` handles its own errors, and on the hot path each layer costs time."""

    def __init__(self, rest: ASGIApp, rest_paths: frozenset[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._rest = rest
        self._rest_paths = rest_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] in self._rest_paths:
            await self._rest(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


def create_app(ctx: Context) -> Starlette:
    # Importing registers the runtime and events handlers.
    from openpersonalize.api import rest_handlers  # noqa: F401

    api = Api(ctx)
    rest = _AsgiEndpoint(api.rest)
    methods = ["GET", "POST", "PUT", "DELETE", "PATCH"]
    # The rest-json routes first: the router tries routes in order, PutEvents is the busiest.
    routes: list[BaseRoute] = [Route(path, rest, methods=methods) for path in models.rest_routes()]
    routes += [
        Route("/", api.root, methods=methods),
        Route("/health", api.health, methods=["GET"]),
        Route("/metrics", api.metrics, methods=["GET"]),
    ]
    from openpersonalize.console.routes import console_routes

    routes.extend(console_routes())
    routes.append(Route("/{path:path}", api.not_found, methods=["GET", "POST", "PUT", "DELETE"]))
    app = _App(api.rest, frozenset(models.rest_routes()), routes=routes)
    app.state.ctx = ctx
    return app
