"""Person names found by a spaCy NER model, fed only what can hold a name.

spaCy is used directly, not through Presidio: Presidio's spaCy engine runs the
whole pipeline (tagger, parser, lemmatizer: half the time, no effect on
entities) and adds its own analysis pass, while all we need here is the
PERSON spans of one component.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import spacy
from spacy.language import Language

from services.pii.errors import DetectionError
from services.pii.hits import Hit

PERSON = "PERSON"

# Segment boundaries: sentence ends and line breaks. Cheap on purpose; the
# model gets its own context inside each segment.
_SEGMENT_END = re.compile(r"(?<=[.!?])\s+|\n+")
_CAPITALISED = re.compile(r"\b[^\W\d_][\w'’-]*")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class NerModel:
    nlp: Language
    labels: frozenset[str]


def load_pipeline(package: str) -> Language:
    """Load the NER component of an installed pipeline package, and nothing else."""
    # Installed packages only, never a path and never a download: the pipeline
    # is a pinned dependency, so its version is the one we tested.
    if not spacy.util.is_package(package):
        raise DetectionError(
            f"spaCy pipeline {package!r} is not installed; douane never downloads "
            "models at run time (install it as a package dependency)"
        )
    meta = spacy.util.get_package_path(package)
    config = spacy.util.load_config(_config_path(meta))
    components = list(config["nlp"]["pipeline"])
    if "ner" not in components:
        raise DetectionError(f"spaCy pipeline {package!r} has no 'ner' component")
    _require_independent_ner(package, config)
    return spacy.load(package, exclude=[c for c in components if c != "ner"])


def _config_path(package_path):
    # A pipeline package holds one data directory, <name>-<version>/config.cfg.
    found = sorted(package_path.glob("*/config.cfg"))
    if not found:
        raise DetectionError(f"spaCy pipeline at {package_path} has no config.cfg")
    return found[-1]


def _require_independent_ner(package: str, config) -> None:
    # Dropping tok2vec is only safe when the NER has its own embedding layer
    # rather than listening to the shared one.
    tok2vec = config["components"]["ner"]["model"].get("tok2vec", {})
    if "Listener" in str(tok2vec.get("@architectures", "")):
        raise DetectionError(
            f"spaCy pipeline {package!r}: its NER listens to a shared tok2vec; "
            "the slim loading in services/pii/names would break it"
        )


def segments(text: str, max_chars: int) -> Iterator[tuple[int, str]]:
    """(offset, piece) of sentence-ish pieces, none longer than max_chars."""
    start = 0
    for match in _SEGMENT_END.finditer(text):
        yield from _cut(text, start, match.start(), max_chars)
        start = match.end()
    yield from _cut(text, start, len(text), max_chars)


def _cut(text: str, start: int, end: int, max_chars: int) -> Iterator[tuple[int, str]]:
    while end - start > max_chars:
        # Cut at the last whitespace inside the window, or hard if there is none.
        window = text[start : start + max_chars]
        spaces = [m.start() for m in _SPACE.finditer(window)]
        cut = spaces[-1] if spaces and spaces[-1] > max_chars // 2 else max_chars
        yield start, text[start : start + cut]
        start += cut
    if end > start and not text[start:end].isspace():
        yield start, text[start:end]


def may_hold_name(piece: str, non_names: frozenset[str]) -> bool:
    """True when the piece has a capitalised word that is not an everyday word."""
    for match in _CAPITALISED.finditer(piece):
        word = match.group()
        if word[0].isupper() and any(c.islower() for c in word) and word.casefold() not in non_names:
            return True
    return False


_WORD = re.compile(r"\S+")


def name_windows(piece: str, non_names: frozenset[str], context_words: int) -> list[tuple[int, str]]:
    """(offset in piece, text) of the stretches around possible names.

    The model costs per token, and a name needs only a few words of context:
    each capitalised word that is not an everyday word gets ``context_words``
    words on either side; overlapping stretches merge.
    """
    words = [(m.start(), m.end()) for m in _WORD.finditer(piece)]
    spans: list[list[int]] = []
    for index, (start, end) in enumerate(words):
        if not may_hold_name(piece[start:end], non_names):
            continue
        first = words[max(0, index - context_words)][0]
        last = words[min(len(words) - 1, index + context_words)][1]
        if spans and first <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], last)
        else:
            spans.append([first, last])
    return [(start, piece[start:end]) for start, end in spans]


def find_persons(
    model: NerModel,
    pieces: Sequence[tuple[int, str]],
    non_names: frozenset[str],
    score: float,
) -> list[Hit]:
    hits: list[Hit] = []
    docs = model.nlp.pipe((piece for _, piece in pieces), batch_size=64)
    for (offset, _), doc in zip(pieces, docs, strict=True):
        for ent in doc.ents:
            if ent.label_ not in model.labels:
                continue
            tokens = _trim(list(ent), non_names)
            if tokens and is_plausible_name([t.text for t in tokens], non_names):
                start = offset + tokens[0].idx
                end = offset + tokens[-1].idx + len(tokens[-1].text)
                hits.append(Hit(PERSON, start, end, score))
    return hits


def _trim(tokens: list, non_names: frozenset[str]) -> list:
    """Drop greetings, titles' punctuation and everyday words at the edges ("Dear John,")."""

    def is_edge_noise(token) -> bool:
        text = token.text
        return not text[:1].isupper() or text.casefold() in non_names

    while tokens and is_edge_noise(tokens[0]):
        tokens = tokens[1:]
    while tokens and is_edge_noise(tokens[-1]):
        tokens = tokens[:-1]
    return tokens


def is_plausible_name(words: Sequence[str], non_names: frozenset[str]) -> bool:
    """The small models' noise, filtered: "Summarise", "GDPR", "Q3", "Dear"."""
    name_words = [w for w in words if w[:1].isalpha()]
    if not name_words or len(name_words) > 5:
        return False
    if any(any(c.isdigit() for c in w) for w in words):
        return False
    if not any(w[0].isupper() and any(c.islower() for c in w) for w in name_words):
        return False  # all lower case, or all capitals (acronyms)
    if all(w.casefold() in non_names for w in name_words):
        return False
    if len(name_words) == 1 and (name_words[0].isupper() or len(name_words[0]) < 2):
        return False
    return True
