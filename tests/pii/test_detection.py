"""What a user of the gateway notices: which kinds of personal data are found."""

import json

import pytest

from services.pii import EntityFinding, Findings

IDENTIFYING = {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "HEALTH_TERM", "IBAN_CODE", "CREDIT_CARD"}

CASES = [
    pytest.param(
        "Summarise: my patient Anna Schmidt, born 12.03.1961, has type 2 diabetes",
        {"PERSON", "HEALTH_TERM"}, set(), id="patient-summary",
    ),
    pytest.param("What is the capital of Portugal?", set(), IDENTIFYING, id="general-knowledge"),
    pytest.param(
        "Please reply to anna.schmidt@example.de by Friday",
        {"EMAIL_ADDRESS"}, {"URL", "PERSON"}, id="email-not-also-url",
    ),
    pytest.param("Call me on +49 30 901820 tomorrow", {"PHONE_NUMBER"}, set(), id="phone-de"),
    pytest.param("Our London office: +44 20 7946 0958", {"PHONE_NUMBER"}, set(), id="phone-uk"),
    pytest.param("Transfer it to DE89370400440532013000", {"IBAN_CODE"}, set(), id="iban-de"),
    pytest.param("IBAN DE89370400440532013001", set(), {"IBAN_CODE"}, id="iban-bad-checksum"),
    pytest.param("Charge card 4111 1111 1111 1111", {"CREDIT_CARD"}, set(), id="card-luhn"),
    pytest.param("Charge card 4111 1111 1111 1112", set(), {"CREDIT_CARD"}, id="card-bad-luhn"),
    pytest.param("The login came from 192.168.1.10", {"IP_ADDRESS"}, set(), id="ipv4"),
    pytest.param("See https://example.com/docs", {"URL"}, {"PERSON"}, id="url-not-person"),
    pytest.param("Our HTTP health check endpoint returns 200", set(), {"HEALTH_TERM"}, id="health-check"),
    pytest.param("the cluster is healthy", set(), {"HEALTH_TERM"}, id="healthy"),
    pytest.param("Report on the health of the cluster", set(), {"HEALTH_TERM"}, id="health-of"),
    pytest.param("Buy hearing aids and visual aids in bulk", set(), {"HEALTH_TERM"}, id="aids-lowercase"),
    pytest.param("She started CHEMOTHERAPY last week", {"HEALTH_TERM"}, set(), id="case-insensitive"),
    pytest.param("He is HIV-positive", {"HEALTH_TERM"}, set(), id="hyphenated"),
    pytest.param("The asthmatics group", set(), {"HEALTH_TERM"}, id="whole-words-only"),
    pytest.param("Refactor: def add(a, b): return a + b", set(), IDENTIFYING, id="code"),
]


@pytest.mark.parametrize(("text", "present", "absent"), CASES)
def test_entity_types(detector, text, present, absent):
    found = set(detector.detect([text]).entities)
    assert present <= found, f"missing {present - found}"
    assert not (absent & found), f"unexpected {absent & found}"


def test_reports_english_as_the_language(detector):
    assert detector.detect(["Hello there"]).languages == ["en"]


def test_nothing_to_analyse(detector):
    assert detector.detect([]) == Findings(languages=[], entities={})
    assert detector.detect(["", "   "]).entities == {}


def test_counts_aggregate_across_texts(detector):
    findings = detector.detect([
        "Write to anna@example.org",
        "or to ben@example.org; he has asthma",
        "My colleague is pregnant",
    ])
    assert findings.entities["EMAIL_ADDRESS"].count == 2
    assert findings.entities["HEALTH_TERM"] == EntityFinding(count=2, max_score=0.85)


def test_multiword_term_counts_once(detector):
    assert detector.detect(["type 2 diabetes"]).entities["HEALTH_TERM"].count == 1


def test_scores_are_at_least_the_floor(detector):
    findings = detector.detect(["Anna Schmidt, +49 30 901820, anna@example.org, 10.0.0.1"])
    assert all(0.35 <= f.max_score <= 1.0 for f in findings.entities.values())


SENSITIVE_PROMPT = (
    "Summarise: my patient Anna Schmidt (anna.schmidt@example.de, +49 30 901820), "
    "IBAN DE89370400440532013000, card 4111 1111 1111 1111, from 192.168.1.10, "
    "has type 2 diabetes and lives in Berlin."
)


def test_policy_input_never_contains_input_text(detector):
    document = detector.detect([SENSITIVE_PROMPT]).to_policy_input()
    rendered = json.dumps(document)
    # No 5-character window of the prompt appears anywhere in the document
    # (shorter ones would match the JSON syntax and the entity type names).
    windows = {SENSITIVE_PROMPT[i : i + 5] for i in range(len(SENSITIVE_PROMPT) - 4)}
    assert not {w for w in windows if w in rendered}
    assert set(document) == {"languages", "entities"}
    for finding in document["entities"].values():
        assert set(finding) == {"count", "max_score"}


def test_policy_input_shape(detector):
    document = detector.detect(["Anna has asthma, write to anna@example.org"]).to_policy_input()
    assert document["languages"] == ["en"]
    assert document["entities"]["HEALTH_TERM"] == {"count": 1, "max_score": 0.85}
    assert document["entities"]["EMAIL_ADDRESS"]["count"] == 1
    assert list(document["entities"]) == sorted(document["entities"])
