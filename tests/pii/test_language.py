"""Language identification: seven languages or "und", offline."""

import socket

import pytest

from services.pii.language import SUPPORTED_LANGUAGES, LanguageIdentifier


class NetworkAttempt(AssertionError):
    pass


@pytest.fixture(scope="module")
def ident() -> LanguageIdentifier:
    return LanguageIdentifier.load()


SENTENCES = {
    "en": ["The patient has type 2 diabetes.", "Please summarise this quarterly report for the board.",
           "Can you fix the bug in my login form?", "My colleague is undergoing chemotherapy.",
           "Write a polite email declining the meeting invitation for Friday afternoon."],
    "de": ["Der Patient hat Diabetes Typ 2.", "Bitte fasse diesen Bericht für den Vorstand zusammen.",
           "Kannst du den Fehler im Login beheben?", "Er ist Mitglied der Gewerkschaft.",
           "Schreib eine höfliche E-Mail, in der ich das Treffen am Freitag absage."],
    "fr": ["Le patient a un diabète de type 2.", "Merci de résumer ce rapport pour le conseil.",
           "Peux-tu corriger le bug du formulaire ?", "Il a un casier judiciaire.",
           "Rédige un courriel poli pour refuser la réunion de vendredi après-midi."],
    "it": ["Il paziente ha il diabete di tipo 2.", "Per favore riassumi questa relazione trimestrale.",
           "Puoi correggere l'errore nel modulo di accesso?", "Lei è iscritta al sindacato.",
           "Scrivi una email cortese per rifiutare la riunione di venerdì pomeriggio."],
    "es": ["El paciente tiene diabetes de tipo 2.", "Por favor resume este informe para la junta.",
           "¿Puedes arreglar el error del formulario?", "Tiene antecedentes penales.",
           "Escribe un correo educado para rechazar la reunión del viernes por la tarde."],
    "nl": ["De patiënt heeft diabetes type 2.", "Vat dit kwartaalverslag samen voor het bestuur.",
           "Kun je de fout in het inlogformulier oplossen?", "Hij is lid van de vakbond.",
           "Schrijf een beleefde e-mail om de vergadering van vrijdagmiddag af te zeggen."],
    "pl": ["Pacjent ma cukrzycę typu 2.", "Proszę streścić ten raport kwartalny dla zarządu.",
           "Czy możesz naprawić błąd w formularzu logowania?", "On jest członkiem związku zawodowego.",
           "Napisz uprzejmy e-mail, w którym odmawiam spotkania w piątek po południu."],
}
CASES = [(lang, s) for lang, sentences in SENTENCES.items() for s in sentences]


@pytest.mark.parametrize(("expected", "text"), CASES)
def test_identifies_supported_languages(ident, expected, text):
    assert ident.identify(text) == expected


def test_accuracy_over_the_table(ident):
    correct = sum(ident.identify(text) == lang for lang, text in CASES)
    assert correct / len(CASES) >= 0.95


@pytest.mark.parametrize(
    "text",
    [
        "", "ok", "   ", "12345 67890", "!!!???", "asdkj qwpoe zxmnv lkjh", "\x00\x01\x02\ufffd" * 20,
        "Patienten har typ 2-diabetes och behöver hjälp.",        # Swedish
        "O paciente tem diabetes tipo 2 e precisa de ajuda.",      # Portuguese
        "Пациент болен диабетом второго типа.",                    # Russian
        "患者は2型糖尿病です。",                                     # Japanese
    ],
)
def test_und_for_short_gibberish_or_other_languages(ident, text):
    assert ident.identify(text) == "und"


def test_never_raises_on_junk(ident):
    junk = bytes(range(256)).decode("latin-1") * 100 + "\ud800"
    assert ident.identify(junk) in (*SUPPORTED_LANGUAGES, "und")
    assert ident.identify(None) == "und"  # type: ignore[arg-type]


def test_long_text_is_identified(ident):
    # Only the opening 16 KB are read; how fast is bench/pii_detection.py's business.
    text = SENTENCES["de"][4] * 15_000  # ~1 MB
    assert ident.identify(text) == "de"


def test_no_network_at_load_or_identify(monkeypatch):
    def refuse(*args, **kwargs):
        raise NetworkAttempt("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    ident = LanguageIdentifier.load()
    assert ident.identify(SENTENCES["fr"][1]) == "fr"
