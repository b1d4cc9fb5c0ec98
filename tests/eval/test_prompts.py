"""The hand-labelled evaluation set (eval/pii/prompts.jsonl) is well formed and
its labels are consistent; identifiers labelled as such really are valid."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from stdnum import iban, luhn
from stdnum.at import vnr
from stdnum.be import nn
from stdnum.de import idnr
from stdnum.es import dni, nie
from stdnum.eu import vat
from stdnum.fi import hetu
from stdnum.fr import nir
from stdnum.it import codicefiscale
from stdnum.nl import bsn
from stdnum.pl import pesel
from stdnum.pt import cc
from stdnum.ro import cnp
from stdnum.se import personnummer

PROMPTS = Path(__file__).resolve().parents[2] / "eval" / "pii" / "prompts.jsonl"
LANGUAGES = {"en", "de", "fr", "it", "es", "nl", "pl"}
SENSITIVITIES = {"none", "personal", "special"}
SPECIAL = {
    "special:health", "special:genetic", "special:biometric", "special:racial_or_ethnic_origin",
    "special:political_opinions", "special:religious_beliefs", "special:trade_union",
    "special:sex_life", "criminal",
}
CATEGORIES = SPECIAL | {"personal"}
KINDS = {
    "PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "CREDIT_CARD", "IP_ADDRESS",
    "DATE_OF_BIRTH", "POSTAL_ADDRESS", "EU_VAT_ID", "DE_TAX_ID", "FR_NIR", "IT_FISCAL_CODE",
    "ES_DNI", "ES_NIE", "NL_BSN", "PL_PESEL", "SE_PERSONNUMMER", "FI_HETU",
    "BE_NATIONAL_NUMBER", "AT_SOCIAL_SECURITY", "PT_CC", "RO_CNP",
}
# Kind -> stdnum validator for identifiers whose checksum we can verify.
CHECKSUMMED = {
    "DE_TAX_ID": idnr.is_valid, "FR_NIR": nir.is_valid, "IT_FISCAL_CODE": codicefiscale.is_valid,
    "ES_DNI": dni.is_valid, "ES_NIE": nie.is_valid, "NL_BSN": bsn.is_valid, "PL_PESEL": pesel.is_valid,
    "SE_PERSONNUMMER": personnummer.is_valid, "FI_HETU": hetu.is_valid, "BE_NATIONAL_NUMBER": nn.is_valid,
    "AT_SOCIAL_SECURITY": vnr.is_valid, "PT_CC": cc.is_valid, "RO_CNP": cnp.is_valid,
    "EU_VAT_ID": vat.is_valid, "IBAN_CODE": iban.is_valid,
    "CREDIT_CARD": lambda s: s.isdigit() and 13 <= len(s) <= 19 and luhn.is_valid(s),
}
INVISIBLE = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad]")


def load() -> list[dict]:
    with PROMPTS.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def candidates(text: str):
    """Every run of 1-9 consecutive tokens, separators squeezed out: the
    identifier is somewhere among them however it was spaced."""
    tokens = [t.strip(".,;:()\"'«»„“”") for t in INVISIBLE.sub("", text).split()]
    for i in range(len(tokens)):
        for j in range(i + 1, min(len(tokens), i + 9) + 1):
            joined = "".join(tokens[i:j])
            yield joined
            yield re.sub(r"[.\-/ ]", "", joined)


def test_size_and_languages():
    prompts = load()
    assert len(prompts) >= 300
    per_language = Counter(p["language"] for p in prompts)
    assert set(per_language) == LANGUAGES
    assert all(n >= 35 for n in per_language.values()), per_language


def test_ids_unique_and_prefixed():
    prompts = load()
    ids = [p["id"] for p in prompts]
    assert len(ids) == len(set(ids))
    assert all(p["id"].startswith(p["language"] + "-") for p in prompts)


def test_roughly_a_third_each():
    counts = Counter(p["sensitivity"] for p in load())
    total = sum(counts.values())
    assert all(0.25 <= counts[s] / total <= 0.42 for s in SENSITIVITIES), counts


@pytest.mark.parametrize("prompt", load(), ids=lambda p: p["id"])
def test_labels_consistent(prompt):
    assert prompt["sensitivity"] in SENSITIVITIES
    assert prompt["text"].strip()
    categories, kinds = set(prompt["categories"]), set(prompt["kinds"])
    assert categories <= CATEGORIES and kinds <= KINDS
    assert len(categories) == len(prompt["categories"]) and len(kinds) == len(prompt["kinds"])
    if prompt["sensitivity"] == "none":
        assert not categories and not kinds
    elif prompt["sensitivity"] == "personal":
        assert categories == {"personal"} and kinds
    else:
        assert categories & SPECIAL and "personal" in categories and kinds


@pytest.mark.parametrize(
    "prompt", [p for p in load() if set(p["kinds"]) & set(CHECKSUMMED)], ids=lambda p: p["id"]
)
def test_labelled_identifiers_pass_their_checksum(prompt):
    found = list(candidates(prompt["text"]))
    for kind in set(prompt["kinds"]) & set(CHECKSUMMED):
        assert any(CHECKSUMMED[kind](c) for c in found), f"no valid {kind} in {prompt['id']}"


def test_hard_negatives_really_fail_their_checksum():
    """Clean prompts built around a look-alike identifier (the note says which
    check it fails): no token run in the prompt passes that kind's check."""
    named = {"iban": "IBAN_CODE", "luhn": "CREDIT_CARD", "dni": "ES_DNI", "bsn": "NL_BSN", "pesel": "PL_PESEL"}
    checked = 0
    for prompt in load():
        note = prompt.get("note", "").lower()
        if prompt["sensitivity"] != "none":
            continue
        for word, kind in named.items():
            if word in note:
                bad = [c for c in candidates(prompt["text"]) if CHECKSUMMED[kind](c)]
                assert not bad, f"{prompt['id']}: a {kind}-valid value in a clean prompt"
                checked += 1
    assert checked >= 14


def test_every_special_category_in_every_language():
    prompts = load()
    for language in LANGUAGES:
        seen = {c for p in prompts if p["language"] == language for c in p["categories"]}
        assert SPECIAL <= seen, (language, SPECIAL - seen)
