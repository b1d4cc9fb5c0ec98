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

    def authenticate(self, session: Session, presented: str) -> Principal | None:
        if self.ttl_s <= 0:
            return authenticate(session, presented)
        match = KEY_PATTERN.match(presented)
        if not match:
            return None
        key_id, secret = match.groups()
        with self._lock:
            entry = self._entries.get(key_id)
        if entry is not None and entry.expires > self._clock():
            return entry.principal if hmac.compare_digest(entry.secret_sha256, secret_digest(secret)) else None
        principal = authenticate(session, presented)
        if principal is not None:
            self._remember(key_id, _Entry(secret_digest(secret), principal, self._clock() + self.ttl_s))
        else:
            self.forget(key_id)
        return principal

    def forget(self, key_id: str) -> None:
        with self._lock:
            self._entries.pop(key_id, None)

    def _remember(self, key_id: str, entry: _Entry) -> None:
        with self._lock:
            self._entries[key_id] = entry
            self._entries.move_to_end(key_id)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
