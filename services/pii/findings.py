"""What detection reports: entity types with counts and best scores, never values."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class EntityFinding:
    count: int
    max_score: float


@dataclass(frozen=True)
class Findings:
    languages: list[str]
    entities: dict[str, EntityFinding]

    @classmethod
    def aggregate(
        cls, languages: list[str], detections: Iterable[tuple[str, float]]
    ) -> Findings:
        """Fold (entity type, score) pairs into one count and best score per type.

        Only the type and score cross this boundary: the matched text is left
        behind in the analyser, so nothing downstream can leak it.
        """
        counts: dict[str, int] = {}
        best: dict[str, float] = {}
        for entity_type, score in detections:
            counts[entity_type] = counts.get(entity_type, 0) + 1
            best[entity_type] = max(best.get(entity_type, 0.0), score)
        entities = {
            entity_type: EntityFinding(count=counts[entity_type], max_score=best[entity_type])
            for entity_type in sorted(counts)
        }
        return cls(languages=list(languages), entities=entities)

    def to_policy_input(self) -> dict:
        """The `findings` document of the policy input (see DESIGN.md).

        Keys are sorted so the same request always yields the same document,
        which keeps audit hashes and policy replays stable.
        """
        return {
            "languages": list(self.languages),
            "entities": {
                entity_type: {"count": finding.count, "max_score": finding.max_score}
                for entity_type, finding in sorted(self.entities.items())
            },
        }
