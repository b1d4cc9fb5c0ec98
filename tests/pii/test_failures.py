"""Any failure during detection surfaces as DetectionError, without the text."""

import traceback

import pytest

from services.pii import DetectionConfig, DetectionError, Detector
from services.pii.language import LanguageIdentifier
from services.pii.normalise import Normaliser

SECRET = "Anna Schmidt has HIV, anna@example.org"


class ExplodingScanner:
    """Fails the way libraries do: with the offending input in the message."""

    def scan(self, text, language):
        raise ValueError(f"cannot tokenise {text!r}")


@pytest.fixture(scope="module")
def exploding_detector() -> Detector:
    return Detector(Normaliser.load(), LanguageIdentifier.load(), [ExplodingScanner()], DetectionConfig.load())


def test_scanner_failure_becomes_detection_error(exploding_detector):
    with pytest.raises(DetectionError, match="ValueError") as caught:
        exploding_detector.detect([SECRET])
    assert "Anna" not in str(caught.value)
    # What a logger would print (`logger.exception`) must not quote it either.
    printed = "".join(traceback.format_exception(caught.value))
    assert "Anna" not in printed and "anna@" not in printed


def test_failure_is_logged_without_the_text(exploding_detector, caplog):
    with pytest.raises(DetectionError):
        exploding_detector.detect([SECRET])
    assert "detection failed" in caplog.text
    assert "Anna" not in caplog.text


def test_a_message_over_the_limit_fails_closed():
    config = DetectionConfig(min_score=0.35, cache_entries=16, max_message_chars=100)
    detector = Detector(Normaliser.load(), LanguageIdentifier.load(), [], config)
    with pytest.raises(DetectionError, match="exceeds the detector's limit of 100"):
        detector.detect(["x" * 101])


@pytest.mark.parametrize("bad", [None, "a bare string", ["ok", 42], [{"type": "text"}]])
def test_wrong_input_type_fails_closed(detector, bad):
    with pytest.raises(DetectionError):
        detector.detect(bad)


def test_a_validator_that_raises_fails_detection_instead_of_missing_the_identifier():
    """A bug in one validator must not make every IBAN (say) pass unseen."""
    import dataclasses

    from services.pii.identifiers.scanner import IdentifierScanner

    scanner = IdentifierScanner.load()

    def broken(candidate, language):
        raise TypeError(f"bug while reading {candidate!r}")

    scanner._groups = tuple(
        dataclasses.replace(g, rules=tuple(dataclasses.replace(r, validator=broken) for r in g.rules))
        for g in scanner._groups
    )
    detector = Detector(Normaliser.load(), LanguageIdentifier.load(), [scanner], DetectionConfig.load())
    with pytest.raises(DetectionError, match="TypeError") as caught:
        detector.detect(["Please refund DE89 3704 0044 0532 0130 00"])
    assert "DE89" not in str(caught.value)
