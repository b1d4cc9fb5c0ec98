"""Text as the scanners see it: the same words, with the tricks that hide
personal data from a pattern taken out.

NFKC folds full-width digits and compatibility forms ("１２３", "ﬁ"); invisible
characters that split a word are removed; letters that merely look Latin are
folded to Latin inside words that also hold ASCII. The mapping is data
(``confusables.yaml``). Detection only: what is forwarded is never changed.

``with_offsets`` also says where each normalised character came from, so a
place found in the normalised text can be named in the original one (the
``locate`` of pseudonymisation). It refuses rather than guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from services.pii.errors import DetectionError

DEFAULT_TABLE = Path(__file__).with_name("confusables.yaml")
_MIXED_WORD = re.compile(r"\w*[A-Za-z0-9]\w*", re.UNICODE)


@dataclass(frozen=True)
class Normaliser:
    fold: dict[int, str]
    remove: dict[int, None]

    @classmethod
    def load(cls, path: Path = DEFAULT_TABLE) -> Normaliser:
        table = yaml.safe_load(path.read_text(encoding="utf-8"))
        fold = {ord(k): v for k, v in (table.get("fold") or {}).items()}
        remove = {ord(c): None for c in table.get("remove") or []}
        return cls(fold=fold, remove=remove)

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text.translate(self.remove))
        if text.isascii():
            return text
        return _MIXED_WORD.sub(lambda m: m.group(0).translate(self.fold), text)

    def with_offsets(self, text: str) -> tuple[str, OffsetMap]:
        """The normalised text, and the map from its offsets to the original's.

        Raises DetectionError when the map cannot be made exact (Unicode
        composes across the pieces it is built from, as some Indic vowel
        signs do): a wrong offset would hide the wrong characters.
        """
        normalised = self(text)
        if normalised == text:
            return normalised, OffsetMap(None, None)
        starts: list[int] = []
        ends: list[int] = []
        pieces: list[str] = []
        for start, end in _clusters(text, self.remove):
            piece = unicodedata.normalize("NFKC", text[start:end].translate(self.remove))
            pieces.append(piece)
            starts.extend([start] * len(piece))
            ends.extend([end] * len(piece))
        composed = "".join(pieces)
        if composed != unicodedata.normalize("NFKC", text.translate(self.remove)):
            raise DetectionError("the text's normalisation cannot be mapped back to its offsets")
        folded, starts, ends = self._fold_with_offsets(composed, starts, ends)
        if folded != normalised:
            raise DetectionError("the text's normalisation cannot be mapped back to its offsets")
        return normalised, OffsetMap(starts, ends)

    def _fold_with_offsets(
        self, text: str, starts: list[int], ends: list[int]
    ) -> tuple[str, list[int], list[int]]:
        if text.isascii():
            return text, starts, ends
        out: list[str] = []
        out_starts: list[int] = []
        out_ends: list[int] = []
        position = 0
        for match in _MIXED_WORD.finditer(text):
            out.append(text[position : match.start()])
            out_starts.extend(starts[position : match.start()])
            out_ends.extend(ends[position : match.start()])
            for index in range(match.start(), match.end()):
                folded = text[index].translate(self.fold)
                out.append(folded)
                out_starts.extend([starts[index]] * len(folded))
                out_ends.extend([ends[index]] * len(folded))
            position = match.end()
        out.append(text[position:])
        out_starts.extend(starts[position:])
        out_ends.extend(ends[position:])
        return "".join(out), out_starts, out_ends


@dataclass(frozen=True)
class OffsetMap:
    """For each character of a normalised text, the span of the original it
    came from (``None``: the texts are the same)."""

    starts: list[int] | None
    ends: list[int] | None

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that normalised to ``[start, end)``."""
        if self.starts is None or self.ends is None:
            return start, end
        if not 0 <= start < end <= len(self.starts):
            raise DetectionError("a span lies outside the normalised text")
        return self.starts[start], self.ends[end - 1]


def _clusters(text: str, removed: dict[int, None]) -> list[tuple[int, int]]:
    """Spans of the original that normalise on their own: a character with
    the combining marks after it. Removed (invisible) characters belong to
    no span; a mark after one joins the character before it. Hangul vowel
    and final jamo compose with what precedes them, so they join it too."""
    spans: list[list[int]] = []
    for index, char in enumerate(text):
        if ord(char) in removed:
            continue
        if spans and (unicodedata.combining(char) or _is_conjoining_jamo(char)):
            spans[-1][1] = index + 1
        else:
            spans.append([index, index + 1])
    return [(start, end) for start, end in spans]


def _is_conjoining_jamo(char: str) -> bool:
    code = ord(char)
    return 0x1160 <= code <= 0x11FF or 0xD7B0 <= code <= 0xD7FF
