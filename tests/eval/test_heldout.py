"""The held-out evaluation set (eval/pii/heldout/prompts.jsonl) is well formed:
same schema and labelling rules as the tuning set, all seven languages, a
third clean / personal / special, every special category present, every
identifier labelled as such really valid (python-stdnum, phonenumbers) and
every look-alike in a clean prompt really invalid. It must stay disjoint from
the tuning set (eval/pii/prompts.jsonl)."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import re
from collections import Counter
from pathlib import Path

import phonenumbers
import pytest
from stdnum import iban

EVAL = Path(__file__).resolve().parents[2] / "eval" / "pii"
HELDOUT = EVAL / "heldout" / "prompts.jsonl"
TUNING = EVAL / "prompts.jsonl"
# The labels' vocabulary and the token runs identifiers are looked for in are
# the tuning set's (tests/eval/test_prompts.py): one labelling scheme for every set.
_spec = importlib.util.spec_from_file_location("_tuning_checks", Path(__file__).with_name("test_prompts.py"))
_tuning = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_tuning)
LANGUAGES, SENSITIVITIES, SPECIAL, CATEGORIES, KINDS = (
    _tuning.LANGUAGES, _tuning.SENSITIVITIES, _tuning.SPECIAL, _tuning.CATEGORIES, _tuning.KINDS
)
CHECKSUMMED = _tuning.CHECKSUMMED
candidates = _tuning.candidates
REGION = {"en": "GB", "de": "DE", "fr": "FR", "it": "IT", "es": "ES", "nl": "NL", "pl": "PL"}
FIELDS = {"id", "language", "text", "sensitivity", "categories", "kinds"}
# Words in a clean prompt's note naming the check its look-alike identifier fails.
NEGATIVE_NOTES = {"iban": "IBAN_CODE", "luhn": "CREDIT_CARD", "dni": "ES_DNI", "bsn": "NL_BSN", "pesel": "PL_PESEL"}
IP_TOKEN = re.compile(r"[0-9A-Fa-f:.]*[:.][0-9A-Fa-f:.]+(?:/\d+)?")


def load(path: Path = HELDOUT) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def valid_phone(text: str, language: str) -> bool:
    for c in candidates(text):
        if not re.fullmatch(r"\+?[\d]{6,15}", c):
            continue
        try:
            number = phonenumbers.parse(c, REGION[language])
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return True
    return False


def ip_addresses(text: str):
    for token in IP_TOKEN.findall(text):
        try:
            yield ipaddress.ip_network(token.rstrip(".:"), strict=False)
        except ValueError:
            continue


def test_schema():
    prompts = load()
    for p in prompts:
        assert FIELDS <= set(p) <= FIELDS | {"note"}, p["id"]
        assert isinstance(p["text"], str) and p["text"].strip()
        assert isinstance(p["categories"], list) and isinstance(p["kinds"], list)
        assert isinstance(p.get("note", ""), str)
    ids = [p["id"] for p in prompts]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(rf"{p['language']}-h\d{{3}}", p["id"]) for p in prompts)


def test_size_languages_and_balance():
    prompts = load()
    assert len(prompts) >= 160
    per_language = Counter(p["language"] for p in prompts)
    assert set(per_language) == LANGUAGES
    mean = len(prompts) / len(LANGUAGES)
    assert all(abs(n - mean) <= 0.15 * mean for n in per_language.values()), per_language
    counts = Counter(p["sensitivity"] for p in prompts)
    assert all(0.28 <= counts[s] / len(prompts) <= 0.40 for s in SENSITIVITIES), counts
    for language in LANGUAGES:
        mine = Counter(p["sensitivity"] for p in prompts if p["language"] == language)
        assert all(0.25 <= mine[s] / per_language[language] <= 0.42 for s in SENSITIVITIES), (language, mine)


@pytest.mark.parametrize("prompt", load(), ids=lambda p: p["id"])
def test_labels_consistent(prompt):
    assert prompt["sensitivity"] in SENSITIVITIES
    categories, kinds = set(prompt["categories"]), set(prompt["kinds"])
    assert categories <= CATEGORIES and kinds <= KINDS
    assert len(categories) == len(prompt["categories"]) and len(kinds) == len(prompt["kinds"])
    if prompt["sensitivity"] == "none":
        assert not categories and not kinds
    elif prompt["sensitivity"] == "personal":
        assert categories == {"personal"} and kinds
    else:
        assert categories & SPECIAL and "personal" in categories and kinds


def test_every_special_category_in_every_language():
    prompts = load()
    for language in LANGUAGES:
        seen = {c for p in prompts if p["language"] == language for c in p["categories"]}
        assert SPECIAL <= seen, (language, SPECIAL - seen)


@pytest.mark.parametrize(
    "prompt", [p for p in load() if set(p["kinds"]) & (set(CHECKSUMMED) | {"PHONE_NUMBER", "IP_ADDRESS"})],
    ids=lambda p: p["id"],
)
def test_labelled_identifiers_are_valid(prompt):
    found = list(candidates(prompt["text"]))
    for kind in set(prompt["kinds"]) & set(CHECKSUMMED):
        assert any(CHECKSUMMED[kind](c) for c in found), f"no valid {kind} in {prompt['id']}"
    if "PHONE_NUMBER" in prompt["kinds"]:
        assert valid_phone(prompt["text"], prompt["language"]), f"no valid phone number in {prompt['id']}"
    if "IP_ADDRESS" in prompt["kinds"]:
        assert any(net.is_global for net in ip_addresses(prompt["text"])), f"no public IP in {prompt['id']}"


def test_look_alikes_in_clean_prompts_are_invalid():
    """A clean prompt whose note names a check (IBAN, Luhn, DNI, BSN, PESEL)
    holds no value passing it; no clean prompt holds a valid IBAN or a public
    IP address (documentation and private ranges only)."""
    checked = 0
    for prompt in load():
        if prompt["sensitivity"] != "none":
            continue
        found = list(candidates(prompt["text"]))
        assert not any(iban.is_valid(c) for c in found), prompt["id"]
        assert not any(net.is_global for net in ip_addresses(prompt["text"])), prompt["id"]
        note = prompt.get("note", "").lower()
        for word, kind in NEGATIVE_NOTES.items():
            if word in note:
                assert not [c for c in found if CHECKSUMMED[kind](c)], f"{prompt['id']}: a {kind}-valid value"
                checked += 1
    assert checked >= 8


def test_clean_prompts_hold_the_hard_negatives():
    clean = " ".join(p["text"].lower() for p in load() if p["sensitivity"] == "none")
    for word in ("health check", "union", "race condition", "party size", "diagnostic", "192.0.2.", "198.51.100.", "2001:db8:"):
        assert word in clean, word


def test_disjoint_from_the_tuning_set():
    tuning = load(TUNING)
    heldout = load()
    assert not {p["id"] for p in tuning} & {p["id"] for p in heldout}
    assert not {p["text"] for p in tuning} & {p["text"] for p in heldout}
