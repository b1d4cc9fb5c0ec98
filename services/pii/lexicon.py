"""Special-category term lists (lexicons) kept as DPO-readable YAML files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml


class LexiconError(ValueError):
    """A lexicon file is unreadable or malformed; raised at start-up."""


@dataclass(frozen=True)
class Lexicon:
    name: str                      # the file's stem, e.g. "health"
    entity: str                    # e.g. "HEALTH_TERM"
    score: float
    terms: dict[str, list[str]]    # language code -> terms

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise LexiconError(f"cannot read lexicon {path}: {exc}") from exc
        return cls.from_document(path.stem, document, source=str(path))

    @classmethod
    def from_document(cls, name: str, document: object, source: str) -> Lexicon:
        # A DPO edits these files by hand: say exactly what is wrong and where,
        # and refuse to start rather than silently detect less.
        if not isinstance(document, dict):
            raise LexiconError(f"{source}: expected a mapping at the top level")
        entity = document.get("entity")
        if not isinstance(entity, str) or not entity.isupper():
            raise LexiconError(f"{source}: 'entity' must be an upper-case name like HEALTH_TERM")
        score = document.get("score")
        if not isinstance(score, (int, float)) or isinstance(score, bool) or not 0 < score <= 1:
            raise LexiconError(f"{source}: 'score' must be a number in (0, 1]")
        raw_terms = document.get("terms")
        if not isinstance(raw_terms, dict) or not raw_terms:
            raise LexiconError(f"{source}: 'terms' must map language codes to lists of terms")
        terms: dict[str, list[str]] = {}
        for language, words in raw_terms.items():
            if not isinstance(words, list) or not words:
                raise LexiconError(f"{source}: terms for {language!r} must be a non-empty list")
            cleaned = [word.strip() for word in words if isinstance(word, str) and word.strip()]
            if len(cleaned) != len(words):
                raise LexiconError(
                    f"{source}: terms for {language!r} must all be non-empty strings"
                )
            # Duplicates differing only in case are one term (matching ignores case).
            terms[str(language)] = sorted({w.casefold(): w for w in cleaned}.values())
        return cls(name=name, entity=entity, score=float(score), terms=terms)
