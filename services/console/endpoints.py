"""The console's pages (HTTP only). What they show is read through the API's
own code: the decision log's filters, paging and views (services.audit), the
chain check (GET /v1/audit/verify's function), the spend (``douane report
cost``'s report), the policy (the running engine, policy.testing,
policy.diff). Pages that htmx updates in part answer the fragment when htmx
asks (``HX-Request``) and the whole page otherwise, so every page works
without JavaScript.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from typing import Annotated
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import StringConstraints, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool

from policy import PolicyError
from policy.bundle import load_bundle
from services.audit import repository
from services.audit.chain_endpoints import verify_chain
from services.audit.cost import UnknownBaseline, cost_report, daily_spend, default_baselines, price
from services.audit.endpoints import DecisionFilters, check_period, list_decisions, utc
from services.audit.schemas import Moment
from services.audit.views import audit_view
from services.console import charts
from services.console.auth import (
    AUDITOR_ROLES,
    DPO_ROLES,
    ConsoleUser,
    DpoUser,
    SameOrigin,
    authenticate,
    clear_login_cookie,
    landing,
    safe_next,
    set_login_cookie,
)
from services.console.repository import daily_counts
from services.console.service import WHATIF_MAX, what_if
from services.gateway.deps import AuditScope, RuntimeDep, SessionDep
from services.gateway.errors import AuthenticationRequired, BadRequest, Forbidden, NotFound
from services.keys.models import Role
from services.keys.service import Principal

router = APIRouter(include_in_schema=False)

PAGE_SIZES = (25, 50, 100)  # more rows a page: the export (GET /v1/decisions/export)
TRAFFIC_DAYS = 30
MAX_DAYS = 92  # a chart reads at most four monthly partitions
DIMENSIONS = (("sensitivity", "Decisions by sensitivity"), ("region", "by region of the chosen endpoint"),
              ("jurisdiction", "by jurisdiction of the chosen endpoint"))


def render(
    request: Request,
    template: str,
    context: dict,
    *,
    principal: Principal | None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    role = principal.role if principal is not None else None
    return request.app.state.templates.TemplateResponse(
        request,
        template,
        {
            "base": request.scope.get("root_path", ""),
            "principal": principal,
            "can_audit": role in AUDITOR_ROLES,
            "can_dpo": role in DPO_ROLES,
            **context,
        },
        status_code=status_code,
        headers=headers,
    )


def htmx(request: Request) -> bool:
    """A fragment is wanted; a history restore (back button, cache miss) wants the page."""
    return request.headers.get("hx-request") == "true" and "hx-history-restore-request" not in request.headers


async def form(request: Request) -> dict[str, str]:
    """An urlencoded form body (what htmx and a plain form send)."""
    body = (await request.body()).decode("utf-8", "replace")
    return {k: v for k, v in parse_qsl(body, keep_blank_values=True)}


_LOCAL_MINUTE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def form_time(value: str) -> str:
    """A browser's ``datetime-local`` (or ``date``) value, which has no
    offset, read as UTC (the forms say so); anything else is left for the
    API's own time parsing to accept or refuse."""
    value = value.strip()
    if _LOCAL_MINUTE.match(value):
        return value + "Z"
    if _DATE.match(value):
        return value + "T00:00:00Z"
    return value


def form_moment(value: str | None, field: str) -> datetime | None:
    if value is None or not value.strip():
        return None
    try:
        return TypeAdapter(Moment).validate_python(form_time(value))
    except ValidationError:
        raise BadRequest(f"'{field}' is not a time (UTC, e.g. 2026-11-01T00:00)", details={"field": field}) from None


def form_value(moment: datetime | None) -> str:
    """A UTC time as a ``datetime-local`` field shows it."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M") if moment else ""


# -- login ---------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def home(principal: ConsoleUser) -> Response:
    return RedirectResponse(landing(principal), status_code=303)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    return render(request, "login.html", {"next": safe_next(next) or "", "message": None}, principal=None)


@router.post("/login", response_class=HTMLResponse, dependencies=[SameOrigin])
async def login(request: Request, runtime: RuntimeDep) -> Response:
    fields = await form(request)
    key, next_page = fields.get("key", "").strip(), safe_next(fields.get("next"))
    context = {"next": next_page or ""}
    if not key:
        return render(request, "login.html", {**context, "message": "Paste an API key."}, principal=None,
                      status_code=400)
    try:
        principal = await run_in_threadpool(authenticate, runtime, key)
    except AuthenticationRequired:
        message = "That API key is not valid: it is unknown, revoked or mistyped."
        return render(request, "login.html", {**context, "message": message}, principal=None, status_code=401)
    try:
        target = landing(principal)
    except Forbidden as exc:
        return render(request, "login.html", {**context, "message": exc.message}, principal=None, status_code=403)
    response = RedirectResponse(next_page or target, status_code=303)
    set_login_cookie(response, request, key)
    return response


@router.post("/logout", dependencies=[SameOrigin])
def logout(request: Request) -> Response:
    response = RedirectResponse(f"{request.scope.get('root_path', '')}/login", status_code=303)
    clear_login_cookie(response, request)
    return response


# -- auditors: the decision log -------------------------------------------------------


@router.get("/decisions", response_class=HTMLResponse)
def decisions(
    request: Request,
    filters: DecisionFilters,
    scope: AuditScope,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=max(PAGE_SIZES))] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    page = list_decisions(filters=filters, session=session, limit=limit, cursor=cursor)
    asked = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    next_url = f"?{urlencode(asked + [('cursor', page.next_cursor)])}" if page.next_cursor else None
    context = {
        "page": page, "filters": filters, "asked": dict(asked), "next_url": next_url, "limit": limit,
        "page_sizes": PAGE_SIZES, "cursor": cursor, "platform": scope.principal.role == Role.platform_auditor,
        "since_value": form_value(filters.since), "until_value": form_value(filters.until),
    }
    template = "_log.html" if htmx(request) else "decisions.html"
    return render(request, template, context, principal=scope.principal)


@router.get("/decisions/{decision_id}", response_class=HTMLResponse)
def decision(request: Request, decision_id: uuid.UUID, scope: AuditScope, session: SessionDep) -> Response:
    record = repository.get(session, scope.tenant, decision_id)
    if record is None:
        raise NotFound("no decision with this id in your tenant's log")
    view = audit_view(record)
    findings = (record.policy_input or {}).get("findings", {})
    scores = {name: f.get("max_score") for name, f in findings.get("entities", {}).items() if isinstance(f, dict)}
    context = {"d": view, "languages": findings.get("languages", []), "scores": scores,
               "platform": scope.principal.role == Role.platform_auditor}
    return render(request, "decision.html", context, principal=scope.principal)


# -- auditors: daily charts' period, traffic ------------------------------------------


def chart_period(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime, list]:
    """The period of a page of daily charts, in UTC: by default the last
    TRAFFIC_DAYS whole days and today; at most MAX_DAYS. With its days."""
    check_period(since, until)
    if until is None:
        until = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    if since is None:
        since = until - timedelta(days=TRAFFIC_DAYS)
    since, until = utc(since), utc(until)
    if since >= until:
        raise BadRequest("'since' must be earlier than 'until'")
    if until - since > timedelta(days=MAX_DAYS):
        raise BadRequest(f"a period of at most {MAX_DAYS} days, please (charts are daily)")
    days = charts.days_between(since.date(), (until - timedelta(microseconds=1)).date() + timedelta(days=1))
    return since, until, days


@router.get("/traffic", response_class=HTMLResponse)
def traffic(
    request: Request,
    scope: AuditScope,
    session: SessionDep,
    since: Annotated[Moment | None, Query(description="from (inclusive)")] = None,
    until: Annotated[Moment | None, Query(description="to (exclusive)")] = None,
) -> Response:
    since, until, days = chart_period(since, until)
    built = [
        charts.build(title, daily_counts(session, dimension, scope.tenant, since, until), days)
        for dimension, title in DIMENSIONS
    ]
    context = {"charts": built, "since_value": form_value(since), "until_value": form_value(until),
               "platform": scope.principal.role == Role.platform_auditor, "tenant": scope.tenant}
    return render(request, "traffic.html", context, principal=scope.principal)


# -- auditors: spend ------------------------------------------------------------------


EndpointId = Annotated[str, StringConstraints(min_length=1, max_length=100)]
MAX_BASELINES = 20


@router.get("/spend", response_class=HTMLResponse)
def spend(
    request: Request,
    scope: AuditScope,
    session: SessionDep,
    runtime: RuntimeDep,
    since: Annotated[Moment | None, Query(description="answers completed from (inclusive)")] = None,
    until: Annotated[Moment | None, Query(description="answers completed before (exclusive)")] = None,
    baseline: Annotated[
        list[EndpointId] | None,
        Query(max_length=MAX_BASELINES, description="catalog endpoint ids to price the same tokens at; the first is charted"),
    ] = None,
) -> Response:
    """``douane report cost`` as a page: the answered requests' actual spend
    against the same tokens on chosen endpoints, and per day against the first."""
    since, until, days = chart_period(since, until)
    catalog = runtime.catalog
    chosen = list(dict.fromkeys(baseline or default_baselines(catalog)))
    try:
        report = cost_report(session, catalog, tenant=scope.tenant, since=since, until=until, baselines=chosen)
    except UnknownBaseline as exc:
        raise BadRequest(str(exc), details={"parameter": "baseline"}) from None
    daily = daily_spend(session, catalog, tenant=scope.tenant, since=since, until=until, baselines=chosen[:1])
    chart = charts.build_spend(f"Spent per day against {chosen[0]}", daily, days, chosen[0])
    context = {
        "report": report, "chart": chart, "catalog": catalog, "chosen": chosen,
        "prices": {e.id: price(e) for e in catalog.endpoints},
        "since_value": form_value(since), "until_value": form_value(until),
        "platform": scope.principal.role == Role.platform_auditor, "tenant": scope.tenant,
    }
    return render(request, "spend.html", context, principal=scope.principal)


# -- auditors: the hash chains --------------------------------------------------------


@router.get("/verify", response_class=HTMLResponse)
def verify_page(request: Request, scope: AuditScope) -> Response:
    context = {"result": None, "since_value": "", "until_value": ""}
    return render(request, "verify.html", context, principal=scope.principal)


@router.post("/verify", response_class=HTMLResponse, dependencies=[SameOrigin])
async def verify_run(request: Request, scope: AuditScope, runtime: RuntimeDep) -> Response:
    fields = await form(request)
    since, until = form_moment(fields.get("since"), "since"), form_moment(fields.get("until"), "until")
    result = await verify_chain(scope=scope, runtime=runtime, since=since, until=until)
    context = {"result": result, "since_value": form_value(since), "until_value": form_value(until)}
    return render(request, "_verify.html" if htmx(request) else "verify.html", context, principal=scope.principal)


# -- DPOs: the policy -----------------------------------------------------------------


def _policy_context(request: Request, runtime) -> dict:
    engine = runtime.policy
    policy_dir = runtime.settings.policy_dir
    try:
        bundle, disk_error = load_bundle(policy_dir), None
    except PolicyError as exc:
        bundle, disk_error = None, str(exc)
    tests = request.app.state.policy_tests.get(bundle.revision) if bundle is not None else None
    return {
        "engine": engine, "loaded_at": runtime.policy_loaded_at, "policy_dir": policy_dir, "bundle": bundle,
        "disk_error": disk_error, "tests": tests, "whatif": None, "whatif_max": WHATIF_MAX,
        "candidate": str(policy_dir), "since": "30d",
    }


@router.get("/policy", response_class=HTMLResponse)
def policy_page(request: Request, principal: DpoUser, runtime: RuntimeDep) -> Response:
    return render(request, "policy.html", _policy_context(request, runtime), principal=principal)


@router.post("/policy/tests", response_class=HTMLResponse, dependencies=[SameOrigin])
async def policy_tests(request: Request, principal: DpoUser, runtime: RuntimeDep) -> Response:
    policy_dir = runtime.settings.policy_dir
    try:
        revision = (await run_in_threadpool(load_bundle, policy_dir)).revision
    except PolicyError as exc:
        raise BadRequest(f"the policy directory does not load: {exc}") from None
    await run_in_threadpool(request.app.state.policy_tests.run, policy_dir, revision)
    context = _policy_context(request, runtime)
    return render(request, "_tests.html" if htmx(request) else "policy.html", context, principal=principal)


@router.post("/policy/whatif", response_class=HTMLResponse, dependencies=[SameOrigin])
async def policy_whatif(request: Request, principal: DpoUser, runtime: RuntimeDep) -> Response:
    fields = await form(request)
    candidate, since = fields.get("candidate", ""), fields.get("since", "").strip() or "30d"
    result = await run_in_threadpool(what_if, runtime.sessions, principal.tenant, candidate, since)
    context = {**_policy_context(request, runtime), "whatif": result, "candidate": candidate,
               "since": since}
    return render(request, "_whatif.html" if htmx(request) else "policy.html", context, principal=principal)
