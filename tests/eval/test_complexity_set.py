"""The labelled task-complexity set (eval/complexity/prompts.jsonl, issue 9) is
well formed and has the mix its README promises: 30 requests per language
(12 simple, 10 standard, 8 complex), multi-turn, tool and JSON requests, long
documents in every tier, and examples where length and tier disagree."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.eval.complexity_sets import (
    LANGUAGES,
    TIERS,
    assert_counts,
    assert_ids_numbered_consecutively,
    assert_ids_unique,
    assert_well_formed,
    chars,
    is_multi_turn,
    load,
)

ROOT = Path(__file__).resolve().parents[2] / "eval" / "complexity"
PROMPTS = ROOT / "prompts.jsonl"
README = ROOT / "README.md"

PER_LANGUAGE = {"simple": 12, "standard": 10, "complex": 8}
ID = re.compile(r"^(en|de|fr|it|es|nl|pl)-c\d{3}$")

# Minimum counts over the whole set.
MIN_MULTI_TURN = 30        # ~15% of 210
MIN_TOOLS = 14
MIN_JSON = 21
MIN_SYSTEM = 10
MIN_SHORT_COMPLEX = 5      # complex, under 300 characters in total
MIN_LONG_SIMPLE = 5        # simple, over 2,000 characters in total
MIN_LONG_DOC_PER_TIER = 5  # over 3,000 characters, in each tier


ROWS = load(PROMPTS)


def test_every_line_is_one_json_object():
    lines = [line for line in PROMPTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) == len(ROWS) >= 210
    for line in lines:
        assert isinstance(json.loads(line), dict)


@pytest.mark.parametrize("row", ROWS, ids=[r.get("id", "?") for r in ROWS])
def test_schema(row):
    assert_well_formed(row, ID)


def test_ids_unique():
    assert_ids_unique(ROWS)


def test_ids_numbered_consecutively_per_language():
    assert_ids_numbered_consecutively(ROWS)


def test_counts_per_language_and_tier():
    assert_counts(ROWS, PER_LANGUAGE)


def test_readme_table_matches_the_file():
    """Every row of the per-language table in the README agrees with the data."""
    text = README.read_text(encoding="utf-8")
    counts = Counter((r["language"], r["tier"]) for r in ROWS)
    for lang in LANGUAGES:
        m = re.search(rf"^\|\s*{lang}\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", text, re.M)
        assert m, f"no README table row for {lang}"
        s, st, c, total = map(int, m.groups())
        assert (s, st, c) == (counts[(lang, "simple")], counts[(lang, "standard")], counts[(lang, "complex")])
        assert total == s + st + c


def test_complex_share_at_least_a_tenth():
    assert sum(r["tier"] == "complex" for r in ROWS) * 10 >= len(ROWS)


def test_conversation_shapes():
    assert sum(is_multi_turn(r) for r in ROWS) >= MIN_MULTI_TURN
    assert sum(bool(r["tools"]) for r in ROWS) >= MIN_TOOLS
    assert sum(r["response_format"] == "json" for r in ROWS) >= MIN_JSON
    assert sum(r["messages"][0]["role"] == "system" for r in ROWS) >= MIN_SYSTEM
    # Each shape appears in every language, so the classifier can't key on language.
    for lang in LANGUAGES:
        rows = [r for r in ROWS if r["language"] == lang]
        assert sum(is_multi_turn(r) for r in rows) >= 3, lang
        assert sum(bool(r["tools"]) for r in rows) >= 2, lang
        assert sum(r["response_format"] == "json" for r in rows) >= 2, lang


def test_shapes_spread_over_tiers():
    """Tools, JSON and multi-turn occur in every tier, so none of them alone decides."""
    for tier in TIERS:
        rows = [r for r in ROWS if r["tier"] == tier]
        assert any(is_multi_turn(r) for r in rows), tier
        assert any(r["tools"] for r in rows), tier
        assert any(r["response_format"] == "json" for r in rows), tier


def test_length_does_not_decide_the_tier():
    short_complex = [r["id"] for r in ROWS if r["tier"] == "complex" and chars(r) < 300]
    long_simple = [r["id"] for r in ROWS if r["tier"] == "simple" and chars(r) > 2000]
    assert len(short_complex) >= MIN_SHORT_COMPLEX, short_complex
    assert len(long_simple) >= MIN_LONG_SIMPLE, long_simple


def test_long_documents_in_every_tier():
    for tier in TIERS:
        docs = [r for r in ROWS if r["tier"] == tier and chars(r) > 3000]
        assert len(docs) >= MIN_LONG_DOC_PER_TIER, tier
        assert all(chars(r) <= 8500 for r in docs)


def test_borderline_cases_explained():
    """Long simple and short complex requests carry a note saying why."""
    for r in ROWS:
        if (r["tier"] == "simple" and chars(r) > 2000) or (r["tier"] == "complex" and chars(r) < 300):
            assert r["note"].strip(), r["id"]


def test_no_duplicate_tasks():
    tasks = [r["messages"][-1]["content"].strip() for r in ROWS]
    assert len(tasks) == len(set(tasks))
