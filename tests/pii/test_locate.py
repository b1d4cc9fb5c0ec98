"""Detector.locate(): where the personal data of given types sits, in the
offsets of the text as the client wrote it (what pseudonymisation replaces)."""

import logging

import pytest

from services.pii import DetectionError, Span
from services.pii.hits import Hit
from services.pii.spans import spans_of

ZW = "\u200b"  # zero-width space: removed before scanning, kept in the original

ALL = ("EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "PERSON")

# (text, entity types asked for, [(entity, text[start:end])] in order)
CASES = [
    pytest.param(
        "Please reply to anna.schmidt@example.de by Friday",
        ALL, [("EMAIL_ADDRESS", "anna.schmidt@example.de")], id="email",
    ),
    pytest.param(
        "Write to anna@example.org, or to ben@example.co.uk if she is away",
        ("EMAIL_ADDRESS",), [("EMAIL_ADDRESS", "anna@example.org"), ("EMAIL_ADDRESS", "ben@example.co.uk")],
        id="two-emails-in-order",
    ),
    pytest.param(
        "Call me on +49 30 901820 tomorrow", ALL, [("PHONE_NUMBER", "+49 30 901820")], id="phone",
    ),
    pytest.param(
        "Transfer it to DE89 3704 0044 0532 0130 00 today",
        ALL, [("IBAN_CODE", "DE89 3704 0044 0532 0130 00")], id="iban-spaced",
    ),
    pytest.param(
        "Please forward this to Ngozi Okafor.", ALL, [("PERSON", "Ngozi Okafor")], id="name-ner",
    ),
    pytest.param(
        "Frau Müller ruft morgen an.", ALL, [("PERSON", "Müller")], id="name-title",
    ),
    pytest.param(
        "Mail anna@example.org or call +49 30 901820",
        ("PHONE_NUMBER",), [("PHONE_NUMBER", "+49 30 901820")], id="only-types-asked-for",
    ),
    pytest.param(
        "What is the capital of Portugal?", ALL, [], id="clean",
    ),
    # Normalisation changed the text before the entity: offsets are mapped back.
    pytest.param(
        f"{ZW}{ZW}Please{ZW} reply to anna.schmidt@example.de",
        ALL, [("EMAIL_ADDRESS", "anna.schmidt@example.de")], id="zero-width-before",
    ),
    pytest.param(
        "Ticket １２３４５/ﬁnance: call +49 30 901820",
        ALL, [("PHONE_NUMBER", "+49 30 901820")], id="full-width-digits-and-ligature-before",
    ),
    pytest.param(
        "Cafe\u0301 order: write to anna.schmidt@example.de",
        ALL, [("EMAIL_ADDRESS", "anna.schmidt@example.de")], id="combining-accent-before",
    ),
    # ... and the entity itself as written, however it was disguised.
    pytest.param(
        "IBAN ＤＥ８９３７０４００４４０５３２０１３０００ please",
        ALL, [("IBAN_CODE", "ＤＥ８９３７０４００４４０５３２０１３０００")], id="full-width-iban",
    ),
    pytest.param(
        f"{ZW}IBAN DE89{ZW}3704{ZW}0044{ZW}0532{ZW}0130{ZW}00 please",
        ALL, [("IBAN_CODE", f"DE89{ZW}3704{ZW}0044{ZW}0532{ZW}0130{ZW}00")], id="zero-width-inside-iban",
    ),
    pytest.param(
        f"{ZW}Write to \u0430nna.schmidt@example.de",  # Cyrillic а
        ALL, [("EMAIL_ADDRESS", "\u0430nna.schmidt@example.de")], id="homoglyph-email",
    ),
    pytest.param(
        f"Mail{ZW} +{ZW}49 30 901820 and anna@example.org",
        ALL, [("PHONE_NUMBER", f"+{ZW}49 30 901820"), ("EMAIL_ADDRESS", "anna@example.org")],
        id="zero-width-in-phone",
    ),
]


@pytest.mark.parametrize(("text", "types", "expected"), CASES)
def test_locate(detector, text, types, expected):
    spans = detector.locate(text, types)
    assert [(s.entity, text[s.start : s.end]) for s in spans] == expected
    assert all(isinstance(s, Span) for s in spans)


def test_every_mention_of_a_name_is_located(detector):
    # Pseudonymising only the first mention would leak the name at the others.
    text = (
        "Please forward this to Ngozi Okafor. The invoice was approved on Monday by the "
        "finance team after a long discussion about budgets. Ngozi Okafor asked for a copy."
    )
    spans = detector.locate(text, ["PERSON"])
    assert [text[s.start : s.end] for s in spans] == ["Ngozi Okafor", "Ngozi Okafor"]
    assert detector.detect([text]).entities["PERSON"].count == 2


def test_spans_do_not_overlap_and_are_sorted(detector):
    text = (
        "Summarise: my patient Anna Schmidt (anna.schmidt@example.de, +49 30 901820), "
        "IBAN DE89370400440532013000, card 4111 1111 1111 1111, has type 2 diabetes."
    )
    spans = detector.locate(text, ["PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "CREDIT_CARD", "HEALTH_TERM"])
    assert {s.entity for s in spans} == {"PERSON", "EMAIL_ADDRESS", "PHONE_NUMBER", "IBAN_CODE", "CREDIT_CARD", "HEALTH_TERM"}
    for before, after in zip(spans, spans[1:]):
        assert before.end <= after.start


def test_nothing_asked_for_or_nothing_to_scan(detector):
    assert detector.locate("Mail anna@example.org", []) == []
    assert detector.locate("   ", ["EMAIL_ADDRESS"]) == []


@pytest.mark.parametrize("types", ["EMAIL_ADDRESS", [1, 2]])
def test_entity_types_must_be_a_collection_of_names(detector, types):
    # A bare string would be read as its letters and locate nothing: refuse it.
    with pytest.raises(DetectionError):
        detector.locate("Mail anna@example.org", types)


def test_offsets_that_cannot_be_mapped_back_fail_closed(detector, caplog):
    # Oriya vowel signs compose across what the offset map treats as separate
    # characters: rather than return offsets that might be wrong, refuse.
    text = "\u0b47\u0b3e Mail anna@example.org"
    with caplog.at_level(logging.DEBUG), pytest.raises(DetectionError):
        detector.locate(text, ["EMAIL_ADDRESS"])
    assert "anna" not in caplog.text


def test_locate_remembers_nothing(detector):
    entries = len(detector.cache)
    detector.locate("A new text for anna.locate@example.org", ["EMAIL_ADDRESS"])
    assert len(detector.cache) == entries


def test_too_long_a_text_fails_closed(detector):
    with pytest.raises(DetectionError):
        detector.locate("a" * 1_000_001, ["PERSON"])


def test_overlapping_hits_become_one_span_covering_both():
    # Two scanners may keep partly overlapping hits; replacing only one would
    # leave part of the other in clear.
    hits = [Hit("PERSON", 0, 10, 0.85), Hit("EMAIL_ADDRESS", 5, 20, 0.95), Hit("PHONE_NUMBER", 30, 40, 0.9)]
    assert spans_of(hits, lambda start, end: (start, end)) == [
        Span("EMAIL_ADDRESS", 0, 20),
        Span("PHONE_NUMBER", 30, 40),
    ]
