"""Findings per message, remembered by an HMAC of the message.

Chat clients resend the whole conversation every turn; scanning each distinct
message once makes the tenth turn cost what its new message costs. The key is
an HMAC under a per-process random key, so the cache holds no text and its
keys cannot be checked against a guessed prompt from outside the process.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class MessageCache(Generic[T]):
    def __init__(self, max_entries: int = 4096):
        self._key = secrets.token_bytes(32)
        self._max = max_entries
        self._entries: OrderedDict[bytes, T] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def _digest(self, text: str) -> bytes:
        return hmac.new(self._key, text.encode("utf-8", "surrogatepass"), hashlib.sha256).digest()

    def get_or_compute(self, text: str, compute: Callable[[str], T]) -> T:
        digest = self._digest(text)
        with self._lock:
            if digest in self._entries:
                self._entries.move_to_end(digest)
                self.hits += 1
                return self._entries[digest]
            self.misses += 1
        # Computed outside the lock: two threads may scan the same new message
        # once each, which is cheaper than serialising every scan.
        value = compute(text)
        with self._lock:
            self._entries[digest] = value
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._entries)
