"""Any failure during detection surfaces as DetectionError, without the text."""

import traceback

import pytest

from services.pii import DetectionError, Detector

SECRET = "Anna Schmidt has HIV, anna@example.org"


class ExplodingAnalyzer:
    """Stands in for Presidio's AnalyzerEngine and fails the way libraries do:
    with the offending input in the message."""

    def analyze(self, text, language, score_threshold):
        raise ValueError(f"cannot tokenise {text!r}")


def exploding_detector() -> Detector:
    return Detector(ExplodingAnalyzer(), ["en"], 0.35, frozenset())


def test_analysis_failure_becomes_detection_error():
    with pytest.raises(DetectionError, match="ValueError") as caught:
        exploding_detector().detect([SECRET])
    assert "Anna" not in str(caught.value)
    # What a logger would print (`logger.exception`) must not quote it either.
    printed = "".join(traceback.format_exception(caught.value))
    assert "Anna" not in printed and "anna@" not in printed


def test_failure_is_logged_without_the_text(caplog):
    with pytest.raises(DetectionError):
        exploding_detector().detect([SECRET])
    assert "detection failed" in caplog.text
    assert "Anna" not in caplog.text


@pytest.mark.parametrize("bad", [None, "a bare string", ["ok", 42], [{"type": "text"}]])
def test_wrong_input_type_fails_closed(detector, bad):
    with pytest.raises(DetectionError):
        detector.detect(bad)
