"""What every labelled task-complexity set (eval/complexity/**/prompts.jsonl)
must satisfy, shared by the tests of the tuning set and of each held-out
set; those tests add what is particular to their set (counts, mix, README)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

LANGUAGES = ("en", "de", "fr", "it", "es", "nl", "pl")
TIERS = ("simple", "standard", "complex")
KEYS = {"id", "language", "tier", "messages", "max_tokens", "tools", "response_format", "note"}
ROLES = {"system", "user", "assistant"}
TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def load(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def chars(row: dict) -> int:
    return sum(len(m["content"]) for m in row["messages"])


def is_multi_turn(row: dict) -> bool:
    return sum(m["role"] == "user" for m in row["messages"]) > 1


def task(row: dict) -> str:
    return row["messages"][-1]["content"]


def normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def assert_well_formed(row: dict, id_pattern: re.Pattern[str]) -> None:
    assert set(row) == KEYS
    assert id_pattern.match(row["id"]), row["id"]
    assert row["language"] in LANGUAGES
    assert row["id"].startswith(row["language"] + "-")
    assert row["tier"] in TIERS
    assert row["max_tokens"] is None or (isinstance(row["max_tokens"], int) and not isinstance(row["max_tokens"], bool) and row["max_tokens"] > 0)
    assert isinstance(row["tools"], list) and all(isinstance(t, str) and TOOL_NAME.match(t) for t in row["tools"])
    assert len(set(row["tools"])) == len(row["tools"])
    assert row["response_format"] in (None, "json")
    assert isinstance(row["note"], str)

    msgs = row["messages"]
    assert isinstance(msgs, list) and msgs
    for m in msgs:
        assert set(m) == {"role", "content"}
        assert m["role"] in ROLES
        assert isinstance(m["content"], str) and m["content"].strip()
    # At most one system prompt, and only first; the task is the last user message.
    assert all(m["role"] != "system" for m in msgs[1:])
    assert msgs[-1]["role"] == "user"
    # Turns alternate after the optional system prompt, starting with the user.
    turns = [m["role"] for m in msgs if m["role"] != "system"]
    assert turns[0] == "user"
    assert all(a != b for a, b in zip(turns, turns[1:]))


def assert_ids_unique(rows: list[dict]) -> None:
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids))


def assert_ids_numbered_consecutively(rows: list[dict]) -> None:
    for lang in LANGUAGES:
        nums = sorted(int(r["id"][4:]) for r in rows if r["language"] == lang)
        assert nums == list(range(1, len(nums) + 1)), lang


def assert_counts(rows: list[dict], per_language: dict[str, int]) -> None:
    counts = Counter((r["language"], r["tier"]) for r in rows)
    assert {r["language"] for r in rows} == set(LANGUAGES)
    for lang in LANGUAGES:
        for tier in TIERS:
            assert counts[(lang, tier)] == per_language[tier], (lang, tier)
