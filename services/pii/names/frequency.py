"""How common a word is in a language, from wordfreq's word lists (shipped
inside its wheel: nothing is fetched). The English NER model reading German,
Italian, Spanish, Dutch or Polish text uses this to tell a name it does not
know ("Xhafer Hoxha") from the capitalised words of that language it tags
as persons ("Partido Comunista", "Europäischen Union")."""

from __future__ import annotations

import math
from collections.abc import Iterable

import wordfreq


class WordFrequencies:
    def __init__(self, languages: Iterable[str], max_zipf: float):
        # get_frequency_dict takes ~0.4 s per language: done once, at start-up.
        self._frequencies = {lang: wordfreq.get_frequency_dict(lang) for lang in languages}
        # Zipf = log10(frequency per billion words); compare frequencies directly.
        self._max_frequency = math.pow(10, max_zipf - 9)

    def is_common(self, word: str, language: str) -> bool:
        """Whether ``word`` is used at least ``max_zipf`` often in ``language``
        (its lists hold casefolded words with ß as ss)."""
        frequencies = self._frequencies.get(language)
        if frequencies is None:
            return False
        folded = word.casefold().replace("ß", "ss")
        return frequencies.get(folded, 0.0) >= self._max_frequency
