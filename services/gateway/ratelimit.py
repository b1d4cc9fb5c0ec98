"""Per-key rate limits that hold across every replica on one database.

A key may make ``limit`` requests per minute window (fixed windows on the
wall clock, so replicas agree on them as far as their clocks do). The
window's budget is one row of ``rate_limit_leases``; replicas *lease* tokens
from it and admit requests from their local lease:

- a request that finds a local token takes it: a lock and a dict lookup, no
  database call (a few microseconds; ``bench/rate_limit.py`` measures it);
- every ``sync_interval_s`` a background pass leases ahead, in one statement
  for all keys, for the keys that used tokens, sized on their recent rate;
- a request that finds none leases for itself (one upsert; the key's other
  requests on this replica wait for it, nobody else does): a key's first
  request in a window, or a burst faster than the background pass;
- when the row says the window is spent, the answer is 429 with
  ``Retry-After``: the seconds to the window's end.

Bounds, whatever the number of replicas R: a key is never admitted more than
``limit`` times in a window (a token is leased once, by an atomic UPDATE of
its row). It may be admitted fewer, by the tokens replicas leased and did
not use: at most one lease per replica, a lease being at most
``max(1, limit // 20)`` tokens, so at least ``limit - R * max(1, limit // 20)``
are admitted when demand exceeds the limit (5% per replica).

Fixed windows let a client spend a window's budget at its end and the next
one's at its start: up to twice the limit within one minute across the
boundary. That is the price of an exact, cheap count and an exact
Retry-After.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Protocol

from sqlalchemy import Engine, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.types import BigInteger, Integer, String

from services.gateway.errors import RateLimited

log = logging.getLogger("douane.ratelimit")

WINDOW_S = 60


@dataclass(frozen=True)
class LeaseRequest:
    key_id: str
    window: int  # window index: epoch seconds // WINDOW_S
    quota: int  # the key's limit for the window
    want: int  # tokens asked for, 1..quota


@dataclass(frozen=True)
class Lease:
    granted: int  # tokens handed to this replica, 0..want
    spent: bool  # the window's whole quota is now leased


class LeaseStore(Protocol):
    def lease(self, requests: Sequence[LeaseRequest]) -> list[Lease]:
        """Lease tokens for each request (one per key), atomically per row."""

    def forget_before(self, window: int) -> None:
        """Drop rows of windows before ``window``."""


_LEASE_SQL = text(
    """
    INSERT INTO rate_limit_leases AS l (key_id, window_start, quota, granted, last_grant)
    SELECT r.key_id, to_timestamp(r.w * :window_s), r.quota, LEAST(r.want, r.quota), LEAST(r.want, r.quota)
    FROM unnest(:keys, :windows, :quotas, :wants) AS r(key_id, w, quota, want)
    ON CONFLICT (key_id, window_start) DO UPDATE SET
        last_grant = LEAST(EXCLUDED.granted, GREATEST(0, EXCLUDED.quota - l.granted)),
        granted = l.granted + LEAST(EXCLUDED.granted, GREATEST(0, EXCLUDED.quota - l.granted)),
        quota = EXCLUDED.quota
    RETURNING l.key_id, l.last_grant, l.granted >= l.quota
    """
).bindparams(
    bindparam("keys", type_=ARRAY(String)),
    bindparam("windows", type_=ARRAY(BigInteger)),
    bindparam("quotas", type_=ARRAY(Integer)),
    bindparam("wants", type_=ARRAY(Integer)),
)


class PostgresLeases:
    """The shared store: one INSERT ... ON CONFLICT DO UPDATE ... RETURNING
    for any number of keys. In an UPDATE's SET every column reads the old
    row, so ``last_grant`` and ``granted`` agree on what was handed out."""

    def __init__(self, engine: Engine):
        self._engine = engine

    def lease(self, requests: Sequence[LeaseRequest]) -> list[Lease]:
        # Rows are locked in key order, so two replicas' batches cannot deadlock.
        ordered = sorted(requests, key=lambda r: r.key_id)
        with self._engine.begin() as connection:
            rows = connection.execute(
                _LEASE_SQL,
                {
                    "window_s": WINDOW_S,
                    "keys": [r.key_id for r in ordered],
                    "windows": [r.window for r in ordered],
                    "quotas": [r.quota for r in ordered],
                    "wants": [min(r.want, r.quota) for r in ordered],
                },
            ).all()
        by_key = {key_id: Lease(granted=granted, spent=spent) for key_id, granted, spent in rows}
        return [by_key[r.key_id] for r in requests]

    def forget_before(self, window: int) -> None:
        cutoff = datetime.fromtimestamp(window * WINDOW_S, timezone.utc)
        with self._engine.begin() as connection:
            connection.execute(text("DELETE FROM rate_limit_leases WHERE window_start < :cutoff"), {"cutoff": cutoff})


class MemoryLeases:
    """One process, nothing shared (SQLite, or tests of the limiter alone)."""

    def __init__(self) -> None:
        self._granted: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def lease(self, requests: Sequence[LeaseRequest]) -> list[Lease]:
        out = []
        with self._lock:
            for r in requests:
                done = self._granted.get((r.key_id, r.window), 0)
                granted = max(0, min(r.want, r.quota - done))
                self._granted[(r.key_id, r.window)] = done + granted
                out.append(Lease(granted=granted, spent=done + granted >= r.quota))
        return out

    def forget_before(self, window: int) -> None:
        with self._lock:
            for key in [k for k in self._granted if k[1] < window]:
                del self._granted[key]


def lease_store_for(engine: Engine) -> LeaseStore:
    return PostgresLeases(engine) if engine.dialect.name == "postgresql" else MemoryLeases()


def lease_cap(limit: int) -> int:
    """The most tokens one replica holds for a key: what it may leave unused."""
    return max(1, limit // 20)


@dataclass
class _Bucket:
    window: int
    limit: int
    tokens: int = 0  # leased, not yet used
    spent: bool = False  # the window's quota is all leased (by any replica)
    used: int = 0  # taken since the last background pass: sizes the next lease
    leasing: threading.Lock = field(default_factory=threading.Lock)

    def want(self) -> int:
        # Twice the use since the last pass, so a steady key finds tokens
        # until the next one; at least a few, so a key's first requests in a
        # window do not each lease for themselves; never over the cap.
        return min(lease_cap(self.limit), max(4, 2 * self.used))


class RateLimiter:
    """Admits or refuses one request of a key. Thread-safe; ``clock`` (wall
    clock seconds) is injectable so tests can move time."""

    def __init__(self, leases: LeaseStore, *, clock: Callable[[], float] = time.time):
        self._leases = leases
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._forgotten_before = 0

    def admit(self, key_id: str, limit: int) -> None:
        """Return if the request may go; raise ``RateLimited`` otherwise.
        ``limit`` <= 0 means unlimited."""
        if limit <= 0:
            return
        now = self._clock()
        window = int(now // WINDOW_S)
        with self._lock:
            bucket = self._bucket(key_id, window, limit)
            if self._take(bucket):
                return
            if bucket.spent:
                raise self._refusal(bucket, now)
        with bucket.leasing:  # one lease at a time per key; the others then find its tokens
            with self._lock:
                if self._take(bucket):
                    return
                if bucket.spent:
                    raise self._refusal(bucket, now)
                request = LeaseRequest(key_id, window, limit, bucket.want())
            (lease,) = self._leases.lease([request])
            with self._lock:
                bucket.tokens += lease.granted
                bucket.spent = lease.spent
                if self._take(bucket):
                    return
        raise self._refusal(bucket, now)

    def sync(self) -> None:
        """The background pass: lease ahead for keys in use, drop old windows."""
        window = int(self._clock() // WINDOW_S)
        with self._lock:
            for key_id in [k for k, b in self._buckets.items() if b.window != window]:
                del self._buckets[key_id]
            wanted: list[tuple[_Bucket, LeaseRequest]] = []
            for key_id, bucket in self._buckets.items():
                if bucket.used and not bucket.spent and not bucket.leasing.locked() and bucket.tokens < bucket.want():
                    wanted.append((bucket, LeaseRequest(key_id, window, bucket.limit, bucket.want() - bucket.tokens)))
                bucket.used = 0
        if wanted:
            leases = self._leases.lease([request for _bucket, request in wanted])
            with self._lock:
                for (bucket, _request), lease in zip(wanted, leases):
                    bucket.tokens += lease.granted
                    bucket.spent = bucket.spent or lease.spent
        if window - 2 > self._forgotten_before:
            self._leases.forget_before(window - 2)
            self._forgotten_before = window - 2

    def _bucket(self, key_id: str, window: int, limit: int) -> _Bucket:
        bucket = self._buckets.get(key_id)
        if bucket is None or bucket.window != window or bucket.limit != limit:
            # A new window (or a changed limit: its tokens were leased under the old one).
            bucket = _Bucket(window=window, limit=limit)
            self._buckets[key_id] = bucket
        return bucket

    @staticmethod
    def _take(bucket: _Bucket) -> bool:
        if bucket.tokens > 0:
            bucket.tokens -= 1
            bucket.used += 1
            return True
        return False

    @staticmethod
    def _refusal(bucket: _Bucket, now: float) -> RateLimited:
        retry_after = max(1, math.ceil((bucket.window + 1) * WINDOW_S - now))
        return RateLimited(
            f"this key may make {bucket.limit} requests per minute; retry in {retry_after} s",
            details={"limit": bucket.limit, "window_s": WINDOW_S, "retry_after_s": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
