"""Writing the audit log: every decision and outcome row is linked into its
table's hash chain and committed before ``write`` returns.

Group commit: request threads hand records to one background thread per
process, which takes whatever is queued (up to ``max_batch``) and, in ONE
transaction per batch, locks the chain head row (``SELECT ... FOR UPDATE``),
gives each record its seq, prev_hash and hash in order, inserts them, moves
the head and commits; then it wakes the callers. One fsync serves the whole
batch, and the head row lock serialises batches from any number of processes
on the same database, so the chain stays one line.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import JSON, Connection, Engine, Float, Integer, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from services.audit.chain import CHAINS, canonical, chain_of, content_of, link
from services.audit.models import ChainHead, DecisionRecord, OutcomeRecord
from services.gateway.errors import ServiceUnavailable

log = logging.getLogger("douane.audit")

TABLES = {"decisions": DecisionRecord.__table__, "outcomes": OutcomeRecord.__table__}


class AuditUnavailable(ServiceUnavailable):
    """The audit row could not be committed, so nothing was forwarded."""

    type = "database_unavailable"


def _normalised(record) -> dict:
    """The record's content as the database will hand it back: a Python int
    in a Float column reads back as a float, and the hash must not change."""
    content = content_of(record)
    for column in record.__table__.columns:
        value = content.get(column.name)
        if value is None:
            continue
        if isinstance(column.type, Float):
            content[column.name] = float(value)
        elif isinstance(column.type, Integer):
            content[column.name] = int(value)
    return content


def _by_chain(records: Sequence) -> list[tuple[str, list]]:
    """Records grouped by chain, chains always in the same order (decisions,
    then outcomes), so two writers never lock the heads in opposite orders."""
    groups: dict[str, list] = {}
    for record in records:
        groups.setdefault(chain_of(record), []).append(record)
    return [(chain, groups[chain]) for chain in CHAINS if chain in groups]


def _link(connection: Connection, chain: str, records: list) -> list[dict]:
    """Lock the chain head, link ``records`` after it, move it; returns the rows to insert."""
    seq, prev = connection.execute(
        select(ChainHead.seq, ChainHead.hash).where(ChainHead.chain == chain).with_for_update()
    ).one()
    rows = []
    for record in records:
        content = _normalised(record)
        seq += 1
        digest = link(prev, canonical(content))
        record.seq, record.prev_hash, record.hash = seq, prev, digest
        rows.append({**content, "seq": seq, "prev_hash": prev, "hash": digest})
        prev = digest
    connection.execute(update(ChainHead).where(ChainHead.chain == chain).values(seq=seq, hash=prev))
    return rows


def append(connection: Connection, records: Sequence) -> None:
    """Link and insert ``records`` in the caller's transaction (the caller commits)."""
    for chain, group in _by_chain(records):
        rows = _link(connection, chain, group)
        if connection.dialect.name == "postgresql":
            _copy(connection, TABLES[chain], rows)
        else:
            _insert(connection, TABLES[chain], rows)


def _json_columns(table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if isinstance(c.type, JSON))


def _copy(connection: Connection, table, rows: list[dict]) -> None:
    """COPY the batch in (one round trip). A None in a JSON column becomes SQL
    NULL, as the ORM writes an unset one (never the JSON literal null)."""
    names = [c.name for c in table.columns]
    json_columns = _json_columns(table)
    cursor = connection.connection.driver_connection.cursor()
    try:
        with cursor.copy(f"COPY {table.name} ({', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(
                    [
                        json.dumps(row[n], ensure_ascii=False) if n in json_columns and row[n] is not None else row[n]
                        for n in names
                    ]
                )
    finally:
        cursor.close()


def _insert(connection: Connection, table, rows: list[dict]) -> None:
    """Plain INSERTs (SQLite). JSON columns holding None are left out of the
    statement, so they are SQL NULL like the ORM's, not the JSON literal null."""
    json_columns = _json_columns(table)
    groups: dict[frozenset[str], list[dict]] = {}
    for row in rows:
        empty = frozenset(n for n in json_columns if row.get(n) is None)
        groups.setdefault(empty, []).append({k: v for k, v in row.items() if k not in empty})
    for group in groups.values():
        connection.execute(insert(table), group)


def append_in_session(session: Session, records: Sequence) -> None:
    """The same, through an ORM session (records become persistent, flushed, not committed)."""
    for chain, group in _by_chain(records):
        _link(session.connection(), chain, group)
        session.add_all(group)
        session.flush()


@dataclass
class _Pending:
    record: object
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class AuditWriter:
    """One per process (``runtime.audit_writer``). ``write`` blocks until the
    row is committed, or raises ``AuditUnavailable``."""

    def __init__(self, engine: Engine, *, max_batch: int = 100, idle_exit_s: float = 5.0, timeout_s: float = 30.0):
        self.engine = engine
        self.max_batch = max_batch
        self.idle_exit_s = idle_exit_s  # the thread ends when idle and starts again on the next write
        self.timeout_s = timeout_s
        self._queue: queue.Queue[_Pending | None] = queue.Queue()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.batches = 0  # committed batches, for the benchmark
        self.rows = 0

    def write(self, record) -> None:
        pending = _Pending(record)
        with self._lock:  # put under the lock: the thread only exits when it sees an empty queue under it
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="douane-audit-writer", daemon=True)
                self._thread.start()
            self._queue.put(pending)
        if not pending.done.wait(self.timeout_s):
            log.error("audit row not committed within %.0f s", self.timeout_s)
            raise AuditUnavailable("the audit database did not confirm the write in time; nothing was forwarded")
        if pending.error is not None:
            raise AuditUnavailable(
                "the audit database is unavailable; nothing was forwarded",
                details={"reason": type(pending.error).__name__},
            ) from pending.error

    def close(self) -> None:
        """Let the thread commit what is queued and end (a later write starts it again)."""
        with self._lock:
            thread = self._thread
            if thread is not None:
                self._queue.put(None)  # wakes the thread: it ends once the queue is empty
        if thread is not None:
            thread.join(timeout=self.timeout_s)

    def _run(self) -> None:
        try:
            self._loop()
        finally:  # whatever ended the loop, the next write starts a new thread
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None

    def _loop(self) -> None:
        closing = False
        while True:
            if closing:
                first = None
            else:
                try:
                    first = self._queue.get(timeout=self.idle_exit_s)
                except queue.Empty:
                    first = None
            if first is None:
                with self._lock:
                    if self._queue.empty():
                        self._thread = None
                        return
                closing = False
                continue
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    closing = True
                else:
                    batch.append(item)
            self._commit(batch)

    def _commit(self, batch: list[_Pending]) -> None:
        try:
            with self.engine.begin() as connection:
                append(connection, [p.record for p in batch])
        except Exception as exc:  # noqa: BLE001 - every caller hears about it; see below
            if len(batch) == 1 or not isinstance(exc, (IntegrityError, DataError)):
                log.error("audit write of %d row(s) failed: %s", len(batch), type(exc).__name__)
                for pending in batch:
                    pending.error = exc
                    pending.done.set()
                return
            # One bad row (say, a second outcome for a decision) must not fail
            # its neighbours: write them one by one to find out whose it is.
            for pending in batch:
                self._commit([pending])
            return
        self.batches += 1
        self.rows += len(batch)
        for pending in batch:
            pending.done.set()
