"""Person names found by rules over data: titles, given names, person cues.

The rules only ever fire on a known title or a known given name, never on a
capitalised word alone. That is what keeps German (every noun capitalised) and
sentence starts from turning into names: "Der Patient hat Diabetes" has neither.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from services.pii.hits import Hit

PERSON = "PERSON"

# A word, with inner hyphens, apostrophes and dots ("Anne-Marie", "O'Brien",
# "Sig.ra") and an optional final dot ("Dr.", "M."). Digits are kept inside the
# token so that "Q3" stays one token and is rejected as a name, not half-read.
_TOKEN = re.compile(r"[^\W_](?:[\w]|[-'’.](?=[^\W_]))*\.?")
# Characters between two tokens that end a sentence (or a line, a bullet, a colon).
_BREAK = re.compile(r"[.!?:;\n\r\t•|()\[\]{}<>\"“”«»]")

# Polish declines given names: "z Anną", "Piotrowi", "Marii". Endings to try,
# longest first, as (inflected ending, nominative ending).
_PL_ENDINGS = (
    ("owi", ""), ("iem", ""), ("em", ""), ("ii", "ia"), ("ie", "a"), ("ą", "a"), ("ę", "a"),
    ("y", "a"), ("i", "a"), ("a", ""), ("u", ""), ("o", "a"),
)
# Family names decline too: "Mazura", "Kowalskiej", "Nowakiem", "Wiśniewskiego".
_PL_FAMILY_ENDINGS = (
    ("skiego", "ski"), ("ckiego", "cki"), ("dzkiego", "dzki"), ("skiemu", "ski"),
    ("ckiemu", "cki"), ("skim", "ski"), ("ckim", "cki"), ("skiej", "ska"), ("ckiej", "cka"),
    ("ską", "ska"), ("cką", "cka"), ("owi", ""), ("iem", ""), ("em", ""), ("ie", ""),
    ("ej", "a"), ("ą", "a"), ("ę", "a"), ("y", "a"), ("a", ""), ("u", ""),
)
_PL_VOWELS = frozenset("aeiouyąęó")


class _Token(NamedTuple):
    text: str
    start: int
    end: int
    hard_break: bool  # punctuation or a line break before it (not a dot it follows)
    after_dot: bool  # the word before ended with a dot: a sentence end, or a title

    @property
    def sentence_start(self) -> bool:
        return self.hard_break or self.after_dot


@dataclass(frozen=True)
class Scores:
    honorific_name: float
    first_last: float
    cue_first: float
    bare_first: float


@dataclass(frozen=True)
class LanguageRules:
    """Everything the rules need for one language (or the union, for "und")."""

    honorifics: frozenset[tuple[str, ...]]
    cues: frozenset[str]
    non_names: frozenset[str]
    decline_polish: bool


class Gazetteer:
    def __init__(
        self,
        first_names: Iterable[str],
        ambiguous_names: Iterable[str],
        particles: Iterable[str],
        rules: Mapping[str, LanguageRules],
        scores: Scores,
        family_names: Iterable[str] = (),
    ) -> None:
        self._first_names = frozenset(n.casefold() for n in first_names)
        self._family_names = frozenset(n.casefold() for n in family_names)
        self._ambiguous = frozenset(n.casefold() for n in ambiguous_names)
        self._particles = frozenset(particles)
        self._rules = dict(rules)
        self._scores = scores
        self._max_honorific_len = max(
            (len(h) for r in self._rules.values() for h in r.honorifics), default=1
        )
        # The first words of all titles: most tokens are not one, and that
        # is all the title lookup needs to know about them.
        self._title_first_words = frozenset(
            h[0] for r in self._rules.values() for h in r.honorifics if h
        )

    @property
    def languages(self) -> frozenset[str]:
        return frozenset(self._rules)

    def non_names(self, language: str) -> frozenset[str]:
        return self._rules[language].non_names

    def honorifics(self, language: str) -> frozenset[tuple[str, ...]]:
        return self._rules[language].honorifics

    def is_first_name(self, word: str, language: str) -> bool:
        if not _is_name_word(word):
            return False
        folded = word.casefold()
        if folded in self._first_names:
            return True
        if self._rules[language].decline_polish:
            return any(form in self._first_names for form in _polish_nominatives(folded, _PL_ENDINGS))
        return False

    def is_family_name(self, word: str, language: str) -> bool:
        """A known family name ("Rosenthal", "Mensah"), or in Polish a declined one ("Mazura")."""
        if not _is_name_word(word):
            return False
        folded = word.casefold()
        if folded in self._family_names:
            return True
        if self._rules[language].decline_polish:
            return any(
                form in self._family_names for form in _polish_nominatives(folded, _PL_FAMILY_ENDINGS)
            )
        return False

    def scan(self, text: str, language: str) -> list[Hit]:
        rules = self._rules[language]
        tokens = _tokenize(text)
        hits: list[Hit] = []
        i = 0
        while i < len(tokens):
            text_at = tokens[i].text
            if not text_at[0].isupper() and not self._may_open_title(text_at):
                i += 1  # no rule starts at a lower-case word that opens no title
                continue
            hit, i = self._match_at(tokens, i, rules, language)
            if hit is not None:
                hits.append(hit)
        return hits

    # -- rules -------------------------------------------------------------

    def _match_at(
        self, tokens: list[_Token], i: int, rules: LanguageRules, language: str
    ) -> tuple[Hit | None, int]:
        title_end = self._honorifics_end(tokens, i, rules)
        if title_end > i:
            name_end = self._surname_run(tokens, title_end, rules, allow_initials=True)
            if name_end > title_end:
                return self._hit(tokens, title_end, name_end, self._scores.honorific_name), name_end
            return None, title_end

        token = tokens[i]
        if not self.is_first_name(_strip_dot(token.text), language) or (
            token.text.endswith(".") and not _is_sentence_end(tokens, i)
        ):
            return None, i + 1
        folded = token.text.casefold()
        ambiguous = folded in self._ambiguous or folded in rules.non_names
        name_end = self._surname_run(tokens, i + 1, rules, allow_initials=True)
        if name_end > i + 1 and not (ambiguous and token.sentence_start):
            return self._hit(tokens, i, name_end, self._scores.first_last), name_end
        if name_end > i + 1 and self.is_family_name(_strip_dot(tokens[i + 1].text), language):
            # "Daniel Rosenthal hat …", "Mira Schulte": a given name that is also
            # a word still opens a name when a known family name follows it.
            return self._hit(tokens, i, name_end, self._scores.first_last), name_end
        if i > 0 and not token.sentence_start and tokens[i - 1].text.casefold() in rules.cues:
            return self._hit(tokens, i, i + 1, self._scores.cue_first), i + 1
        if not ambiguous and not token.sentence_start:
            return self._hit(tokens, i, i + 1, self._scores.bare_first), i + 1
        if not ambiguous and _starts_clause(tokens, i):
            return self._hit(tokens, i, i + 1, self._scores.bare_first), i + 1
        return None, i + 1

    def _honorifics_end(self, tokens: list[_Token], i: int, rules: LanguageRules) -> int:
        """Index after the longest run of titles starting at i ("Frau Prof. Dr.")."""
        j = i
        # Four titles at most ("Frau Prof. Dr. med."): keeps "Dr. Dr. Dr. …" linear.
        while j < len(tokens) and j - i < 4 and self._may_open_title(tokens[j].text):
            matched = 0
            for n in range(min(self._max_honorific_len, len(tokens) - j), 0, -1):
                words = tuple(t.text for t in tokens[j : j + n])
                if _title_matches(words, rules.honorifics) and _on_one_line(tokens, j, j + n):
                    matched = n
                    break
            if not matched:
                break
            j += matched
        return j

    def _may_open_title(self, word: str) -> bool:
        firsts = self._title_first_words
        return word in firsts or (word[:1].lower() + word[1:]) in firsts

    def _surname_run(
        self, tokens: list[_Token], i: int, rules: LanguageRules, *, allow_initials: bool
    ) -> int:
        """Index after up to four name words (with particles and initials) from i."""
        j = i
        words = 0
        while j < len(tokens) and words < 4:
            text = tokens[j].text
            if tokens[j].hard_break or (j > i and tokens[j].sentence_start and not _is_initial(tokens[j - 1].text)):
                break
            if allow_initials and _is_initial(text):
                j += 1
                continue
            if text in self._particles and j + 1 < len(tokens) and _on_one_line(tokens, j, j + 2):
                # A particle counts only when a name word follows it.
                k = j + 1
                while k < len(tokens) and tokens[k].text in self._particles:
                    k += 1
                if k < len(tokens) and self._is_surname(tokens[k].text, rules) and k - j <= 2:
                    j = k + 1
                    words += 1
                    continue
                break
            if not self._is_surname(_strip_dot(text), rules) or _title_matches((text,), rules.honorifics):
                break
            if text.endswith(".") and not _is_sentence_end(tokens, j):
                break  # an abbreviation ("Str."), not a name
            j += 1
            words += 1
        # Trailing initials without a name after them are not part of the name.
        while j > i and _is_initial(tokens[j - 1].text):
            j -= 1
        return j if words else i

    def _is_surname(self, word: str, rules: LanguageRules) -> bool:
        return _is_name_word(word) and word.casefold() not in rules.non_names

    def _hit(self, tokens: list[_Token], i: int, j: int, score: float) -> Hit:
        end = tokens[j - 1].end
        if tokens[j - 1].text.endswith(".") and not _is_initial(tokens[j - 1].text):
            end -= 1  # the dot ended the sentence, it is not part of the name
        return Hit(PERSON, tokens[i].start, end, score)


def _polish_nominatives(folded: str, endings: tuple[tuple[str, str], ...]) -> list[str]:
    """Possible nominatives of a declined Polish word, with the mobile e put
    back ("kacpra" -> "kacper", "marka" -> "marek", "pawła" -> "paweł")."""
    forms: list[str] = []
    for ending, nominative in endings:
        if folded.endswith(ending) and len(folded) > len(ending) + 2:
            stem = folded[: -len(ending)]
            forms.append(stem + nominative)
            if not nominative and len(stem) >= 3 and stem[-1] not in _PL_VOWELS and stem[-2] not in _PL_VOWELS:
                forms.append(stem[:-1] + "e" + stem[-1])
    return forms


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    previous_end = 0
    previous_text = ""
    for match in _TOKEN.finditer(text):
        start, end = match.span()
        word = match.group()
        gap = text[previous_end:start]
        # Most gaps are one space: no regex needed to see it breaks nothing.
        hard_break = not tokens or (gap != " " and _BREAK.search(gap) is not None)
        after_dot = previous_text.endswith(".") and not _is_initial(previous_text)
        tokens.append(_Token(word, start, end, hard_break, after_dot))
        previous_end, previous_text = end, word
    return tokens


def _is_name_word(word: str) -> bool:
    """Capitalised, letters (and inner hyphens/apostrophes) only, not all capitals."""
    if len(word) < 2 or not word[0].isupper():
        return False
    letters = [c for c in word if c not in "-'’"]
    if not all(c.isalpha() for c in letters):
        return False
    return any(c.islower() for c in letters)


def _is_initial(word: str) -> bool:
    return len(word) == 2 and word[0].isupper() and word[0].isalpha() and word[1] == "."


def _strip_dot(word: str) -> str:
    return word[:-1] if word.endswith(".") else word


def _title_matches(words: tuple[str, ...], honorifics: frozenset[tuple[str, ...]]) -> bool:
    if words in honorifics:
        return True
    # Titles written lower-case ("dhr.", "pani") also open a sentence capitalised.
    lowered = (words[0][:1].lower() + words[0][1:],) + words[1:]
    return lowered in honorifics


def _on_one_line(tokens: list[_Token], i: int, j: int) -> bool:
    """True when no punctuation or line break separates tokens i..j-1 (dots of titles may)."""
    return not any(tokens[k].hard_break for k in range(i + 1, j))


def _starts_clause(tokens: list[_Token], i: int) -> bool:
    """A sentence-initial given name followed by a lower-case word ("Anna hat Fieber")."""
    return i + 1 < len(tokens) and tokens[i + 1].text[:1].islower() and not tokens[i + 1].sentence_start


def _is_sentence_end(tokens: list[_Token], j: int) -> bool:
    return j + 1 >= len(tokens) or tokens[j + 1].sentence_start
