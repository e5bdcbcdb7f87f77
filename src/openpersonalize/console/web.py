"""The console's plumbing: templates, the page wrapper (sign-in, same-origin POSTs, errors),
form parsing and redirects. Views are plain functions run in the thread pool."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from openpersonalize import __version__
from openpersonalize.console import auth
from openpersonalize.controlplane.context import Context
from openpersonalize.errors import PersonalizeError, ResourceNotFoundException

log = logging.getLogger("openpersonalize.console")

PREFIX = "/console"
HERE = Path(__file__).parent
MAX_FORM_BYTES = 2 * 1024 * 1024
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def format_time(value: Any) -> str:
    if value is None or value == "":
        return "–"
    try:
        moment = datetime.fromtimestamp(float(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return str(value)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def status_class(status: str | None) -> str:
    """The badge colour of an AWS status string."""
    text = (status or "").upper()
    if text.startswith("DELETE"):
        return "muted"
    if "FAILED" in text:
        return "failed"
    if text in ("ACTIVE", "COMPLETED"):
        return "ok"
    if "PENDING" in text or "IN_PROGRESS" in text or "STOPPING" in text:
        return "busy"
    return "muted"


def short_arn(arn: str | None) -> str:
    """The part of an ARN after the resource type (``dataset-group/name`` → ``name``)."""
    if not arn:
        return "–"
    tail = arn.split(":", 5)[-1]
    return tail.split("/", 1)[1] if "/" in tail else tail


def group_name(arn: str | None) -> str:
    """The dataset group's name in a dataset-group ARN."""
    return short_arn(arn).split("/", 1)[0]


def _pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(HERE / "templates")),
        autoescape=select_autoescape(("html", "svg")),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["ts"] = format_time
    env.filters["badge"] = status_class
    env.filters["short_arn"] = short_arn
    env.filters["pretty_json"] = _pretty_json
    env.filters["q"] = lambda value: quote(str(value), safe="")
    env.globals["prefix"] = PREFIX
    env.globals["version"] = __version__
    return env


TEMPLATES = _environment()


@dataclass
class Req:
    """What a view gets: the request, the context, the parsed form (POST) and query."""

    request: Request
    ctx: Context
    form: dict[str, str]
    query: dict[str, str]
    user: str | None

    @property
    def method(self) -> str:
        return self.request.method

    def path_param(self, name: str) -> str:
        return str(self.request.path_params[name])

    def field(self, name: str, default: str = "") -> str:
        return (self.form.get(name) or default).strip()


def render(req: Req, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    from openpersonalize.console import views

    context.setdefault("groups", views.sidebar_groups(req.ctx))
    context.setdefault("notice", req.query.get("notice", ""))
    context.setdefault("current_group", None)
    context.setdefault("section", "")
    html = TEMPLATES.get_template(template).render(
        user=req.user, auth_required=auth.required(req.ctx), **context
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


def redirect(path: str, notice: str = "", **query: str) -> RedirectResponse:
    params = {k: v for k, v in query.items() if v}
    if notice:
        params["notice"] = notice
    url = PREFIX + path + ("?" + urlencode(params) if params else "")
    return RedirectResponse(url, status_code=303)


def group_path(group_arn: str, suffix: str = "") -> str:
    return f"/dataset-groups/{quote(group_name(group_arn), safe='')}{suffix}"


View = Callable[[Req], Response]


def _same_origin(request: Request) -> bool:
    """Cross-site form posts are refused (browsers send Origin and Sec-Fetch-Site on them)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc == request.headers.get("host", "")
    return True


async def _form(request: Request) -> dict[str, str]:
    """application/x-www-form-urlencoded bodies (the console's forms post nothing else)."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise PersonalizeError("The form is too large.")
    return dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def page(view: View, *, public: bool = False, json_api: bool = False) -> Callable[..., Any]:
    """Wrap a view: sign-in check, same-origin POSTs, form parsing, errors as pages."""

    async def endpoint(request: Request) -> Response:
        ctx: Context = request.app.state.ctx
        user = auth.session_key(ctx, request.cookies.get(auth.COOKIE))
        if not public and auth.required(ctx) and user is None:
            if json_api:
                return JSONResponse({"message": "Sign in to the console first."}, status_code=401)
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"{PREFIX}/login?next={quote(target, safe='')}", 303)
        form: dict[str, str] = {}
        if request.method == "POST":
            if not _same_origin(request):
                return HTMLResponse("Cross-site form posts are refused.", status_code=403)
            form = await _form(request)
        req = Req(request, ctx, form, dict(request.query_params), user)
        return await run_in_threadpool(_guarded, view, req, json_api)

    return endpoint


def _guarded(view: View, req: Req, json_api: bool) -> Response:
    try:
        return view(req)
    except ResourceNotFoundException as error:
        if json_api:
            return JSONResponse({"code": error.code, "message": error.message}, status_code=404)
        return render(req, "error.html", 404, error=error, title="Not found")
    except PersonalizeError as error:
        if json_api:
            return JSONResponse({"code": error.code, "message": error.message}, status_code=400)
        return render(req, "error.html", 400, error=error, title=error.code)
    except Exception:
        log.exception("console error on %s", req.request.url.path)
        if json_api:
            return JSONResponse({"message": "Internal error."}, status_code=500)
        return render(
            req,
            "error.html",
            500,
            error=PersonalizeError("Something went wrong; the server log has the details."),
            title="Internal error",
        )


def as_json(value: Mapping[str, Any]) -> JSONResponse:
    return JSONResponse(dict(value), headers={"Cache-Control": "no-store"})
