"""Recognizers douane adds to, or swaps into, Presidio's defaults."""

from __future__ import annotations

import tldextract
from presidio_analyzer import PatternRecognizer
from presidio_analyzer.predefined_recognizers import EmailRecognizer

from services.pii.lexicon import Lexicon


def offline_domain_extractor() -> tldextract.TLDExtract:
    """A tldextract instance that only ever uses the suffix list bundled with it.

    tldextract's module-level extractor (what `tldextract.extract` uses) fetches
    the public-suffix list from publicsuffix.org / GitHub on first use and caches
    it under ~/.cache. No URLs means nothing to fetch; no cache_dir means nothing
    read from or written to disk; the bundled snapshot is the only source.
    """
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)


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


def lexicon_recognizers(lexicon: Lexicon) -> list[PatternRecognizer]:
    """One Presidio deny-list recognizer per language of the lexicon.

    Presidio builds a case-insensitive regex bounded by non-word characters,
    i.e. whole-word matching. Longest terms go first so that "type 2 diabetes"
    is matched as one finding rather than as "diabetes" inside it.
    """
    return [
        PatternRecognizer(
            supported_entity=lexicon.entity,
            name=f"LexiconRecognizer[{lexicon.name}]",
            supported_language=language,
            deny_list=sorted(terms, key=len, reverse=True),
            deny_list_score=lexicon.score,
        )
        for language, terms in lexicon.terms.items()
    ]
