import pytest
from presidio_analyzer import RecognizerResult

from services.pii.overlaps import drop_contained

NER = "SpacyRecognizer"


def result(entity, start, end, score, recognizer):
    return RecognizerResult(
        entity, start, end, score,
        recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: recognizer},
    )


@pytest.mark.parametrize(
    ("results", "kept"),
    [
        pytest.param(  # parts of an e-mail address are not also URLs
            [result("EMAIL_ADDRESS", 0, 20, 1.0, "EmailRecognizer"),
             result("URL", 0, 7, 0.5, "UrlRecognizer"),
             result("URL", 10, 20, 0.5, "UrlRecognizer")],
            {"EMAIL_ADDRESS"}, id="url-in-email",
        ),
        pytest.param(  # validated pattern beats statistical NER on the same span
            [result("URL", 0, 24, 0.6, "UrlRecognizer"), result("PERSON", 0, 24, 0.85, NER)],
            {"URL"}, id="person-on-url",
        ),
        pytest.param(  # NER never removes a pattern finding inside it
            [result("PERSON", 0, 30, 0.85, NER), result("PHONE_NUMBER", 5, 20, 0.4, "PhoneRecognizer")],
            {"PERSON", "PHONE_NUMBER"}, id="pattern-inside-ner",
        ),
        pytest.param(  # partial overlaps are both kept: losing one is worse
            [result("PHONE_NUMBER", 0, 14, 0.4, "PhoneRecognizer"), result("DATE_TIME", 4, 25, 0.85, NER)],
            {"PHONE_NUMBER", "DATE_TIME"}, id="partial-overlap",
        ),
        pytest.param(
            [result("PERSON", 0, 4, 0.85, NER), result("LOCATION", 10, 16, 0.85, NER)],
            {"PERSON", "LOCATION"}, id="disjoint",
        ),
    ],
)
def test_drop_contained(results, kept):
    assert {r.entity_type for r in drop_contained(results, {NER})} == kept
