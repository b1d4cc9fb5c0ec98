"""Malformed decision documents are refused with a message naming the problem."""

from __future__ import annotations

import copy

import pytest

from policy import PolicyError, PolicyOutputError
from policy.validation import validate_decision

INPUT = {"request": {}, "findings": {}, "candidates": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}
GOOD = {
    "sensitivity": "personal",
    "gdpr_categories": ["personal"],
    "plan": ["a", "b"],
    "denied": {"c": ["personal data may only go to EU-region or self-hosted endpoints; this endpoint runs in region us"]},
    "obligations": {"a": {"pseudonymise": ["EMAIL_ADDRESS"]}},
    "reasons": [],
}


def with_(**changes):
    doc = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if value is ...:
            del doc[key]
        else:
            doc[key] = value
    return doc


@pytest.mark.parametrize("categories", [["criminal"], ["criminal", "personal"], ["special:health"]])
def test_special_sensitivity_may_rest_on_any_restricted_category(categories):
    # Art. 10 criminal data is "special" by the DPO's data, not by its name.
    decision = validate_decision(with_(sensitivity="special", gdpr_categories=categories), INPUT)
    assert decision.sensitivity == "special"


def test_good_document_passes():
    decision = validate_decision(copy.deepcopy(GOOD), INPUT)
    assert decision.plan == ["a", "b"] and decision.denied["c"]


BAD = [
    ("undefined", None, "undefined"),
    ("not an object", ["a"], "must be an object"),
    ("missing plan", with_(plan=...), "missing plan"),
    ("unknown sensitivity", with_(sensitivity="secret"), "sensitivity must be one of"),
    ("categories not strings", with_(gdpr_categories=[1]), "gdpr_categories must be an array of strings"),
    ("sensitivity contradicts categories", with_(sensitivity="none"), "does not match"),
    ("special without special category", with_(sensitivity="special"), "does not match"),
    ("special: category but personal", with_(gdpr_categories=["personal", "special:health"]), "does not match"),
    ("categories but none", with_(sensitivity="none", gdpr_categories=["criminal"]), "does not match"),
    ("plan not a list", with_(plan="a"), "plan must be an array"),
    ("duplicate in plan", with_(plan=["a", "a", "b"]), "more than once"),
    ("plan names stranger", with_(plan=["a", "b", "zzz"]), "not candidates: zzz"),
    ("denied not object", with_(denied=["c"]), "denied must be an object"),
    ("denied names stranger", with_(denied={"c": ["x"], "zzz": ["x"]}), "'zzz', which was not a candidate"),
    ("denied without reasons", with_(denied={"c": []}), "non-empty array"),
    ("denied blank reason", with_(denied={"c": ["  "]}), "non-empty array"),
    ("denied reason not string", with_(denied={"c": [3]}), "non-empty array"),
    ("planned and denied", with_(denied={"a": ["x"], "c": ["x"]}), "both planned and denied: a"),
    ("candidate unaccounted", with_(denied={}), "neither planned nor denied: c"),
    ("obligations not object", with_(obligations=[]), "obligations must be an object"),
    ("obligation for denied endpoint", with_(obligations={"c": {}}), "'c', which is not in the plan"),
    ("obligation not object", with_(obligations={"a": ["pseudonymise"]}), "obligations for 'a' must be an object"),
    ("obligation the gateway cannot fulfil", with_(obligations={"a": {"encrypt": ["EMAIL_ADDRESS"]}}),
     "'encrypt' for 'a' is not one the gateway can fulfil"),
    ("pseudonymise without entity list", with_(obligations={"a": {"pseudonymise": "EMAIL_ADDRESS"}}), "must be an array"),
    ("pseudonymise nothing", with_(obligations={"a": {"pseudonymise": []}}), "names no entity types"),
    ("reasons not strings", with_(reasons=[None]), "reasons must be an array of strings"),
]


@pytest.mark.parametrize(("document", "message"), [(d, m) for _, d, m in BAD], ids=[n for n, _, _ in BAD])
def test_bad_document_is_refused(document, message):
    with pytest.raises(PolicyOutputError, match=message.replace("(", r"\(")):
        validate_decision(document, INPUT)


@pytest.mark.parametrize(
    ("policy_input", "message"),
    [
        ({"candidates": None}, "no candidates list"),
        ({"candidates": [{"id": "a"}, {"id": "a"}]}, "more than once: a"),
        ({"candidates": [{"name": "a"}]}, "#0 has no string id"),
    ],
)
def test_uncheckable_input_is_refused(policy_input, message):
    with pytest.raises(PolicyError, match=message):
        validate_decision(copy.deepcopy(GOOD), policy_input)
