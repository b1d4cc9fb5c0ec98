"""Drop findings that are part of a more trustworthy finding of another type.

Presidio returns every recognizer's opinion; it only merges overlaps of the same
entity type. Counting all of them misleads the policy and the audit log: one
e-mail address also yields URL findings for its parts, and the small spaCy model
labels a whole URL as a PERSON. A pattern recognizer (regex plus checksum or
domain validation) is more trustworthy than the statistical NER on the same
characters, and between equals the higher score wins.

Only findings wholly *inside* another are dropped: partial overlaps are kept,
because for a privacy gateway an extra finding is cheaper than a lost one.
"""

from __future__ import annotations

from collections.abc import Collection

from presidio_analyzer import RecognizerResult


def _recognizer_name(result: RecognizerResult) -> str | None:
    metadata = result.recognition_metadata or {}
    return metadata.get(RecognizerResult.RECOGNIZER_NAME_KEY)


def drop_contained(
    results: list[RecognizerResult], statistical_recognizers: Collection[str]
) -> list[RecognizerResult]:
    """Keep results not wholly contained in a higher-ranked result of another type.

    Rank = (comes from a pattern recognizer, score). Two results on the same
    span with equal rank are both kept.
    """

    def rank(result: RecognizerResult) -> tuple[bool, float]:
        return (_recognizer_name(result) not in statistical_recognizers, result.score)

    def is_dominated(result: RecognizerResult) -> bool:
        return any(
            other.entity_type != result.entity_type
            and other.start <= result.start
            and result.end <= other.end
            and rank(other) > rank(result)
            for other in results
        )

    return [result for result in results if not is_dominated(result)]
