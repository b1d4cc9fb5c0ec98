"""HTTP routes of the audit log: auditors filter, page and export decisions.

An auditor key reads its own tenant; a platform auditor key reads every
tenant, or the one it names with ``tenant=`` (see ``AuditScope``)."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from services.audit import repository
from services.audit.export import export_response
from services.audit.schemas import DecisionPage, DecisionStatus, ExportFormat, Moment, OutcomeFilter, Sensitivity
from services.audit.views import audit_view, decision_view
from services.gateway.deps import AuditScope, RuntimeDep, SessionDep
from services.gateway.errors import AuthenticationRequired, BadRequest, Forbidden, NotFound, responses
from services.routing.schemas import DecisionView, Purpose

router = APIRouter(tags=["audit"])

MAX_PAGE = 1000


def utc(moment: datetime | None) -> datetime | None:
    # Rows are stored in UTC; SQLite compares them as text, so filters must be UTC too.
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(timezone.utc)


def check_period(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and since >= until:
        raise BadRequest("'since' must be earlier than 'until'", details={"parameter": "since"})


def _encode_cursor(created_at: datetime, decision_id: uuid.UUID) -> str:
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=timezone.utc)
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{decision_id}".encode()).decode()


def _decode_cursor(cursor: str) -> repository.Cursor:
    try:
        created, decision_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return repository.Cursor(created_at=utc(datetime.fromisoformat(created)), id=uuid.UUID(decision_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest(
            "the cursor is not one this API handed out", details={"parameter": "cursor", "cursor": cursor[:200]}
        ) from None


def decision_filters(
    scope: AuditScope,
    since: Annotated[Moment | None, Query(description="from this time (inclusive), ISO 8601 with offset")] = None,
    until: Annotated[Moment | None, Query(description="to this time (exclusive), ISO 8601 with offset")] = None,
    endpoint: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$", description="the chosen endpoint (plan[0])")
    ] = None,
    jurisdiction: Annotated[
        str | None,
        Query(pattern=r"^[A-Za-z]{2}$", description="the chosen endpoint's jurisdiction, ISO 3166 alpha-2"),
    ] = None,
    region: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9_-]{1,16}$", description="the chosen endpoint's region: eu, us, cn, ...")
    ] = None,
    sensitivity: Annotated[Sensitivity | None, Query()] = None,
    category: Annotated[
        str | None,
        Query(pattern=r"^[a-z0-9_]{1,32}(:[a-z0-9_]{1,32})?$", description="a GDPR category, e.g. special:health"),
    ] = None,
    purpose: Annotated[Purpose | None, Query()] = None,
    policy_revision: Annotated[
        str | None, Query(pattern=r"^[A-Za-z0-9:._-]{1,80}$", description="e.g. sha256:…")
    ] = None,
    status: Annotated[DecisionStatus | None, Query(description="the decision's status")] = None,
    outcome: Annotated[
        OutcomeFilter | None, Query(description="the outcome's status, or 'none' for decisions without an outcome")
    ] = None,
    key_id: Annotated[str | None, Query(pattern=r"^k_[0-9a-f]{16}$", description="the API key that asked")] = None,
) -> repository.DecisionFilter:
    check_period(since, until)
    return repository.DecisionFilter(
        tenant=scope.tenant,
        since=utc(since),
        until=utc(until),
        endpoint=endpoint,
        jurisdiction=jurisdiction.upper() if jurisdiction else None,
        region=region.lower() if region else None,
        sensitivity=sensitivity,
        category=category,
        purpose=purpose,
        policy_revision=policy_revision,
        status=status,
        outcome=outcome,
        key_id=key_id,
    )


DecisionFilters = Annotated[repository.DecisionFilter, Depends(decision_filters)]


@router.get(
    "/v1/decisions",
    response_model=DecisionPage,
    summary="The decision log, newest first, filtered and keyset-paged",
    responses=responses(BadRequest, AuthenticationRequired, Forbidden),
)
def list_decisions(
    filters: DecisionFilters,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> DecisionPage:
    after = _decode_cursor(cursor) if cursor else None
    rows = repository.page(session, filters, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(rows[-1].created_at, rows[-1].id) if more else None
    return DecisionPage(data=[audit_view(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/v1/decisions/export",
    response_class=StreamingResponse,
    summary="Every matching decision with its outcome, streamed as CSV or JSON Lines",
    responses={
        **responses(BadRequest, AuthenticationRequired, Forbidden),
        200: {"content": {"text/csv": {}, "application/x-ndjson": {}}, "description": "the export, newest first"},
    },
)
def export_decisions(
    filters: DecisionFilters,
    runtime: RuntimeDep,
    format: Annotated[ExportFormat, Query(description="csv or jsonl")] = "jsonl",
) -> StreamingResponse:
    return export_response(runtime.sessions, filters, format)


@router.get(
    "/v1/decisions/{decision_id}",
    response_model=DecisionView,
    summary="One decision as the app was told it: the policy's reasons, each refused endpoint's reasons, the outcome",
    responses=responses(BadRequest, AuthenticationRequired, Forbidden, NotFound),
)
def get_decision(decision_id: uuid.UUID, scope: AuditScope, session: SessionDep) -> DecisionView:
    """Exactly the document ``/v1/route`` answered (the auditor sees what the
    app was told), plus the outcome; the list and the export add who asked,
    for what, where the endpoint is, the ``denied`` map and the chain fields."""
    record = repository.get(session, scope.tenant, decision_id)
    if record is None:
        # Another tenant's decision is "not found", not "forbidden": its existence is not ours to reveal.
        raise NotFound("no decision with this id in your tenant's log", details={"decision_id": str(decision_id)})
    return decision_view(record)
