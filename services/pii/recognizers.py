"""Offline domain validation for e-mail addresses."""

from __future__ import annotations

import tldextract



def offline_domain_extractor() -> tldextract.TLDExtract:
    """A tldextract instance that only ever uses the suffix list bundled with it.

    tldextract's module-level extractor (what `tldextract.extract` uses) fetches
    the public-suffix list from publicsuffix.org / GitHub on first use and caches
    it under ~/.cache. No URLs means nothing to fetch; no cache_dir means nothing
    read from or written to disk; the bundled snapshot is the only source.
    """
    return tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None, fallback_to_snapshot=True)
