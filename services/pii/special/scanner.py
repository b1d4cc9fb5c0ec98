"""Special-category terms, scored by whether they are said about a person.

A term alone ("chemotherapy", "Gewerkschaft", "Catholic") is usually a topic;
the same term next to a person cue ("my colleague is undergoing chemotherapy")
is data about someone. So each match is scored from its context:

- a negative context phrase overlapping it ("Catholic Church", "genetic
  algorithm")                                       -> no hit;
- a person cue within ``window_tokens`` tokens, in the same sentence, on either
  side ("my", "patient", "Frau", "elle"), or a predicate cue before it ("has",
  "ist", "souffre de")                              -> ``with_person`` (0.85);
- neither                                           -> ``alone`` (0.4, below the
  policy's 0.5, so it is reported but does not count).

Personal-by-nature terms ("HIV-positive", "vorbestraft") use the
``personal_*`` scores, which count even alone. All numbers live in
``lexicons/context.yaml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from services.pii.hits import Hit
from services.pii.language import SUPPORTED_LANGUAGES
from services.pii.special.trie import compile_phrases
from services.pii.special.data import (
    LEXICON_DIR,
    CategoryLexicon,
    ContextRules,
    LanguageContext,
    load_all,
)

_TOKEN = re.compile(r"\w+")
# Sentence ends: ., !, ? (then optional closing quote/bracket) before a space,
# or a blank line. A single newline does not end one: "Patient:\nDiagnosis: ..."
_SENTENCE_END = re.compile(r"[.!?\u2026\u3002]+[\"'\u00bb\u201d)\]]*(?=\s)|\n[ \t]*\n")
# How far around a term we look for its sentence; cues further off than a few
# tokens do not count anyway.
_LOOKAROUND_CHARS = 240
# The longest negative phrase we expect before its special term.
_NEGATIVE_LOOKBACK_CHARS = 80


def _phrase_pattern(phrase: str) -> str:
    words = []
    for word in phrase.split(" "):
        if word.endswith("*"):
            words.append(re.escape(word[:-1]) + r"\w*")
        else:
            words.append(re.escape(word))
    return r"\s+".join(words)


def _key(text: str) -> str:
    return " ".join(text.casefold().split())


def _cue_tokens(phrase: str) -> tuple[str, ...]:
    # A cue is matched token by token; a trailing "*" on a word keeps it a prefix.
    tokens = []
    for word in phrase.split(" "):
        star = word.endswith("*")
        parts = _TOKEN.findall(word.casefold())
        if star and parts:
            parts[-1] += "*"
        tokens.extend(parts)
    return tuple(tokens)


@dataclass(frozen=True)
class _TermEntry:
    entity: str
    personal: bool


class _CueSet:
    """Cue phrases as token tuples, indexed by their first token."""

    def __init__(self, phrases: Iterable[str]) -> None:
        self._by_first: dict[str, list[tuple[str, ...]]] = {}
        self._prefixed_first: list[tuple[str, tuple[str, ...]]] = []
        for cue in {t for t in (_cue_tokens(p) for p in phrases) if t}:
            if cue[0].endswith("*"):
                self._prefixed_first.append((cue[0][:-1], cue))
            else:
                self._by_first.setdefault(cue[0], []).append(cue)

    def found_in(self, tokens: list[str]) -> bool:
        for i, token in enumerate(tokens):
            for cue in self._by_first.get(token, ()):
                if _rest_matches(cue, tokens, i):
                    return True
            for prefix, cue in self._prefixed_first:
                if token.startswith(prefix) and _rest_matches(cue, tokens, i):
                    return True
        return False


def _rest_matches(cue: tuple[str, ...], tokens: list[str], i: int) -> bool:
    if i + len(cue) > len(tokens):
        return False
    for c, token in zip(cue[1:], tokens[i + 1 :]):
        if not (token == c or (c.endswith("*") and token.startswith(c[:-1]))):
            return False
    return True


class _LanguageMatcher:
    """Everything compiled for one language: terms, negatives, cues."""

    def __init__(
        self, language: str, categories: list[CategoryLexicon], context: LanguageContext
    ) -> None:
        self.language = language
        self._exact: dict[str, list[_TermEntry]] = {}
        self._wildcards: list[tuple[re.Pattern[str], _TermEntry]] = []
        phrases: list[str] = []
        negatives = list(context.negative_contexts)
        for category in categories:
            for personal, source in ((False, category.terms), (True, category.personal_terms)):
                for phrase in source.get(language, []):
                    entry = _TermEntry(category.entity, personal)
                    phrases.append(phrase)
                    if "*" in phrase:
                        pattern = re.compile(_phrase_pattern(phrase), re.IGNORECASE)
                        self._wildcards.append((pattern, entry))
                    else:
                        self._exact.setdefault(_key(phrase), []).append(entry)
            negatives.extend(category.negative_contexts.get(language, []))
        self.terms = compile_phrases(phrases)
        self.negatives = compile_phrases(negatives)
        self.person_cues = _CueSet(context.person_cues)
        self.predicate_cues = _CueSet(context.predicate_cues)

    def entries(self, matched: str) -> list[_TermEntry]:
        found = list(self._exact.get(_key(matched), []))
        found.extend(entry for pattern, entry in self._wildcards if pattern.fullmatch(matched))
        # One term listed in two files of the same kind counts once per entity.
        unique: dict[str, _TermEntry] = {}
        for entry in found:
            if entry.entity not in unique or entry.personal:
                unique[entry.entity] = entry
        return list(unique.values())


class SpecialCategoryScanner:
    """Scanner for GDPR Art. 9 / Art. 10 terms (see ``services.pii.hits.Scanner``)."""

    def __init__(self, categories: list[CategoryLexicon], context: ContextRules) -> None:
        self._rules = context
        self._matchers = {
            language: _LanguageMatcher(language, categories, context.languages[language])
            for language in SUPPORTED_LANGUAGES
        }

    @classmethod
    def load(cls, directory: Path = LEXICON_DIR) -> SpecialCategoryScanner:
        categories, context = load_all(directory)
        return cls(categories, context)

    @property
    def entities(self) -> frozenset[str]:
        return frozenset(
            entry.entity
            for matcher in self._matchers.values()
            for entries in matcher._exact.values()
            for entry in entries
        )

    def scan(self, text: str | bytes, language: str) -> list[Hit]:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        if not isinstance(text, str):
            raise TypeError(f"scan() needs str, got {type(text).__name__}")
        if not text:
            return []
        matcher = self._matchers.get(language)
        matchers = [matcher] if matcher else list(self._matchers.values())
        best: dict[tuple[str, int, int], float] = {}
        for current in matchers:
            for hit in self._scan_language(text, current):
                key = (hit.entity, hit.start, hit.end)
                if hit.score > best.get(key, 0.0):
                    best[key] = hit.score
        return _drop_contained(
            [Hit(entity, start, end, score) for (entity, start, end), score in best.items()]
        )

    def _scan_language(self, text: str, matcher: _LanguageMatcher) -> Iterable[Hit]:
        if matcher.terms is None:
            return
        scores = self._rules.scores
        for m in matcher.terms.finditer(text):
            start, end = m.span()
            entries = matcher.entries(m.group())
            if not entries or _in_negative_context(text, start, end, matcher.negatives):
                continue
            with_person = self._has_person_cue(text, start, end, matcher)
            for entry in entries:
                if entry.personal:
                    score = scores.personal_with_person if with_person else scores.personal_alone
                else:
                    score = scores.with_person if with_person else scores.alone
                yield Hit(entry.entity, start, end, score)

    def _has_person_cue(self, text: str, start: int, end: int, matcher: _LanguageMatcher) -> bool:
        window = self._rules.window_tokens
        left = text[max(0, start - _LOOKAROUND_CHARS) : start]
        right = text[end : end + _LOOKAROUND_CHARS]
        left = left[self._last_sentence_end(left) :]
        right = right[: self._first_sentence_end(right)]
        before = [t.casefold() for t in _TOKEN.findall(left)][-window:]
        after = [t.casefold() for t in _TOKEN.findall(right)][:window]
        return (
            matcher.person_cues.found_in(before)
            or matcher.person_cues.found_in(after)
            or matcher.predicate_cues.found_in(before[-self._rules.predicate_window_tokens :])
        )

    def _ends_sentence(self, text: str, m: re.Match[str]) -> bool:
        if not m.group().startswith("."):
            return True
        # "Mr. Smith", "Dr. Müller", "Mme. Dupont": an abbreviation, not a full stop.
        words = _TOKEN.findall(text[max(0, m.start() - 12) : m.start()])
        return not (words and words[-1].casefold() in self._rules.abbreviations)

    def _last_sentence_end(self, left: str) -> int:
        last = 0
        for m in _SENTENCE_END.finditer(left):
            if self._ends_sentence(left, m):
                last = m.end()
        return last

    def _first_sentence_end(self, right: str) -> int:
        for m in _SENTENCE_END.finditer(right):
            if self._ends_sentence(right, m):
                return m.start()
        return len(right)


def _in_negative_context(
    text: str, start: int, end: int, negatives: re.Pattern[str] | None
) -> bool:
    # Try a negative phrase at every word start shortly before and inside the
    # term: phrases may overlap one another ("architecture des églises" and
    # "églises catholiques"), which one finditer pass over the text would miss.
    if negatives is None:
        return False
    lo = max(0, start - _NEGATIVE_LOOKBACK_CHARS)
    for word in _TOKEN.finditer(text, lo, end):
        m = negatives.match(text, word.start())
        if m and m.end() > start:
            return True
    return False


def _drop_contained(hits: list[Hit]) -> list[Hit]:
    # Under "und" two languages may match "type 2 diabetes" and "diabetes" on
    # the same words: keep the longer one unless the shorter scored higher.
    hits.sort(key=lambda h: (h.start, -(h.end - h.start)))
    kept: list[Hit] = []
    for hit in hits:
        if any(
            k.entity == hit.entity and k.start <= hit.start and hit.end <= k.end and k.score >= hit.score
            for k in kept[-8:]
        ):
            continue
        kept.append(hit)
    return kept
