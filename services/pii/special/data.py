"""Reading and checking the special-category YAML files a DPO edits.

A malformed file stops start-up with a message naming the file and the field:
detecting less without saying so would be failing open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from services.pii.language import SUPPORTED_LANGUAGES

LEXICON_DIR = Path(__file__).parent / "lexicons"
CONTEXT_FILE = "context.yaml"

ENTITIES: frozenset[str] = frozenset(
    {
        "HEALTH_TERM",
        "GENETIC_TERM",
        "BIOMETRIC_TERM",
        "ETHNIC_ORIGIN_TERM",
        "POLITICAL_OPINION_TERM",
        "RELIGIOUS_BELIEF_TERM",
        "TRADE_UNION_TERM",
        "SEXUAL_ORIENTATION_TERM",
        "CRIMINAL_TERM",
    }
)

# A term is words separated by spaces; a word may end in "*" (any further
# letters: "Chemotherapie*", "cukrzyc*"). Nothing else is special.
_WILDCARD_MISUSE = re.compile(r"\*(?=\S)|^\*|\s\*")


class SpecialLexiconError(ValueError):
    """A special-category data file is unreadable or malformed; raised at start-up."""


@dataclass(frozen=True)
class AnchoredTerms:
    """Names that say something about a person only next to an anchor word.

    "SPD", "CGT", "malienne" are topics on their own; "Mitglied der SPD",
    "adhérent de la CGT", "d'origine malienne" are data about someone. A term
    of such a group is a hit only when one of its anchors stands within
    ``window_before`` tokens before it or ``window_after`` tokens after it, in
    the same sentence; it is then scored like any term (person cue or not).
    """

    about: str                                  # what the names are, for the reader
    terms: dict[str, list[str]]                 # per language; "all" applies to every language
    anchors_before: dict[str, list[str]]
    anchors_after: dict[str, list[str]]
    window_before: int
    window_after: int
    match_case: bool    # a capital in a listed name must be a capital in the text ("Lega", "PO")


@dataclass(frozen=True)
class CategoryLexicon:
    name: str                                   # file stem, e.g. "health"
    entity: str                                 # e.g. "HEALTH_TERM"
    terms: dict[str, list[str]]                 # need a person cue to count
    personal_terms: dict[str, list[str]]        # personal by nature: count alone
    negative_contexts: dict[str, list[str]]     # phrases that cancel a term inside them
    anchored: tuple[AnchoredTerms, ...] = ()    # names that need an anchor word next to them


@dataclass(frozen=True)
class Scores:
    with_person: float
    alone: float
    personal_with_person: float
    personal_alone: float


@dataclass(frozen=True)
class LanguageContext:
    person_cues: list[str]       # count on either side of the term
    predicate_cues: list[str]    # count only before the term ("has", "ist", "souffre de")
    negative_contexts: list[str]
    # Words of generic, educational text ("people", "patients", "if you",
    # "what is"): when one is nearer the term than any person cue, or is the
    # subject of its predicate, the term is about nobody in particular.
    generic_cues: list[str] = ()  # type: ignore[assignment]


@dataclass(frozen=True)
class ContextRules:
    window_tokens: int
    predicate_window_tokens: int
    scores: Scores
    abbreviations: frozenset[str]   # "Mr.", "Dr.", "Mme." do not end a sentence
    languages: dict[str, LanguageContext]


def _read(path: Path) -> dict:
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecialLexiconError(f"cannot read {path}: {exc}") from exc
    if not isinstance(document, dict):
        raise SpecialLexiconError(f"{path}: expected a mapping at the top level")
    return document


def _phrases(value: object, where: str, *, required: bool, keep_case: bool = False) -> list[str]:
    if value is None and not required:
        return []
    if not isinstance(value, list) or (required and not value):
        raise SpecialLexiconError(f"{where}: expected a non-empty list of phrases")
    phrases: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            # YAML reads bare on/off/yes/no as booleans: Polish "on" must be quoted.
            raise SpecialLexiconError(
                f"{where}: {item!r} is not a non-empty string (quote words like \"on\", \"no\")"
            )
        phrase = " ".join(item.split())
        if _WILDCARD_MISUSE.search(phrase):
            raise SpecialLexiconError(
                f"{where}: {item!r}: '*' may only end a word (e.g. 'Chemotherapie*')"
            )
        phrases.append(phrase)
    # Duplicates differing only in case are one phrase (matching ignores case),
    # unless the case is checked ("Unite" and "UNITE" of a match_case group).
    if keep_case:
        return list(dict.fromkeys(phrases))
    return list({p.casefold(): p for p in phrases}.values())


def _per_language(
    value: object, where: str, *, required: bool, allow_all: bool = False, keep_case: bool = False
) -> dict[str, list[str]]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or (required and not value):
        raise SpecialLexiconError(f"{where}: expected a mapping of language code to phrases")
    result: dict[str, list[str]] = {}
    for language, phrases in value.items():
        if language == "all" and allow_all:
            result[language] = _phrases(phrases, f"{where}.all", required=False, keep_case=keep_case)
            continue
        if language not in SUPPORTED_LANGUAGES:
            raise SpecialLexiconError(
                f"{where}: unknown language {language!r} (use one of {', '.join(SUPPORTED_LANGUAGES)})"
            )
        result[language] = _phrases(phrases, f"{where}.{language}", required=False, keep_case=keep_case)
    return result


def _score(value: object, where: str) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 < value <= 1:
        raise SpecialLexiconError(f"{where}: must be a number in (0, 1]")
    return float(value)


def load_category(path: Path) -> CategoryLexicon:
    document = _read(path)
    entity = document.get("entity")
    if entity not in ENTITIES:
        raise SpecialLexiconError(f"{path}: 'entity' must be one of {sorted(ENTITIES)}")
    terms = _per_language(document.get("terms"), f"{path}: terms", required=True)
    personal = _per_language(document.get("personal_terms"), f"{path}: personal_terms", required=False)
    negative = _per_language(
        document.get("negative_contexts"), f"{path}: negative_contexts", required=False
    )
    anchored = _anchored(document.get("anchored"), f"{path}: anchored")
    return CategoryLexicon(path.stem, entity, terms, personal, negative, anchored)


def _window(value: object, where: str, default: int) -> int:
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 12:
        raise SpecialLexiconError(f"{where}: must be an integer in 0..12")
    return value


def _anchored(value: object, where: str) -> tuple[AnchoredTerms, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise SpecialLexiconError(f"{where}: expected a list of groups (about, terms, anchors_before, ...)")
    groups = []
    for n, group in enumerate(value):
        here = f"{where}[{n}]"
        if not isinstance(group, dict):
            raise SpecialLexiconError(f"{here}: expected a mapping")
        unknown = set(group) - {
            "about", "terms", "anchors_before", "anchors_after", "window_before", "window_after", "match_case"
        }
        if unknown:
            raise SpecialLexiconError(f"{here}: unknown fields {sorted(unknown)}")
        before = _per_language(group.get("anchors_before"), f"{here}.anchors_before", required=False)
        after = _per_language(group.get("anchors_after"), f"{here}.anchors_after", required=False)
        if not before and not after:
            raise SpecialLexiconError(f"{here}: needs anchors_before or anchors_after")
        match_case = group.get("match_case", False)
        if not isinstance(match_case, bool):
            raise SpecialLexiconError(f"{here}.match_case: must be true or false")
        groups.append(
            AnchoredTerms(
                about=str(group.get("about", "")),
                terms=_per_language(
                    group.get("terms"), f"{here}.terms", required=True, allow_all=True, keep_case=match_case
                ),
                anchors_before=before,
                anchors_after=after,
                window_before=_window(group.get("window_before"), f"{here}.window_before", 4),
                window_after=_window(group.get("window_after"), f"{here}.window_after", 2),
                match_case=match_case,
            )
        )
    return tuple(groups)


def load_context(path: Path) -> ContextRules:
    document = _read(path)
    window = document.get("window_tokens")
    if not isinstance(window, int) or isinstance(window, bool) or not 1 <= window <= 30:
        raise SpecialLexiconError(f"{path}: 'window_tokens' must be an integer in 1..30")
    predicate_window = document.get("predicate_window_tokens")
    if (
        not isinstance(predicate_window, int)
        or isinstance(predicate_window, bool)
        or not 1 <= predicate_window <= window
    ):
        raise SpecialLexiconError(
            f"{path}: 'predicate_window_tokens' must be an integer in 1..window_tokens"
        )
    raw_scores = document.get("scores")
    if not isinstance(raw_scores, dict):
        raise SpecialLexiconError(f"{path}: 'scores' must be a mapping")
    scores = Scores(
        **{
            field: _score(raw_scores.get(field), f"{path}: scores.{field}")
            for field in ("with_person", "alone", "personal_with_person", "personal_alone")
        }
    )
    abbreviations = frozenset(
        a.casefold().rstrip(".")
        for a in _phrases(document.get("abbreviations"), f"{path}: abbreviations", required=False)
    )
    raw_languages = document.get("languages")
    if not isinstance(raw_languages, dict):
        raise SpecialLexiconError(f"{path}: 'languages' must be a mapping")
    languages: dict[str, LanguageContext] = {}
    for language in SUPPORTED_LANGUAGES:
        entry = raw_languages.get(language)
        where = f"{path}: languages.{language}"
        if not isinstance(entry, dict):
            raise SpecialLexiconError(f"{where}: missing (every supported language needs cues)")
        languages[language] = LanguageContext(
            person_cues=_phrases(entry.get("person_cues"), f"{where}.person_cues", required=True),
            predicate_cues=_phrases(
                entry.get("predicate_cues"), f"{where}.predicate_cues", required=False
            ),
            negative_contexts=_phrases(
                entry.get("negative_contexts"), f"{where}.negative_contexts", required=False
            ),
            generic_cues=_phrases(entry.get("generic_cues"), f"{where}.generic_cues", required=False),
        )
    unknown = set(raw_languages) - set(SUPPORTED_LANGUAGES)
    if unknown:
        raise SpecialLexiconError(f"{path}: unknown languages {sorted(unknown)}")
    return ContextRules(window, predicate_window, scores, abbreviations, languages)


def load_all(directory: Path = LEXICON_DIR) -> tuple[list[CategoryLexicon], ContextRules]:
    context = load_context(directory / CONTEXT_FILE)
    categories = [
        load_category(path)
        for path in sorted(directory.glob("*.yaml"))
        if path.name != CONTEXT_FILE
    ]
    if not categories:
        raise SpecialLexiconError(f"{directory}: no category files")
    return categories, context
