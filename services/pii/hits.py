"""A hit: one place in one text where a scanner found a kind of personal data.

Hits stay inside ``services/pii``: the detector folds them into ``Findings``
(types, counts, best scores) and the offsets and text never leave it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Hit:
    entity: str  # e.g. "DE_TAX_ID", "IBAN_CODE", "HEALTH_TERM"
    start: int
    end: int
    score: float


class Scanner(Protocol):
    """Finds hits in one (already normalised) text of a known language."""

    def scan(self, text: str, language: str) -> Sequence[Hit]: ...
