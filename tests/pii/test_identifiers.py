"""IdentifierScanner: checksum-validated identifiers, their scores, odd input."""

from __future__ import annotations

import random

import pytest

from services.pii.hits import Hit
from services.pii.identifiers import IdentifierScanner


@pytest.fixture(scope="module")
def scanner() -> IdentifierScanner:
    return IdentifierScanner.load()


def entities(scanner: IdentifierScanner, text: str, language: str = "und") -> set[str]:
    return {hit.entity for hit in scanner.scan(text, language)}


# Valid numbers come from python-stdnum's own doctests.
FOUND = [
    ("IBAN DE89 3704 0044 0532 0130 00", "IBAN_CODE"),
    ("iban: DE89370400440532013000.", "IBAN_CODE"),
    ("IBAN DE89-3704-0044-0532-0130-00 EUR 5", "IBAN_CODE"),
    ("NL91 ABNA 0417 1643 00", "IBAN_CODE"),
    ("write to jan.kowalski@example.com please", "EMAIL_ADDRESS"),
    ("pay with 4111 1111 1111 1111 today", "CREDIT_CARD"),
    ("amex 3782-822463-10005", "CREDIT_CARD"),
    ("server at 8.8.8.8 answered", "IP_ADDRESS"),
    ("resolver 2001:4860:4860::8888", "IP_ADDRESS"),
    ("VAT DE 136695976", "EU_VAT_ID"),
    ("Partita IVA IT00743110157", "EU_VAT_ID"),
    ("Steuer-ID 36 574 261 809", "DE_TAX_ID"),
    ("NIR 2 95 10 99 126 111 93", "FR_NIR"),
    ("codice fiscale RCCMNL83S18D969H", "IT_FISCAL_CODE"),
    ("DNI 54362315-K", "ES_DNI"),
    ("NIE x-2482300w", "ES_NIE"),
    ("BSN 1112.22.333", "NL_BSN"),
    ("BSN 111222333", "NL_BSN"),
    ("PESEL 44051401359", "PL_PESEL"),
    ("personnummer 880320-0016", "SE_PERSONNUMMER"),
    ("HETU 131052-308T", "FI_HETU"),
    ("rijksregisternummer 85.07.30-033 28", "BE_NATIONAL_NUMBER"),
    ("numéro national 98.47.28-997.65", "BE_NATIONAL_NUMBER"),
    ("SVNR 1237 010180", "AT_SOCIAL_SECURITY"),
    ("CC 00000000 0 ZZ4", "PT_CC"),
    ("CNP 1630615123457", "RO_CNP"),
    ("EGN 752316 926 3", "BG_EGN"),
    ("rodné číslo 710319/2745", "CZ_SK_BIRTH_NUMBER"),
    ("CPR 211062-5629", "DK_CPR"),
    ("isikukood 36805280109", "EE_ISIKUKOOD"),
    ("asmens kodas 33309240064", "LT_ASMENS_KODAS"),
    ("personas kods 161175-19997", "LV_PERSONAS_KODS"),
    ("OIB 33392005961", "HR_OIB"),
    ("EMSO 0101006500006", "SI_EMSO"),
    ("PPS 6433435F", "IE_PPS"),
    ("AMKA 01013099997", "GR_AMKA"),
    ("born on 12.03.1985", "DATE_OF_BIRTH"),
    ("DOB: 1985-03-12", "DATE_OF_BIRTH"),
    ("Date of birth: March 5, 1980", "DATE_OF_BIRTH"),
    ("geb. 12.03.1985", "DATE_OF_BIRTH"),
    ("née le 5 mars 1980", "DATE_OF_BIRTH"),
    ("nata il 5 marzo 1980", "DATE_OF_BIRTH"),
    ("nacido el 5 de marzo de 1980", "DATE_OF_BIRTH"),
    ("geboren op 05-03-1980", "DATE_OF_BIRTH"),
    ("urodzona 5 marca 1980", "DATE_OF_BIRTH"),
    ("ich wohne Hauptstraße 5 in Berlin", "POSTAL_ADDRESS"),
    ("Berliner Straße 12a", "POSTAL_ADDRESS"),
    ("au 12 rue de la Paix", "POSTAL_ADDRESS"),
    ("in Via Roma 10", "POSTAL_ADDRESS"),
    ("en Calle Mayor 3", "POSTAL_ADDRESS"),
    ("op Kerkstraat 12", "POSTAL_ADDRESS"),
    ("ul. Marszałkowska 1", "POSTAL_ADDRESS"),
    ("at 221 Baker Street", "POSTAL_ADDRESS"),
]


@pytest.mark.parametrize(("text", "entity"), FOUND)
def test_finds_valid_identifiers(scanner: IdentifierScanner, text: str, entity: str) -> None:
    assert entity in entities(scanner, text)


PHONES = [
    ("Tel +49 30 1234567", "und"),
    ("call 0049 30 1234567", "und"),
    ("+44 20 7946 0958", "en"),
    ("Telefon 030 1234567", "de"),
    ("Telefon 030/1234567", "de"),
    ("tél. 06 12 34 56 78", "fr"),
    ("cellulare 312 345 6789", "it"),
    ("móvil 612 345 678", "es"),
    ("bel 020 123 4567", "nl"),
    ("telefon 512 345 678", "pl"),
    ("phone 020 7946 0958", "en"),
]


@pytest.mark.parametrize(("text", "language"), PHONES)
def test_finds_phone_numbers(scanner: IdentifierScanner, text: str, language: str) -> None:
    assert "PHONE_NUMBER" in entities(scanner, text, language)


ABSENT = [
    ("IBAN DE88 3704 0044 0532 0130 00", "IBAN_CODE"),  # wrong check digits
    ("card 4111 1111 1111 1112", "CREDIT_CARD"),  # fails Luhn
    ("card 1234 5678 9012 3452", "CREDIT_CARD"),  # Luhn-valid, no such network
    ("Order 12345678901", "DE_TAX_ID"),
    ("Order 12345678901", "PL_PESEL"),
    ("version v1.2.3.4", "IP_ADDRESS"),
    ("host 10.0.0.1", "IP_ADDRESS"),
    ("host 192.168.1.20", "IP_ADDRESS"),
    ("docs use 192.0.2.1", "IP_ADDRESS"),
    ("docs use 198.51.100.7", "IP_ADDRESS"),
    ("docs use 203.0.113.9", "IP_ADDRESS"),
    ("docs use 2001:db8::1", "IP_ADDRESS"),
    ("Steuer-ID 36 574 261 890", "DE_TAX_ID"),
    ("NIR 2 95 10 99 126 111 94", "FR_NIR"),
    ("codice fiscale RCCMNL83S18D969X", "IT_FISCAL_CODE"),
    ("DNI 54362315-Z", "ES_DNI"),
    ("NIE x-2482300a", "ES_NIE"),
    ("BSN 1112.52.333", "NL_BSN"),
    ("PESEL 44051401358", "PL_PESEL"),
    ("personnummer 880320-0018", "SE_PERSONNUMMER"),
    ("HETU 131052-308U", "FI_HETU"),
    ("rijksregisternummer 85.07.30-033 29", "BE_NATIONAL_NUMBER"),
    ("SVNR 2237 010180", "AT_SOCIAL_SECURITY"),
    ("CC 00000000 0 ZZ3", "PT_CC"),
    ("CNP 1630615123458", "RO_CNP"),
    ("rodné číslo 710319/2746", "CZ_SK_BIRTH_NUMBER"),
    ("asmens kodas 33309240164", "LT_ASMENS_KODAS"),
    ("personas kods 161375-19997", "LV_PERSONAS_KODS"),
    ("PPS 6433435E", "IE_PPS"),
    ("AMKA 01013099999", "GR_AMKA"),
    ("mail jan@example.invalidtld", "EMAIL_ADDRESS"),
    ("the meeting on 12.03.1985 went well", "DATE_OF_BIRTH"),
    ("born on 31.02.1985", "DATE_OF_BIRTH"),
    ("Telefon 1234567", "PHONE_NUMBER"),
    ("the year 2024 had 365 days", "PHONE_NUMBER"),
]


@pytest.mark.parametrize(("text", "entity"), ABSENT)
def test_ignores_invalid_lookalikes(scanner: IdentifierScanner, text: str, entity: str) -> None:
    assert entity not in entities(scanner, text, "de")


def test_order_number_is_nothing(scanner: IdentifierScanner) -> None:
    assert scanner.scan("Order 12345678901 shipped", "en") == []


@pytest.mark.parametrize(
    ("text", "entity", "score"),
    [
        ("44051401359", "PL_PESEL", 0.6),
        ("PESEL 44051401359", "PL_PESEL", 0.9),
        ("44051401359 (PESEL)", "PL_PESEL", 0.9),
        ("111222333", "NL_BSN", 0.6),
        ("mijn burgerservicenummer is 111222333", "NL_BSN", 0.9),
        ("36574261809", "DE_TAX_ID", 0.6),
        ("IdNr. 36574261809", "DE_TAX_ID", 0.9),
        ("211062-5629", "DK_CPR", 0.3),  # a date, no checksum: counts only in context
        ("CPR-nummer 211062-5629", "DK_CPR", 0.85),
        ("RCCMNL83S18D969H", "IT_FISCAL_CODE", 0.95),
        ("DE89 3704 0044 0532 0130 00", "IBAN_CODE", 0.95),
        ("jan@example.com", "EMAIL_ADDRESS", 0.95),
    ],
)
def test_context_words_raise_the_score(
    scanner: IdentifierScanner, text: str, entity: str, score: float
) -> None:
    scores = {h.entity: h.score for h in scanner.scan(text, "und")}
    assert scores[entity] == pytest.approx(score)


def test_context_far_away_does_not_count(scanner: IdentifierScanner) -> None:
    text = "PESEL" + " filler" * 20 + " 44051401359"
    (hit,) = [h for h in scanner.scan(text, "pl") if h.entity == "PL_PESEL"]
    assert hit.score == pytest.approx(0.6)


def test_national_phone_needs_the_matching_language(scanner: IdentifierScanner) -> None:
    assert "PHONE_NUMBER" in entities(scanner, "Telefon 030 1234567", "de")
    assert "PHONE_NUMBER" not in entities(scanner, "Telefon 030 1234567", "und")


def test_phone_scores(scanner: IdentifierScanner) -> None:
    assert [h.score for h in scanner.scan("+49 30 1234567", "und")] == [0.85]
    assert [h.score for h in scanner.scan("030 1234567", "de")] == [0.6]
    assert [h.score for h in scanner.scan("Tel. 030 1234567", "de")] == [0.9]


def test_spans_point_at_the_identifier(scanner: IdentifierScanner) -> None:
    text = "Meine IBAN: DE89 3704 0044 0532 0130 00, danke."
    (hit,) = scanner.scan(text, "de")
    assert hit == Hit("IBAN_CODE", 12, 39, 1.0)
    assert text[hit.start : hit.end] == "DE89 3704 0044 0532 0130 00"


def test_date_of_birth_span_is_the_date(scanner: IdentifierScanner) -> None:
    text = "Patient geboren am 12.03.1985 in Köln"
    (hit,) = [h for h in scanner.scan(text, "de") if h.entity == "DATE_OF_BIRTH"]
    assert text[hit.start : hit.end] == "12.03.1985"


def test_iban_is_not_also_reported_as_its_parts(scanner: IdentifierScanner) -> None:
    hits = scanner.scan("DE89 3704 0044 0532 0130 00", "de")
    assert [h.entity for h in hits] == ["IBAN_CODE"]


@pytest.mark.parametrize(
    "text",
    [
        # A Luhn-valid 16-digit run and phone-like groups inside IBANs whose checksum fails.
        "Unser Prüfprogramm meldet für DE45 5001 0517 5407 3249 31 'Prüfziffer falsch'.",
        "La fórmula de módulo 97 rechaza el ES46 0049 4931 7400 7290 0911 del ejemplo.",
        "Test IBAN GB00 0044 2079 4609 58 fails validation, why?",
    ],
)
def test_digits_of_a_wrong_iban_are_nothing_else(scanner: IdentifierScanner, text: str) -> None:
    assert [(h.entity, text[h.start : h.end]) for h in scanner.scan(text, "und")] == []


def test_a_wrong_iban_does_not_hide_what_follows_it(scanner: IdentifierScanner) -> None:
    text = "IBAN DE45 5001 0517 5407 3249 31, Telefon +49 151 23456789"
    assert [(h.entity, text[h.start : h.end]) for h in scanner.scan(text, "de")] == [
        ("PHONE_NUMBER", "+49 151 23456789")
    ]


def test_finds_several_in_one_text(scanner: IdentifierScanner) -> None:
    text = (
        "Hallo, ich bin Jan (jan@example.com, Tel. 030 1234567). IBAN DE89 3704 0044 0532 "
        "0130 00, Steuer-ID 36 574 261 809, geboren am 12.03.1985, Hauptstraße 5, Berlin."
    )
    assert entities(scanner, text, "de") >= {
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "IBAN_CODE",
        "DE_TAX_ID",
        "DATE_OF_BIRTH",
        "POSTAL_ADDRESS",
    }


@pytest.mark.parametrize("language", ["en", "de", "fr", "it", "es", "nl", "pl", "und", "xx"])
def test_any_language_works(scanner: IdentifierScanner, language: str) -> None:
    assert "IBAN_CODE" in entities(scanner, "DE89 3704 0044 0532 0130 00", language)


ODD_INPUTS = [
    "",
    " ",
    "\x00\x01\x02",
    "١٢٣٤٥٦٧٨٩٠١",  # Arabic-Indic digits
    "４４０５１４０１３５９",  # full-width digits
    "Ωмир漢字🙂 44051401359 مرحبا",
    "@" * 5000,
    "1." * 5000,
    ":" * 5000,
    "+" * 5000,
    "-" * 5000 + "1",
    "a" * 10000 + "@" + "b" * 10000 + ".com",
    bytes(range(256)).decode("latin-1") * 20,
]


@pytest.mark.parametrize("text", ODD_INPUTS)
def test_odd_input_never_crashes(scanner: IdentifierScanner, text: str) -> None:
    hits = scanner.scan(text, "de")
    assert all(0 <= h.start < h.end <= len(text) for h in hits)


def test_random_junk_never_crashes(scanner: IdentifierScanner) -> None:
    rng = random.Random(7)
    junk = bytes(rng.randrange(256) for _ in range(200_000)).decode("utf-8", errors="replace")
    scanner.scan(junk, "und")


@pytest.mark.parametrize(
    "text",
    [
        "x" * 1_000_000,
        "7" * 1_000_000,
        "12 " * 333_333,
        ("Hallo, IBAN DE89 3704 0044 0532 0130 00, Tel. 030 1234567, order 12345678901. " * 13000)[
            :1_000_000
        ],
    ],
    ids=["letters", "digits", "spaced-digits", "prose"],
)
def test_one_megabyte_finishes(scanner: IdentifierScanner, text: str) -> None:
    # No clock here (speed is bench/pii_detection.py's business): a pattern
    # that backtracks without end is caught by the suite's pytest timeout.
    assert all(0 <= h.start < h.end <= len(text) for h in scanner.scan(text, "de"))


def test_loading_twice_gives_independent_scanners() -> None:
    first, second = IdentifierScanner.load(), IdentifierScanner.load()
    assert first is not second
    assert first.scan("PESEL 44051401359", "pl") == second.scan("PESEL 44051401359", "pl")


def test_digit_led_rules_find_what_a_full_scan_finds() -> None:
    """Rules marked starts_with_digit are tried only where a digit run starts;
    on every labelled prompt that must give exactly the matches finditer
    over the whole text gives (a mis-marked rule would lose some)."""
    import json
    from pathlib import Path

    from services.pii.identifiers.scanner import _DIGIT_START, _matches_at

    root = Path(__file__).resolve().parents[2] / "eval" / "pii"
    texts = [json.loads(line)["text"] for path in sorted(root.glob("**/prompts.jsonl")) for line in path.open()]
    texts += [
        "IBAN DE89 3704 0044 0532 0130 00, Tel. +49 151 23456789, 10.0.0.1, 123-45-6789, x1234567 9ABC",
        "Rückruf unter (030) 1234567; Karte 4111-1111-1111-1111; DNI 12.345.678-Z; AT 1234 010180",
    ]
    groups = [g for g in IdentifierScanner.load()._groups if g.digit_led]
    assert len(groups) >= 20
    for text in texts:
        starts = [m.start() for m in _DIGIT_START.finditer(text)]
        for group in groups:
            assert [m.span() for m in _matches_at(group.regex, text, starts)] == [
                m.span() for m in group.regex.finditer(text)
            ], (group.regex.pattern[:60], text[:80])
