"""The third held-out evaluation set (eval/pii/heldout3/prompts.jsonl) is well
formed, by the same checks as the first two (helpers reused from
tests/eval/test_heldout.py so the sets cannot drift apart): same schema and
labelling rules, all seven languages, a third clean / personal / special in
each, every special category in every language, every identifier labelled as
such really valid (python-stdnum, phonenumbers) and every look-alike in a
clean prompt really invalid. It must stay disjoint from the tuning set and
from both earlier held-out sets (ids and texts)."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path

import pytest
from stdnum import iban

_spec = importlib.util.spec_from_file_location("_heldout_checks", Path(__file__).with_name("test_heldout.py"))
H = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(H)

HELDOUT2 = H.EVAL / "heldout2" / "prompts.jsonl"
HELDOUT3 = H.EVAL / "heldout3" / "prompts.jsonl"


def load() -> list[dict]:
    return H.load(HELDOUT3)


def test_schema():
    prompts = load()
    for p in prompts:
        assert H.FIELDS <= set(p) <= H.FIELDS | {"note"}, p["id"]
        assert isinstance(p["text"], str) and p["text"].strip()
        assert isinstance(p["categories"], list) and isinstance(p["kinds"], list)
        assert isinstance(p.get("note", ""), str)
    ids = [p["id"] for p in prompts]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(rf"{p['language']}-t\d{{3}}", p["id"]) for p in prompts)


def test_size_languages_and_balance():
    prompts = load()
    assert len(prompts) >= 140
    per_language = Counter(p["language"] for p in prompts)
    assert set(per_language) == H.LANGUAGES
    assert all(n >= 20 for n in per_language.values()), per_language
    for language in H.LANGUAGES:
        mine = Counter(p["sensitivity"] for p in prompts if p["language"] == language)
        assert all(mine[s] >= 6 for s in H.SENSITIVITIES), (language, mine)
        assert max(mine.values()) - min(mine.values()) <= 1, (language, mine)


@pytest.mark.parametrize("prompt", load(), ids=lambda p: p["id"])
def test_labels_consistent(prompt):
    H.test_labels_consistent(prompt)


def test_every_special_category_in_every_language():
    prompts = load()
    for language in H.LANGUAGES:
        seen = {c for p in prompts if p["language"] == language for c in p["categories"]}
        assert H.SPECIAL <= seen, (language, H.SPECIAL - seen)


@pytest.mark.parametrize(
    "prompt",
    [p for p in load() if set(p["kinds"]) & (set(H.CHECKSUMMED) | {"PHONE_NUMBER", "IP_ADDRESS"})],
    ids=lambda p: p["id"],
)
def test_labelled_identifiers_are_valid(prompt):
    H.test_labelled_identifiers_are_valid(prompt)


def test_look_alikes_in_clean_prompts_are_invalid():
    """A clean prompt whose note names a check (IBAN, Luhn, DNI, BSN, PESEL)
    holds no value passing it; no clean prompt holds a valid IBAN or a public
    IP address (documentation and private ranges only)."""
    checked = Counter()
    for prompt in load():
        if prompt["sensitivity"] != "none":
            continue
        found = list(H.candidates(prompt["text"]))
        assert not any(iban.is_valid(c) for c in found), prompt["id"]
        assert not any(net.is_global for net in H.ip_addresses(prompt["text"])), prompt["id"]
        note = prompt.get("note", "").lower()
        for word, kind in H.NEGATIVE_NOTES.items():
            if word in note:
                assert not [c for c in found if H.CHECKSUMMED[kind](c)], f"{prompt['id']}: a {kind}-valid value"
                checked[kind] += 1
    assert sum(checked.values()) >= 7 and set(checked) == set(H.NEGATIVE_NOTES.values()), checked


def test_clean_prompts_hold_the_hard_negatives():
    clean = " ".join(p["text"].lower() for p in load() if p["sensitivity"] == "none")
    for word in (
        "health", "church", "kirche", "église", "chiesa", "iglesia", "kerk", "kościoł", "union", "party",
        "race condition", "diagnosis", "origin", "gene", "scan",
        "192.0.2.", "198.51.100.", "203.0.113.", "sku",
    ):
        assert word in clean, word


def test_disjoint_from_the_tuning_and_earlier_heldout_sets():
    mine = load()
    for other in (H.load(H.TUNING), H.load(H.HELDOUT), H.load(HELDOUT2)):
        assert not {p["id"] for p in other} & {p["id"] for p in mine}
        assert not {p["text"] for p in other} & {p["text"] for p in mine}
