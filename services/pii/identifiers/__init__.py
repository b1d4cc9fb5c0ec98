"""Checksum-validated structured identifiers: IBANs, cards, phones, national numbers.

`IdentifierScanner.load()` reads identifiers.yaml and compiles it once;
`scanner.scan(text, language)` returns `services.pii.hits.Hit`s.
"""

from services.pii.identifiers.scanner import IdentifierScanner

__all__ = ["IdentifierScanner"]
