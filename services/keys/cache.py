"""Keys verified recently, so that a request does not query the database for
its key: at hundreds of requests per second that query was a database round
trip and an ORM load per request.

An entry holds the key's id, the SHA-256 of its secret (what the table holds,
never the secret) and the principal, for ``ttl_s`` seconds. A presented key is
still compared by hash in constant time against the entry. The price is the
revocation delay: a revoked key keeps working for at most ``ttl_s`` seconds on
each replica (DOUANE_KEY_CACHE_TTL_S; 0 turns the cache off). Unknown or wrong
keys are never cached, so a failed attempt always reaches the database.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from services.keys.service import KEY_PATTERN, Principal, authenticate, secret_digest


@dataclass(frozen=True)
class _Entry:
    secret_sha256: str
    principal: Principal
    expires: float


class KeyCache:
    def __init__(self, ttl_s: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.ttl_s = ttl_s
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        self._refreshing: dict[str, threading.Lock] = {}

    def authenticate(self, session: Session, presented: str) -> Principal | None:
        if self.ttl_s <= 0:
            return authenticate(session, presented)
        match = KEY_PATTERN.match(presented)
        if not match:
            return None
        key_id, secret = match.groups()
        digest = secret_digest(secret)
        entry = self._fresh(key_id)
        if entry is None:
            # One query per key when its entry expires, not one per request in
            # flight: the others wait for it and use its answer.
            with self._refresh_lock(key_id):
                entry = self._fresh(key_id)
                if entry is None:
                    principal = authenticate(session, presented)
                    if principal is None:
                        self.forget(key_id)
                        return None
                    entry = _Entry(digest, principal, self._clock() + self.ttl_s)
                    self._remember(key_id, entry)
        return entry.principal if hmac.compare_digest(entry.secret_sha256, digest) else None

    def _fresh(self, key_id: str) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(key_id)
        return entry if entry is not None and entry.expires > self._clock() else None

    def _refresh_lock(self, key_id: str) -> threading.Lock:
        with self._lock:
            lock = self._refreshing.get(key_id)
            if lock is None:
                if len(self._refreshing) > self._max:
                    self._refreshing.clear()  # only ever a memory bound: a lock in use stays referenced by its holder
                lock = self._refreshing[key_id] = threading.Lock()
            return lock

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._entries.pop(key_id, None)

    def _remember(self, key_id: str, entry: _Entry) -> None:
        with self._lock:
            self._entries[key_id] = entry
            self._entries.move_to_end(key_id)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
