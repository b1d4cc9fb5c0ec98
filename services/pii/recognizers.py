"""Offline domain validation for e-mail addresses, and the Presidio e-mail
recognizer that uses it (for running Presidio side by side in the eval)."""

from __future__ import annotations

import tldextract
from presidio_analyzer.predefined_recognizers import EmailRecognizer



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
