"""The blind held-out sets (eval/pii/heldout2, heldout3 and heldout4: written
without reading the detector or the other sets) are well formed, by the
checks of the first held-out set (helpers reused from
tests/eval/test_heldout.py so the sets cannot drift apart): same schema and
labelling rules, all seven languages, a third clean / personal / special in
each, every special category in every language, every identifier labelled as
such really valid (python-stdnum, phonenumbers) and every look-alike in a
clean prompt really invalid, the hard negatives present, and no id or text
shared with the tuning set or an earlier held-out set."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from stdnum import iban

_spec = importlib.util.spec_from_file_location("_heldout_checks", Path(__file__).with_name("test_heldout.py"))
H = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(H)


@dataclass(frozen=True)
class BlindSet:
    name: str
    id_letter: str  # ids read <language>-<letter>NNN
    size: int  # prompts at least
    per_language: int
    per_class: int  # prompts of each sensitivity per language, at least
    look_alikes: int  # clean prompts whose note names a failed check, at least
    hard_negatives: tuple[str, ...]
    earlier: tuple[str, ...]  # held-out sets written before it

    @property
    def path(self) -> Path:
        return H.EVAL / self.name / "prompts.jsonl"

    def load(self) -> list[dict]:
        return H.load(self.path)


_COMMON_NEGATIVES = (
    "health", "church", "union", "party", "race condition", "origin", "gene", "scan",
    "192.0.2.", "198.51.100.", "203.0.113.", "sku",
)
SETS = (
    BlindSet("heldout2", "k", 168, 24, 8, 8, _COMMON_NEGATIVES + ("diagnostic",), ("heldout",)),
    BlindSet(
        "heldout3", "t", 140, 20, 6, 7,
        _COMMON_NEGATIVES + ("diagnosis", "kirche", "église", "chiesa", "iglesia", "kerk", "kościoł"),
        ("heldout", "heldout2"),
    ),
    BlindSet(
        "heldout4", "u", 147, 21, 7, 7,
        _COMMON_NEGATIVES + ("diagnosis", "kirche", "église", "chiesa", "iglesia", "kerk", "kościół", "syndicat"),
        ("heldout", "heldout2", "heldout3"),
    ),
)
PROMPTS = [(s, p) for s in SETS for p in s.load()]


def _ids(value):
    return value.name if isinstance(value, BlindSet) else None


@pytest.mark.parametrize("blind", SETS, ids=_ids)
def test_schema(blind):
    prompts = blind.load()
    for p in prompts:
        assert H.FIELDS <= set(p) <= H.FIELDS | {"note"}, p["id"]
        assert isinstance(p["text"], str) and p["text"].strip()
        assert isinstance(p["categories"], list) and isinstance(p["kinds"], list)
        assert isinstance(p.get("note", ""), str)
    ids = [p["id"] for p in prompts]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(rf"{p['language']}-{blind.id_letter}\d{{3}}", p["id"]) for p in prompts)


@pytest.mark.parametrize("blind", SETS, ids=_ids)
def test_size_languages_and_balance(blind):
    prompts = blind.load()
    assert len(prompts) >= blind.size
    per_language = Counter(p["language"] for p in prompts)
    assert set(per_language) == H.LANGUAGES
    assert all(n >= blind.per_language for n in per_language.values()), per_language
    for language in H.LANGUAGES:
        mine = Counter(p["sensitivity"] for p in prompts if p["language"] == language)
        assert all(mine[s] >= blind.per_class for s in H.SENSITIVITIES), (language, mine)
        assert max(mine.values()) - min(mine.values()) <= 1, (language, mine)


@pytest.mark.parametrize(("blind", "prompt"), PROMPTS, ids=lambda v: _ids(v) or v["id"])
def test_labels_consistent(blind, prompt):
    H.test_labels_consistent(prompt)


@pytest.mark.parametrize("blind", SETS, ids=_ids)
def test_every_special_category_in_every_language(blind):
    prompts = blind.load()
    for language in H.LANGUAGES:
        seen = {c for p in prompts if p["language"] == language for c in p["categories"]}
        assert H.SPECIAL <= seen, (language, H.SPECIAL - seen)


@pytest.mark.parametrize(
    ("blind", "prompt"),
    [(s, p) for s, p in PROMPTS if set(p["kinds"]) & (set(H.CHECKSUMMED) | {"PHONE_NUMBER", "IP_ADDRESS"})],
    ids=lambda v: _ids(v) or v["id"],
)
def test_labelled_identifiers_are_valid(blind, prompt):
    H.test_labelled_identifiers_are_valid(prompt)


@pytest.mark.parametrize("blind", SETS, ids=_ids)
def test_look_alikes_in_clean_prompts_are_invalid(blind):
    """A clean prompt whose note names a check (IBAN, Luhn, DNI, BSN, PESEL)
    holds no value passing it; no clean prompt holds a valid IBAN or a public
    IP address (documentation and private ranges only)."""
    checked = Counter()
    for prompt in blind.load():
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
    assert sum(checked.values()) >= blind.look_alikes and set(checked) == set(H.NEGATIVE_NOTES.values()), checked


@pytest.mark.parametrize("blind", SETS, ids=_ids)
def test_clean_prompts_hold_the_hard_negatives(blind):
    clean = " ".join(p["text"].lower() for p in blind.load() if p["sensitivity"] == "none")
    for word in blind.hard_negatives:
        assert word in clean, word


@pytest.mark.parametrize("blind", SETS, ids=_ids)
def test_disjoint_from_the_tuning_and_earlier_heldout_sets(blind):
    mine = blind.load()
    for other in (H.TUNING, *(H.EVAL / name / "prompts.jsonl" for name in blind.earlier)):
        theirs = H.load(other)
        assert not {p["id"] for p in theirs} & {p["id"] for p in mine}
        assert not {p["text"] for p in theirs} & {p["text"] for p in mine}
