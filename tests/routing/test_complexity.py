"""The complexity estimate (services/routing/complexity.py): each signal kind
fires on what it describes and names itself in the result; the team's rules
(services/routing/complexity.yaml) give the expected level on a table of requests in
several languages; a malformed rules file is refused with a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.routing.complexity import Complexity, ComplexityClassifier, ComplexityConfigError
from services.routing.schemas import ChatCompletionRequest

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "services" / "routing" / "complexity.yaml"
DEFAULT_OUTPUT_TOKENS = 256

# A long document to translate or summarise: 4,200 characters of prose.
DOCUMENT = ("The tenants keep the stairwell free of bicycles and prams. Waste is sorted into the bins in the yard. "
            "Quiet hours are from 22:00 to 7:00 on weekdays. ") * 30
CODE = "```python\nasync def get(self):\n    if self.token is None:\n        self.token = await fetch()\n    return self.token\n```"


def request(text: str, *, system: str | None = None, history: int = 0, max_tokens: int | None = None,
            tools: bool = False, json_output: bool = False) -> ChatCompletionRequest:
    messages = [{"role": "system", "content": system}] if system else []
    for i in range(history):
        messages += [{"role": "user", "content": f"Question {i}"}, {"role": "assistant", "content": f"Answer {i}"}]
    messages.append({"role": "user", "content": text})
    body: dict = {"model": "auto", "messages": messages}
    if max_tokens:
        body["max_tokens"] = max_tokens
    if tools:
        body["tools"] = [{"type": "function", "function": {"name": "search_orders", "parameters": {"type": "object"}}}]
    if json_output:
        body["response_format"] = {"type": "json_object"}
    return ChatCompletionRequest.model_validate(body)


@pytest.fixture(scope="module")
def classifier() -> ComplexityClassifier:
    return ComplexityClassifier.load(RULES)


def classify(classifier: ComplexityClassifier, req: ChatCompletionRequest) -> Complexity:
    return classifier.classify(req, req.max_tokens or DEFAULT_OUTPUT_TOKENS)


# (id, request, expected level) with the team's rules. Written from the
# labelling rules of eval/complexity/README.md, not from the labelled set.
TABLE = [
    # routine work stays simple, short or long
    ("en-translate", request('Translate into French: "Your order has shipped and arrives on Monday."'), "simple"),
    ("de-grammar", request("Korrigiere die Rechtschreibung: „Wir bedanken uns für ihre Anfrage und melden uns baldmöglichts.“"),
     "simple"),
    ("it-classify", request("Classifica questo messaggio: fatturazione, spedizione o altro? «Il pacco non è arrivato.»",
                            max_tokens=20), "simple"),
    ("es-regex", request("Expresión regular para un código postal español de cinco cifras."), "simple"),
    ("nl-long-translation", request("Vertaal dit huisreglement volledig naar het Engels:\n" + DOCUMENT), "simple"),
    ("pl-sql", request("Zapytanie SQL: liczba zamówień na klienta z tabeli zamowienia(id, klient_id)."), "simple"),
    ("fr-fact-with-search", request("Quel est le taux normal de TVA en Belgique ?", max_tokens=50, tools=True), "simple"),
    ("en-follow-up", request("Make it a little friendlier.", history=1), "simple"),
    # composed text or code, explanations, support agents with lookups: standard
    ("en-email", request("Draft an email to our landlord: the heating has failed three times this month, "
                         "we reported it on 3 and 10 January, and we ask for a repair by Friday."), "standard"),
    ("de-explain", request("Erkläre einem neuen Kollegen, was eine Rückstellung ist, mit einem Beispiel.",
                           max_tokens=900), "standard"),
    ("fr-function", request("Écris une fonction Python qui calcule le nombre de jours ouvrés entre deux dates, "
                            "avec des tests."), "standard"),
    ("es-letter", request("Redacta una carta a los clientes sobre el nuevo horario de atención y la cita previa."),
     "standard"),
    ("nl-support-agent", request("Mijn pakket is nog steeds niet bezorgd. Wanneer komt het?",
                                 system="Je bent de klantenservice van een webwinkel.", tools=True), "standard"),
    ("pl-summary", request("Streść ten raport dla zarządu w pięciu punktach:\n" + DOCUMENT), "standard"),
    # proofs, legal judgement, diagnosis under load, architecture, tax rules, constrained plans: complex
    ("en-proof", request("Prove that the product of two odd integers is odd."), "complex"),
    ("it-proof", request("Dimostra che esistono infiniti numeri primi."), "complex"),
    ("pl-proof", request("Udowodnij, że suma dwóch liczb parzystych jest parzysta."), "complex"),
    ("fr-legal", request("Une clause de non-concurrence sans contrepartie est-elle opposable au salarié après sa "
                         "démission ?"), "complex"),
    ("en-legal", request("Is a 24-month non-compete clause in an employment contract enforceable, and what would a "
                         "court weigh?"), "complex"),
    ("es-diagnosis", request("Nuestra API se vuelve lenta bajo carga y la latencia sube a 3 s. ¿Cuál es la causa "
                             "probable y cómo lo arreglarías?"), "complex"),
    ("de-architecture", request("Entwirf eine Architektur für 20.000 Zahlungen pro Sekunde und vergleiche zwei "
                                "Varianten mit ihren Vor- und Nachteilen."), "complex"),
    ("nl-tax", request("Een bv heeft € 400.000 winst. Bereken de vennootschapsbelasting en welke aftrekposten de "
                       "belastbare winst verlagen."), "complex"),
    ("en-rota", request("Build a rota for 5 agents over 7 days: each shift needs 2 agents, nobody works more than "
                        "5 days, at least one French speaker per shift, B cannot work weekends."), "complex"),
    ("en-debug-code", request("Under load this cache is refreshed 20 times a second. Why does it happen and what is "
                              "the minimal fix?\n" + CODE), "complex"),
]


@pytest.mark.parametrize(("req", "level"), [(r, lvl) for _id, r, lvl in TABLE], ids=[i for i, _r, _l in TABLE])
def test_levels_with_the_team_rules(classifier, req, level):
    result = classify(classifier, req)
    assert result.level == level, (result.score, result.signals)


# ----------------------------------------------------- each signal kind


def _rules(**over) -> dict:
    """Rules where every signal weighs 1 (cues 1 each), levels at 1 and 2."""
    rules = {
        "levels": {"standard_from": 1, "complex_from": 2},
        "sizes": {
            "input_chars": [{"at_least": 100, "weight": 1, "name": "input_over_100_chars"}],
            "output_tokens": [{"below": 100, "weight": -1, "name": "short_answer_asked"},
                              {"at_least": 1000, "weight": 1, "name": "output_over_1000_tokens"}],
            "turns": [{"at_least": 4, "weight": 1, "name": "conversation_of_4_messages"}],
            "figures": [{"at_least": 3, "weight": 1, "name": "figures_3_or_more"}],
        },
        "shapes": {
            "code_block": {"weight": 1, "name": "code"},
            "tools": {"weight": 1, "name": "tools_offered"},
            "json_output": {"weight": 1, "name": "json_output"},
            "question_count": {"at_least": 2, "weight": 1, "name": "several_questions"},
        },
        "cues": {
            "proof": {"weight": 1, "words": {"en": ["prove"], "de": ["beweise"], "pl": ["udowodnij*"]}},
            "constraints": {"weight": 1, "at_least": 2, "words": {"en": ["at most", "at least", "nobody"]}},
            "routine": {"weight": -1, "words": {"fr": ["traduis"], "it": ["traduci"]}},
        },
    }
    rules.update(over)
    return rules


SIGNALS = [
    ("input_chars", request("x" * 150), "input_over_100_chars"),
    ("output_tokens at_least", request("Hello", max_tokens=1500), "output_over_1000_tokens"),
    ("output_tokens below", request("Hello", max_tokens=50), "short_answer_asked"),
    ("turns", request("And now?", history=2), "conversation_of_4_messages"),
    ("figures", request("Revenue 1.200.000 €, margin 38,5 %, 12 months."), "figures_3_or_more"),
    ("code", request("What does this do?\n" + CODE), "code"),
    ("tools", request("Where is my order?", tools=True), "tools_offered"),
    ("json", request("Give me the fields.", json_output=True), "json_output"),
    ("questions", request("Why? And how?"), "several_questions"),
    ("cue en", request("Prove it."), "proof_cues"),
    ("cue de", request("Beweise, dass es stimmt."), "proof_cues"),
    ("cue pl prefix", request("Udowodnijcie to."), "proof_cues"),
    ("cue in system prompt", request("Go.", system="You prove theorems."), "proof_cues"),
    ("cue at_least", request("At most two shifts, at least one nurse."), "constraints_cues"),
    ("negative cue", request("Traduis ce texte."), "routine_cues"),
]


@pytest.mark.parametrize(("req", "signal"), [(r, s) for _k, r, s in SIGNALS], ids=[k for k, _r, _s in SIGNALS])
def test_each_signal_kind_fires_and_is_named(req, signal):
    result = classify(ComplexityClassifier(_rules()), req)
    assert signal in result.signals
    assert signal in result.to_policy_input()["signals"]


def test_signals_that_should_not_fire():
    classifier = ComplexityClassifier(_rules())
    # one constraint word is not "at least 2"; a word inside another is no cue
    assert classify(classifier, request("At most two.")).signals == ()
    assert classify(classifier, request("We improve things.")).signals == ()
    # cues are read at both ends of a long message, not in its middle
    middle = "a " * 400 + "prove " + "b " * 400
    assert "proof_cues" not in classify(classifier, request(middle)).signals
    assert "proof_cues" in classify(classifier, request("prove " + middle)).signals


def test_score_level_and_policy_input():
    classifier = ComplexityClassifier(_rules())
    result = classify(classifier, request("Prove it. Why? And how?", tools=True))
    assert result.signals == ("tools_offered", "several_questions", "proof_cues")
    assert result.score == 3 and result.level == "complex"
    assert result.to_policy_input() == {"level": "complex", "score": 3.0,
                                        "signals": ["tools_offered", "several_questions", "proof_cues"]}
    assert classify(classifier, request("Traduci questo.")).level == "simple"


# ----------------------------------------------------- malformed rules


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "complexity.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda r: r.pop("levels"), "'levels'"),
        (lambda r: r["levels"].update(standard_from="low"), "could not convert"),
        (lambda r: r["sizes"].update(tokens=[]), "unknown sizes ['tokens']"),
        (lambda r: r["sizes"]["turns"][0].update(below=2), "needs exactly one of at_least, below"),
        (lambda r: r["shapes"].pop("tools"), "'tools'"),
        (lambda r: r["cues"]["proof"].update(words={"en": []}), "cue group 'proof' has no words"),
        (lambda r: r["cues"]["proof"].update(words={"en": ["…"]}), "cue group 'proof': word '…' has no letters"),
        (lambda r: r["cues"]["proof"].update(words=["prove"]), "AttributeError"),
        (lambda r: r["cues"]["proof"].pop("weight"), "'weight'"),
    ],
    ids=["no levels", "bad number", "unknown size", "both at_least and below", "no tools shape", "empty cue group",
         "word without letters", "words not by language", "cue group without weight"],
)
def test_malformed_rules_are_refused(tmp_path, mutate, message):
    rules = _rules()
    mutate(rules)
    path = _write(tmp_path, yaml.safe_dump(rules, allow_unicode=True))
    with pytest.raises(ComplexityConfigError, match="complexity rules") as info:
        ComplexityClassifier.load(path)
    assert message in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [("levels: [unclosed", "complexity.yaml"), ("- just\n- a list\n", "expected a mapping")],
    ids=["not yaml", "not a mapping"],
)
def test_unreadable_rules_file_is_refused(tmp_path, text, message):
    with pytest.raises(ComplexityConfigError, match=message):
        ComplexityClassifier.load(_write(tmp_path, text))


def test_missing_rules_file_is_refused(tmp_path):
    with pytest.raises(ComplexityConfigError, match="missing.yaml"):
        ComplexityClassifier.load(tmp_path / "missing.yaml")


def test_the_team_rules_load():
    assert ComplexityClassifier.load(RULES) is not None
