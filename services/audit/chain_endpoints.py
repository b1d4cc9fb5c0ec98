"""HTTP route of the hash-chain check: GET /v1/audit/verify."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from services.audit.schemas import Moment
from services.audit.verify import verify
from services.gateway.deps import AuditScope, RuntimeDep
from services.gateway.errors import AuthenticationRequired, BadRequest, Forbidden, responses
from services.settings import Settings

router = APIRouter(tags=["audit"])


class BrokenRow(BaseModel):
    table: str
    seq: int | None
    id: str | None = Field(description="null when the row belongs to another tenant (withheld)")
    withheld: bool = Field(description="true when the row is another tenant's: its id is not shown")
    problem: str = Field(description="content_changed | link_broken | gap | repeated_seq | missing_tail | checkpoint_signature")
    detail: str


class ChainView(BaseModel):
    chain: str
    rows_checked: int
    first_seq: int | None
    last_seq: int | None
    anchored_at: str | None
    checkpoints: int
    signatures: str
    broken: BrokenRow | None


class VerifyView(BaseModel):
    ok: bool
    since: str | None
    until: str | None
    chains: list[ChainView]
    first_broken: BrokenRow | None


def public_key_of(settings: Settings):
    """The key retention checkpoints are checked with, or None."""
    from services.audit.retention import load_public_key, load_signing_key

    if settings.audit_public_key:
        return load_public_key(settings.audit_public_key)
    if settings.audit_signing_key:
        return load_signing_key(settings.audit_signing_key).public_key()
    return None


@router.get(
    "/v1/audit/verify",
    response_model=VerifyView,
    summary="Check the hash chains of the decision and outcome logs, naming the first broken row",
    responses=responses(BadRequest, AuthenticationRequired, Forbidden),
)
async def verify_chain(
    scope: AuditScope,
    runtime: RuntimeDep,
    since: Annotated[Moment | None, Query(description="rows created from this time (inclusive)")] = None,
    until: Annotated[Moment | None, Query(description="rows created before this time (exclusive)")] = None,
) -> VerifyView:
    """The chains span every tenant, so every row is checked; an auditor of
    one tenant sees the result, but a broken row of another tenant is named
    by table and seq only, its id withheld."""
    if since is not None and until is not None and since >= until:
        raise BadRequest("'since' must be earlier than 'until'")
    since_utc = since.astimezone(timezone.utc) if since else None
    until_utc = until.astimezone(timezone.utc) if until else None
    report = await run_in_threadpool(verify, runtime.db_engine, since_utc, until_utc, public_key_of(runtime.settings))

    def shown(broken) -> BrokenRow | None:
        if broken is None:
            return None
        withheld = scope.tenant is not None and broken.id is not None and broken.tenant != scope.tenant
        return BrokenRow(
            table=broken.table, seq=broken.seq, id=None if withheld else broken.id, withheld=withheld,
            problem=broken.problem, detail=broken.detail,
        )

    chains = [
        ChainView(
            chain=c.chain, rows_checked=c.rows_checked, first_seq=c.first_seq, last_seq=c.last_seq,
            anchored_at=c.anchored_at, checkpoints=c.checkpoints, signatures=c.signatures, broken=shown(c.broken),
        )
        for c in report.chains
    ]
    return VerifyView(
        ok=report.ok,
        since=_iso(since_utc),
        until=_iso(until_utc),
        chains=chains,
        first_broken=shown(report.first_broken),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
