"""What a user of the gateway notices: which kinds of personal data are found,
whatever the language, however the identifier is written."""

import json

import pytest

from services.pii import Findings

IDENTIFYING = {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "HEALTH_TERM", "IBAN_CODE", "CREDIT_CARD", "IP_ADDRESS"}

CASES = [
    pytest.param(
        "Summarise: my patient Anna Schmidt, born 12.03.1961, has type 2 diabetes",
        {"PERSON", "HEALTH_TERM", "DATE_OF_BIRTH"}, set(), id="patient-summary",
    ),
    pytest.param("What is the capital of Portugal?", set(), IDENTIFYING, id="general-knowledge"),
    pytest.param("Please reply to anna.schmidt@example.de by Friday", {"EMAIL_ADDRESS"}, set(), id="email"),
    pytest.param("Call me on +49 30 901820 tomorrow", {"PHONE_NUMBER"}, set(), id="phone-de"),
    pytest.param("Transfer it to DE89 3704 0044 0532 0130 00", {"IBAN_CODE"}, set(), id="iban-spaced"),
    pytest.param("IBAN DE89370400440532013001", set(), {"IBAN_CODE"}, id="iban-bad-checksum"),
    pytest.param("Charge card 4111 1111 1111 1111", {"CREDIT_CARD"}, set(), id="card-luhn"),
    pytest.param("Charge card 4111 1111 1111 1112", set(), {"CREDIT_CARD"}, id="card-bad-luhn"),
    pytest.param("The login came from 81.2.69.160", {"IP_ADDRESS"}, set(), id="public-ip"),
    pytest.param("The login came from 192.168.1.10 and 203.0.113.7", set(), {"IP_ADDRESS"}, id="private-and-doc-ip"),
    pytest.param("Our HTTP health check endpoint returns 200", set(), {"HEALTH_TERM"}, id="health-check"),
    pytest.param("Frau Müller ist Mitglied der Gewerkschaft", {"PERSON", "TRADE_UNION_TERM"}, set(), id="de-union"),
    pytest.param("Meine Steuer-ID ist 86095742719", {"DE_TAX_ID"}, set(), id="de-tax-id"),
    pytest.param("Mon numéro de sécurité sociale : 2 95 10 99 126 111 93", {"FR_NIR"}, set(), id="fr-nir"),
    pytest.param("Il signor Rossi, codice fiscale RSSMRA85T10A562S", {"IT_FISCAL_CODE"}, set(), id="it-cf"),
    pytest.param("Mijn BSN is 111222333", {"NL_BSN"}, set(), id="nl-bsn"),
    pytest.param("Mój PESEL to 44051401359", {"PL_PESEL"}, set(), id="pl-pesel"),
    pytest.param("Refactor: def add(a, b): return a + b  # v1.2.3.4", set(), IDENTIFYING, id="code"),
    pytest.param("Order 12345678901 shipped; SKU 4006381333931", set(), IDENTIFYING, id="order-numbers"),
    pytest.param("My colleague is undergoing chemotherapy", {"HEALTH_TERM"}, set(), id="en-health"),
    pytest.param("La architecture des églises romanes", set(), {"RELIGIOUS_BELIEF_TERM"}, id="fr-church"),
]


@pytest.mark.parametrize(("text", "present", "absent"), CASES)
def test_entity_types(detector, text, present, absent):
    found = set(detector.detect([text]).entities)
    assert present <= found, f"missing {present - found}"
    assert not (absent & found), f"unexpected {absent & found}"


@pytest.mark.parametrize(
    "text",
    [
        "Write to \u0430nna.schmidt@example.de",  # Cyrillic а
        "IBAN DE89\u200b3704\u200b0044\u200b0532\u200b0130\u200b00",  # zero-width spaces
        "IBAN ＤＥ８９３７０４００４４０５３２０１３０００",  # full-width
        "IBAN DE89-3704-0044-0532-0130-00",
    ],
)
def test_evasion_is_undone_before_scanning(detector, text):
    assert {"EMAIL_ADDRESS", "IBAN_CODE"} & set(detector.detect([text]).entities)


@pytest.mark.parametrize(
    "text, language",
    [
        ("Please summarise the attached meeting notes for the team.", "en"),
        ("Bitte fassen Sie die beigefügten Besprechungsnotizen zusammen.", "de"),
        ("Pouvez-vous résumer les notes de la réunion pour l'équipe ?", "fr"),
        ("Puoi riassumere gli appunti della riunione per il team?", "it"),
        ("¿Puedes resumir las notas de la reunión para el equipo?", "es"),
        ("Kun je de notulen van de vergadering samenvatten voor het team?", "nl"),
        ("Czy możesz podsumować notatki ze spotkania dla zespołu?", "pl"),
    ],
)
def test_language_is_found_per_message(detector, text, language):
    assert detector.detect([text]).languages == [language]


def test_nothing_to_analyse(detector):
    assert detector.detect([]) == Findings(languages=[], entities={})
    assert detector.detect(["", "   "]).entities == {}


def test_counts_aggregate_across_texts(detector):
    findings = detector.detect([
        "Write to anna@example.org",
        "or to ben@example.org",
        "My colleague is undergoing chemotherapy",
    ])
    assert findings.entities["EMAIL_ADDRESS"].count == 2
    assert findings.entities["HEALTH_TERM"].count == 1


def test_a_resent_history_is_scanned_once(detector):
    history = [f"Turn {i}: please write to person{i}@example.org about order {i}" for i in range(10)]
    detector.detect(history)
    misses = detector.cache.misses
    findings = detector.detect(history + ["And one new question?"])
    assert detector.cache.misses == misses + 1
    assert findings.entities["EMAIL_ADDRESS"].count == 10


@pytest.mark.parametrize(
    "text",
    [
        "x" * 200_000,
        "\x00\x01\x02\ufffd" * 10_000,
        "Анна Каренина живёт в Москве. 東京 에서 Anna Schmidt",
        "\ud800 lone surrogate",
        "1 " * 100_000,
    ],
)
def test_odd_input_gives_a_clean_result(detector, text):
    findings = detector.detect([text])
    assert isinstance(findings, Findings)


SENSITIVE_PROMPT = (
    "Summarise: my patient Anna Schmidt (anna.schmidt@example.de, +49 30 901820), "
    "IBAN DE89370400440532013000, card 4111 1111 1111 1111, from 81.2.69.160, "
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
    assert list(document["entities"]) == sorted(document["entities"])
