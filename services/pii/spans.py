"""Where personal data sits in a text: what pseudonymisation replaces.

Only ``Detector.locate`` makes spans, for the one text it is given; they are
never cached, stored or logged, since a span and its text give the value.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from services.pii.hits import Hit


@dataclass(frozen=True)
class Span:
    entity: str  # e.g. "EMAIL_ADDRESS", "PERSON"
    start: int  # offsets into the text as the caller gave it: text[start:end]
    end: int


def spans_of(hits: Iterable[Hit], to_original: Callable[[int, int], tuple[int, int]]) -> list[Span]:
    """Non-overlapping spans, sorted by start, in the original text's offsets.

    Scanners may disagree on the same characters (a name inside an e-mail
    address both scanners kept, a ligature split between two hits): such
    spans become one covering both, so nothing of either is left in clear.
    It is named after the better-scored hit (the longer one on a tie).
    """
    mapped = sorted(
        ((*to_original(h.start, h.end), h.score, h.entity) for h in hits if h.end > h.start),
        key=lambda item: (item[0], -item[1]),
    )
    merged: list[list] = []  # [start, end, score, entity, length of the naming hit]
    for start, end, score, entity in mapped:
        if merged and start < merged[-1][1]:
            last = merged[-1]
            if (score, end - start) > (last[2], last[4]):
                last[2], last[3], last[4] = score, entity, end - start
            last[1] = max(last[1], end)
        else:
            merged.append([start, end, score, entity, end - start])
    return [Span(entity, start, end) for start, end, _, entity, _ in merged]
