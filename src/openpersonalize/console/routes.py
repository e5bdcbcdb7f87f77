"""The console's routes, mounted at ``/console`` by :func:`openpersonalize.api.app.create_app`."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from openpersonalize.console import auth, forms, tester, views
from openpersonalize.console.web import HERE, PREFIX, Req, page, render

GET = ["GET"]
GET_POST = BOTH = ["GET", "POST"]


def login(req: Req) -> Response:
    next_url = req.form.get("next") or req.query.get("next") or PREFIX + "/"
    # Only local paths: never redirect to another site after signing in.
    if urlsplit(next_url).netloc or not next_url.startswith(PREFIX):
        next_url = PREFIX + "/"
    if not auth.required(req.ctx):
        return RedirectResponse(next_url, status_code=303)
    error = None
    if req.method == "POST":
        key_id = req.field("accessKeyId")
        if auth.check_keys(req.ctx, key_id, req.form.get("secretAccessKey", "")):
            response = RedirectResponse(next_url, status_code=303)
            response.set_cookie(
                auth.COOKIE,
                auth.make_cookie(req.ctx, key_id),
                max_age=auth.SESSION_SECONDS,
                path=PREFIX,
                httponly=True,
                samesite="strict",
                secure=req.request.url.scheme == "https",
            )
            return response
        error = "The access key id or secret access key is not right."
    return render(
        req,
        "login.html",
        401 if error else 200,
        title="Sign in",
        error=error,
        next=next_url,
        groups=[],
    )


def logout(req: Req) -> Response:
    response = RedirectResponse(PREFIX + "/login", status_code=303)
    response.delete_cookie(auth.COOKIE, path=PREFIX)
    return response


def console_routes() -> list[BaseRoute]:
    group = "/dataset-groups/{group}"
    routes: list[BaseRoute] = [
        Route("/", page(views.home), methods=GET),
        Route("/login", page(login, public=True), methods=GET_POST),
        Route("/logout", page(logout, public=True), methods=["POST"]),
        Route("/dataset-groups", page(views.dataset_groups), methods=GET),
        Route("/dataset-groups/create", page(views.create_dataset_group), methods=GET_POST),
        Route(group, page(views.dataset_group), methods=GET),
        Route(group + "/insights", page(views.group_insights), methods=GET),
        Route(group + "/datasets/create", page(forms.create_dataset), methods=GET_POST),
        Route(group + "/import-jobs/create", page(forms.create_import_job), methods=GET_POST),
        Route(group + "/solutions/create", page(forms.create_solution), methods=GET_POST),
        Route(group + "/solutions/{solution}", page(views.solution_page), methods=GET),
        Route(
            group + "/solution-versions/create",
            page(forms.create_solution_version),
            methods=["POST"],
        ),
        Route(group + "/campaigns/create", page(forms.create_campaign), methods=GET_POST),
        Route(group + "/recommenders/create", page(forms.create_recommender), methods=GET_POST),
        Route(group + "/filters/create", page(forms.create_filter), methods=GET_POST),
        Route(group + "/event-trackers/create", page(forms.create_event_tracker), methods=GET_POST),
        Route(
            group + "/batch-inference-jobs/create", page(forms.create_batch_job), methods=GET_POST
        ),
        Route(group + "/batch-segment-jobs/create", page(forms.create_batch_job), methods=GET_POST),
        Route(group + "/tester", page(tester.tester), methods=GET_POST),
        Route(group + "/events", page(tester.live_events), methods=GET),
        Route("/resource", page(views.resource_details), methods=GET),
        Route("/delete", page(views.delete), methods=GET_POST),
        Route("/api/status", page(views.status_feed, json_api=True), methods=GET),
        Route("/api/events", page(tester.events_feed, json_api=True), methods=GET),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    # "/console" itself: the API's catch-all would otherwise answer before any slash redirect.
    return [Route(PREFIX, page(views.home), methods=GET), Mount(PREFIX, routes=routes)]
