"""NameScanner: person names in seven languages, NER where we have a model.

English and French get their spaCy NER model (NER component only) plus the
gazetteer rules; German, Italian, Spanish, Dutch and Polish, for which no
pipeline installs next to spaCy 3.8, get the gazetteer rules alone. "und"
(language unknown) gets the rules of all seven languages at once.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from services.pii.errors import DetectionError
from services.pii.hits import Hit
from services.pii.names import ner
from services.pii.names.code import CodeContext
from services.pii.names.frequency import WordFrequencies
from services.pii.names.gazetteer import Gazetteer, LanguageRules, Scores
from services.pii.names.public_figures import PublicFigures, normalise, title_words

LANGUAGES = ("en", "de", "fr", "it", "es", "nl", "pl")
UNDETERMINED = "und"


class NameScanner:
    """Finds PERSON hits. Build it once with `load()`; `scan` is then cheap and thread-safe."""

    def __init__(
        self,
        gazetteer: Gazetteer,
        models: Mapping[str, ner.NerModel],
        *,
        ner_score: float,
        max_ner_chars: int,
        max_segment_chars: int,
        public_figures: PublicFigures | None = None,
        code: CodeContext | None = None,
        frequencies: WordFrequencies | None = None,
    ) -> None:
        self._gazetteer = gazetteer
        self._frequencies = frequencies
        self._code = code
        self._public = public_figures
        self._titles = {
            lang: title_words(gazetteer.honorifics(lang)) for lang in gazetteer.languages
        }
        self._models = dict(models)
        self._ner_score = ner_score
        self._max_ner_chars = max_ner_chars
        self._max_segment_chars = max_segment_chars

    @classmethod
    def load(cls, data_dir: Path | None = None, *, use_ner: bool = True) -> NameScanner:
        """Read the name data and load the NER pipelines (installed packages only)."""
        base = data_dir or Path(str(resources.files("services.pii.names") / "data"))
        config = _read_yaml(base / "names.yaml")
        first_names = _read_yaml(base / "first_names.yaml")
        family_names = _read_yaml(base / "family_names.yaml")
        public = _read_yaml(base / "public_figures.yaml")
        try:
            gazetteer = _build_gazetteer(config, first_names, family_names)
            # One copy of a package that reads several languages.
            pipelines = (
                {package: ner.load_pipeline(package) for package in {p["package"] for p in config["pipelines"].values()}}
                if use_ner
                else {}
            )
            models = (
                {
                    lang: ner.NerModel(
                        pipelines[p["package"]],
                        frozenset(p["labels"]),
                        foreign=lang not in p.get("trained_on", [lang]),
                    )
                    for lang, p in config["pipelines"].items()
                }
                if use_ner
                else {}
            )
            scores = config["scores"]
            return cls(
                gazetteer,
                models,
                ner_score=float(scores["ner"]),
                max_ner_chars=int(config["max_ner_chars"]),
                max_segment_chars=int(config["max_segment_chars"]),
                public_figures=PublicFigures.from_config(public),
                code=CodeContext.from_config(config["code"]),
                frequencies=WordFrequencies(
                    [lang for lang, model in models.items() if model.foreign], float(config["foreign_max_zipf"])
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise DetectionError(f"name data in {base} is malformed: {exc!r}") from exc

    @property
    def ner_languages(self) -> frozenset[str]:
        return frozenset(self._models)

    def scan(self, text: str, language: str) -> list[Hit]:
        if not text:
            return []
        language = language if language in self._gazetteer.languages else UNDETERMINED
        hits = self._gazetteer.scan(text, language)
        unscanned: list[Hit] = []
        model = self._models.get(language)
        if model is not None:
            found, unscanned = self._ner_hits(model, text, language, hits)
            if found and model.foreign:
                found = [
                    h for h in found
                    if all(self._could_be_a_name(w, language) for w in text[h.start : h.end].split() if w[:1].isupper())
                ]
            if found and self._code is not None:
                # The model's noise in programming questions: "Enum", "Union
                # Types", `union`, a database name (data: names.yaml `code`).
                found = self._code.filter(text, found)
            hits.extend(found)
        hits = _merge(hits)
        if self._public is not None:
            # Public and historical figures, and places named after people, are
            # not a private person (data/public_figures.yaml says exactly when).
            hits = self._public.filter(text, hits, self._titles[language], language)
        return hits + unscanned

    def _could_be_a_name(self, word: str, language: str) -> bool:
        """For a model reading a language it was not trained on: a capitalised
        word is a possible name when it is a name in our lists or a word the
        language rarely uses ("Xhafer", "Hoxha"; not "Partido", "Union"). Such
        a model's PERSON span counts only if all its capitalised words are."""
        gazetteer = self._gazetteer
        return (
            gazetteer.is_first_name(word, language)
            or gazetteer.is_family_name(word, language)
            or self._frequencies is None
            or not self._frequencies.is_common(word, language)
        )

    def _ner_hits(
        self, model: ner.NerModel, text: str, language: str, rule_hits: list[Hit]
    ) -> tuple[list[Hit], list[Hit]]:
        """PERSON hits from the model, and a NAMES_NOT_SCANNED hit if the text
        holding possible names ran past the model's budget.

        The model is the expensive part of a scan, so it reads as little as
        gives the same names: words the rules already found as a name as
        confidently as the model would are not a reason to run it, and a
        window whose possible names were all read as part of a person's name
        in an earlier window is not read again (each mention still counts).
        """
        non_names = self._gazetteer.non_names(language)
        settled = bytearray(len(text))
        for hit in rule_hits:
            if hit.score >= self._ner_score:
                settled[hit.start : hit.end] = b"\x01" * (hit.end - hit.start)
        # Off its own language the model reads only around words that could be
        # a name it would be allowed to report (see _could_be_a_name): German
        # capitalises every noun, and reading them all cost 9x the time.
        possible = (lambda word: self._could_be_a_name(word, language)) if model.foreign else None
        windows: list[ner.Window] = []
        budget = self._max_ner_chars
        unscanned: list[Hit] = []
        for offset, piece in ner.segments(text, self._max_segment_chars):
            found = ner.name_windows(
                text, offset, offset + len(piece), non_names, NER_CONTEXT, settled, possible, model.foreign
            )
            if not found:
                continue
            if budget <= 0:
                # The model stops here (the gazetteer still covers the rest).
                # Say so rather than let a name past the budget pass as clean:
                # the policy counts an entity type it does not know as personal.
                unscanned.append(Hit(UNSCANNED_BY_NER, offset, offset, 1.0))
                break
            windows.extend(found)
            budget -= sum(len(w.text) for w in found)
        # First the windows that hold a possible name not seen before...
        seen: set[str] = set()
        first, repeated = [], []
        for window in windows:
            words = {word for _, _, word in window.names}
            (repeated if words <= seen else first).append(window)
            seen |= words
        hits = self._read(model, first, non_names)
        # ...then the others, unless every possible name in them is a word the
        # model has already read as part of a person's name (titles aside:
        # "Mme" alone is nobody).
        titles = self._titles[language]
        person_words = frozenset(
            m.group()
            for hit in hits
            for m in ner.CAPITALISED.finditer(text, hit.start, hit.end)
            if normalise(m.group()) not in titles and normalise(m.group() + ".") not in titles
        )
        again = []
        for window in repeated:
            if all(word in person_words for _, _, word in window.names):
                hits.extend(ner.propagated(window, person_words, self._ner_score))
            else:
                again.append(window)
        hits.extend(self._read(model, again, non_names))
        return hits, unscanned

    def _read(self, model: ner.NerModel, windows: list[ner.Window], non_names: frozenset[str]) -> list[Hit]:
        if not windows:
            return []
        return ner.find_persons(model, windows, non_names, self._ner_score, NER_CONTEXT)


UNSCANNED_BY_NER = "NAMES_NOT_SCANNED"
# Words of context the model gets before and after a possible name. The small
# pipelines' NER sees a token through 4 convolution layers of window 1 (4
# tokens either side), and decides with the token before it and the entity's
# first token: 5 words before and 4 after already give it every token it can
# see (a word is at least one token); one more each side is margin. Checked
# against 8 and 8 on the labelled set and on longer texts made from it: the
# same names.
NER_CONTEXT = (6, 5)


def _merge(hits: list[Hit]) -> list[Hit]:
    """One hit per name: overlapping hits become their union, with the best score."""
    merged: list[Hit] = []
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if merged and hit.start < merged[-1].end:
            last = merged[-1]
            merged[-1] = Hit(last.entity, last.start, max(last.end, hit.end), max(last.score, hit.score))
        else:
            merged.append(hit)
    return merged


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise DetectionError(f"cannot read name data {path}: {exc}") from exc


def _build_gazetteer(config: dict, first_names: dict, family_names: dict | None = None) -> Gazetteer:
    honorifics, cues, non_names = config["honorifics"], config["cues"], config["non_names"]
    rules: dict[str, LanguageRules] = {}
    for lang in LANGUAGES:
        rules[lang] = LanguageRules(
            honorifics=_titles(honorifics.get("all", []) + honorifics.get(lang, [])),
            cues=frozenset(c.casefold() for c in cues.get(lang, [])),
            non_names=_lowered(non_names.get("all", []) + non_names.get(lang, []))
            | _spacy_stop_words(lang),
            decline_polish=lang == "pl",
        )
    rules[UNDETERMINED] = LanguageRules(
        honorifics=frozenset().union(*(r.honorifics for r in rules.values())),
        cues=frozenset().union(*(r.cues for r in rules.values())),
        non_names=frozenset().union(*(r.non_names for r in rules.values())),
        decline_polish=True,
    )
    scores = config["scores"]
    return Gazetteer(
        first_names=[n for names in first_names.values() for n in names],
        family_names=[n for names in (family_names or {}).values() for n in names],
        ambiguous_names=config["ambiguous_names"],
        particles=config["particles"],
        rules=rules,
        scores=Scores(
            honorific_name=float(scores["honorific_name"]),
            first_last=float(scores["first_last"]),
            cue_first=float(scores["cue_first"]),
            bare_first=float(scores["bare_first"]),
        ),
    )


def _titles(entries: list[str]) -> frozenset[tuple[str, ...]]:
    return frozenset(tuple(str(e).split()) for e in entries)


def _lowered(words: list[str]) -> frozenset[str]:
    return frozenset(str(w).casefold() for w in words)


def _spacy_stop_words(lang: str) -> frozenset[str]:
    # Ships inside spaCy itself (spacy/lang/<xx>/stop_words.py): data, no model.
    module = importlib.import_module(f"spacy.lang.{lang}.stop_words")
    return frozenset(w.casefold() for w in module.STOP_WORDS)
