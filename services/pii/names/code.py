"""Programming questions: the NER model's PERSON hits that are code, not people.

The small English and French models read capitalised programming words as
names ("Enum", "Union Types", "Race Condition", a bioinformatics database).
In a text that looks like a programming question (code markup, or enough
programming vocabulary: `names.yaml` `code`), a model hit is dropped when
every word of it is a programming term, or when it is a single word inside
inline backticks (an identifier). Only the model's hits are filtered: the
gazetteer's hits rest on a known given name and stay.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.pii.hits import Hit

_WORDS = re.compile(r"[^\W\d_][\w+#]*")
_INLINE_CODE = re.compile(r"`[^`\n]{1,200}`")
_POSSESSIVE = re.compile(r"(?:'s|’s|')$")


@dataclass(frozen=True)
class CodeContext:
    signals: frozenset[str]  # words that mark a programming question
    strong: frozenset[str]  # signals that are enough on their own
    terms: frozenset[str]  # words that are code vocabulary, never a name in such a question
    min_signals: int

    @classmethod
    def from_config(cls, config: dict) -> CodeContext:
        strong = frozenset(str(w).casefold() for w in config["strong"])
        return cls(
            signals=frozenset(str(w).casefold() for w in config["signals"]) | strong,
            strong=strong,
            terms=frozenset(str(w).casefold() for w in config["terms"]) | strong,
            min_signals=int(config.get("min_signals", 2)),
        )

    def is_code_question(self, text: str) -> bool:
        if "```" in text or _INLINE_CODE.search(text):
            return True
        seen: set[str] = set()
        for match in _WORDS.finditer(text):
            word = match.group().casefold()
            if word in self.strong:
                return True
            if word in self.signals:
                seen.add(word)
                if len(seen) >= self.min_signals:
                    return True
        return False

    def filter(self, text: str, hits: list[Hit]) -> list[Hit]:
        if not hits or not self.is_code_question(text):
            return hits
        inline = [m.span() for m in _INLINE_CODE.finditer(text)]
        return [h for h in hits if not self._is_code(text, h, inline)]

    def _is_code(self, text: str, hit: Hit, inline: list[tuple[int, int]]) -> bool:
        words = [_POSSESSIVE.sub("", w).casefold() for w in text[hit.start : hit.end].split()]
        if words and all(w in self.terms for w in words):
            return True
        return len(words) == 1 and any(s < hit.start and hit.end < e for s, e in inline)
