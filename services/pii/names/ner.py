"""Person names found by a spaCy NER model, fed only what can hold a name:
the few tokens around each capitalised word that is not an everyday word
(`name_windows`, `find_persons`), and a name's later mentions found from its
first (`propagated`), since the model is what a scan spends its time on.

spaCy is used directly, not through Presidio: Presidio's spaCy engine runs the
whole pipeline (tagger, parser, lemmatizer: half the time, no effect on
entities) and adds its own analysis pass, while all we need here is the
PERSON spans of one component.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from services.pii.errors import DetectionError
from services.pii.hits import Hit

PERSON = "PERSON"

# Segment boundaries: sentence ends and line breaks. Cheap on purpose; the
# model gets its own context inside each segment.
_SEGMENT_END = re.compile(r"(?<=[.!?])\s+|\n+")
CAPITALISED = re.compile(r"\b[^\W\d_][\w'’-]*")
_SPACE = re.compile(r"\s")


@dataclass(frozen=True)
class NerModel:
    nlp: Language
    labels: frozenset[str]
    # A model reading a language it was not trained on (the English model on
    # German, Italian, Spanish, Dutch, Polish text) tags many capitalised
    # words; its PERSON spans count only as a full name: at least two
    # capitalised words, none an everyday word of the text's language.
    foreign: bool = False


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


_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Window:
    """A stretch of text around possible names, and those names' words."""

    start: int  # offset in the scanned text
    text: str
    names: tuple[tuple[int, int, str], ...]  # (start, end, word) of the possible-name words in it


def name_words(
    chunk: str, non_names: frozenset[str], possible: Callable[[str], bool] | None = None
) -> list[tuple[int, int, str]]:
    """(start, end, word) of the capitalised words in a chunk that are not
    everyday words (and, if given, that ``possible`` accepts)."""
    return [
        (m.start(), m.end(), m.group())
        for m in CAPITALISED.finditer(chunk)
        if m.group()[0].isupper()
        and any(c.islower() for c in m.group())
        and m.group().casefold() not in non_names
        and (possible is None or possible(m.group()))
    ]


def name_windows(
    text: str,
    piece_start: int,
    piece_end: int,
    non_names: frozenset[str],
    context: tuple[int, int],
    settled: bytearray | None = None,
    possible: Callable[[str], bool] | None = None,
    full_names_only: bool = False,
) -> list[Window]:
    """The stretches of text[piece_start:piece_end] around possible names.

    The model costs per token, and a name needs only a few words of context:
    each capitalised word that is not an everyday word gets ``context`` =
    (before, after) words around it; overlapping stretches merge. A word
    whose first character is marked in ``settled`` (already a confident
    name) is not a reason for a window. With ``full_names_only`` (a model
    whose hits count only as full names, see is_full_name) a word is a
    reason only next to another possible-name word, with nothing but name
    particles between them.
    """
    before, after = context
    piece = text[piece_start:piece_end]
    words = name_words(piece, non_names, possible)
    if full_names_only:
        words = _in_runs(piece, words)
    found = [
        (piece_start + s, piece_start + e, w)
        for s, e, w in words
        if settled is None or not settled[piece_start + s]
    ]
    if not found:
        return []
    chunks = [(piece_start + m.start(), piece_start + m.end()) for m in _WORD.finditer(piece)]
    starts = [start for start, _ in chunks]
    spans: list[list[int]] = []
    names: list[list[tuple[int, int, str]]] = []
    for name in found:
        index = bisect.bisect_right(starts, name[0]) - 1  # the whitespace-separated word holding it
        first = chunks[max(0, index - before)][0]
        last = chunks[min(len(chunks) - 1, index + after)][1]
        if spans and first <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], last)
            names[-1].append(name)
        else:
            spans.append([first, last])
            names.append([name])
    return [Window(s, text[s:e], tuple(n)) for (s, e), n in zip(spans, names, strict=True)]


def _in_runs(piece: str, words: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """The words that have a neighbour in ``words`` on the same line with only
    spaces and name particles between them ("Xhafer Hoxha", "Willem van Oranje")."""

    def adjacent(gap: str) -> bool:
        return gap != "" and "\n" not in gap and all(part.casefold() in NAME_PARTICLES for part in gap.split())

    links = [adjacent(piece[a[1] : b[0]]) for a, b in zip(words, words[1:])]
    return [word for i, word in enumerate(words) if (i > 0 and links[i - 1]) or (i < len(links) and links[i])]


def propagated(window: Window, person_words: frozenset[str], score: float) -> list[Hit]:
    """PERSON hits for a window whose possible names are all words the model
    already read as part of a person's name elsewhere in the same text: each
    run of such words, separated by spaces only, is one name."""
    hits: list[Hit] = []
    run: list[tuple[int, int, str]] = []
    for item in (*window.names, None):
        if (
            item is not None
            and item[2] in person_words
            and (not run or _only_spaces(window, run[-1][1], item[0]))
        ):
            run.append(item)
            continue
        if run:
            hits.append(Hit(PERSON, run[0][0], run[-1][1], score))
            run = []
        if item is not None and item[2] in person_words:
            run.append(item)
    return hits


def _only_spaces(window: Window, end: int, start: int) -> bool:
    gap = window.text[end - window.start : start - window.start]
    return gap != "" and gap.strip(" \t\u00a0") == ""


def find_persons(
    model: NerModel,
    windows: Sequence[Window],
    non_names: frozenset[str],
    score: float,
    context: tuple[int, int],
) -> list[Hit]:
    """PERSON hits in the windows, each read by the model with ``context`` =
    (before, after) tokens around its possible names and no more."""
    hits: list[Hit] = []
    pieces = [_tokens_around_names(model.nlp, window, context) for window in windows]
    docs = model.nlp.pipe((doc for _, doc in pieces), batch_size=64)
    for (offset, _), doc in zip(pieces, docs, strict=True):
        for ent in doc.ents:
            if ent.label_ not in model.labels:
                continue
            tokens = _trim(list(ent), non_names)
            words = [t.text for t in tokens]
            if tokens and is_plausible_name(words, non_names) and (not model.foreign or is_full_name(words, non_names)):
                start = offset + tokens[0].idx
                end = offset + tokens[-1].idx + len(tokens[-1].text)
                hits.append(Hit(PERSON, start, end, score))
    return hits


def _tokens_around_names(nlp: Language, window: Window, context: tuple[int, int]) -> tuple[int, Doc]:
    """(offset in the text, tokens) of the window, cut to ``context`` tokens
    before its first possible name and after its last.

    Windows are cut at words, and a word may be several tokens ("(anna@x.org),"
    is three): the model costs per token, so the tokenised window is cut again.
    """
    doc = nlp.make_doc(window.text)
    first = doc.char_span(window.names[0][0] - window.start, window.names[0][1] - window.start, alignment_mode="expand")
    last = doc.char_span(window.names[-1][0] - window.start, window.names[-1][1] - window.start, alignment_mode="expand")
    if first is None or last is None:
        return window.start, doc
    start = max(0, first.start - context[0])
    end = min(len(doc), last.end + context[1])
    if start == 0 and end == len(doc):
        return window.start, doc
    return window.start + doc[start].idx, doc[start:end].as_doc()


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


def is_full_name(words: Sequence[str], non_names: frozenset[str]) -> bool:
    """Two or more capitalised words, none an everyday word, with nothing
    between them but name particles: "Xhafer Hoxha", "Willem van der Berg",
    not "Mariackiego w Krakowie" or "Martin-Luther-Kirche"."""
    capitalised = [w for w in words if w[:1].isupper()]
    return (
        len(capitalised) >= 2
        and all(w[:1].isupper() or w.casefold() in NAME_PARTICLES for w in words)
        and all(any(c.islower() for c in w) and w.casefold() not in non_names and w.count("-") < 2 for w in capitalised)
    )


# Lower-case words that belong inside a full name.
NAME_PARTICLES = frozenset(
    "van von de der den het ten ter te di da del della dei dos das do du des le la lo y i e bin ben al el zu".split()
)


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
