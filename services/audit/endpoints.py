"""HTTP routes of the audit log: auditors read their tenant's decisions."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime, BaseModel

from services.audit import repository
from services.audit.views import decision_view
from services.gateway.deps import AuditorKey, SessionDep
from services.gateway.errors import AuthenticationRequired, BadRequest, Forbidden, NotFound, responses
from services.routing.schemas import DecisionView

router = APIRouter(tags=["audit"])


class DecisionPage(BaseModel):
    data: list[DecisionView]
    next_cursor: str | None


def _utc(moment: datetime | None) -> datetime | None:
    # Rows are stored in UTC; SQLite compares them as text, so filters must be UTC too.
    if moment is None:
        return None
    if moment.tzinfo is None:
        raise ValueError("naive datetime")
    return moment.astimezone(timezone.utc)


def _encode_cursor(created_at: datetime, decision_id: uuid.UUID) -> str:
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=timezone.utc)
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{decision_id}".encode()).decode()


def _decode_cursor(cursor: str) -> repository.Cursor:
    try:
        created, decision_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return repository.Cursor(created_at=_utc(datetime.fromisoformat(created)), id=uuid.UUID(decision_id))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise BadRequest("the cursor is not one this API handed out", details={"cursor": cursor}) from None


@router.get(
    "/v1/decisions",
    response_model=DecisionPage,
    summary="The decision log of the key's tenant, newest first",
    responses=responses(BadRequest, AuthenticationRequired, Forbidden),
)
def list_decisions(
    principal: AuditorKey,
    session: SessionDep,
    since: Annotated[AwareDatetime | None, Query(description="from this time (inclusive), ISO 8601 with offset")] = None,
    until: Annotated[AwareDatetime | None, Query(description="to this time (exclusive), ISO 8601 with offset")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> DecisionPage:
    if since is not None and until is not None and since >= until:
        raise BadRequest("'since' must be earlier than 'until'")
    filters = repository.DecisionFilter(tenant=principal.tenant, since=_utc(since), until=_utc(until))
    after = _decode_cursor(cursor) if cursor else None
    rows = repository.page(session, filters, after, limit + 1)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode_cursor(rows[-1].created_at, rows[-1].id) if more else None
    return DecisionPage(data=[decision_view(r) for r in rows], next_cursor=next_cursor)


@router.get(
    "/v1/decisions/{decision_id}",
    response_model=DecisionView,
    summary="One decision of the key's tenant",
    responses=responses(AuthenticationRequired, Forbidden, NotFound),
)
def get_decision(decision_id: uuid.UUID, principal: AuditorKey, session: SessionDep) -> DecisionView:
    record = repository.get(session, principal.tenant, decision_id)
    if record is None:
        # Another tenant's decision is "not found", not "forbidden": its existence is not ours to reveal.
        raise NotFound("no decision with this id in your tenant's log", details={"decision_id": str(decision_id)})
    return decision_view(record)
