"""The hash chain over the audit log: one chain per table ("decisions",
"outcomes"), each row's hash covering its canonical content and the hash of
the row before it (by ``seq``).

The spec, so anyone can check a chain without the gateway's code:

- content: every column of the row except ``seq``, ``prev_hash`` and ``hash``,
  as one JSON object: ``json.dumps(row, sort_keys=True, separators=(",", ":"),
  ensure_ascii=False)`` encoded as UTF-8; datetimes as ISO 8601 in UTC with
  microseconds (``2026-11-28T14:00:00.123456+00:00``), UUIDs as their hyphenated
  string, SQL NULL as ``null``, floats as Python's json renders them;
- ``hash = "sha256:" + sha256(prev_hash.encode() + b"\\n" + content).hexdigest()``;
- row ``seq = 1`` links to ``GENESIS``; row ``seq = n`` to the hash of row
  ``n - 1``, or to a signed checkpoint's hash when retention dropped it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone
from typing import Any

GENESIS = "sha256:" + "0" * 64

# Not content: the chain's own columns.
CHAIN_COLUMNS = frozenset({"seq", "prev_hash", "hash"})

# One chain per table; the head row in audit_chain_heads has the table's name.
CHAINS = ("decisions", "outcomes")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # SQLite hands back naive datetimes; we only ever store UTC
            value = value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def canonical(row: dict) -> bytes:
    """The bytes a row's hash covers: its content columns as canonical JSON."""
    content = {name: _plain(value) for name, value in row.items() if name not in CHAIN_COLUMNS}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def link(prev_hash: str, content: bytes) -> str:
    return "sha256:" + hashlib.sha256(prev_hash.encode() + b"\n" + content).hexdigest()


def content_columns(table) -> list[str]:
    """The content column names of a table (SQLAlchemy ``Table``)."""
    return [c.name for c in table.columns if c.name not in CHAIN_COLUMNS]


def content_of(record) -> dict:
    """The content of an ORM record (DecisionRecord or OutcomeRecord), by column name."""
    table = record.__table__
    return {column.name: getattr(record, column.key) for column in table.columns if column.name not in CHAIN_COLUMNS}


def chain_of(record) -> str:
    return record.__table__.name
