"""Drop PERSON hits that name a well-known public figure or a place named after one.

The team's labelling rule (eval/pii/README.md): a question about a public or
historical figure in their public role is not personal data about a private
person. The data and the exact rule are in `data/public_figures.yaml`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from services.pii.hits import Hit

# Letters that NFKD does not decompose into base letter + accent.
_FOLD = str.maketrans({"ł": "l", "Ł": "l", "ø": "o", "Ø": "o", "đ": "d", "Đ": "d",
                       "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ı": "i",
                       "’": "'", "‘": "'", "ʼ": "'", "‐": "-", "–": "-"})
_WORD = re.compile(r"[^\W_](?:[\w]|['.](?=[^\W_]))*\.?")
_POSSESSIVE = re.compile(r"(?:'s|')$")
# Polish declension: inflected ending -> nominative ending, longest first.
_PL_ENDINGS = (
    ("skiego", "ski"), ("ckiego", "cki"), ("skiemu", "ski"), ("ckiemu", "cki"),
    ("skim", "ski"), ("ckim", "cki"), ("skiej", "ska"), ("ckiej", "cka"),
    ("iem", ""), ("owi", ""), ("em", ""), ("ii", "ia"), ("ie", ""), ("ie", "a"),
    ("ą", "a"), ("ę", "a"), ("y", "a"), ("i", "a"), ("a", ""), ("u", ""),
)


def normalise(text: str) -> str:
    """Case-folded, accents stripped, hyphens as spaces, whitespace collapsed."""
    text = unicodedata.normalize("NFKD", text.translate(_FOLD))
    text = "".join(c for c in text if not unicodedata.combining(c)).casefold()
    text = text.replace("-", " ")
    return " ".join(text.split())


@dataclass(frozen=True)
class PublicFigures:
    full_names: frozenset[str]
    surnames: frozenset[str]
    landmarks: frozenset[str]
    saint_words: frozenset[str]
    place_before: frozenset[str]
    place_after: frozenset[str]
    private_cues: frozenset[str]

    @classmethod
    def from_config(cls, config: dict) -> PublicFigures:
        figures = config["figures"]
        full = [n for group in figures.values() for n in group]
        return cls(
            full_names=_normalised(full),
            surnames=_normalised(config["surnames"]),
            landmarks=_normalised(config["landmarks"]),
            saint_words=_normalised(config["saint_words"]),
            place_before=_normalised(config["place_before"]),
            place_after=_normalised(config["place_after"]),
            private_cues=_normalised(config["private_cues"]),
        )

    def filter(self, text: str, hits: list[Hit], titles: frozenset[str], language: str) -> list[Hit]:
        """The hits that are not a public figure or a place name (see the data header)."""
        return [h for h in hits if not self.is_public(text, h, titles, language)]

    def is_public(self, text: str, hit: Hit, titles: frozenset[str], language: str) -> bool:
        raw = text[hit.start : hit.end]
        name = _POSSESSIVE.sub("", normalise(raw))
        if not name:
            return False
        previous = _last_word(text[max(0, hit.start - 80) : hit.start])
        following = _first_word(text[hit.end : hit.end + 80])
        # A private relation right before the name wins: "our customer Giuseppe Verdi".
        if previous in self.private_cues:
            return False
        # A title before the name: "Frau Merkel", "Pan Józef Piłsudski", "Mme
        # Saint-Pierre" are more likely a private namesake in a prompt.
        if _titled(previous, titles):
            return False
        # Places: "Santa Maria Novella", "rue Victor Hugo", "Adenauer Platz".
        if name in self.landmarks or (previous + " " + name) in self.landmarks:
            return True
        if _name_shaped(raw):
            first = name.split()[0]
            if first in self.saint_words or previous in self.saint_words:
                return True
            if self._saint_run_before(text, hit.start):
                return True
            if previous in self.place_before or (following and following in self.place_after):
                return True
        # Figures: the full name, or the surname alone for the best known.
        candidates = _forms(name, language)
        if candidates & self.full_names:
            return True
        return len(name.split()) <= 2 and bool(candidates & self.surnames)


    def _saint_run_before(self, text: str, start: int) -> bool:
        """The hit ends a saint's name: "Santa Teresa de Jesús", "Sint Jan de
        Doper", "Kościół Świętego Jana" (up to four capitalised words or
        particles back to a saint word)."""
        words = [m.group() for m in _WORD.finditer(text[max(0, start - 60) : start])]
        if words and not text[max(0, start - 60) : start].rstrip(" \t-'’").endswith(words[-1]):
            return False  # punctuation between the hit and the word before it
        for word in reversed(words[-5:]):
            folded = normalise(word)
            if folded in self.saint_words:
                return True
            if not (word[:1].isupper() or folded in _PARTICLES):
                return False
        return False


_PARTICLES = frozenset({"de", "del", "della", "di", "da", "do", "dos", "das", "du", "des",
                        "la", "le", "van", "von", "y", "e", "i", "d'", "l'"})


def _name_shaped(raw: str) -> bool:
    """Up to five words, none of them a lower-case word longer than a particle.

    Keeps the place rules off a run the NER model glued together across a
    plain word ("Victor Hugo with Jean Dupont").
    """
    words = raw.split()
    return len(words) <= 5 and not any(w[:1].islower() and len(w) > 3 for w in words)


def _titled(previous: str, titles: frozenset[str]) -> bool:
    return bool(previous) and previous in titles


def _forms(name: str, language: str) -> set[str]:
    """The name itself and, for Polish, its possible nominatives ("Piłsudskiego")."""
    forms = {name}
    if language not in ("pl", "und"):
        return forms
    options: list[list[str]] = []
    for word in name.split():
        variants = [word]
        for ending, nominative in _PL_ENDINGS:
            if word.endswith(ending) and len(word) > len(ending) + 2:
                variants.append(word[: -len(ending)] + nominative)
        options.append(variants)
    combos = [""]
    for variants in options[:4]:
        combos = [f"{c} {v}".strip() for c in combos for v in variants][:512]
    forms.update(combos)
    return forms


def _last_word(text: str) -> str:
    """The last word of the text, normalised ("" if none)."""
    last = None
    for last in _WORD.finditer(text):
        pass
    return normalise(last.group()) if last else ""


def _first_word(text: str) -> str:
    first = _WORD.search(text)
    return normalise(first.group()) if first else ""


def _normalised(names: Iterable[str]) -> frozenset[str]:
    return frozenset(normalise(str(n)) for n in names)


def title_words(honorifics: Iterable[Sequence[str]]) -> frozenset[str]:
    """The last word of every title, normalised: what stands right before a name."""
    return frozenset(normalise(h[-1]) for h in honorifics if h)
