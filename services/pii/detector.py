"""Personal-data detection for one gateway request, and (``locate``) where
the data sits, for pseudonymisation.

Each distinct message is scanned once (findings are cached by an HMAC of the
message, so a resent conversation history costs nothing), in order of cost:
normalise, identify the language, then the checksum-validated identifiers,
the special-category lexicons and last the person-name scanner. From
``detect`` only entity types, counts and scores leave this module; ``locate``
gives the pseudonymiser offsets into the one text it was handed, and keeps
nothing.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import yaml

from services.pii.cache import MessageCache
from services.pii.errors import DetectionError
from services.pii.findings import Findings
from services.pii.hits import Hit, Scanner
from services.pii.identifiers import IdentifierScanner
from services.pii.language import LanguageIdentifier
from services.pii.names import NameScanner
from services.pii.names.scanner import UNSCANNED_BY_NER
from services.pii.normalise import Normaliser
from services.pii.overlaps import drop_contained
from services.pii.spans import Span, spans_of
from services.pii.special import SpecialCategoryScanner

logger = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path(__file__).with_name("detection.yaml")


@dataclass(frozen=True)
class DetectionConfig:
    min_score: float
    cache_entries: int
    max_message_chars: int
    identified_term_score: float = 0.0
    identified_from: float = 1.0

    @classmethod
    def load(cls, path: Path = DEFAULT_CONFIG_PATH) -> DetectionConfig:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        identified = document.get("special_terms_in_identified_messages") or {}
        return cls(
            min_score=float(document["min_score"]),
            cache_entries=int(document["cache_entries"]),
            max_message_chars=int(document["max_message_chars"]),
            identified_term_score=float(identified.get("score", 0.0)),
            identified_from=float(identified.get("identified_from", 1.0)),
        )


@dataclass(frozen=True)
class MessageFindings:
    language: str
    detections: tuple[tuple[str, float], ...]  # (entity type, score); never the text


class Detector:
    """Finds which kinds of personal data the texts of one request contain."""

    def __init__(
        self,
        normalise: Normaliser,
        languages: LanguageIdentifier,
        scanners: list[Scanner],
        config: DetectionConfig,
        special_terms: frozenset[str] = frozenset(),
    ):
        # Scanners come most trustworthy first; the order is their rank in overlaps.
        self._normalise = normalise
        self._languages = languages
        self._scanners = scanners
        self._config = config
        # Entity types of special-category terms: raised in messages that identify someone.
        self._special_terms = special_terms
        self._cache: MessageCache[MessageFindings] = MessageCache(config.cache_entries)

    def detect(self, texts: list[str]) -> Findings:
        """Analyse every text; report entity types, counts and best scores only.

        Any failure raises DetectionError, whose message never carries the text.
        """
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise DetectionError("detect() takes a list of strings (the message contents)")
        languages: list[str] = []
        detections: list[tuple[str, float]] = []
        try:
            for text in texts:
                if not text.strip():
                    continue
                message = self._cache.get_or_compute(text, self._scan_message)
                if message.language not in languages:
                    languages.append(message.language)
                detections.extend(message.detections)
        except Exception as exc:  # noqa: BLE001 - any failure must fail closed
            raise _detection_error(exc) from None
        return Findings.aggregate(languages, detections)

    def locate(self, text: str, entity_types: Collection[str]) -> list[Span]:
        """Where hits of ``entity_types`` (scoring at least ``min_score``) sit in
        ``text``: non-overlapping spans sorted by start, in the offsets of
        ``text`` as given (``text[span.start:span.end]`` is the value as
        written, invisible characters inside it included).

        For pseudonymisation: nothing is cached or logged. Any failure,
        including offsets that cannot be mapped back exactly through the
        normalisation, raises DetectionError (fail closed).
        """
        if (
            not isinstance(text, str)
            or isinstance(entity_types, str)
            or not all(isinstance(e, str) for e in entity_types)
        ):
            raise DetectionError("locate() takes a text and a collection of entity type names")
        wanted = frozenset(entity_types)
        if not wanted or not text.strip():
            return []
        try:
            self._check_length(text)
            normalised, offsets = self._normalise.with_offsets(text)
            _, hits = self._hits(normalised)
            if "PERSON" in wanted and any(h.entity == UNSCANNED_BY_NER for h in hits):
                raise DetectionError(
                    "the text is too long for the name model to read whole; its names cannot all be located"
                )
            chosen = [h for h in hits if h.entity in wanted and h.score >= self._config.min_score]
            return spans_of(chosen, offsets.original)
        except Exception as exc:  # noqa: BLE001 - any failure must fail closed
            raise _detection_error(exc) from None

    def _scan_message(self, text: str) -> MessageFindings:
        self._check_length(text)
        language, kept = self._hits(self._normalise(text))
        return MessageFindings(
            language=language,
            detections=tuple((h.entity, h.score) for h in kept if h.score >= self._config.min_score),
        )

    def _check_length(self, text: str) -> None:
        if len(text) > self._config.max_message_chars:
            raise DetectionError(
                f"a message of {len(text)} characters exceeds the detector's limit of "
                f"{self._config.max_message_chars}"
            )

    def _hits(self, normalised: str) -> tuple[str, list[Hit]]:
        """The language, and every hit that survives overlaps, in normalised offsets."""
        language = self._languages.identify(normalised)
        ranked: list[tuple[int, Hit]] = []
        for rank, scanner in enumerate(reversed(self._scanners)):
            ranked.extend((rank, hit) for hit in scanner.scan(normalised, language))
        return language, self._raise_terms_about_identified_people(drop_contained(ranked))

    def _raise_terms_about_identified_people(self, hits: list[Hit]) -> list[Hit]:
        config = self._config
        identified = any(
            h.entity not in self._special_terms and h.score >= config.identified_from for h in hits
        )
        if not identified:
            return hits
        return [
            Hit(h.entity, h.start, h.end, max(h.score, config.identified_term_score))
            if h.entity in self._special_terms
            else h
            for h in hits
        ]

    @property
    def cache(self) -> MessageCache[MessageFindings]:
        return self._cache


def _detection_error(exc: Exception) -> DetectionError:
    """Describe a failure by type and place only.

    Exception messages from the scanners' libraries may quote the prompt, so
    neither the message nor the chained traceback is surfaced (`from None`
    above hides it from logs; `__context__` still holds it for a debugger).
    """
    if isinstance(exc, DetectionError):
        return exc
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    logger.error("personal-data detection failed: %s%s", type(exc).__name__, where)
    return DetectionError(f"personal-data detection failed ({type(exc).__name__}{where})")


def build_detector(config: DetectionConfig | None = None) -> Detector:
    """Build the scanners once, at start-up (loads the NER pipelines: about a second)."""
    config = config or DetectionConfig.load()
    special = SpecialCategoryScanner.load()
    return Detector(
        normalise=Normaliser.load(),
        languages=LanguageIdentifier.load(),
        scanners=[IdentifierScanner.load(), special, NameScanner.load()],
        config=config,
        special_terms=special.entities,
    )
