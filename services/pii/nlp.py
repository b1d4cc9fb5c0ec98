"""The spaCy NLP engine, loaded strictly from installed packages.

Presidio's SpacyNlpEngine calls `spacy.cli.download` when a configured model is
not installed. In a gateway that is both a supply-chain hole (code fetched and
installed at run time) and a silent network call, so the hook that does it is
replaced by one that refuses.
"""

from __future__ import annotations

import spacy
from presidio_analyzer.nlp_engine import NlpEngine, NlpEngineProvider, SpacyNlpEngine

from services.pii.errors import DetectionError


class OfflineSpacyNlpEngine(SpacyNlpEngine):
    """SpacyNlpEngine that loads installed pipeline packages and never downloads."""

    @staticmethod
    def _download_spacy_model_if_needed(model_name: str) -> None:
        # Only installed packages are accepted, not paths: the pipeline is a
        # pinned dependency of douane, so its version is the one we tested.
        if not spacy.util.is_package(model_name):
            raise DetectionError(
                f"spaCy pipeline {model_name!r} is not installed; douane never "
                "downloads models at run time (install it as a package dependency)"
            )


def build_nlp_engine(nlp_configuration: dict) -> NlpEngine:
    """Create and load the engine described by Presidio's NLP configuration format."""
    # Offering Presidio only our engine class means a configuration naming any
    # other engine (stanza, transformers: both download) is rejected outright.
    provider = NlpEngineProvider(
        nlp_engines=(OfflineSpacyNlpEngine,), nlp_configuration=nlp_configuration
    )
    return provider.create_engine()


def configured_languages(nlp_configuration: dict) -> list[str]:
    return [model["lang_code"] for model in nlp_configuration["models"]]

