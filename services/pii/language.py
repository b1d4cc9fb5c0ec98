"""Which of our seven languages a prompt is written in, or "und".

The language picks the lexicons and context cues the special-category scanner
uses; "und" makes it scan with all of them, so an unsure answer costs speed,
never recall. That is why we prefer "und" to a guess.

Backed by py3langid (a Naive Bayes byte n-gram model shipped inside the wheel
as ``data/model.npz.xz``; nothing is fetched at run time - only its CLI's
``--url``/``--serve`` options touch the network, and we never call them).

We score against the full 97-language model rather than one restricted to our
seven: restricted, a Swedish or Portuguese prompt would be forced onto German
or Spanish. With the full model, such text stays "und".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from py3langid.langid import MODEL_FILE
from py3langid.langid import LanguageIdentifier as _Py3LangId

logger = logging.getLogger(__name__)

SUPPORTED_LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "it", "es", "nl", "pl")
UNDETERMINED = "und"


@dataclass(frozen=True)
class LanguageThresholds:
    # Fewer letters than this carry too little signal ("ok", "12345 67890").
    min_letters: int = 8
    # Probability (full model) the best of our seven needs when it is also the
    # model's overall first choice. Short sentences in a supported language
    # spread mass over close relatives (de/lb, fr/oc, es/ca): 0.25 keeps
    # "Il a un casier judiciaire." (fr 0.41) while gibberish stays under it.
    min_probability_if_top: float = 0.25
    # ...and when some unsupported language ranks above it.
    min_probability: float = 0.6


class LanguageIdentifier:
    """Start-up-loaded language identifier; ``identify`` is cheap and never raises."""

    def __init__(self, model: _Py3LangId, thresholds: LanguageThresholds | None = None) -> None:
        self._model = model
        self._thresholds = thresholds or LanguageThresholds()
        labels = set(model.labels)
        missing = [lang for lang in SUPPORTED_LANGUAGES if lang not in labels]
        if missing:
            raise ValueError(f"language model lacks {missing}")

    @classmethod
    def load(cls, thresholds: LanguageThresholds | None = None) -> LanguageIdentifier:
        # norm_probs gives calibrated probabilities (softmax tempered by text length).
        model = _Py3LangId.from_model_file(MODEL_FILE, norm_probs=True)
        return cls(model, thresholds)

    def identify(self, text: str) -> str:
        try:
            return self._identify(text)
        except Exception as exc:  # noqa: BLE001 - "und" is the safe answer: scan with everything
            # Type only: the exception's message could quote the text.
            logger.error("language identification failed (%s); answering 'und'", type(exc).__name__)
            return UNDETERMINED

    def _identify(self, text: str) -> str:
        if not isinstance(text, str):
            return UNDETERMINED
        if not _has_letters(text[:4096], self._thresholds.min_letters):
            return UNDETERMINED
        # The opening 16 KB decide (0.1 s for 1 MB otherwise); lone surrogates
        # from lenient decoding cannot be encoded by the model.
        text = text[:16384].encode("utf-8", errors="replace").decode("utf-8")
        ranked = self._model.rank(text)
        probabilities = dict(ranked)
        best = max(SUPPORTED_LANGUAGES, key=lambda lang: probabilities.get(lang, 0.0))
        probability = probabilities.get(best, 0.0)
        needed = (
            self._thresholds.min_probability_if_top
            if ranked and ranked[0][0] == best
            else self._thresholds.min_probability
        )
        return best if probability >= needed else UNDETERMINED


def _has_letters(text: str, needed: int) -> bool:
    """At least ``needed`` letters; stops counting there."""
    for ch in text:
        if ch.isalpha():
            needed -= 1
            if needed <= 0:
                return True
    return needed <= 0
