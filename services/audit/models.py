from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Float, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from services.db import Base, JSONDoc


class DecisionRecord(Base):
    """One routing decision, written before anything is forwarded.

    Holds entity types and counts, never values, and the policy input exactly
    as evaluated (it carries no text by construction), so the decision can be
    replayed against another policy revision. The database refuses UPDATE
    and DELETE on this table (see the migration).
    """

    __tablename__ = "decisions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tenant: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(32))
    api: Mapped[str] = mapped_column(String(16))  # which route asked: "route" or "chat"
    purpose: Mapped[str] = mapped_column(String(64))
    requested_model: Mapped[str] = mapped_column(String(128))
    # "routed": the policy listed at least one endpoint; "denied": it listed none;
    # "error": detection or policy failed, so the request was refused (fail closed).
    status: Mapped[str] = mapped_column(String(16))
    allowed: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[dict | None] = mapped_column(JSONDoc, nullable=True)
    sensitivity: Mapped[str | None] = mapped_column(String(16), nullable=True)
    gdpr_categories: Mapped[list] = mapped_column(JSONDoc)
    entities: Mapped[dict] = mapped_column(JSONDoc)
    endpoint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Where plan[0] is, as the policy saw it (copied from the policy input's candidate).
    endpoint_jurisdiction: Mapped[str | None] = mapped_column(String(8), nullable=True)
    endpoint_region: Mapped[str | None] = mapped_column(String(16), nullable=True)
    plan: Mapped[list] = mapped_column(JSONDoc)
    usage_estimate: Mapped[dict] = mapped_column(JSONDoc)
    estimated_cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    policy_input: Mapped[dict | None] = mapped_column(JSONDoc, nullable=True)
    policy_output: Mapped[dict | None] = mapped_column(JSONDoc, nullable=True)
    policy_engine: Mapped[str] = mapped_column(String(16))
    policy_revision: Mapped[str | None] = mapped_column(String(80), nullable=True)
    decision_latency_ms: Mapped[float] = mapped_column(Float)
    # The hash chain (services/audit/chain.py), assigned by the writer when the row is committed.
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(71))
    hash: Mapped[str] = mapped_column(String(71))
    # What happened when the decision was executed (chat completions only), once it has.
    # No foreign key in the database: both tables are partitioned by month (see migration 0004).
    outcome: Mapped[OutcomeRecord | None] = relationship(
        primaryjoin="DecisionRecord.id == foreign(OutcomeRecord.decision_id)", viewonly=True, lazy="selectin"
    )

    __table_args__ = (
        # The auditor's usual walk: one tenant, newest first, keyset-paged.
        Index("ix_decisions_tenant_created_id", "tenant", "created_at", "id"),
        Index("ix_decisions_created_id", "created_at", "id"),
    )


class OutcomeRecord(Base):
    """What happened when a decision was executed: written once, after the
    answer completed (for a stream, when it ended). Holds no text: endpoints,
    statuses, token counts, cost and latencies. Append-only like the decisions."""

    __tablename__ = "outcomes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    decision_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    tenant: Mapped[str] = mapped_column(String(64))
    # ok | upstream_error | exhausted | timeout | truncated | client_disconnected | gateway_error
    status: Mapped[str] = mapped_column(String(24))
    endpoint: Mapped[str | None] = mapped_column(String(64), nullable=True)  # the endpoint that answered
    upstream_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Every endpoint tried, in order: {endpoint, status, error_type, reason, latency_ms}.
    attempts: Mapped[list] = mapped_column(JSONDoc)
    stream: Mapped[bool] = mapped_column(Boolean)
    input_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    output_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    cost_usd: Mapped[float | None] = mapped_column(Float, nullable=True)
    ttft_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    total_ms: Mapped[float] = mapped_column(Float)
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(71))
    hash: Mapped[str] = mapped_column(String(71))

    __table_args__ = (
        UniqueConstraint("decision_id", name="uq_outcomes_decision_id"),
        Index("ix_outcomes_tenant_created_id", "tenant", "created_at", "id"),
    )


class ChainHead(Base):
    """The last link of one chain: the writer locks this row (FOR UPDATE) for
    each batch, so writers in any number of processes extend it one at a time."""

    __tablename__ = "audit_chain_heads"

    chain: Mapped[str] = mapped_column(String(32), primary_key=True)  # "decisions" | "outcomes"
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(71))


class Checkpoint(Base):
    """Written by retention before it drops partitions: the chain's state after
    the last dropped row, signed (Ed25519), so verification resumes from here."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True)
    chain: Mapped[str] = mapped_column(String(32))
    up_to_seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(71))
    rows: Mapped[int] = mapped_column(BigInteger)  # rows dropped with this checkpoint
    dropped_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    dropped_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    partitions: Mapped[str] = mapped_column(Text)  # names of the dropped partitions, comma-separated
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    key_id: Mapped[str] = mapped_column(String(80))  # "ed25519:" + sha256 of the raw public key, first 16 hex
    signature: Mapped[str] = mapped_column(Text)  # base64 Ed25519 signature of checkpoint_message()
