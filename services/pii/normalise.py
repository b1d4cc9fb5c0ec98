"""Text as the scanners see it: the same words, with the tricks that hide
personal data from a pattern taken out.

NFKC folds full-width digits and compatibility forms ("１２３", "ﬁ"); invisible
characters that split a word are removed; letters that merely look Latin are
folded to Latin inside words that also hold ASCII. The mapping is data
(``confusables.yaml``). Detection only: what is forwarded is never changed.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

DEFAULT_TABLE = Path(__file__).with_name("confusables.yaml")
_MIXED_WORD = re.compile(r"\w*[A-Za-z0-9]\w*", re.UNICODE)


@dataclass(frozen=True)
class Normaliser:
    fold: dict[int, str]
    remove: dict[int, None]

    @classmethod
    def load(cls, path: Path = DEFAULT_TABLE) -> Normaliser:
        table = yaml.safe_load(path.read_text(encoding="utf-8"))
        fold = {ord(k): v for k, v in (table.get("fold") or {}).items()}
        remove = {ord(c): None for c in table.get("remove") or []}
        return cls(fold=fold, remove=remove)

    def __call__(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text.translate(self.remove))
        if text.isascii():
            return text
        return _MIXED_WORD.sub(lambda m: m.group(0).translate(self.fold), text)
