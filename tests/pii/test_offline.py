"""Nothing leaves the machine: no suffix-list fetch, no model download."""

import socket

import pytest
import spacy.cli
import tldextract

from services.pii import build_detector


class NetworkAttempt(AssertionError):
    pass


@pytest.fixture
def no_network(monkeypatch):
    """Record and refuse every attempt to resolve a name or open a connection."""
    attempts: list[str] = []

    def refuse(what):
        def guard(*args, **kwargs):
            attempts.append(f"{what}{args[:2]!r}")
            raise NetworkAttempt(f"network access attempted: {what}")
        return guard

    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("socket.connect_ex"))
    monkeypatch.setattr(socket, "create_connection", refuse("socket.create_connection"))
    monkeypatch.setattr(socket, "getaddrinfo", refuse("socket.getaddrinfo"))
    # tldextract swallows fetch errors and falls back to its snapshot, and may
    # hold a cached list from an earlier run; so also make the networked
    # module-level extractor itself unusable, proving it is never called.
    monkeypatch.setattr(tldextract, "extract", refuse("tldextract.extract"))
    monkeypatch.setattr(spacy.cli, "download", refuse("spacy.cli.download"))
    return attempts


def test_build_and_detect_email_without_network(no_network):
    detector = build_detector()
    findings = detector.detect([
        "Please write to anna.schmidt@example.de or ben@example.co.uk",
        "Frau Schmidt ist Mitglied der Gewerkschaft und hat Diabetes.",
        "Mon collègue Jean Dupont est en chimiothérapie.",
    ])
    assert findings.entities["EMAIL_ADDRESS"].count == 2
    assert {"PERSON", "TRADE_UNION_TERM", "HEALTH_TERM"} <= set(findings.entities)
    assert no_network == []


def test_email_domain_still_validated_offline(no_network):
    detector = build_detector()
    # Not a real public suffix: the bundled list rejects it, as the online one would.
    assert "EMAIL_ADDRESS" not in detector.detect(["ping admin@build.internalzz"]).entities
    assert no_network == []
