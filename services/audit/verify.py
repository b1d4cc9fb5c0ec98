"""Checking the hash chains: walk each chain in seq order, recompute every
row's hash from its content and its prev_hash, check that prev_hash is the
hash of the row before (or of the signed checkpoint that retention left when
it dropped that row), and stop at the FIRST broken row.

What is reported as broken, per row:
- ``content_changed``: the row's hash is not sha256(prev_hash, its content):
  a column was changed after the row was written;
- ``link_broken``: its prev_hash is not the previous row's hash (the previous
  row, or its hash, was changed or replaced);
- ``gap``: rows before it are missing and no checkpoint accounts for them;
- ``repeated_seq``: two rows claim the same place in the chain;
- ``missing_tail``: the chain head says rows exist after the last one found;
- ``checkpoint_signature``: a retention checkpoint's signature does not verify.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, func, select

from services.audit.chain import CHAINS, GENESIS, canonical, link
from services.audit.models import ChainHead, Checkpoint
from services.audit.writer import TABLES


@dataclass
class Break:
    table: str
    seq: int | None
    id: str | None
    tenant: str | None
    problem: str
    detail: str


@dataclass
class ChainResult:
    chain: str
    rows_checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    anchored_at: str | None = None  # genesis | row N | checkpoint up to N | retention gap (content only)
    checkpoints: int = 0
    signatures: str = "none"  # none | verified | not checked (no public key)
    broken: Break | None = None


@dataclass
class VerifyReport:
    chains: list[ChainResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.broken is None for c in self.chains)

    @property
    def first_broken(self) -> Break | None:
        return next((c.broken for c in self.chains if c.broken is not None), None)

    def to_dict(self) -> dict:
        return {"ok": self.ok, "chains": [asdict(c) for c in self.chains]}


def verify(
    bind: Engine | Connection,
    since: datetime | None = None,
    until: datetime | None = None,
    public_key=None,
    batch: int = 5000,
    workers: int = 1,
) -> VerifyReport:
    """Both chains, whole or the rows created in [since, until) (plus the link
    of the first of them to the row before). ``public_key``: the Ed25519 key
    checkpoints are checked against; without one, signatures are not checked.
    ``workers`` > 1 splits a long chain into seq ranges walked by that many
    processes (an Engine only; the CLI uses one per core)."""
    report = VerifyReport()
    if isinstance(bind, Connection):  # the caller's transaction (and snapshot)
        for chain in CHAINS:
            report.chains.append(_verify_chain(bind, chain, since, until, public_key, batch))
        return report
    url = bind.url.render_as_string(hide_password=False) if workers > 1 else None
    # One snapshot for the whole walk: writers keep appending meanwhile.
    isolation = "REPEATABLE READ" if bind.dialect.name == "postgresql" else "SERIALIZABLE"
    with bind.connect().execution_options(isolation_level=isolation) as connection:
        for chain in CHAINS:
            report.chains.append(_verify_chain(connection, chain, since, until, public_key, batch, workers, url))
        connection.rollback()
    return report


def _row_break(chain: str, row: dict, problem: str, detail: str) -> Break:
    return Break(chain, row["seq"], str(row["id"]), row.get("tenant"), problem, detail)


def _verify_chain(
    connection: Connection, chain: str, since, until, public_key, batch: int, workers: int = 1, url: str | None = None
) -> ChainResult:
    from services.audit.retention import checkpoint_valid

    table = TABLES[chain]
    result = ChainResult(chain=chain)
    checkpoints = connection.execute(
        select(Checkpoint.__table__).where(Checkpoint.chain == chain).order_by(Checkpoint.up_to_seq)
    ).all()
    result.checkpoints = len(checkpoints)
    if checkpoints:
        result.signatures = "verified" if public_key is not None else "not checked (no public key configured)"
    for checkpoint in checkpoints:
        if public_key is not None and not checkpoint_valid(checkpoint, public_key):
            result.broken = Break(
                chain, checkpoint.up_to_seq, None, None, "checkpoint_signature",
                f"the retention checkpoint up to seq {checkpoint.up_to_seq} ({checkpoint.created_at.isoformat()}) "
                "does not verify with the public key",
            )
            return result
    checkpoint_hash = {c.up_to_seq: c.hash for c in checkpoints}
    dropped_up_to = max(checkpoint_hash, default=0)

    bounds = select(func.min(table.c.seq), func.max(table.c.seq))
    if since is not None:
        bounds = bounds.where(table.c.created_at >= since)
    if until is not None:
        bounds = bounds.where(table.c.created_at < until)
    lo, hi = connection.execute(bounds).one()
    head_seq, head_hash = connection.execute(
        select(ChainHead.seq, ChainHead.hash).where(ChainHead.chain == chain)
    ).one()
    if lo is None:
        if since is None and until is None and head_seq > dropped_up_to:
            result.broken = Break(chain, head_seq, None, None, "missing_tail",
                                  f"the chain head is at seq {head_seq} but the table holds no rows")
        return result

    if workers > 1 and url is not None and hi - lo >= PARALLEL_MIN_ROWS:
        walk = _walk_parallel(url, chain, lo, hi, checkpoint_hash, dropped_up_to, batch, workers)
    else:
        walk = _walk(connection, chain, lo, hi, checkpoint_hash, dropped_up_to, batch)
    result.rows_checked, result.first_seq, result.last_seq = walk.rows_checked, walk.first_seq, walk.last_seq
    result.anchored_at, result.broken = walk.anchored_at, walk.broken
    last_hash = walk.last_hash
    if result.broken is not None:
        return result
    if until is not None or result.last_seq is None:
        return result
    if head_seq > result.last_seq:
        if head_seq <= dropped_up_to and checkpoint_hash.get(head_seq, head_hash) == head_hash:
            return result  # the newest rows were back-dated into partitions retention dropped
        result.broken = Break(
            chain, result.last_seq + 1, None, None, "missing_tail",
            f"the chain head is at seq {head_seq} but the last row found is {result.last_seq}",
        )
    elif head_seq < result.last_seq or head_hash != last_hash:
        result.broken = Break(chain, result.last_seq, None, None, "link_broken",
                              "the chain head does not point at the last row")
    return result


PARALLEL_MIN_ROWS = 200_000  # below this, starting worker processes costs more than it saves


@dataclass
class _Walk:
    rows_checked: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    anchored_at: str | None = None
    broken: Break | None = None


def _anchor(connection: Connection, table, lo: int, checkpoint_hash: dict, dropped_up_to: int):
    """The hash row ``lo`` must link to, and where it comes from."""
    if lo == 1:
        return GENESIS, "genesis"
    before = connection.execute(select(table.c.hash).where(table.c.seq == lo - 1)).scalar()
    if before is not None:
        return before, f"row {lo - 1}"
    if lo - 1 in checkpoint_hash:
        return checkpoint_hash[lo - 1], f"checkpoint up to {lo - 1}"
    if lo - 1 <= dropped_up_to:
        return None, "retention gap (content only until the checkpoint)"
    return None, "gap"


def _walk(connection: Connection, chain: str, lo: int, hi: int, checkpoint_hash: dict, dropped_up_to: int,
          batch: int) -> _Walk:
    """Rows lo..hi in seq order; stops at the first broken one."""
    table = TABLES[chain]
    result = _Walk()
    prev, result.anchored_at = _anchor(connection, table, lo, checkpoint_hash, dropped_up_to)
    rows = connection.execute(
        select(table).where(table.c.seq >= lo, table.c.seq <= hi).order_by(table.c.seq),
        execution_options={"yield_per": batch},
    ).mappings()
    expected = lo
    for mapping in rows:
        row = dict(mapping)
        seq = row["seq"]
        if result.first_seq is None:
            result.first_seq = seq
            if result.anchored_at == "gap":
                result.broken = _row_break(chain, row, "gap", f"row {seq - 1} is missing and no checkpoint covers it")
                return result
        if seq < expected:
            result.broken = _row_break(chain, row, "repeated_seq", f"another row already holds seq {seq}")
            return result
        if seq > expected:
            if seq - 1 <= dropped_up_to:
                # Dropped by retention: the checkpoint up to seq-1 (if any) is the anchor.
                prev = checkpoint_hash.get(seq - 1)
            else:
                result.broken = _row_break(chain, row, "gap", f"rows {expected}..{seq - 1} are missing")
                return result
        if link(row["prev_hash"], canonical(row)) != row["hash"]:
            result.broken = _row_break(
                chain, row, "content_changed", "the row's content no longer matches its hash: it was changed"
            )
            return result
        if prev is not None and row["prev_hash"] != prev:
            result.broken = _row_break(
                chain, row, "link_broken",
                f"prev_hash does not match the hash of row {seq - 1}: that row or its hash was changed or replaced",
            )
            return result
        prev = result.last_hash = row["hash"]
        expected = seq + 1
        result.rows_checked += 1
        result.last_seq = seq
    return result


def _walk_segment(url: str, chain: str, lo: int, hi: int, checkpoint_hash: dict, dropped_up_to: int,
                  batch: int) -> _Walk:
    """One worker process's share: rows lo..hi, linked to the stored hash of row lo-1.
    Together the segments check every row's content and every link, once."""
    from services.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return _walk(connection, chain, lo, hi, checkpoint_hash, dropped_up_to, batch)
    finally:
        engine.dispose()


def _walk_parallel(url: str, chain: str, lo: int, hi: int, checkpoint_hash: dict, dropped_up_to: int, batch: int,
                   workers: int) -> _Walk:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    size = (hi - lo + workers) // workers
    bounds = [(a, min(a + size - 1, hi)) for a in range(lo, hi + 1, size)]
    # spawn, not fork: the caller may hold threads (the gateway's) and open connections.
    with ProcessPoolExecutor(len(bounds), mp_context=multiprocessing.get_context("spawn")) as pool:
        parts = list(pool.map(_walk_segment, *zip(*[(url, chain, a, b, checkpoint_hash, dropped_up_to, batch)
                                                      for a, b in bounds])))
    merged = _Walk(first_seq=parts[0].first_seq, anchored_at=parts[0].anchored_at)
    for part in parts:
        merged.rows_checked += part.rows_checked
        if part.broken is not None:
            merged.broken = part.broken
            return merged
        if part.last_seq is not None:
            merged.last_seq, merged.last_hash = part.last_seq, part.last_hash
    return merged
