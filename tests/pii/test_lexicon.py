from pathlib import Path

import pytest

from services.pii.lexicon import Lexicon, LexiconError

HEALTH = Path(__file__).parents[2] / "services" / "pii" / "lexicons" / "health.yaml"


def test_shipped_health_lexicon_loads():
    lexicon = Lexicon.load(HEALTH)
    assert lexicon.entity == "HEALTH_TERM"
    assert lexicon.score == 0.85
    assert {"diabetes", "chemotherapy", "cancer", "HIV", "depression", "pregnancy", "asthma"} <= set(
        lexicon.terms["en"]
    )
    # The conservative rule, enforced: generic words stay out.
    assert not {"health", "healthy", "AIDS", "STD"} & {t for t in lexicon.terms["en"]}


def test_terms_differing_only_in_case_are_one_term():
    lexicon = Lexicon.from_document(
        "t", {"entity": "X_TERM", "score": 0.5, "terms": {"en": ["Asthma", "asthma", " asthma "]}}, "t"
    )
    assert len(lexicon.terms["en"]) == 1


@pytest.mark.parametrize(
    "document",
    [
        [],
        {"score": 0.5, "terms": {"en": ["x"]}},
        {"entity": "lower", "score": 0.5, "terms": {"en": ["x"]}},
        {"entity": "X", "score": 1.5, "terms": {"en": ["x"]}},
        {"entity": "X", "score": True, "terms": {"en": ["x"]}},
        {"entity": "X", "score": 0.5, "terms": {}},
        {"entity": "X", "score": 0.5, "terms": {"en": []}},
        {"entity": "X", "score": 0.5, "terms": {"en": ["ok", ""]}},
        {"entity": "X", "score": 0.5, "terms": {"en": ["ok", 3]}},
    ],
)
def test_malformed_lexicon_is_refused(document):
    with pytest.raises(LexiconError):
        Lexicon.from_document("bad", document, "bad.yaml")


def test_unreadable_lexicon_is_refused(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("terms: [unclosed", encoding="utf-8")
    with pytest.raises(LexiconError, match="broken.yaml"):
        Lexicon.load(path)
