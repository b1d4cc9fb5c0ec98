"""Exporting the decision log: every matching decision with its outcome, as
CSV (one flat row per decision, JSON columns as JSON text) or JSON Lines (one
decision document per line, the same document ``GET /v1/decisions`` pages).

The rows are read through a server-side cursor a batch at a time and written
as they come, so an export of millions of decisions holds one batch in
memory, whatever its size."""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from services.audit import repository
from services.audit.schemas import AuditDecisionView
from services.audit.views import audit_view

log = logging.getLogger("douane.audit")

BATCH = 1000

# The CSV header, fixed: scripts rely on the order. JSON-valued columns are
# JSON text; an absent outcome leaves the outcome_* columns empty.
CSV_COLUMNS = (
    "decision_id", "created_at", "tenant", "key_id", "api", "purpose", "requested_model",
    "status", "allowed", "sensitivity", "gdpr_categories", "entities",
    "endpoint", "endpoint_jurisdiction", "endpoint_region", "fallbacks",
    "reasons", "denied", "obligations", "candidates",
    "estimated_input_tokens", "estimated_output_tokens", "estimated_cost_usd",
    "policy_engine", "policy_revision", "decision_latency_ms", "error",
    "outcome_status", "outcome_created_at", "outcome_endpoint", "outcome_upstream_status", "outcome_stream",
    "outcome_input_tokens", "outcome_output_tokens", "outcome_cost_usd", "outcome_ttft_ms", "outcome_total_ms",
    "outcome_attempts", "seq", "prev_hash", "hash",
)

MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _cell(value) -> str | int | float | bool:
    return "" if value is None else value


def csv_row(view: AuditDecisionView) -> list:
    doc = view.model_dump(mode="json")
    out = doc["outcome"] or {}
    usage = out.get("usage") or {}
    values = {
        "decision_id": doc["decision_id"], "created_at": doc["created_at"], "tenant": doc["tenant"],
        "key_id": doc["key_id"], "api": doc["api"], "purpose": doc["purpose"],
        "requested_model": doc["requested_model"], "status": doc["status"], "allowed": doc["allowed"],
        "sensitivity": doc["sensitivity"], "gdpr_categories": _json(doc["gdpr_categories"]),
        "entities": _json(doc["entities"]), "endpoint": doc["route"]["endpoint"],
        "endpoint_jurisdiction": doc["endpoint_jurisdiction"], "endpoint_region": doc["endpoint_region"],
        "fallbacks": _json(doc["route"]["fallbacks"]), "reasons": _json(doc["reasons"]),
        "denied": _json(doc["denied"]), "obligations": _json(doc["obligations"]),
        "candidates": _json(doc["candidates"]),
        "estimated_input_tokens": doc["usage_estimate"]["input_tokens"],
        "estimated_output_tokens": doc["usage_estimate"]["output_tokens"],
        "estimated_cost_usd": doc["estimated_cost_usd"], "policy_engine": doc["policy"]["engine"],
        "policy_revision": doc["policy"]["revision"], "decision_latency_ms": doc["decision_latency_ms"],
        "error": _json(doc["error"]) if doc["error"] else None,
        "outcome_status": out.get("status"), "outcome_created_at": out.get("created_at"),
        "outcome_endpoint": out.get("endpoint"), "outcome_upstream_status": out.get("upstream_status"),
        "outcome_stream": out.get("stream"), "outcome_input_tokens": usage.get("input_tokens"),
        "outcome_output_tokens": usage.get("output_tokens"), "outcome_cost_usd": out.get("cost_usd"),
        "outcome_ttft_ms": out.get("ttft_ms"), "outcome_total_ms": out.get("total_ms"),
        "outcome_attempts": _json(out["attempts"]) if out else None,
        "seq": doc["seq"], "prev_hash": doc["prev_hash"], "hash": doc["hash"],
    }
    return [_cell(values[column]) for column in CSV_COLUMNS]


def _views(sessions: Callable[[], Session], filters: repository.DecisionFilter) -> Iterator[AuditDecisionView]:
    with sessions() as session:
        try:
            for decision, outcome in repository.stream(session, filters, batch=BATCH):
                yield audit_view(decision, outcome)
        finally:
            session.rollback()


def _chunks(lines: Iterator[str]) -> Iterator[bytes]:
    # One write per few hundred rows, not per row; still flat in memory.
    buffer: list[str] = []
    size = 0
    for line in lines:
        buffer.append(line)
        size += len(line)
        if size >= 256 * 1024:
            yield "".join(buffer).encode("utf-8")
            buffer, size = [], 0
    if buffer:
        yield "".join(buffer).encode("utf-8")


def csv_lines(views: Iterator[AuditDecisionView]) -> Iterator[str]:
    sink = io.StringIO()
    writer = csv.writer(sink, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    yield sink.getvalue()
    for view in views:
        sink.seek(0)
        sink.truncate()
        writer.writerow(csv_row(view))
        yield sink.getvalue()


def jsonl_lines(views: Iterator[AuditDecisionView]) -> Iterator[str]:
    for view in views:
        yield view.model_dump_json() + "\n"


def _guarded(chunks: Iterator[bytes], filters: repository.DecisionFilter) -> Iterator[bytes]:
    # The status line is sent already: a failure now can only cut the file
    # short. Say so in the log (no row content), and end the body.
    try:
        yield from chunks
    except Exception as exc:  # noqa: BLE001 - logged and ended, never half-silent
        log.error("export for tenant %s ended early: %s", filters.tenant or "*", type(exc).__name__)
        raise


def export_response(
    sessions: Callable[[], Session], filters: repository.DecisionFilter, format: str
) -> StreamingResponse:
    views = _views(sessions, filters)
    lines = csv_lines(views) if format == "csv" else jsonl_lines(views)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    filename = f"douane-decisions-{filters.tenant or 'all-tenants'}-{stamp}.{format}"
    return StreamingResponse(
        _guarded(_chunks(lines), filters),
        media_type=MEDIA_TYPES[format],
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )
