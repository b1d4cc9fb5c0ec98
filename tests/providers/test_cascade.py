"""Cascades: a cheaper first try whose answer must pass a check before the
app gets it, escalated along the plan when it does not. The checks as a
table; then the whole way through the gateway to fake upstreams over HTTP."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest

from policy import load_engine
from policy.validation import CASCADE_CHECKS
from services.providers import cascade
from services.providers.health import CLOSED
from tests.live import ROOT
from tests.providers.conftest import catalog_entry

# -- the checks ------------------------------------------------------------


def answer(content=None, *, finish_reason="stop", **message) -> dict:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": content, **message},
                         "finish_reason": finish_reason}]}


TOOL_CALL = {"tool_calls": [{"id": "call_1", "type": "function",
                             "function": {"name": "lookup", "arguments": "{\"id\": 7}"}}]}


def test_the_gateway_runs_every_check_the_policy_may_name():
    assert set(cascade.CHECKS) == set(CASCADE_CHECKS)


def test_a_check_the_gateway_does_not_know_fails():
    assert cascade.failure("looks_fine", answer('{"a": 1}')) == "'looks_fine' is not a check this gateway can run"


@pytest.mark.parametrize(
    ("completion", "passes"),
    [
        (answer('{"capital": "Lisbon"}'), True),
        (answer('  [1, 2, 3]\n'), True),
        (answer("42"), True),  # any JSON value parses
        (answer('"Lisbon"'), True),
        (answer("{'a': 1}"), False),  # a Python dict, not JSON
        (answer("The capital is Lisbon."), False),
        (answer('```json\n{"capital": "Lisbon"}\n```'), False),  # fenced: json.loads on it would fail
        (answer('Here you go: {"capital": "Lisbon"}'), False),
        (answer('{"capital": "Lisbon"'), False),  # cut off
        (answer("NaN"), False),  # Python's json reads it; JSON has no NaN
        (answer('{"x": Infinity}'), False),
        (answer(""), False),
        (answer(None, **TOOL_CALL), False),  # no content to parse: use not_empty with tools
        (answer([{"type": "text", "text": '{"a": '}, {"type": "text", "text": "1}"}]), True),  # content parts
        ({"choices": []}, False),
        ({"choices": [answer('{"a": 1}')["choices"][0], answer("no")["choices"][0]]}, False),  # every choice
    ],
)
def test_json(completion, passes):
    assert (cascade.json_check(completion) is None) is passes


@pytest.mark.parametrize(
    ("completion", "passes"),
    [
        (answer("Lisbon."), True),
        (answer("0"), True),
        (answer(None, **TOOL_CALL), True),
        (answer("", function_call={"name": "lookup", "arguments": "{}"}), True),
        (answer(""), False),
        (answer("   \n\t "), False),
        (answer(None), False),
        (answer(None, tool_calls=[]), False),
        ({"choices": []}, False),
        ({}, False),
    ],
)
def test_not_empty(completion, passes):
    assert (cascade.not_empty_check(completion) is None) is passes


REFUSALS = [
    "I can't help with that.",
    "I cannot help with that request.",
    "I’m sorry, but I can’t assist with that.",  # typographic apostrophes
    "Sorry, I won't do that.",
    "I'm unable to provide that information.",
    "As an AI, I cannot give legal advice.",
    "**I can't help with that.**",
    "Ich kann dabei nicht helfen.",
    "Es tut mir leid, aber ich kann Ihnen dabei nicht helfen.",
    "Leider kann ich Ihnen dabei nicht helfen.",
    "Je ne peux pas vous aider avec cela.",
    "Désolé, mais je ne peux pas répondre à cette demande.",
    "Non posso aiutarti con questa richiesta.",
    "Mi dispiace, ma non posso farlo.",
    "No puedo ayudarte con eso.",
    "Lo siento, pero no puedo ayudar con esa solicitud.",
    "Ik kan niet helpen met dit verzoek.",
    "Helaas kan ik je daar niet mee helpen.",
    "Nie mogę w tym pomóc.",
    "Przepraszam, ale nie mogę tego zrobić.",
    "Não posso ajudar com isso.",
]

ANSWERS = [
    "Lisbon is the capital of Portugal.",
    "I can help with that: the capital of Portugal is Lisbon.",
    "I'm sorry to hear that. Here is how to reset your password: open Settings, then Security.",
    "Ich kann nichts dafür, aber die Antwort ist 42.",  # "nicht" is not "nichts"
    "Die Hauptstadt von Portugal ist Lissabon.",
    "Je peux vous aider : la capitale du Portugal est Lisbonne.",
    "Nie ma problemu, stolicą Portugalii jest Lizbona.",
    # A long answer that opens carefully is an answer, not a refusal.
    "I can't give you a definitive figure without the invoice, but here is how the VAT is computed. " * 4,
]


@pytest.mark.parametrize("text", REFUSALS)
def test_not_refusal_catches_short_refusals_in_the_languages_of_the_list(text):
    assert cascade.not_refusal_check(answer(text)) == "the answer is a refusal (a short answer that opens like one)"


@pytest.mark.parametrize("text", ANSWERS)
def test_not_refusal_lets_answers_through(text):
    assert cascade.not_refusal_check(answer(text)) is None


@pytest.mark.parametrize(
    ("completion", "why"),
    [
        (answer(None, refusal="I can't help with that."), "the answer is empty"),
        (answer("Here is…", refusal="Declined."), "the answer is a refusal (its refusal field is set)"),
        (answer("Partial", finish_reason="content_filter"), "the answer is a refusal (finish_reason content_filter)"),
        (answer("  "), "the answer is empty"),
        (answer(None, **TOOL_CALL), None),  # a tool call is not a refusal
    ],
)
def test_not_refusal_reads_the_refusal_field_and_the_content_filter(completion, why):
    assert cascade.not_refusal_check(completion) == why


def test_refusal_openings_are_data_that_can_be_extended(tmp_path):
    data = tmp_path / "refusals.yaml"
    data.write_text("apologies: [ay]\nconnectors: [pero]\nopenings:\n  xx: [no can do]\n", encoding="utf-8")
    refusals = cascade.RefusalOpenings.load(data)
    assert refusals.language_of("Ay, pero NO CAN DO.") == "xx"
    assert cascade.not_refusal_check(answer("No can do!"), refusals) is not None
    assert cascade.not_refusal_check(answer("I can't help with that."), refusals) is None


# -- through the gateway ---------------------------------------------------

# id -> (the session fake serving it, tier, price per Mtok). Cheapest first.
TIERED = {
    "small-cn": ("fake-cn", "small", 5.0),  # two tiers below frontier: never tried
    "standard-us": ("fake-us", "standard", 10.0),  # one below: the cascade's first try
    "frontier-eu": ("fake-eu", "frontier", 30.0),
    "frontier-eu-self": ("fake-eu-self", "frontier", 40.0),
}
QUESTION = "What is the capital of Portugal? Answer as a JSON object."
CHEAP_PROSE = "The capital of Portugal is Lisbon."
EMAIL_PROMPT = "Please answer the customer at jane.doe@example.org about the unpaid invoice."


def tiered_catalog(upstreams) -> list[dict]:
    entries = []
    for endpoint_id, (fake, tier, price) in TIERED.items():
        entry = catalog_entry(fake, upstreams[fake].base_url)
        entry.update(id=endpoint_id, model=f"{endpoint_id}-model", tier=tier,
                     price={"input_per_mtok": price, "output_per_mtok": price})
        entries.append(entry)
    return entries


def cascading_policy(tmp_path: Path, tenant: str, *, pseudonymise_email_for_us: bool = False):
    """The shipped policy with the DPO's opt-ins of this test: the tenant may
    cascade (and, if asked, support e-mails may go to the US pseudonymised)."""
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    quality_file = target / "reference" / "quality" / "data.json"
    quality = json.loads(quality_file.read_text(encoding="utf-8"))
    quality["cascade"]["tenants"] = [tenant]
    quality_file.write_text(json.dumps(quality), encoding="utf-8")
    if pseudonymise_email_for_us:
        rules_file = target / "reference" / "pseudonymisation" / "data.json"
        rules = json.loads(rules_file.read_text(encoding="utf-8"))
        rules["rules"] = [{"id": "test-support-email-us", "entities": ["EMAIL_ADDRESS"],
                           "purposes": ["customer_support"], "jurisdictions": ["US"],
                           "reason": "test: support e-mails may go to the US pseudonymised"}]
        rules_file.write_text(json.dumps(rules), encoding="utf-8")
    return load_engine("embedded", target)


@pytest.fixture
def cascading_proxy(make_proxy, upstreams, tmp_path, tenant):
    return make_proxy(tiered_catalog(upstreams), policy=cascading_policy(tmp_path, tenant))


def routing(check: str | None = "json", **hints) -> dict:
    return {"routing": {"min_tier": "frontier", **({"cascade_check": check} if check else {}), **hints}}


def chat(proxy, content: str = QUESTION, **extra) -> httpx.Response:
    body = {"model": "auto", "messages": [{"role": "user", "content": content}], **extra}
    with httpx.Client(base_url=proxy.base_url, headers={"Authorization": f"Bearer {proxy.app_key}"},
                      timeout=30) as client:
        return client.post("/v1/chat/completions", json=body)


def decision(proxy, decision_id: str) -> dict:
    with httpx.Client(base_url=proxy.base_url, headers={"Authorization": f"Bearer {proxy.auditor_key}"},
                      timeout=30) as client:
        response = client.get(f"/v1/decisions/{decision_id}")
    assert response.status_code == 200, response.text
    return response.json()


def price_of(endpoint_id: str, usage: dict) -> float:
    return (usage["prompt_tokens"] + usage["completion_tokens"]) * TIERED[endpoint_id][2] / 1e6


def replies(fake, text: str) -> None:
    fake.reply = lambda _body: text


def test_a_first_answer_that_passes_is_returned_from_the_cheaper_endpoint(cascading_proxy, upstreams):
    replies(upstreams["fake-us"], '{"capital": "Lisbon"}')
    response = chat(cascading_proxy, **routing("json"))
    assert response.status_code == 200, response.text
    assert response.headers["x-douane-endpoint"] == "standard-us"
    assert response.json()["choices"][0]["message"]["content"] == '{"capital": "Lisbon"}'
    assert len(upstreams["fake-us"].take()) == 1
    assert not any(fake.requests for fake in upstreams.values())

    view = decision(cascading_proxy, response.headers["x-douane-decision-id"])
    assert view["route"] == {"endpoint": "standard-us", "fallbacks": ["frontier-eu", "frontier-eu-self"]}
    assert view["quality"]["cascade"] == {"endpoint": "standard-us", "check": "json"}
    outcome = view["outcome"]
    assert outcome["endpoint"] == "standard-us" and outcome["status"] == "ok"
    assert [(a["endpoint"], a["status"], a["error_type"]) for a in outcome["attempts"]] == [("standard-us", 200, None)]
    assert outcome["cost_usd"] == pytest.approx(price_of("standard-us", response.json()["usage"]))


def test_a_first_answer_that_fails_its_check_is_escalated_to_the_required_tier(cascading_proxy, upstreams):
    replies(upstreams["fake-us"], CHEAP_PROSE)
    replies(upstreams["fake-eu"], '{"capital": "Lisbon"}')
    response = chat(cascading_proxy, **routing("json"))
    assert response.status_code == 200, response.text
    assert response.headers["x-douane-endpoint"] == "frontier-eu"
    assert response.json()["choices"][0]["message"]["content"] == '{"capital": "Lisbon"}'
    (cheap,) = upstreams["fake-us"].take()
    (frontier,) = upstreams["fake-eu"].take()
    assert cheap.body["model"] == "standard-us-model" and frontier.body["model"] == "frontier-eu-model"
    assert not any(fake.requests for fake in upstreams.values())  # nothing outside the plan, nothing more

    outcome = decision(cascading_proxy, response.headers["x-douane-decision-id"])["outcome"]
    first, second = outcome["attempts"]
    assert (first["endpoint"], first["status"], first["error_type"]) == ("standard-us", 200, "cascade_check_failed")
    assert first["reason"].startswith("answer failed the json check; escalated (the answer does not parse as JSON; ")
    assert (second["endpoint"], second["status"], second["error_type"]) == ("frontier-eu", 200, None)
    # The outcome is the returned answer's: its endpoint and tokens; the cost
    # adds what the discarded first answer cost, which was paid for too.
    assert outcome["endpoint"] == "frontier-eu" and outcome["status"] == "ok" and outcome["upstream_status"] == 200
    usage = response.json()["usage"]
    assert outcome["usage"] == {"input_tokens": usage["prompt_tokens"], "output_tokens": usage["completion_tokens"]}
    # The fakes count a quarter token per character; both got the same prompt.
    cheap_usage = {"prompt_tokens": usage["prompt_tokens"], "completion_tokens": len(CHEAP_PROSE) // 4 + 1}
    paid = f"its {cheap_usage['prompt_tokens']} input and {cheap_usage['completion_tokens']} output tokens"
    assert paid in first["reason"]
    assert "Lisbon" not in first["reason"]  # the audit log holds no text
    assert outcome["cost_usd"] == pytest.approx(price_of("frontier-eu", usage) + price_of("standard-us", cheap_usage))


def test_an_endpoint_whose_answers_fail_checks_is_not_taken_for_unhealthy(cascading_proxy, upstreams):
    replies(upstreams["fake-us"], CHEAP_PROSE)
    health = cascading_proxy.runtime.endpoint_health
    for _ in range(health.failure_threshold + 1):
        assert chat(cascading_proxy, **routing("json")).headers["x-douane-endpoint"] == "frontier-eu"
    assert health.breaker("standard-us") == CLOSED
    assert len(upstreams["fake-us"].take()) == health.failure_threshold + 1  # still tried first every time


@pytest.mark.parametrize(
    ("check", "cheap_reply", "why"),
    [
        ("json", "```json\n{\"capital\": \"Lisbon\"}\n```", "the answer does not parse as JSON"),
        ("not_empty", "   ", "the answer is empty"),
        ("not_refusal", "Ich kann dabei nicht helfen.", "the answer is a refusal (a short answer that opens like one)"),
        ("not_refusal", "Je ne peux pas répondre à cette question.", "the answer is a refusal"),
    ],
)
def test_each_check_escalates_what_fails_it(cascading_proxy, upstreams, check, cheap_reply, why):
    replies(upstreams["fake-us"], cheap_reply)
    response = chat(cascading_proxy, **routing(check))
    assert response.status_code == 200, response.text
    assert response.headers["x-douane-endpoint"] == "frontier-eu"
    first = decision(cascading_proxy, response.headers["x-douane-decision-id"])["outcome"]["attempts"][0]
    assert first["error_type"] == "cascade_check_failed"
    assert first["reason"].startswith(f"answer failed the {check} check; escalated ({why}")


def test_escalation_goes_on_along_the_plan_like_a_fallback(cascading_proxy, upstreams):
    replies(upstreams["fake-us"], "not json")
    upstreams["fake-eu"].mode, upstreams["fake-eu"].status = "error", 503
    replies(upstreams["fake-eu-self"], "[]")
    response = chat(cascading_proxy, **routing("json"))
    assert response.status_code == 200, response.text
    assert response.headers["x-douane-endpoint"] == "frontier-eu-self"
    attempts = decision(cascading_proxy, response.headers["x-douane-decision-id"])["outcome"]["attempts"]
    assert [(a["endpoint"], a["status"], a["error_type"]) for a in attempts] == [
        ("standard-us", 200, "cascade_check_failed"), ("frontier-eu", 503, "upstream_5xx"),
        ("frontier-eu-self", 200, None),
    ]
    assert not upstreams["fake-cn"].requests


def test_a_first_try_that_fails_upstream_falls_back_as_usual(cascading_proxy, upstreams):
    upstreams["fake-us"].mode, upstreams["fake-us"].status = "error", 502
    replies(upstreams["fake-eu"], '{"capital": "Lisbon"}')
    response = chat(cascading_proxy, **routing("json"))
    assert response.headers["x-douane-endpoint"] == "frontier-eu"
    attempts = decision(cascading_proxy, response.headers["x-douane-decision-id"])["outcome"]["attempts"]
    assert [(a["endpoint"], a["error_type"]) for a in attempts] == [("standard-us", "upstream_5xx"),
                                                                   ("frontier-eu", None)]


def test_when_escalation_finds_nothing_the_app_gets_503_and_not_the_failed_answer(cascading_proxy, upstreams):
    replies(upstreams["fake-us"], "not json")
    for name in ("fake-eu", "fake-eu-self"):
        upstreams[name].mode, upstreams[name].status = "error", 503
    response = chat(cascading_proxy, **routing("json"))
    assert response.status_code == 503, response.text
    assert "x-douane-endpoint" not in response.headers
    view = decision(cascading_proxy, response.headers["x-douane-decision-id"])
    outcome = view["outcome"]
    assert outcome["status"] == "exhausted" and outcome["endpoint"] is None and outcome["usage"] is None
    assert [a["error_type"] for a in outcome["attempts"]] == ["cascade_check_failed", "upstream_5xx", "upstream_5xx"]
    assert outcome["cost_usd"] > 0  # the discarded answer was paid for


def test_a_stream_gets_no_cascade(cascading_proxy, upstreams):
    replies(upstreams["fake-eu"], '{"capital": "Lisbon"}')
    body = {"model": "auto", "stream": True, "messages": [{"role": "user", "content": QUESTION}], **routing("json")}
    with httpx.Client(base_url=cascading_proxy.base_url, timeout=30,
                      headers={"Authorization": f"Bearer {cascading_proxy.app_key}"}) as client:
        with client.stream("POST", "/v1/chat/completions", json=body) as response:
            assert response.status_code == 200
            text = "".join(response.iter_text())
            decision_id, endpoint = response.headers["x-douane-decision-id"], response.headers["x-douane-endpoint"]
    assert endpoint == "frontier-eu" and text.rstrip().endswith("data: [DONE]")
    assert not upstreams["fake-us"].requests
    view = decision(cascading_proxy, decision_id)
    assert "cascade" not in view["quality"]
    assert view["route"]["endpoint"] == "frontier-eu" and "standard-us" not in view["route"]["fallbacks"]
    assert [a["endpoint"] for a in view["outcome"]["attempts"]] == ["frontier-eu"]


def test_a_tenant_that_did_not_enable_cascades_goes_straight_to_the_required_tier(make_proxy, upstreams, tmp_path):
    proxy = make_proxy(tiered_catalog(upstreams), policy=cascading_policy(tmp_path, "some-other-tenant"))
    response = chat(proxy, **routing("json"))
    assert response.headers["x-douane-endpoint"] == "frontier-eu"
    assert not upstreams["fake-us"].requests


def test_a_stream_skips_a_cascades_first_try_even_if_a_policy_asked_for_one():
    """The shipped policy never asks; if a policy did, the first try could
    not be checked, so it is skipped rather than streamed unchecked."""
    from types import SimpleNamespace

    from services.providers import service

    record = SimpleNamespace(policy_output={"quality": {"cascade": {"endpoint": "standard-us", "check": "json"}}})
    with pytest.raises(service._Failed) as caught:
        service._cascade_check(record, True, 0, "standard-us")
    assert caught.value.error_type == "cascade_unchecked"
    assert service._cascade_check(record, False, 0, "standard-us") == "json"
    assert service._cascade_check(record, False, 1, "frontier-eu") is None


def test_each_endpoint_gets_its_own_obligations_when_escalating(make_proxy, upstreams, tmp_path, tenant):
    # The DPO lets support e-mails go to the US pseudonymised; the EU needs no obligation.
    proxy = make_proxy(tiered_catalog(upstreams),
                       policy=cascading_policy(tmp_path, tenant, pseudonymise_email_for_us=True))
    replies(upstreams["fake-eu"], '{"sent": true}')  # fake-us echoes: not JSON
    response = chat(proxy, EMAIL_PROMPT, **routing("json", purpose="customer_support"))
    assert response.status_code == 200, response.text
    assert response.headers["x-douane-endpoint"] == "frontier-eu"
    (cheap,) = upstreams["fake-us"].take()
    (frontier,) = upstreams["fake-eu"].take()
    assert "jane.doe@example.org" not in json.dumps(cheap.body)
    assert "<EMAIL_ADDRESS_1>" in cheap.body["messages"][0]["content"]
    assert frontier.body["messages"][0]["content"] == EMAIL_PROMPT
    view = decision(proxy, response.headers["x-douane-decision-id"])
    assert view["obligations"] == {"standard-us": {"pseudonymise": ["EMAIL_ADDRESS"]}}


def test_a_pseudonymised_first_answer_is_checked_and_returned_restored(make_proxy, upstreams, tmp_path, tenant):
    proxy = make_proxy(tiered_catalog(upstreams),
                       policy=cascading_policy(tmp_path, tenant, pseudonymise_email_for_us=True))
    upstreams["fake-us"].reply = lambda body: json.dumps({"to": body["messages"][0]["content"]})
    response = chat(proxy, EMAIL_PROMPT, **routing("json", purpose="customer_support"))
    assert response.headers["x-douane-endpoint"] == "standard-us"
    assert json.loads(response.json()["choices"][0]["message"]["content"]) == {"to": EMAIL_PROMPT}
