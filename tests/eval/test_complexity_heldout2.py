"""The second blind held-out task-complexity set
(eval/complexity/heldout2/prompts.jsonl) is well formed and has the mix its
README promises. It is weighted towards complex requests, to measure how often
a complex request is estimated simple: 12 requests per language (3 simple,
3 standard, 6 complex), and the complex ones vary in form: short one- or
two-sentence questions, long documents of 2-4.5 KB, multi-turn conversations,
and requests with tools or JSON output. It was written without reading the
classifier, the tuning prompts or the first held-out prompts, so it must share
no id and no task text with either earlier set.

The checks mirror tests/eval/test_complexity_heldout.py, adapted to these counts."""

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
ROOT = BASE / "heldout2"
PROMPTS = ROOT / "prompts.jsonl"
README = ROOT / "README.md"
EARLIER = (BASE / "prompts.jsonl", BASE / "heldout" / "prompts.jsonl")

PER_LANGUAGE = {"simple": 3, "standard": 3, "complex": 6}
TOTAL = len(LANGUAGES) * sum(PER_LANGUAGE.values())  # 84
ID = re.compile(r"^(en|de|fr|it|es|nl|pl)-k\d{3}$")

SHORT = 300           # characters: a short request
LONG = 2000           # characters: a long document
LONG_COMPLEX_MAX = 4500
LONG_SIMPLE_MAX = 5000
MAX_CHARS = 8500

# Minimum counts over the whole set.
MIN_SHORT_COMPLEX = 14
MIN_LONG_COMPLEX = 7
MIN_MULTI_TURN_COMPLEX = 7
MIN_TOOLS_COMPLEX = 4
MIN_JSON_COMPLEX = 4
MIN_LONG_SIMPLE = 2
MIN_LONG_STANDARD = 2
# Minimum counts of complex requests in each language.
MIN_SHORT_COMPLEX_PER_LANG = 2
MIN_LONG_COMPLEX_PER_LANG = 1
MIN_MULTI_TURN_COMPLEX_PER_LANG = 1
MIN_TOOL_OR_JSON_COMPLEX_PER_LANG = 1


ROWS = load(PROMPTS)


def of(tier: str, lang: str | None = None) -> list[dict]:
    return [r for r in ROWS if r["tier"] == tier and (lang is None or r["language"] == lang)]


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


def test_complex_is_half_the_set():
    assert sum(r["tier"] == "complex" for r in ROWS) * 2 == len(ROWS)


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


def test_readme_complex_forms_table_matches_the_file():
    """The README's table of complex forms per language agrees with the data."""
    text = README.read_text(encoding="utf-8")
    for lang in LANGUAGES:
        m = re.search(rf"^\|\s*{lang}\s*\|" + r"\s*(\d+)\s*\|" * 5 + r"\s*$", text, re.M)
        assert m, f"no README complex-forms row for {lang}"
        short, long_, multi, tools, js = map(int, m.groups())
        rows = of("complex", lang)
        assert short == sum(chars(r) < SHORT for r in rows), lang
        assert long_ == sum(chars(r) > LONG for r in rows), lang
        assert multi == sum(is_multi_turn(r) for r in rows), lang
        assert tools == sum(bool(r["tools"]) for r in rows), lang
        assert js == sum(r["response_format"] == "json" for r in rows), lang


def test_complex_requests_vary_in_form():
    rows = of("complex")
    assert sum(chars(r) < SHORT for r in rows) >= MIN_SHORT_COMPLEX
    assert sum(chars(r) > LONG for r in rows) >= MIN_LONG_COMPLEX
    assert sum(is_multi_turn(r) for r in rows) >= MIN_MULTI_TURN_COMPLEX
    assert sum(bool(r["tools"]) for r in rows) >= MIN_TOOLS_COMPLEX
    assert sum(r["response_format"] == "json" for r in rows) >= MIN_JSON_COMPLEX
    for lang in LANGUAGES:
        rows = of("complex", lang)
        assert sum(chars(r) < SHORT for r in rows) >= MIN_SHORT_COMPLEX_PER_LANG, lang
        assert sum(chars(r) > LONG for r in rows) >= MIN_LONG_COMPLEX_PER_LANG, lang
        assert sum(is_multi_turn(r) for r in rows) >= MIN_MULTI_TURN_COMPLEX_PER_LANG, lang
        assert sum(bool(r["tools"]) or r["response_format"] == "json" for r in rows) >= MIN_TOOL_OR_JSON_COMPLEX_PER_LANG, lang


def test_long_complex_documents_are_2_to_4_5_kb():
    for r in of("complex"):
        if chars(r) > LONG:
            assert chars(r) <= LONG_COMPLEX_MAX, r["id"]


def test_shapes_spread_over_tiers():
    """Tools, JSON, multi-turn and max_tokens occur in every tier, so none of them alone decides."""
    for tier in TIERS:
        rows = of(tier)
        assert any(is_multi_turn(r) for r in rows), tier
        assert any(r["tools"] for r in rows), tier
        assert any(r["response_format"] == "json" for r in rows), tier
        assert any(r["max_tokens"] is not None for r in rows), tier


def test_length_does_not_decide_the_tier():
    long_simple = [r for r in of("simple") if chars(r) > LONG]
    long_standard = [r for r in of("standard") if chars(r) > LONG]
    assert len(long_simple) >= MIN_LONG_SIMPLE
    assert len(long_standard) >= MIN_LONG_STANDARD
    assert all(chars(r) <= LONG_SIMPLE_MAX for r in long_simple)
    assert all(chars(r) <= MAX_CHARS for r in ROWS)


def test_borderline_cases_explained():
    """Long simple and short or long complex requests carry a note saying why."""
    for r in ROWS:
        if (r["tier"] == "simple" and chars(r) > LONG) or (r["tier"] == "complex" and (chars(r) < SHORT or chars(r) > LONG)):
            assert r["note"].strip(), r["id"]


def test_no_duplicate_tasks():
    tasks = [normalise(task(r)) for r in ROWS]
    assert len(tasks) == len(set(tasks))


@pytest.mark.parametrize("earlier", EARLIER, ids=lambda p: str(p.relative_to(BASE)))
def test_disjoint_from_earlier_sets(earlier):
    """No id and no task text (last user message, whitespace- and case-normalised)
    is shared with the tuning set or the first held-out set."""
    other = load(earlier)
    assert not {r["id"] for r in ROWS} & {r["id"] for r in other}
    # Only the count is reported, so a failure never prints an earlier prompt.
    n_shared = len({normalise(task(r)) for r in ROWS} & {normalise(task(r)) for r in other})
    assert n_shared == 0, f"{n_shared} task text(s) shared with {earlier.name}"
