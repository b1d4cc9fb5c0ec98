"""The blind held-out task-complexity set (eval/complexity/heldout/prompts.jsonl)
is well formed and has the mix its README promises: 12 requests per language
(5 simple, 4 standard, 3 complex), multi-turn, tool and JSON requests, long
documents in every tier, and examples where length and tier disagree. It was
written without reading the classifier or the tuning prompts, so it must share
no id and no task text with the tuning set (eval/complexity/prompts.jsonl).

The checks mirror tests/eval/test_complexity_set.py, adapted to these counts."""

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
    normalise,
    task,
)

BASE = Path(__file__).resolve().parents[2] / "eval" / "complexity"
ROOT = BASE / "heldout"
PROMPTS = ROOT / "prompts.jsonl"
README = ROOT / "README.md"
TUNING = BASE / "prompts.jsonl"

PER_LANGUAGE = {"simple": 5, "standard": 4, "complex": 3}
TOTAL = len(LANGUAGES) * sum(PER_LANGUAGE.values())  # 84
ID = re.compile(r"^(en|de|fr|it|es|nl|pl)-h\d{3}$")

# Minimum counts over the whole set.
MIN_MULTI_TURN = 14        # ~15% of 84
MIN_TOOLS = 10
MIN_JSON = 12
MIN_SYSTEM = 5
MIN_SHORT_COMPLEX = 5      # complex, under 300 characters in total
MIN_LONG_SIMPLE = 5        # simple, over 2,000 characters in total
MIN_LONG_DOC_PER_TIER = 3  # over 3,000 characters, in each tier
# Minimum counts in each language.
MIN_MULTI_TURN_PER_LANG = 2
MIN_TOOLS_PER_LANG = 1
MIN_JSON_PER_LANG = 2


ROWS = load(PROMPTS)


def test_every_line_is_one_json_object():
    lines = [line for line in PROMPTS.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(lines) == len(ROWS) == TOTAL
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
    """Every row of the per-language table in the README agrees with the data,
    including the multi-turn, tools, JSON and system-prompt columns."""
    text = README.read_text(encoding="utf-8")
    counts = Counter((r["language"], r["tier"]) for r in ROWS)
    for lang in LANGUAGES:
        m = re.search(
            rf"^\|\s*{lang}\s*\|" + r"\s*(\d+)\s*\|" * 8,
            text, re.M,
        )
        assert m, f"no README table row for {lang}"
        s, st, c, total, multi, tools, js, system = map(int, m.groups())
        assert (s, st, c) == (counts[(lang, "simple")], counts[(lang, "standard")], counts[(lang, "complex")])
        assert total == s + st + c
        rows = [r for r in ROWS if r["language"] == lang]
        assert multi == sum(is_multi_turn(r) for r in rows), lang
        assert tools == sum(bool(r["tools"]) for r in rows), lang
        assert js == sum(r["response_format"] == "json" for r in rows), lang
        assert system == sum(r["messages"][0]["role"] == "system" for r in rows), lang


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
        assert sum(is_multi_turn(r) for r in rows) >= MIN_MULTI_TURN_PER_LANG, lang
        assert sum(bool(r["tools"]) for r in rows) >= MIN_TOOLS_PER_LANG, lang
        assert sum(r["response_format"] == "json" for r in rows) >= MIN_JSON_PER_LANG, lang


def test_shapes_spread_over_tiers():
    """Tools, JSON, multi-turn and max_tokens occur in every tier, so none of them alone decides."""
    for tier in TIERS:
        rows = [r for r in ROWS if r["tier"] == tier]
        assert any(is_multi_turn(r) for r in rows), tier
        assert any(r["tools"] for r in rows), tier
        assert any(r["response_format"] == "json" for r in rows), tier
        assert any(r["max_tokens"] is not None for r in rows), tier


def test_length_does_not_decide_the_tier():
    short_complex = [r["id"] for r in ROWS if r["tier"] == "complex" and chars(r) < 300]
    long_simple = [r["id"] for r in ROWS if r["tier"] == "simple" and chars(r) > 2000]
    assert len(short_complex) >= MIN_SHORT_COMPLEX, short_complex
    assert len(long_simple) >= MIN_LONG_SIMPLE, long_simple


def test_long_documents_in_every_tier():
    for tier in TIERS:
        docs = [r for r in ROWS if r["tier"] == tier and chars(r) > 3000]
        assert len(docs) >= MIN_LONG_DOC_PER_TIER, tier
    assert all(chars(r) <= 8500 for r in ROWS)


def test_long_simple_documents_are_2_to_5_kb():
    long_simple = [r for r in ROWS if r["tier"] == "simple" and chars(r) > 2000]
    assert all(chars(r) <= 5000 for r in long_simple)


def test_borderline_cases_explained():
    """Long simple and short complex requests carry a note saying why."""
    for r in ROWS:
        if (r["tier"] == "simple" and chars(r) > 2000) or (r["tier"] == "complex" and chars(r) < 300):
            assert r["note"].strip(), r["id"]


def test_no_duplicate_tasks():
    tasks = [normalise(task(r)) for r in ROWS]
    assert len(tasks) == len(set(tasks))


def test_disjoint_from_tuning_set():
    """No id and no task text (last user message, whitespace- and case-normalised)
    is shared with the tuning set."""
    tuning = load(TUNING)
    assert not {r["id"] for r in ROWS} & {r["id"] for r in tuning}
    # Only the count is reported, so a failure never prints a tuning prompt.
    n_shared = len({normalise(task(r)) for r in ROWS} & {normalise(task(r)) for r in tuning})
    assert n_shared == 0, f"{n_shared} task text(s) shared with the tuning set"
