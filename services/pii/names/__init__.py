"""Person-name detection: spaCy NER where a model is installed, rules over data everywhere."""

from services.pii.names.scanner import NameScanner

__all__ = ["NameScanner"]
