"""Finds structured identifiers (IBANs, national numbers, phones, ...) in a text.

What to look for lives in identifiers.yaml; this module turns it into compiled
regexes once (`IdentifierScanner.load`) and runs them per text (`scan`). A
candidate counts only when its validator (a real checksum or library check)
accepts it; a context word nearby raises its score.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from services.pii.hits import Hit
from services.pii.identifiers import validators
from services.pii.recognizers import offline_domain_extractor

logger = logging.getLogger(__name__)

DEFAULT_RULES_PATH = Path(__file__).with_name("identifiers.yaml")

_SEPARATORS = " .-/()"
# Candidates with more separators than this are not re-tried in shorter forms.
_MAX_TRIMS = 12
_DATE_CONNECTORS = r"(?:(?:on|the|am|le|il|el|op|dnia)\s+){0,2}"
# Most rules need a digit: they run only on windows of text around digits, which
# is what keeps a 32 KB prompt of prose cheap. A window reaches this far beyond
# its outermost digits, then on to the next whitespace (at most _WINDOW_EDGE more).
_WINDOW_REACH = 40
_WINDOW_EDGE = 64
_DIGIT_RUN = re.compile(r"[0-9]+")
_WHITESPACE = re.compile(r"\s")


@dataclass(frozen=True)
class Rule:
    entity: str
    core: re.Pattern[str]  # the pattern alone, for re-checking trimmed candidates
    validator: Callable[[str, str], bool]
    score: float
    context_score: float
    context: re.Pattern[str] | None
    trims: bool  # whether a failing candidate is re-tried without its tail
    claims_shape: bool = False  # a failing candidate still keeps other kinds out of its span
    starts_with_digit: bool = False  # every match begins with an ASCII digit


@dataclass(frozen=True)
class _PatternGroup:
    """Rules sharing one regex: the text is scanned once for all of them."""

    regex: re.Pattern[str]
    rules: tuple[Rule, ...]
    whole_text: bool  # False: only windows around digits can match
    requires: str  # if set, the text must contain one of these characters
    digit_led: bool = False  # tried only where a digit run starts (see _matches_at)


class IdentifierScanner:
    """Scanner (services.pii.hits) for checksum-validated identifiers."""

    def __init__(self, groups: Sequence[_PatternGroup], context_window: int):
        self._groups = tuple(groups)
        self._window = context_window

    @classmethod
    def load(cls, path: Path = DEFAULT_RULES_PATH) -> IdentifierScanner:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        named = _named_validators(document)
        grouped: dict[tuple[str, int], list[Rule]] = {}
        scope: dict[tuple[str, int], tuple[bool, str]] = {}
        for spec in document["rules"]:
            pattern, flags = _pattern_of(spec, document)
            rule = Rule(
                entity=spec["entity"],
                core=re.compile(f"(?:{pattern})", flags),
                validator=_validator_for(spec["validator"], named),
                score=float(spec["score"]),
                context_score=float(spec["context_score"]),
                context=_context_regex(spec.get("context") or {}),
                trims=spec.get("kind") != "date_of_birth",
                claims_shape=bool(spec.get("claims_shape", False)),
                starts_with_digit=bool(spec.get("starts_with_digit", False)),
            )
            grouped.setdefault((pattern, flags), []).append(rule)
            scope[(pattern, flags)] = (bool(spec.get("whole_text")), str(spec.get("requires", "")))
        groups = [
            _PatternGroup(
                re.compile(rf"(?<!\w)(?:{pattern})(?!\w)", flags), tuple(rules), *scope[key],
                digit_led=all(rule.starts_with_digit for rule in rules),
            )
            for key, rules in grouped.items()
            for pattern, flags in [key]
        ]
        # The surest kinds first (an IBAN before the phone numbers its digits
        # also parse as), so that candidates inside their hits are skipped.
        groups.sort(key=lambda g: -max(rule.score for rule in g.rules))
        return cls(groups, int(document["context_window"]))

    def scan(self, text: str, language: str) -> list[Hit]:
        if not text:
            return []
        hits: list[Hit] = []
        # start -> (end, score) of the best hit starting there: a later candidate
        # inside it that could not outscore it is not worth validating.
        best_at: dict[int, tuple[int, float]] = {}
        # (start, end, entity) of candidates of a claims_shape rule that failed
        # their check: nothing of another kind is read inside them.
        claimed: list[tuple[int, int, str]] = []
        windows = [(start, text[start:end]) for start, end in _digit_windows(text)]
        whole = [(0, text)]
        digit_starts: list[int] | None = None
        for group in self._groups:
            if group.requires and not any(c in text for c in group.requires):
                continue
            has_value = "value" in group.regex.groupindex
            if group.digit_led:
                if digit_starts is None:
                    digit_starts = [m.start() for m in _DIGIT_START.finditer(text)]
                matches = ((match, 0) for match in _matches_at(group.regex, text, digit_starts))
            else:
                matches = (
                    (match, offset)
                    for offset, piece in (whole if group.whole_text else windows)
                    for match in group.regex.finditer(piece)
                )
            for match, offset in matches:
                start, end = match.span("value") if has_value else match.span()
                start, end = start + offset, end + offset
                for rule in group.rules:
                    covered = best_at.get(start)
                    if covered and end <= covered[0] and rule.context_score <= covered[1]:
                        continue
                    if _inside_stronger(hits, rule, start, end) or any(
                        s <= start and end <= e and entity != rule.entity for s, e, entity in claimed
                    ):
                        continue
                    found = self._confirm(rule, text, start, end, language)
                    if found is None and rule.claims_shape:
                        claimed.append((start, end, rule.entity))
                    if found is not None:
                        hits.append(found)
                        if not covered or found.end > covered[0]:
                            best_at[start] = (found.end, found.score)
        return _strongest(hits)

    def _confirm(self, rule: Rule, text: str, start: int, end: int, language: str) -> Hit | None:
        for candidate_end in _candidate_ends(rule, text, start, end):
            if self._is_valid(rule, text[start:candidate_end], language):
                score = rule.score
                if rule.context is not None and self._has_context(rule, text, start, candidate_end):
                    score = rule.context_score
                return Hit(rule.entity, start, candidate_end, score)
        return None

    def _is_valid(self, rule: Rule, candidate: str, language: str) -> bool:
        # No cache of verdicts here: it would keep identifier values in memory,
        # and the detector already remembers whole messages by HMAC.
        # The validators answer False for what their libraries reject (see
        # validators.py); anything they raise is a bug, and it propagates so
        # that detection fails closed instead of silently missing a kind of
        # identifier in every request.
        return bool(rule.validator(candidate, language))

    def _has_context(self, rule: Rule, text: str, start: int, end: int) -> bool:
        assert rule.context is not None
        before = text[max(0, start - self._window) : start]
        after = text[end : end + self._window]
        return rule.context.search(before) is not None or rule.context.search(after) is not None


# Where a match of a digit-led rule can begin: a digit with no letter, digit
# or underscore before it (the rules' own (?<!\w), in its ASCII reading, which
# lets more positions through than the Unicode one; the regex decides).
_DIGIT_START = re.compile(r"(?<![A-Za-z0-9_])[0-9]")


def _matches_at(regex: re.Pattern[str], text: str, starts: list[int]):
    """What ``regex.finditer(text)`` finds for a rule whose matches all begin
    at a digit-run start: tried at those positions only, instead of at every
    character of the windows (37 patterns x ~1,300 characters for a 2 KB
    prompt); a match covering later starts skips them, as finditer would."""
    end = -1
    for start in starts:
        if start < end:
            continue
        match = regex.match(text, start)
        if match is not None:
            yield match
            end = match.end()


def _inside_stronger(hits: list[Hit], rule: Rule, start: int, end: int) -> bool:
    """Whether a candidate lies wholly inside a hit of another type that it
    could not outscore: the digits of a validated IBAN read again as a phone
    number ("0044 0532 0130" in DE89 3704 0044 0532 0130 00) would be dropped
    by the overlap rules (services.pii.overlaps), so they are not validated
    at all (phonenumbers' parse is the dearest validator)."""
    return any(
        hit.start <= start
        and end <= hit.end
        and hit.entity != rule.entity
        and hit.score >= rule.context_score
        for hit in hits
    )


def _digit_windows(text: str) -> list[tuple[int, int]]:
    """Spans of the text around its digits, cut at whitespace where possible."""
    windows: list[tuple[int, int]] = []
    for run in _DIGIT_RUN.finditer(text):
        start, end = run.start() - _WINDOW_REACH, run.end() + _WINDOW_REACH
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return [(_cut_before(text, s), _cut_after(text, e)) for s, e in windows]


def _cut_before(text: str, position: int) -> int:
    if position <= 0:
        return 0
    floor = max(0, position - _WINDOW_EDGE)
    for index in range(position, floor - 1, -1):
        if text[index].isspace():
            return index
    return floor


def _cut_after(text: str, position: int) -> int:
    if position >= len(text):
        return len(text)
    space = _WHITESPACE.search(text, position, position + _WINDOW_EDGE)
    return space.start() if space else min(len(text), position + _WINDOW_EDGE)


def _candidate_ends(rule: Rule, text: str, start: int, end: int):
    """The match itself, then (if it fails) shorter forms cut at separators.

    A greedy pattern may swallow what follows an identifier ("DE89 3704 0044
    0532 0130 00 EUR 5"); cutting at separators, longest first, recovers it.
    Each shorter form must still match the rule's pattern on its own.
    """
    yield end
    if not rule.trims:
        return
    tries = 0
    for position in range(end - 1, start, -1):
        if text[position] not in _SEPARATORS:
            continue
        cut = position
        while cut > start and text[cut - 1] in _SEPARATORS:
            cut -= 1
        if cut < position:
            continue  # the run of separators is handled at its first character
        tries += 1
        if tries > _MAX_TRIMS:
            return
        if rule.core.fullmatch(text, start, cut):
            yield cut


def _strongest(hits: list[Hit]) -> list[Hit]:
    """Per span, keep the best-scored hits; drop hits inside a stronger one.

    An 11-digit number may pass two countries' checksums: the one with a context
    word wins; with no tie-breaker both stay. A phone number read inside an IBAN
    is the IBAN's digits, not a phone.
    """
    best: dict[tuple[int, int], float] = {}
    for hit in hits:
        span = (hit.start, hit.end)
        best[span] = max(best.get(span, 0.0), hit.score)
    unique = sorted(
        {h for h in hits if h.score == best[(h.start, h.end)]},
        key=lambda h: (h.start, -h.end, -h.score, h.entity),
    )
    kept: list[Hit] = []
    cover: Hit | None = None
    for hit in unique:
        if (
            cover is not None
            and hit.end <= cover.end
            and (hit.start, hit.end) != (cover.start, cover.end)
            and hit.score <= cover.score
        ):
            continue
        kept.append(hit)
        if cover is None or hit.end > cover.end:
            cover = hit
    return kept


def _pattern_of(spec: Mapping, document: Mapping) -> tuple[str, int]:
    if spec.get("kind") == "date_of_birth":
        return _date_of_birth_pattern(document), re.IGNORECASE
    flags = 0 if spec.get("unicode") else re.ASCII
    if spec.get("ignore_case"):
        flags |= re.IGNORECASE
    return spec["pattern"], flags


def _date_of_birth_pattern(document: Mapping) -> str:
    cues = sorted(
        {cue for words in document["birth_cues"].values() for cue in words}, key=len, reverse=True
    )
    months = sorted(_month_numbers(document), key=len, reverse=True)
    month = "(?:" + "|".join(re.escape(m) for m in months) + r")\.?"
    day = r"[0-9]{1,2}(?:st|nd|rd|th|er|\.)?"
    date = (
        r"(?:[0-9]{4}-[0-9]{2}-[0-9]{2}"
        r"|[0-9]{1,2}[./-][0-9]{1,2}[./-](?:[0-9]{4}|[0-9]{2})"
        rf"|{day}[ ]+(?:of[ ]+|de[ ]+)?{month}(?:[ ]+de)?,?[ ]+[0-9]{{4}}"
        rf"|{month}[ ]+{day},?[ ]+[0-9]{{4}})"
    )
    cue = "(?:" + "|".join(re.escape(c) for c in cues) + ")"
    return rf"{cue}[\s:,]{{0,3}}{_DATE_CONNECTORS}(?P<value>{date})"


def _month_numbers(document: Mapping) -> dict[str, int]:
    numbers: dict[str, int] = {}
    for names in document["month_names"].values():
        for number, spellings in enumerate(names, start=1):
            for spelling in str(spellings).split("|"):
                numbers[spelling.lower()] = number
    return numbers


def _context_regex(words_by_language: Mapping[str, Sequence[str]]) -> re.Pattern[str] | None:
    words = sorted({w for words in words_by_language.values() for w in words}, key=len, reverse=True)
    if not words:
        return None
    alternatives = [re.escape(w) + (r"(?!\w)" if re.match(r"\w", w[-1]) else "") for w in words]
    return re.compile(r"(?<!\w)(?:" + "|".join(alternatives) + ")", re.IGNORECASE)


def _named_validators(document: Mapping) -> dict[str, Callable[[str, str], bool]]:
    networks = [
        validators.CardNetwork(
            network=n["network"],
            prefix=re.compile(f"(?:{n['prefix']})", re.ASCII),
            lengths=frozenset(int(x) for x in n["lengths"]),
        )
        for n in document["payment_cards"]
    ]
    return {
        "email_domain": validators.email_domain_validator(offline_domain_extractor()),
        "phone_international": validators.phone_international,
        "phone_national": validators.phone_national_validator(document["phone_regions"]),
        "public_ip": validators.public_ip,
        "payment_card": validators.payment_card_validator(networks),
        "date": validators.date_validator(_month_numbers(document)),
        "none": validators.always_valid,
    }


def _validator_for(name: str, named: Mapping[str, Callable[[str, str], bool]]):
    if name.startswith("stdnum:"):
        return validators.stdnum_validator(name.removeprefix("stdnum:"))
    try:
        return named[name]
    except KeyError:
        raise validators.UnknownValidator(f"unknown validator {name!r}") from None
