"""Special-category terms (GDPR Art. 9/10) in seven languages, with context."""

import random
from pathlib import Path

import pytest

from services.pii.hits import Hit
from services.pii.special import SpecialCategoryScanner, SpecialLexiconError
from services.pii.special.data import ENTITIES, LEXICON_DIR

COUNTS = 0.5  # the policy counts findings from this score


@pytest.fixture(scope="module")
def scanner() -> SpecialCategoryScanner:
    return SpecialCategoryScanner.load()


def counted(hits: list[Hit]) -> set[str]:
    return {h.entity for h in hits if h.score >= COUNTS}


# (language, text, entity that must count, or None: nothing may count)
POSITIVES = [
    # English
    ("en", "My colleague is undergoing chemotherapy.", "HEALTH_TERM"),
    ("en", "The patient has type 2 diabetes.", "HEALTH_TERM"),
    ("en", "She is HIV-positive.", "HEALTH_TERM"),
    ("en", "He did a DNA test and is a BRCA1 carrier.", "GENETIC_TERM"),
    ("en", "We stored her fingerprint in the HR system.", "BIOMETRIC_TERM"),
    ("en", "Mr. Jones is of Moroccan descent.", "ETHNIC_ORIGIN_TERM"),
    ("en", "My manager is a Labour voter.", "POLITICAL_OPINION_TERM"),
    ("en", "She is a practising Muslim.", "RELIGIOUS_BELIEF_TERM"),
    ("en", "He is a practising Jew.", "RELIGIOUS_BELIEF_TERM"),
    ("en", "My colleague is a union member.", "TRADE_UNION_TERM"),
    ("en", "He is gay.", "SEXUAL_ORIENTATION_TERM"),
    ("en", "The applicant has a criminal record.", "CRIMINAL_TERM"),
    ("en", "He was convicted of fraud in 2019.", "CRIMINAL_TERM"),
    # German
    ("de", "Meine Kollegin bekommt eine Chemotherapie.", "HEALTH_TERM"),
    ("de", "Herr Müller hat Diabetes.", "HEALTH_TERM"),
    ("de", "Sie hat einen Gentest gemacht.", "GENETIC_TERM"),
    ("de", "Wir speichern seinen Fingerabdruck.", "BIOMETRIC_TERM"),
    ("de", "Frau Yilmaz hat einen Migrationshintergrund.", "ETHNIC_ORIGIN_TERM"),
    ("de", "Mein Nachbar ist AfD-Wähler.", "POLITICAL_OPINION_TERM"),
    ("de", "Sie ist katholisch.", "RELIGIOUS_BELIEF_TERM"),
    ("de", "Er gehört zu den Zeugen Jehovas, sagt sein Chef.", "RELIGIOUS_BELIEF_TERM"),
    ("de", "Er ist Mitglied der Gewerkschaft.", "TRADE_UNION_TERM"),
    ("de", "Der Bewerber ist Gewerkschaftsmitglied.", "TRADE_UNION_TERM"),
    ("de", "Mein Bruder ist schwul.", "SEXUAL_ORIENTATION_TERM"),
    ("de", "Der Mieter ist vorbestraft.", "CRIMINAL_TERM"),
    ("de", "vorbestraft", "CRIMINAL_TERM"),
    # French
    ("fr", "Ma collègue suit une chimiothérapie.", "HEALTH_TERM"),
    ("fr", "Il est séropositif.", "HEALTH_TERM"),
    ("fr", "Elle a fait un test génétique.", "GENETIC_TERM"),
    ("fr", "Nous avons son empreinte digitale.", "BIOMETRIC_TERM"),
    ("fr", "Mme Diallo est d'origine africaine.", "ETHNIC_ORIGIN_TERM"),
    ("fr", "Mon voisin est militant politique.", "POLITICAL_OPINION_TERM"),
    ("fr", "Elle est musulmane pratiquante.", "RELIGIOUS_BELIEF_TERM"),
    ("fr", "Il est syndiqué à la CGT.", "TRADE_UNION_TERM"),
    ("fr", "Elle est lesbienne.", "SEXUAL_ORIENTATION_TERM"),
    ("fr", "Il a un casier judiciaire.", "CRIMINAL_TERM"),
    # Italian
    ("it", "Il mio collega fa la chemioterapia.", "HEALTH_TERM"),
    ("it", "Lei è sieropositiva.", "HEALTH_TERM"),
    ("it", "Lui ha fatto un test genetico.", "GENETIC_TERM"),
    ("it", "Abbiamo le sue impronte digitali.", "BIOMETRIC_TERM"),
    ("it", "La signora è di origine africana.", "ETHNIC_ORIGIN_TERM"),
    ("it", "Mio padre è comunista.", "POLITICAL_OPINION_TERM"),
    ("it", "Lei è musulmana praticante.", "RELIGIOUS_BELIEF_TERM"),
    ("it", "Lui è iscritto al sindacato.", "TRADE_UNION_TERM"),
    ("it", "Mio fratello è gay.", "SEXUAL_ORIENTATION_TERM"),
    ("it", "Il candidato ha precedenti penali.", "CRIMINAL_TERM"),
    # Spanish
    ("es", "Mi compañera recibe quimioterapia.", "HEALTH_TERM"),
    ("es", "Él tiene diabetes.", "HEALTH_TERM"),
    ("es", "Ella se hizo una prueba genética.", "GENETIC_TERM"),
    ("es", "Guardamos su huella dactilar.", "BIOMETRIC_TERM"),
    ("es", "Mi vecina es gitana.", "ETHNIC_ORIGIN_TERM"),
    ("es", "Mi jefe vota a Vox.", "POLITICAL_OPINION_TERM"),
    ("es", "Ella es testigo de Jehová.", "RELIGIOUS_BELIEF_TERM"),
    ("es", "Él está afiliado al sindicato.", "TRADE_UNION_TERM"),
    ("es", "Mi hermano es homosexual.", "SEXUAL_ORIENTATION_TERM"),
    ("es", "El empleado tiene antecedentes penales.", "CRIMINAL_TERM"),
    # Dutch
    ("nl", "Mijn collega krijgt chemotherapie.", "HEALTH_TERM"),
    ("nl", "Zij heeft diabetes.", "HEALTH_TERM"),
    ("nl", "Hij heeft een DNA-test gedaan.", "GENETIC_TERM"),
    ("nl", "We bewaren zijn vingerafdruk.", "BIOMETRIC_TERM"),
    ("nl", "Mevrouw Bakker is van Surinaamse afkomst.", "ETHNIC_ORIGIN_TERM"),
    ("nl", "Mijn buurman is PVV-stemmer.", "POLITICAL_OPINION_TERM"),
    ("nl", "Zij is moslima.", "RELIGIOUS_BELIEF_TERM"),
    ("nl", "Hij is vakbondslid.", "TRADE_UNION_TERM"),
    ("nl", "Mijn zoon is homo.", "SEXUAL_ORIENTATION_TERM"),
    ("nl", "De sollicitant heeft een strafblad.", "CRIMINAL_TERM"),
    # Polish
    ("pl", "Moja koleżanka przechodzi chemioterapię.", "HEALTH_TERM"),
    ("pl", "Pacjent choruje na cukrzycę.", "HEALTH_TERM"),
    ("pl", "Ona zrobiła badanie genetyczne.", "GENETIC_TERM"),
    ("pl", "Mamy jego odcisk palca.", "BIOMETRIC_TERM"),
    ("pl", "Pani Nowak jest pochodzenia romskiego.", "ETHNIC_ORIGIN_TERM"),
    ("pl", "Mój szef głosuje na PiS.", "POLITICAL_OPINION_TERM"),
    ("pl", "On jest Świadkiem Jehowy.", "RELIGIOUS_BELIEF_TERM"),
    ("pl", "On jest członkiem związku zawodowego.", "TRADE_UNION_TERM"),
    ("pl", "Mój brat jest gejem.", "SEXUAL_ORIENTATION_TERM"),
    ("pl", "Kandydat był karany.", "CRIMINAL_TERM"),
    ("pl", "karany", "CRIMINAL_TERM"),
    # Added vocabulary: conditions and treatments, hospital/refusal predicates, birth cues
    ("en", "Mr Patel, born 1950, is recovering from heart failure.", "HEALTH_TERM"),
    ("en", "The patient refuses a blood transfusion.", "HEALTH_TERM"),
    ("de", "Frau Weber hat einen Bandscheibenvorfall.", "HEALTH_TERM"),
    ("de", "Die Mitarbeiterin ist seit Montag arbeitsunfähig.", "HEALTH_TERM"),
    ("fr", "M. Martin, né en 1948, hospitalisé pour pneumonie.", "HEALTH_TERM"),
    ("it", "La signora è stata ricoverata per scompenso cardiaco.", "HEALTH_TERM"),
    ("es", "Mi padre, ingresado por insuficiencia cardíaca, está estable.", "HEALTH_TERM"),
    ("es", "Ella sigue un tratamiento hormonal.", "HEALTH_TERM"),
    ("nl", "Mevrouw Jansen weigert een bloedtransfusie.", "HEALTH_TERM"),
    ("pl", "Pan Kowalski wraca do pracy po zawale.", "HEALTH_TERM"),
    ("pl", "Pacjentka ma zapalenie płuc.", "HEALTH_TERM"),
    # Added: ethnic-origin expressions
    ("de", "Er wurde wegen seiner marokkanischen Herkunft abgelehnt.", "ETHNIC_ORIGIN_TERM"),
    ("fr", "Elle évoque ses origines africaines.", "ETHNIC_ORIGIN_TERM"),
    ("it", "Lui ha origini nordafricane.", "ETHNIC_ORIGIN_TERM"),
    ("nl", "Hij wordt gepest om zijn Turkse afkomst.", "ETHNIC_ORIGIN_TERM"),
    # Added: party membership and voting
    ("en", "My neighbour is a member of the Green Party.", "POLITICAL_OPINION_TERM"),
    ("de", "Mein Kollege ist SPD-Mitglied.", "POLITICAL_OPINION_TERM"),
    ("fr", "Elle est militante de La France insoumise.", "POLITICAL_OPINION_TERM"),
    ("it", "Lei è iscritta al PD.", "POLITICAL_OPINION_TERM"),
    ("es", "Mi jefa es afiliada del PSOE.", "POLITICAL_OPINION_TERM"),
    ("nl", "Mijn vader is lid van GroenLinks.", "POLITICAL_OPINION_TERM"),
    ("pl", "Ona jest członkinią Konfederacji.", "POLITICAL_OPINION_TERM"),
    ("pl", "On jest członek PiS.", "POLITICAL_OPINION_TERM"),
    # Added: unions by name and union roles
    ("en", "My colleague is a Unison member.", "TRADE_UNION_TERM"),
    ("de", "Herr Berger (ver.di-Mitglied) kommt zurück.", "TRADE_UNION_TERM"),
    ("fr", "Mon collègue est adhérent à la CFDT.", "TRADE_UNION_TERM"),
    ("it", "Mia sorella è iscritta alla CISL.", "TRADE_UNION_TERM"),
    ("es", "Mi compañera está afiliada a Comisiones Obreras.", "TRADE_UNION_TERM"),
    ("nl", "Mijn collega is lid van het CNV.", "TRADE_UNION_TERM"),
    ("pl", "Pan Nowak, członek OPZZ, wraca jutro.", "TRADE_UNION_TERM"),
    ("pl", "Ona jest członkinią Solidarności.", "TRADE_UNION_TERM"),
    # Added: denominations, adherents and practice
    ("en", "My colleague is a Sunni and prays five times a day.", "RELIGIOUS_BELIEF_TERM"),
    ("de", "Sie ist Atheistin.", "RELIGIOUS_BELIEF_TERM"),
    ("es", "Mi abuela es creyente y va a misa.", "RELIGIOUS_BELIEF_TERM"),
    ("nl", "Mijn buurman is gereformeerd.", "RELIGIOUS_BELIEF_TERM"),
    ("pl", "Mój przyjaciel jest muzułmaninem.", "RELIGIOUS_BELIEF_TERM"),
    # Added: gender identity
    ("fr", "Ma collègue est une personne trans.", "SEXUAL_ORIENTATION_TERM"),
    ("pl", "Jej syn przechodzi tranzycję.", "SEXUAL_ORIENTATION_TERM"),
    # Added: investigations, custody, records
    ("de", "Gegen Herrn Franke läuft ein Ermittlungsverfahren wegen Betrugs.", "CRIMINAL_TERM"),
    ("nl", "Tegen de heer Prins loopt een strafrechtelijk onderzoek.", "CRIMINAL_TERM"),
    ("it", "Il candidato ha la fedina penale sporca.", "CRIMINAL_TERM"),
    ("es", "Mi vecino está en prisión provisional.", "CRIMINAL_TERM"),
    ("pl", "On usłyszał zarzut kradzieży.", "CRIMINAL_TERM"),
]


@pytest.mark.parametrize(("language", "text", "entity"), POSITIVES)
def test_personal_statements_count(scanner, language, text, entity):
    assert entity in counted(scanner.scan(text, language))


@pytest.mark.parametrize(("language", "text", "entity"), POSITIVES)
def test_personal_statements_count_under_und(scanner, language, text, entity):
    assert entity in counted(scanner.scan(text, "und"))


# Ordinary language: nothing may count (a topic hit at 0.4 is allowed).
NEGATIVES = [
    ("en", "Add an HTTP health check endpoint to the service."),
    ("en", "Monitor the health of the cluster."),
    ("en", "A lecture on church architecture."),
    ("en", "Summarise the history of the Catholic Church."),
    ("en", "Compute the union of two sets."),
    ("en", "The European Union adopted the AI Act."),
    ("en", "I enjoyed my political science course."),
    ("en", "He wrote a genetic algorithm for scheduling."),
    ("en", "Review the biometric login feature design."),
    ("en", "Chemotherapy is a treatment for cancer."),
    ("en", "Diabetes is a chronic disease."),
    ("en", "Print the SHA-256 fingerprint of the certificate."),
    ("en", "Apply Gay-Lussac's law to the gas."),
    ("de", "Prüfe den Gesundheitscheck des Servers."),
    ("de", "Ein Vortrag über Kirchenarchitektur."),
    ("de", "Die Geschichte der katholischen Kirche."),
    ("de", "Die Europäische Union hat den AI Act verabschiedet."),
    ("de", "Ich studiere Politikwissenschaft."),
    ("de", "Er schrieb einen genetischen Algorithmus."),
    ("de", "Diabetes ist eine chronische Krankheit."),
    ("fr", "Vérifie le bilan de santé du serveur."),
    ("fr", "Un livre sur l'architecture des églises."),
    ("fr", "L'histoire de l'Église catholique."),
    ("fr", "L'Union européenne a adopté l'AI Act."),
    ("fr", "Un cours de science politique."),
    ("fr", "Il a écrit un algorithme génétique."),
    ("it", "Un libro sull'architettura delle chiese."),
    ("it", "La storia della Chiesa cattolica."),
    ("it", "L'Unione europea ha adottato l'AI Act."),
    ("it", "Lui ha scritto un algoritmo genetico."),
    ("it", "Andiamo a Roma domani."),
    ("es", "La historia de la Iglesia católica."),
    ("es", "La Unión Europea adoptó la ley."),
    ("es", "Un curso de ciencias políticas."),
    ("es", "Él escribió un algoritmo genético."),
    ("nl", "De geschiedenis van de Katholieke Kerk."),
    ("nl", "De Europese Unie heeft de wet aangenomen."),
    ("nl", "Hij schreef een genetisch algoritme."),
    ("nl", "Homo sapiens is een soort."),
    ("pl", "Historia Kościoła katolickiego."),
    ("pl", "Unia Europejska przyjęła ustawę."),
    ("pl", "On napisał algorytm genetyczny."),
    ("pl", "Ten projekt jest skazany na sukces."),
    ("pl", "Kupiłem wiertarkę udarową."),
    # Ambiguous words near new vocabulary
    ("nl", "Verdachte login van een onbekend IP-adres."),
    ("nl", "Markeer dit als verdachte transactie."),
    ("pl", "Kartoteka kadrowa pracownika."),
    ("pl", "Jaki jest wyrok za kradzież w Polsce?"),
    ("de", "Erkläre, wie ein Ermittlungsverfahren abläuft."),
    ("en", "Explain how a criminal investigation works."),
    ("en", "Summarise the history of the Anglican Church."),
    ("en", "Compare Sunni and Shia traditions."),
    ("fr", "Ce service est opéré par la SNCF."),
    ("es", "El dinero fue ingresado en su cuenta."),
    ("it", "Il mio gatto è nato ieri."),
    ("de", "Meine Kollegin zeigt mir die Herkunft der Daten."),
]


# Under "und" every language's cues apply to terms shared by several lexicons:
# French "a" (has) lifts "treatment for cancer". Known, accepted: "und" is for
# short or unsure text, and erring there costs a stricter route, not a leak.
UND_KNOWN_FALSE_POSITIVES = {"Chemotherapy is a treatment for cancer."}


@pytest.mark.parametrize(("language", "text"), NEGATIVES)
def test_ordinary_language_does_not_count(scanner, language, text):
    assert counted(scanner.scan(text, language)) == set()
    if text not in UND_KNOWN_FALSE_POSITIVES:
        assert counted(scanner.scan(text, "und")) == set()


@pytest.mark.parametrize(
    ("language", "text", "entity"),
    [
        ("en", "the history of the Catholic Church", "RELIGIOUS_BELIEF_TERM"),
        ("en", "a genetic algorithm", "GENETIC_TERM"),
        ("de", "die Geschichte der katholischen Kirche", "RELIGIOUS_BELIEF_TERM"),
        ("fr", "l'architecture des églises catholiques", "RELIGIOUS_BELIEF_TERM"),
        ("en", "biometric login feature design", "BIOMETRIC_TERM"),
    ],
)
def test_negative_context_removes_the_hit(scanner, language, text, entity):
    assert entity not in {h.entity for h in scanner.scan(text, language)}


@pytest.mark.parametrize(
    ("text", "score"),
    [
        ("my colleague is undergoing chemotherapy", 0.85),   # person cue
        ("chemotherapy side effects overview", 0.4),         # topic
        ("Chemotherapy. My colleague called.", 0.4),        # cue in another sentence
        ("she is HIV-positive", 0.9),                        # personal term + cue
        ("HIV-positive", 0.6),                               # personal term alone
        ("Mr. Smith has diabetes", 0.85),                    # "Mr." does not end the sentence
    ],
)
def test_scores(scanner, text, score):
    hits = scanner.scan(text, "en")
    assert [h.score for h in hits] == [score]


def test_window_is_limited(scanner):
    far = "She said that the long and winding report on trends mentions chemotherapy"
    assert [h.score for h in scanner.scan(far, "en")] == [0.4]


def test_offsets_point_at_the_term(scanner):
    text = "Der Patient hat Diabetes und bekommt Chemotherapien."
    found = {text[h.start : h.end] for h in scanner.scan(text, "de")}
    assert found == {"Diabetes", "Chemotherapien"}


@pytest.mark.parametrize(
    ("language", "text", "term"),
    [
        ("pl", "Pacjentka ma cukrzycę.", "cukrzycę"),
        ("pl", "On jest po chemioterapii.", "chemioterapii"),
        ("de", "Frau Meier ist Diabetikerin.", "Diabetikerin"),
        ("de", "Er bekommt eine Strahlentherapie.", "Strahlentherapie"),
        ("en", "my colleague   is undergoing\nCHEMOTHERAPY", "CHEMOTHERAPY"),
        ("en", "The patient has type 2\tdiabetes", "type 2\tdiabetes"),
    ],
)
def test_inflections_case_and_spacing(scanner, language, text, term):
    hits = scanner.scan(text, language)
    assert any(text[h.start : h.end] == term and h.score >= COUNTS for h in hits)


def test_whole_words_only(scanner):
    assert scanner.scan("Krebsforschung und Diabetesberatung", "de") == []
    assert scanner.scan("gayety, agnosticism", "en") == []


def test_every_entity_has_all_seven_languages():
    from services.pii.special.data import load_all

    categories, _ = load_all()
    assert {c.entity for c in categories} == ENTITIES
    for category in categories:
        assert set(category.terms) == {"en", "de", "fr", "it", "es", "nl", "pl"}, category.name


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\x00\x01\x02\xff" * 1000,
        bytes(range(256)).decode("latin-1") * 50,
        "患者は糖尿病です。 Пациент болен. مريض بالسكري. He has diabetes 🙂 \ud800",
        "(" * 10_000 + "diabetes" + ")" * 10_000,
    ],
)
@pytest.mark.parametrize("language", ["en", "pl", "und", "xx"])
def test_never_crashes(scanner, text, language):
    for hit in scanner.scan(text, language):
        assert 0 <= hit.start < hit.end <= len(text)


def test_bytes_are_decoded(scanner):
    assert counted(scanner.scan("Er ist vorbestraft".encode(), "de")) == {"CRIMINAL_TERM"}


def test_one_megabyte(scanner):
    rng = random.Random(7)
    words = ["the", "cluster", "health", "union", "patient", "diabetes", "she", "is", "church", ".", "\n"]
    text = " ".join(rng.choice(words) for _ in range(200_000))[: 1 << 20]
    assert scanner.scan(text, "und")


def test_malformed_file_is_refused(tmp_path: Path):
    for source in LEXICON_DIR.glob("*.yaml"):
        (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "health.yaml").write_text("entity: HEALTH_TERM\nterms:\n  xx: [foo]\n", encoding="utf-8")
    with pytest.raises(SpecialLexiconError, match="unknown language 'xx'"):
        SpecialCategoryScanner.load(tmp_path)
    (tmp_path / "health.yaml").write_text("entity: HEALTH_TERM\nterms:\n  pl: [on]\n", encoding="utf-8")
    with pytest.raises(SpecialLexiconError, match="quote"):
        SpecialCategoryScanner.load(tmp_path)
