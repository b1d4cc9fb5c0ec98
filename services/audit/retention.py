"""Storage limitation without breaking the proof: retention drops whole
monthly partitions older than the retention period, after writing a signed
checkpoint of each chain's state at the last row it drops, so verification
resumes from the checkpoint across the gap.

The checkpoint is signed with Ed25519 (key: ``DOUANE_AUDIT_SIGNING_KEY``, the
base64 of a 32-byte seed). An auditor checks it with the public key only:
``douane audit public-key`` prints it (base64 of the raw 32 bytes); the
signed message is ``checkpoint_message()`` below, the canonical JSON of the
checkpoint's fields except ``id`` and ``signature``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timezone

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Engine, func, select, text

from services.audit.chain import CHAINS, canonical
from services.audit.models import ChainHead, Checkpoint
from services.audit.writer import TABLES

log = logging.getLogger("douane.audit")

PARTITION_NAME = re.compile(r"^(decisions|outcomes)_p(\d{4})_(\d{2})$")


class RetentionError(Exception):
    """Retention cannot run (no key, not PostgreSQL, a broken chain): nothing was dropped."""


def load_signing_key(seed_b64: str | None) -> Ed25519PrivateKey:
    if not seed_b64:
        raise RetentionError("DOUANE_AUDIT_SIGNING_KEY is not set: retention refuses to drop rows without a signed checkpoint")
    try:
        seed = base64.b64decode(seed_b64, validate=True)
    except (binascii.Error, ValueError):
        raise RetentionError("DOUANE_AUDIT_SIGNING_KEY is not base64") from None
    if len(seed) != 32:
        raise RetentionError("DOUANE_AUDIT_SIGNING_KEY must be the base64 of a 32-byte Ed25519 seed")
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_public_key(public_b64: str) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64, validate=True))


def public_key_b64(public_key: Ed25519PublicKey) -> str:
    return base64.b64encode(public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)).decode()


def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()[:16]


def checkpoint_message(checkpoint: Checkpoint) -> bytes:
    return canonical(
        {
            "chain": checkpoint.chain,
            "up_to_seq": checkpoint.up_to_seq,
            "hash": checkpoint.hash,
            "rows": checkpoint.rows,
            "dropped_from": checkpoint.dropped_from,
            "dropped_until": checkpoint.dropped_until,
            "partitions": checkpoint.partitions,
            "created_at": checkpoint.created_at,
            "key_id": checkpoint.key_id,
        }
    )


def checkpoint_valid(checkpoint: Checkpoint, public_key: Ed25519PublicKey) -> bool:
    if checkpoint.key_id != key_id(public_key):
        return False
    try:
        public_key.verify(base64.b64decode(checkpoint.signature), checkpoint_message(checkpoint))
    except (InvalidSignature, binascii.Error, ValueError):
        return False
    return True


def month_start(moment: datetime, months_back: int = 0) -> datetime:
    index = moment.year * 12 + (moment.month - 1) - months_back
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=timezone.utc)


def create_partitions(engine: Engine, months_back: int = 0, months_ahead: int = 3) -> int:
    """Monthly partitions from ``months_back`` to ``months_ahead`` months from now (PostgreSQL)."""
    if engine.dialect.name != "postgresql":
        return 0
    with engine.begin() as connection:
        return connection.execute(
            text("SELECT douane_create_partitions(:back, :ahead)"), {"back": months_back, "ahead": months_ahead}
        ).scalar()


@dataclass
class Dropped:
    chain: str
    partitions: list[str]
    rows: int
    up_to_seq: int | None


def _partitions(connection, chain: str) -> list[tuple[str, datetime]]:
    """(name, month) of the table's monthly partitions."""
    names = connection.execute(
        text("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = CAST(:t AS regclass)"),
        {"t": chain},
    ).scalars()
    months = []
    for name in names:
        match = PARTITION_NAME.match(name)
        if match:
            months.append((name, datetime(int(match.group(2)), int(match.group(3)), 1, tzinfo=timezone.utc)))
    return sorted(months, key=lambda item: item[1])


def apply_retention(
    engine: Engine, keep_months: int, signing_key: Ed25519PrivateKey, now: datetime | None = None, public_key=None
) -> list[Dropped]:
    """Drop every monthly partition that ends before the start of the month
    ``keep_months`` before this one, each chain's drop preceded by a signed
    checkpoint. The chain is verified first: a broken chain is not signed."""
    from services.audit.verify import verify

    if engine.dialect.name != "postgresql":
        raise RetentionError("retention drops monthly partitions, which only the PostgreSQL schema has")
    if keep_months < 1:
        raise RetentionError("--keep-months must be at least 1")
    now = now or datetime.now(timezone.utc)
    cutoff = month_start(now, keep_months)
    public = signing_key.public_key()
    report = verify(engine, public_key=public)
    if not report.ok:
        broken = report.first_broken
        raise RetentionError(f"the chain does not verify ({broken.table} seq {broken.seq}: {broken.problem}); nothing was dropped")
    dropped: list[Dropped] = []
    with engine.begin() as connection:
        # Hold both heads: no row is appended while partitions go.
        for chain in CHAINS:
            connection.execute(select(ChainHead.seq).where(ChainHead.chain == chain).with_for_update()).one()
        for chain in CHAINS:
            old = [(name, month) for name, month in _partitions(connection, chain) if month < cutoff]
            if not old:
                continue
            table = TABLES[chain]
            rows, up_to = 0, None
            for name, _month in old:
                count, top = connection.execute(text(f'SELECT count(*), max(seq) FROM "{name}"')).one()
                rows += count
                if top is not None and (up_to is None or top > up_to):
                    up_to = top
            if up_to is not None:
                head_hash = connection.execute(select(table.c.hash).where(table.c.seq == up_to)).scalar_one()
                checkpoint = Checkpoint(
                    chain=chain,
                    up_to_seq=up_to,
                    hash=head_hash,
                    rows=rows,
                    dropped_from=old[0][1],
                    dropped_until=cutoff,
                    partitions=",".join(name for name, _ in old),
                    created_at=datetime.now(timezone.utc),
                    key_id=key_id(public),
                    signature="",
                )
                checkpoint.signature = base64.b64encode(signing_key.sign(checkpoint_message(checkpoint))).decode()
                connection.execute(
                    Checkpoint.__table__.insert().values(
                        **{c.name: getattr(checkpoint, c.key) for c in Checkpoint.__table__.columns if c.name != "id"}
                    )
                )
            for name, _month in old:
                connection.execute(text(f'DROP TABLE "{name}"'))
            log.info("retention: %s: dropped %d partition(s), %d row(s), checkpoint up to seq %s", chain, len(old), rows, up_to)
            dropped.append(Dropped(chain, [name for name, _ in old], rows, up_to))
        stale = {
            chain: connection.execute(
                text(f"SELECT count(*) FROM {chain}_default WHERE created_at < :cutoff"), {"cutoff": cutoff}
            ).scalar()
            for chain in CHAINS
        }
    for chain, count in stale.items():
        if count:
            log.warning("retention: %d %s row(s) older than %s sit in the default partition and were kept", count, chain, cutoff.date())
    return dropped


def oldest_row(engine: Engine, chain: str) -> datetime | None:
    table = TABLES[chain]
    with engine.connect() as connection:
        return connection.execute(select(func.min(table.c.created_at))).scalar()
