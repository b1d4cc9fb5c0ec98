import pytest

from services.pii import Detector, build_detector


@pytest.fixture(scope="session")
def detector() -> Detector:
    # Loading spaCy takes about a second: once per test session.
    return build_detector()
