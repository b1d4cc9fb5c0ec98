"""Drop hits that are part of a more trustworthy hit of another type.

Scanners each give their opinion on the same characters: the digits of an
IBAN may also parse as a phone number, a name-like word may sit inside an
e-mail address. A hit wholly inside a higher-ranked hit of another type is
dropped; partial overlaps are kept, because for a privacy gateway an extra
finding is cheaper than a lost one.
"""

from __future__ import annotations

from collections.abc import Sequence

from services.pii.hits import Hit


def drop_contained(ranked_hits: Sequence[tuple[int, Hit]]) -> list[Hit]:
    """``ranked_hits`` pairs each hit with its scanner's rank (higher is more
    trustworthy: checksum-validated identifiers above lexicons above NER)."""

    def rank(item: tuple[int, Hit]) -> tuple[int, float]:
        return (item[0], item[1].score)

    kept = []
    for item in ranked_hits:
        hit = item[1]
        dominated = any(
            other.entity != hit.entity
            and other.start <= hit.start
            and hit.end <= other.end
            and rank(other_item) > rank(item)
            for other_item in ranked_hits
            for other in (other_item[1],)
        )
        if not dominated:
            kept.append(hit)
    return kept
