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
from services.pii.special.trie import APOSTROPHES, compile_phrases, fold_apostrophes
from services.pii.special.data import (
    LEXICON_DIR,
    AnchoredTerms,
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
# Tokens of context kept on each side of a term (person cues and anchors look
# within their own, smaller windows).
_CONTEXT_TOKENS = 12


def _phrase_pattern(phrase: str) -> str:
    words = []
    for word in phrase.split(" "):
        if word.endswith("*"):
            words.append(_escape(word[:-1]) + r"\w*")
        else:
            words.append(_escape(word))
    return r"\s+".join(words)


def _escape(word: str) -> str:
    return "".join(APOSTROPHES if ch == "'" else re.escape(ch) for ch in word)


def _key(text: str) -> str:
    return " ".join(fold_apostrophes(text).casefold().split())


def _case_matches(listed: str, matched: str) -> bool:
    """Every capital of the listed name is a capital in the text ("Lega" is not "lega")."""
    listed_chars = [c for c in listed if not c.isspace() and c != "*"]
    matched_chars = [c for c in matched if not c.isspace()]
    return all(not a.isupper() or b.isupper() for a, b in zip(listed_chars, matched_chars))


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
    group: int = -1        # index of its anchored group, -1 for a plain term
    listed: str = ""       # the phrase as listed (case check of anchored names)


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

    def __bool__(self) -> bool:
        return bool(self._by_first or self._prefixed_first)

    def found_in(self, tokens: list[str]) -> bool:
        return any(True for _ in self.matches(tokens))

    def matches(self, tokens: list[str]) -> Iterable[tuple[int, int]]:
        """(start, end) token indices of every cue found in ``tokens``."""
        for i, token in enumerate(tokens):
            for cue in self._by_first.get(token, ()):
                if _rest_matches(cue, tokens, i):
                    yield i, i + len(cue)
            for prefix, cue in self._prefixed_first:
                if token.startswith(prefix) and _rest_matches(cue, tokens, i):
                    yield i, i + len(cue)


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
        self.generic_cues = _CueSet(context.generic_cues)
        # Anchored names ("SPD", "CGT", "malienne"): their own trie, and per
        # group the anchor words that make them about someone.
        self.groups: list[tuple[AnchoredTerms, _CueSet, _CueSet]] = []
        self._anchored_exact: dict[str, list[_TermEntry]] = {}
        self._anchored_wildcards: list[tuple[re.Pattern[str], _TermEntry]] = []
        anchored_phrases: list[str] = []
        for category in categories:
            for group in category.anchored:
                index = len(self.groups)
                self.groups.append(
                    (
                        group,
                        _CueSet(group.anchors_before.get(language, [])),
                        _CueSet(group.anchors_after.get(language, [])),
                    )
                )
                for phrase in [*group.terms.get("all", []), *group.terms.get(language, [])]:
                    entry = _TermEntry(category.entity, False, index, phrase)
                    anchored_phrases.append(phrase)
                    if "*" in phrase:
                        pattern = re.compile(_phrase_pattern(phrase), re.IGNORECASE)
                        self._anchored_wildcards.append((pattern, entry))
                    else:
                        self._anchored_exact.setdefault(_key(phrase), []).append(entry)
        # One trie for plain and anchored terms: one pass over the text (a
        # second pass cost as much as the first, 2-3 ms per 32 KB).
        self.terms = compile_phrases([*phrases, *anchored_phrases])

    def anchored_entries(self, matched: str) -> list[_TermEntry]:
        found = list(self._anchored_exact.get(_key(matched), []))
        found.extend(e for pattern, e in self._anchored_wildcards if pattern.fullmatch(matched))
        return found

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
            matched = m.group()
            entries = matcher.entries(matched)
            anchored = [
                e
                for e in matcher.anchored_entries(matched)
                if not matcher.groups[e.group][0].match_case or _case_matches(e.listed, matched)
            ]
            if (not entries and not anchored) or _in_negative_context(
                text, start, end, matcher.negatives
            ):
                continue
            before, after = self._context(text, start, end)
            if entries:
                with_person = self._about_someone(before, after, matcher)
                for entry in entries:
                    if entry.personal:
                        score = scores.personal_with_person if with_person else scores.personal_alone
                    else:
                        score = scores.with_person if with_person else scores.alone
                    yield Hit(entry.entity, start, end, score)
            if anchored:
                yield from self._anchored_hits(matcher, anchored, before, after, start, end)

    def _anchored_hits(
        self,
        matcher: _LanguageMatcher,
        entries: list[_TermEntry],
        before: list[str],
        after: list[str],
        start: int,
        end: int,
    ) -> Iterable[Hit]:
        scores = self._rules.scores
        with_person: bool | None = None
        done: set[str] = set()
        for entry in entries:
            if entry.entity in done:
                continue
            group, anchors_before, anchors_after = matcher.groups[entry.group]
            anchored = (
                group.window_before
                and anchors_before.found_in(before[max(0, len(before) - group.window_before) :])
            ) or (group.window_after and anchors_after.found_in(after[: group.window_after]))
            if not anchored:
                continue
            if with_person is None:
                # Person cues only: "Friedrich Merz ist Mitglied der CDU" (a
                # public figure) or "ce vin est d'origine italienne" are not
                # about a private person; a predicate is no subject.
                with_person = self._about_someone(before, after, matcher, predicates=False)
            done.add(entry.entity)
            yield Hit(entry.entity, start, end, scores.with_person if with_person else scores.alone)

    def _context(self, text: str, start: int, end: int) -> tuple[list[str], list[str]]:
        """Up to 12 tokens of the term's sentence on each side, casefolded."""
        left = text[max(0, start - _LOOKAROUND_CHARS) : start]
        right = text[end : end + _LOOKAROUND_CHARS]
        left = left[self._last_sentence_end(left) :]
        right = right[: self._first_sentence_end(right)]
        before = [t.casefold() for t in _TOKEN.findall(left)][-_CONTEXT_TOKENS:]
        after = [t.casefold() for t in _TOKEN.findall(right)][:_CONTEXT_TOKENS]
        return before, after

    def _about_someone(
        self, before: list[str], after: list[str], matcher: _LanguageMatcher, predicates: bool = True
    ) -> bool:
        """Is there a person cue (or a predicate) nearer the term than any generic cue?

        Before the term, the nearest cue decides; a predicate ("has", "ist")
        counts unless its own nearest subject cue is generic ("People who have
        diabetes", "What is diabetes", "If you have diabetes"). After the
        term, the nearest person or generic cue decides.
        """
        window = self._rules.window_tokens
        before = before[len(before) - window :] if window < len(before) else before
        after = after[:window]
        generic = matcher.generic_cues
        # Before: nearest cue by its end, the longer (then the generic) one on a tie.
        marks: list[tuple[int, int, int]] = []  # (end, length, kind) kind: 0 person, 1 generic
        marks.extend((e, e - s, 0) for s, e in matcher.person_cues.matches(before))
        if generic:
            marks.extend((e, e - s, 1) for s, e in generic.matches(before))
        marks.sort(key=lambda m: (m[0], m[1], m[2]))
        predicate_from = len(before) - self._rules.predicate_window_tokens
        predicate_starts = (
            [s for s, e in matcher.predicate_cues.matches(before) if s >= predicate_from]
            if predicates
            else []
        )
        nearest = marks[-1] if marks else None
        if predicate_starts:
            p = max(predicate_starts)
            if nearest is None or nearest[0] <= p:
                # The predicate is nearer: its subject decides.
                subject = [m for m in marks if m[0] <= p]
                if not subject or subject[-1][2] == 0:
                    return True
                nearest = None  # generic subject: the before side says nobody
        if nearest is not None:
            # A person cue decides; so does a generic subject, and a later
            # "their"/"leur"/"su" then refers to it ("People with diabetes
            # should check their feet").
            return nearest[2] == 0
        if predicate_starts:
            return False  # a predicate whose subject is generic
        # Nothing before: the first cue after decides.
        first: tuple[int, int, int] | None = None
        for s, e in matcher.person_cues.matches(after):
            if first is None or (s, -(e - s), 0) < first:
                first = (s, -(e - s), 0)
        if generic:
            for s, e in generic.matches(after):
                if first is None or (s, -(e - s), -1) < first:
                    first = (s, -(e - s), -1)
        return first is not None and first[2] == 0

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
