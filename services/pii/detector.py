"""Personal-data detection for one gateway request, on Presidio."""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.predefined_recognizers import EmailRecognizer, SpacyRecognizer

from services.pii.errors import DetectionError
from services.pii.findings import Findings
from services.pii.lexicon import Lexicon
from services.pii.nlp import build_nlp_engine, configured_languages
from services.pii.overlaps import drop_contained
from services.pii.recognizers import (
    OfflineEmailRecognizer,
    lexicon_recognizers,
    offline_domain_extractor,
)

logger = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path(__file__).with_name("detection.yaml")


@dataclass(frozen=True)
class DetectionConfig:
    min_score: float
    lexicon_paths: list[Path]
    disabled_recognizers: list[str]
    nlp: dict = field(repr=False)

    @classmethod
    def load(cls, path: Path = DEFAULT_CONFIG_PATH) -> DetectionConfig:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        return cls(
            min_score=float(document["min_score"]),
            lexicon_paths=[path.parent / p for p in document.get("lexicons", [])],
            disabled_recognizers=list(document.get("disabled_recognizers") or []),
            nlp=document["nlp"],
        )


class Detector:
    """Finds which kinds of personal data the texts of one request contain."""

    def __init__(
        self,
        analyzer: AnalyzerEngine,
        languages: list[str],
        min_score: float,
        statistical_recognizers: frozenset[str],
    ):
        self._analyzer = analyzer
        self._languages = languages
        self._min_score = min_score
        self._statistical_recognizers = statistical_recognizers

    def detect(self, texts: list[str]) -> Findings:
        """Analyse every text; report entity types, counts and best scores only.

        Any failure raises DetectionError, whose message never carries the text.
        """
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise DetectionError("detect() takes a list of strings (the message contents)")
        # Language identification comes later; until then every text is English.
        language = self._languages[0]
        to_analyse = [text for text in texts if text.strip()]
        detections: list[tuple[str, float]] = []
        try:
            for text in to_analyse:
                results = self._analyzer.analyze(
                    text=text, language=language, score_threshold=self._min_score
                )
                kept = drop_contained(results, self._statistical_recognizers)
                detections.extend((r.entity_type, r.score) for r in kept)
        except Exception as exc:  # noqa: BLE001 - any failure must fail closed
            raise _detection_error(exc) from None
        return Findings.aggregate([language] if to_analyse else [], detections)


def _detection_error(exc: Exception) -> DetectionError:
    """Describe a failure by type and place only.

    Exception messages from Presidio or spaCy may quote the prompt, so neither
    the message nor the chained traceback is surfaced (`from None` above hides
    it from logs; `__context__` still holds it for a debugger).
    """
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    logger.error("personal-data detection failed: %s%s", type(exc).__name__, where)
    return DetectionError(f"personal-data detection failed ({type(exc).__name__}{where})")


def build_detector(config: DetectionConfig | None = None) -> Detector:
    """Build the analyser once, at start-up (loads spaCy: takes about a second)."""
    config = config or DetectionConfig.load()
    languages = configured_languages(config.nlp)
    nlp_engine = build_nlp_engine(config.nlp)

    registry = RecognizerRegistry(supported_languages=languages)
    registry.load_predefined_recognizers(languages=languages, nlp_engine=nlp_engine)
    for name in config.disabled_recognizers:
        registry.remove_recognizer(name)

    _swap_in_offline_email_recognizer(registry, languages)

    for path in config.lexicon_paths:
        for recognizer in lexicon_recognizers(Lexicon.load(path)):
            if recognizer.supported_language in languages:
                registry.add_recognizer(recognizer)

    analyzer = AnalyzerEngine(
        registry=registry, nlp_engine=nlp_engine, supported_languages=languages
    )
    statistical = frozenset(
        r.name for r in registry.recognizers if isinstance(r, SpacyRecognizer)
    )
    return Detector(analyzer, languages, config.min_score, statistical)


def _swap_in_offline_email_recognizer(registry: RecognizerRegistry, languages: list[str]) -> None:
    registry.remove_recognizer("EmailRecognizer")
    extractor = offline_domain_extractor()
    # Parse the bundled suffix list now, so the first request does not pay for it.
    extractor("example.com")
    for language in languages:
        registry.add_recognizer(OfflineEmailRecognizer(extractor, supported_language=language))
    # If a Presidio upgrade renames or adds an e-mail recognizer, the stock one
    # would come back with its network lookup: refuse to start instead.
    stock = [
        r for r in registry.recognizers
        if isinstance(r, EmailRecognizer) and not isinstance(r, OfflineEmailRecognizer)
    ]
    if stock:
        raise DetectionError(
            "a stock EmailRecognizer (network-backed tldextract) is still registered"
        )
