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


# Held-out kinds, written from the vocabulary (not from any held-out prompt):
# named parties and unions need a membership/vote/role word next to them; an
# origin needs an origin word; same-sex partners need the subject's sex.
NAMED_AND_ANCHORED = [
    # political parties, by name, with membership / vote / candidacy / campaigning
    ("en", "She has been a member of Plaid Cymru since 2015.", "POLITICAL_OPINION_TERM"),
    ("en", "My neighbour is campaigning for the SNP.", "POLITICAL_OPINION_TERM"),
    ("de", "Meine Kollegin kandidiert für die Grünen im Stadtrat.", "POLITICAL_OPINION_TERM"),
    ("de", "Er ist seit Jahren Mitglied der FDP.", "POLITICAL_OPINION_TERM"),
    ("fr", "Mon voisin est adhérent du Rassemblement national.", "POLITICAL_OPINION_TERM"),
    ("fr", "Elle est candidate LFI aux municipales.", "POLITICAL_OPINION_TERM"),
    ("it", "Mio cognato è iscritto a Forza Italia.", "POLITICAL_OPINION_TERM"),
    ("it", "Lei milita nel Movimento 5 Stelle.", "POLITICAL_OPINION_TERM"),
    ("es", "Mi compañero es militante de Sumar.", "POLITICAL_OPINION_TERM"),
    ("es", "Ella es concejala del PSOE.", "POLITICAL_OPINION_TERM"),
    ("nl", "Mijn collega is lid van de SGP.", "POLITICAL_OPINION_TERM"),
    ("nl", "Hij stemt altijd op de PVV.", "POLITICAL_OPINION_TERM"),
    ("pl", "Mój sąsiad jest członkiem Lewicy.", "POLITICAL_OPINION_TERM"),
    ("pl", "Ona kandyduje z list PSL.", "POLITICAL_OPINION_TERM"),
    # trade unions by name, and works-council seats
    ("en", "He is a GMB shop steward.", "TRADE_UNION_TERM"),
    ("en", "She joined UNISON last year.", "TRADE_UNION_TERM"),
    ("de", "Meine Kollegin ist Mitglied der IG BCE.", "TRADE_UNION_TERM"),
    ("de", "Herr Wolf ist Betriebsratsvorsitzender.", "TRADE_UNION_TERM"),
    ("fr", "Il est adhérent de la CFTC.", "TRADE_UNION_TERM"),
    ("fr", "Ma collègue est élue du CSE.", "TRADE_UNION_TERM"),
    ("it", "Lui è delegato RSU della UILM.", "TRADE_UNION_TERM"),
    ("it", "Mia madre è tesserata CGIL.", "TRADE_UNION_TERM"),
    ("es", "Él es miembro del comité de empresa.", "TRADE_UNION_TERM"),
    ("es", "Mi vecina está afiliada a CSIF.", "TRADE_UNION_TERM"),
    ("nl", "Zij zit in de ondernemingsraad.", "TRADE_UNION_TERM"),
    ("nl", "Mijn vader is kaderlid van het CNV.", "TRADE_UNION_TERM"),
    ("pl", "On jest działaczem OPZZ.", "TRADE_UNION_TERM"),
    ("pl", "Pani Wójcik jest członkinią ZNP.", "TRADE_UNION_TERM"),
    # origin phrases with a nationality or people
    ("en", "My colleague is of Eritrean descent.", "ETHNIC_ORIGIN_TERM"),
    ("en", "Her family is Roma.", "ETHNIC_ORIGIN_TERM"),
    ("de", "Der Bewerber ist kurdischer Abstammung.", "ETHNIC_ORIGIN_TERM"),
    ("fr", "Ma voisine est d’origine sénégalaise.", "ETHNIC_ORIGIN_TERM"),
    ("it", "Lui è di origini albanesi.", "ETHNIC_ORIGIN_TERM"),
    ("es", "Mi jefe es de origen peruano.", "ETHNIC_ORIGIN_TERM"),
    ("nl", "Zij is van Kaapverdische afkomst.", "ETHNIC_ORIGIN_TERM"),
    ("nl", "Hij is afkomstig uit Somalië.", "ETHNIC_ORIGIN_TERM"),
    ("pl", "On jest pochodzenia wietnamskiego.", "ETHNIC_ORIGIN_TERM"),
    ("pl", "Ona jest z pochodzenia Ukrainką.", "ETHNIC_ORIGIN_TERM"),
    # chronic conditions, procedures, treatments, medication
    ("en", "My father is on oxygen therapy for emphysema.", "HEALTH_TERM"),
    ("en", "She had a hip replacement and now does physiotherapy.", "HEALTH_TERM"),
    ("de", "Mein Vater hat COPD und braucht Sauerstofftherapie.", "HEALTH_TERM"),
    ("de", "Sie bekommt nach der Knieprothese Krankengymnastik.", "HEALTH_TERM"),
    ("fr", "Il est sous oxygénothérapie à domicile.", "HEALTH_TERM"),
    ("fr", "Ma collègue fait une cure de sevrage alcoolique.", "HEALTH_TERM"),
    ("it", "Mio padre fa l'emodialisi tre volte a settimana.", "HEALTH_TERM"),
    ("es", "Mi madre tiene EPOC y usa oxígeno domiciliario.", "HEALTH_TERM"),
    ("nl", "Hij zit in een afkickkliniek.", "HEALTH_TERM"),
    ("pl", "Mój brat jest na terapii odwykowej.", "HEALTH_TERM"),
    ("pl", "Pacjentka przeszła endoprotezoplastykę i rehabilitację.", "HEALTH_TERM"),
    # gene mutations are genetic data
    ("en", "She is a carrier of a mutation in the CFTR gene.", "GENETIC_TERM"),
    ("de", "Bei ihr wurde eine Genmutation festgestellt.", "GENETIC_TERM"),
    ("fr", "Elle est porteuse d'une mutation du gène BRCA2.", "GENETIC_TERM"),
    ("it", "Lui è portatore di una mutazione genetica.", "GENETIC_TERM"),
    ("es", "Mi hermana es portadora de una mutación BRCA.", "GENETIC_TERM"),
    ("nl", "Hij is drager van een mutatie in het BRCA1-gen.", "GENETIC_TERM"),
    ("pl", "U niej wykryto mutację genu BRCA1.", "GENETIC_TERM"),
    # biometric data in every language
    ("en", "We enrolled his palm scan at the gate.", "BIOMETRIC_TERM"),
    ("de", "Ihr Handvenenscan wird im Zutrittssystem gespeichert.", "BIOMETRIC_TERM"),
    ("fr", "Nous gardons le scan de la paume de ma collègue.", "BIOMETRIC_TERM"),
    ("it", "Abbiamo salvato la sua scansione del palmo.", "BIOMETRIC_TERM"),
    ("es", "Guardamos su plantilla facial.", "BIOMETRIC_TERM"),
    ("nl", "Haar handpalmscan staat in het systeem.", "BIOMETRIC_TERM"),
    ("pl", "Przechowujemy jego skan dłoni.", "BIOMETRIC_TERM"),
    # same-sex partners, coming out
    ("en", "My colleague Tom moved in with his husband.", "SEXUAL_ORIENTATION_TERM"),
    ("en", "She is married to a woman.", "SEXUAL_ORIENTATION_TERM"),
    ("de", "Er lebt mit seinem Lebensgefährten in Köln.", "SEXUAL_ORIENTATION_TERM"),
    ("fr", "Il vit avec son compagnon depuis dix ans.", "SEXUAL_ORIENTATION_TERM"),
    ("it", "Lei convive con una donna.", "SEXUAL_ORIENTATION_TERM"),
    ("es", "Él está casado con un hombre.", "SEXUAL_ORIENTATION_TERM"),
    ("nl", "Mijn collega heeft het over haar vrouw.", "SEXUAL_ORIENTATION_TERM"),
    ("pl", "Moja siostra jest w związku z kobietą.", "SEXUAL_ORIENTATION_TERM"),
    # religious practice stated implicitly
    ("en", "My colleague fasts during Ramadan.", "RELIGIOUS_BELIEF_TERM"),
    ("en", "He keeps Shabbat.", "RELIGIOUS_BELIEF_TERM"),
    ("de", "Sie geht jeden Sonntag in die Kirche.", "RELIGIOUS_BELIEF_TERM"),
    ("fr", "Mon voisin va à la messe tous les dimanches.", "RELIGIOUS_BELIEF_TERM"),
    ("it", "Lei va a messa ogni domenica.", "RELIGIOUS_BELIEF_TERM"),
    ("es", "Mi abuelo va a misa todos los domingos.", "RELIGIOUS_BELIEF_TERM"),
    ("nl", "Hij is ouderling in de Gereformeerde Kerk.", "RELIGIOUS_BELIEF_TERM"),
    ("pl", "Ona pości w ramadanie.", "RELIGIOUS_BELIEF_TERM"),
]


@pytest.mark.parametrize(("language", "text", "entity"), NAMED_AND_ANCHORED)
def test_named_and_anchored_kinds_count(scanner, language, text, entity):
    assert entity in counted(scanner.scan(text, language))


# Must stay clean: names and words of the new vocabulary in their other senses,
# generic educational text, and partners said of someone of the other sex.
NEW_HARD_NEGATIVES = [
    ("en", "Choose a party size between 2 and 12."),
    ("en", "Use a union type for the return value."),
    ("en", "How is the Labour market changing in 2025?"),
    ("en", "Schedule a health check for the database cluster."),
    ("en", "Fix the race condition in the worker pool."),
    ("en", "Slice a Roma tomato for the salad."),
    ("en", "Let us unite the two teams."),
    ("en", "Labour won the election in a landslide."),
    ("en", "A word of French origin."),
    ("en", "He loves his wife and his girlfriend is a myth."),
    ("en", "Please send the order confirmation."),
    ("en", "I lent him my bike."),
    ("en", "Type 2 diabetes is a condition where the blood sugar is too high. People who have it may feel tired."),
    ("en", "If you have diabetes, your doctor will check your feet every year."),
    ("en", "Many patients are treated with insulin or metformin."),
    ("en", "What is COPD? It is a lung disease that makes breathing hard."),
    ("en", "Mention the SLA of two business days."),
    ("de", "Die linke Hand tut weh? Nein, es ist nur ein Bild."),
    ("de", "Der Betriebsrat muss der Versetzung zustimmen."),
    ("de", "Das Gesetz wurde reformiert."),
    ("de", "Die Mutation des Virus wurde untersucht."),
    ("de", "Wer Diabetes hat, sollte regelmäßig zum Augenarzt gehen."),
    ("de", "Grüßen Sie Ihre Ehefrau von mir."),
    ("fr", "Le vent du sud souffle sur la Provence."),
    ("fr", "Ce vin est d'origine italienne."),
    ("fr", "Les personnes atteintes de diabète doivent surveiller leur glycémie."),
    ("fr", "La fracture numérique touche les zones rurales."),
    ("it", "Una lega di alluminio e rame."),
    ("it", "Chi ha il diabete deve controllare la glicemia."),
    ("it", "Il praticante avvocato prepara l'udienza."),
    ("es", "Podemos hablar mañana."),
    ("es", "Quiero dar de baja mi suscripción."),
    ("es", "Las personas con diabetes deben controlar su glucosa."),
    ("nl", "Als het regent blijven we thuis."),
    ("nl", "Mensen met diabetes moeten hun bloedsuiker meten."),
    ("nl", "Ze zijn man en vrouw."),
    ("pl", "Po pracy idziemy razem na obiad."),
    ("pl", "Solidarność z ofiarami powodzi."),
    ("pl", "Lekcja chemii zaczyna się o ósmej."),
    ("pl", "Osoby z cukrzycą powinny regularnie mierzyć cukier."),
    ("pl", "On jest w związku z kobietą."),
]


@pytest.mark.parametrize(("language", "text"), NEW_HARD_NEGATIVES)
def test_new_vocabulary_stays_clean(scanner, language, text):
    assert counted(scanner.scan(text, language)) == set()


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("nl", "Mijn oom is lid van de groen werkgroep."),  # "groen" in lower case is not the party
        ("pl", "Mój brat głosuje po pracy."),
        ("en", "My brother supports labour rights."),
    ],
)
def test_party_names_match_their_capitals(scanner, language, text):
    assert "POLITICAL_OPINION_TERM" not in counted(scanner.scan(text, language))


def test_anchored_name_without_anchor_is_no_hit(scanner):
    assert scanner.scan("Die SPD hat ein neues Programm.", "de") == []
    assert scanner.scan("La CGT appelle à la grève nationale.", "fr") == []


def test_generic_subject_outranks_a_farther_person_cue(scanner):
    # the nearest cue decides: "people" is nearer the term than "my colleague"
    text = "My colleague says that people who have asthma should avoid smoke."
    assert [h.score for h in scanner.scan(text, "en")] == [0.4]
    assert [h.score for h in scanner.scan("My colleague, who has asthma, is off.", "en")] == [0.85]


def test_typographic_apostrophe_matches(scanner):
    assert "ETHNIC_ORIGIN_TERM" in counted(scanner.scan("Il est d’origine maghrébine.", "fr"))


def test_malformed_anchored_group_is_refused(tmp_path: Path):
    for source in LEXICON_DIR.glob("*.yaml"):
        (tmp_path / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "trade_union.yaml").write_text(
        "entity: TRADE_UNION_TERM\nterms:\n  en: [trade union]\nanchored:\n  - terms: {all: [CGT]}\n",
        encoding="utf-8",
    )
    with pytest.raises(SpecialLexiconError, match="anchors_before or anchors_after"):
        SpecialCategoryScanner.load(tmp_path)
