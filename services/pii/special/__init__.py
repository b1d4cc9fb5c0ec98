"""GDPR Art. 9 special categories and Art. 10 criminal data, in seven languages.

Terms, person cues and negative contexts are DPO-owned YAML under
``lexicons/``; ``SpecialCategoryScanner.load()`` reads and compiles them once.
"""

from services.pii.special.data import SpecialLexiconError
from services.pii.special.scanner import SpecialCategoryScanner

__all__ = ["SpecialCategoryScanner", "SpecialLexiconError"]
