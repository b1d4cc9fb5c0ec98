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
class CategoryLexicon:
    name: str                                   # file stem, e.g. "health"
    entity: str                                 # e.g. "HEALTH_TERM"
    terms: dict[str, list[str]]                 # need a person cue to count
    personal_terms: dict[str, list[str]]        # personal by nature: count alone
    negative_contexts: dict[str, list[str]]     # phrases that cancel a term inside them


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


def _phrases(value: object, where: str, *, required: bool) -> list[str]:
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
    # Duplicates differing only in case are one phrase (matching ignores case).
    return list({p.casefold(): p for p in phrases}.values())


def _per_language(value: object, where: str, *, required: bool) -> dict[str, list[str]]:
    if value is None and not required:
        return {}
    if not isinstance(value, dict) or (required and not value):
        raise SpecialLexiconError(f"{where}: expected a mapping of language code to phrases")
    result: dict[str, list[str]] = {}
    for language, phrases in value.items():
        if language not in SUPPORTED_LANGUAGES:
            raise SpecialLexiconError(
                f"{where}: unknown language {language!r} (use one of {', '.join(SUPPORTED_LANGUAGES)})"
            )
        result[language] = _phrases(phrases, f"{where}.{language}", required=False)
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
    return CategoryLexicon(path.stem, entity, terms, personal, negative)


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
