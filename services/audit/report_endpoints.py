"""HTTP route of the compliance report."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from services.audit.endpoints import check_period, utc
from services.audit.report import build_report
from services.audit.schemas import AuditReport, Moment
from services.gateway.deps import AuditScope, SessionDep
from services.gateway.errors import AuthenticationRequired, BadRequest, Forbidden, responses

router = APIRouter(tags=["audit"])


@router.get(
    "/v1/audit/report",
    response_model=AuditReport,
    summary="Counts by sensitivity x region and jurisdiction, statuses, spend and violations for a period",
    responses=responses(BadRequest, AuthenticationRequired, Forbidden),
)
def audit_report(
    scope: AuditScope,
    session: SessionDep,
    since: Annotated[Moment | None, Query(description="from this time (inclusive), ISO 8601 with offset")] = None,
    until: Annotated[Moment | None, Query(description="to this time (exclusive), ISO 8601 with offset")] = None,
) -> AuditReport:
    check_period(since, until)
    return build_report(session, scope.tenant, utc(since), utc(until))
