"""The pseudonymise obligation: values replaced by stable placeholders before
a request leaves, restored in the answer, also when a placeholder arrives
split across stream chunks."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import pytest

from services.providers.pseudonymise import Pseudonymiser

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
PHONE = re.compile(r"\+\d[\d ]{7,}\d")


@dataclass(frozen=True)
class Span:
    entity: str
    start: int
    end: int


def locate(text: str, entity_types) -> list[Span]:
    """A stand-in for the detector's ``locate`` with the same signature."""
    spans = []
    if "EMAIL_ADDRESS" in entity_types:
        spans += [Span("EMAIL_ADDRESS", m.start(), m.end()) for m in EMAIL.finditer(text)]
    if "PHONE_NUMBER" in entity_types:
        spans += [Span("PHONE_NUMBER", m.start(), m.end()) for m in PHONE.finditer(text)]
    return spans


def test_same_value_same_placeholder_and_round_trip():
    p = Pseudonymiser(locate, ["EMAIL_ADDRESS", "PHONE_NUMBER"])
    hidden = p.hide("Mail ann@example.org, then bob@example.org, then ann@example.org again; call +44 20 7946 0958")
    assert hidden == (
        "Mail <EMAIL_ADDRESS_1>, then <EMAIL_ADDRESS_2>, then <EMAIL_ADDRESS_1> again; call <PHONE_NUMBER_1>"
    )
    assert p.restore("Dear <EMAIL_ADDRESS_2>, cc <EMAIL_ADDRESS_1> <PHONE_NUMBER_1>") == (
        "Dear bob@example.org, cc ann@example.org +44 20 7946 0958"
    )
    # Placeholders this request never handed out are left as they are.
    assert p.restore("<EMAIL_ADDRESS_9> <b>") == "<EMAIL_ADDRESS_9> <b>"


def test_only_the_obliged_types_are_replaced():
    p = Pseudonymiser(locate, ["EMAIL_ADDRESS"])
    assert p.hide("ann@example.org or +44 20 7946 0958") == "<EMAIL_ADDRESS_1> or +44 20 7946 0958"


def test_messages_are_copied_not_changed_in_place():
    body = {
        "model": "auto",
        "messages": [
            {"role": "system", "content": "Reply to ann@example.org"},
            {"role": "user", "content": [{"type": "text", "text": "I am ann@example.org"},
                                         {"type": "image_url", "image_url": {"url": "https://x/y.png"}}]},
        ],
    }
    p = Pseudonymiser(locate, ["EMAIL_ADDRESS"])
    hidden = p.hide_messages(body)
    assert hidden["messages"][0]["content"] == "Reply to <EMAIL_ADDRESS_1>"
    assert hidden["messages"][1]["content"][0]["text"] == "I am <EMAIL_ADDRESS_1>"
    assert hidden["messages"][1]["content"][1] == body["messages"][1]["content"][1]
    assert body["messages"][0]["content"] == "Reply to ann@example.org"


def test_tool_call_arguments_are_pseudonymised_and_stay_json():
    import json

    body = {"model": "auto", "messages": [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function",
             "function": {"name": "send_mail", "arguments": json.dumps({"to": "ann@example.org", "cc": ["bob@example.org"]})}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "sent to ann@example.org"},
    ]}
    p = Pseudonymiser(locate, ["EMAIL_ADDRESS"])
    hidden = p.hide_messages(body)
    arguments = json.loads(hidden["messages"][0]["tool_calls"][0]["function"]["arguments"])
    assert arguments == {"to": "<EMAIL_ADDRESS_1>", "cc": ["<EMAIL_ADDRESS_2>"]}
    assert hidden["messages"][1]["content"] == "sent to <EMAIL_ADDRESS_1>"
    assert "ann@example.org" in body["messages"][0]["tool_calls"][0]["function"]["arguments"]  # the app's copy is untouched


def test_a_name_holding_a_value_to_hide_fails_closed():
    body = {"model": "auto", "messages": [{"role": "user", "name": "ann@example.org", "content": "hi"}]}
    with pytest.raises(ValueError, match="name"):
        Pseudonymiser(locate, ["EMAIL_ADDRESS"]).hide_messages(body)
    # A name with nothing to hide goes as it is.
    body["messages"][0]["name"] = "ann_support"
    assert Pseudonymiser(locate, ["EMAIL_ADDRESS"]).hide_messages(body)["messages"][0]["name"] == "ann_support"


def test_completion_is_restored():
    p = Pseudonymiser(locate, ["EMAIL_ADDRESS"])
    p.hide("ann@example.org")
    payload = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi <EMAIL_ADDRESS_1>!"}}]}
    assert p.restore_completion(payload)["choices"][0]["message"]["content"] == "Hi ann@example.org!"


def stream_through(p: Pseudonymiser, pieces: list[str]) -> tuple[str, list[str]]:
    restorer = p.stream_restorer()
    out = []
    for index, piece in enumerate(pieces):
        last = index == len(pieces) - 1
        chunk = {"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": "stop" if last else None}]}
        out.append(restorer.feed(chunk)["choices"][0]["delta"].get("content") or "")
    return "".join(out), out


@pytest.mark.parametrize("seed", range(40))
def test_stream_restores_placeholders_split_anywhere(seed):
    p = Pseudonymiser(locate, ["EMAIL_ADDRESS", "PHONE_NUMBER"])
    p.hide("ann@example.org bob@example.org +44 20 7946 0958")
    answer = "Dear <EMAIL_ADDRESS_1>, I wrote <EMAIL_ADDRESS_2> < 3 times; <PHONE_NUMBER_1> <EMAIL_ADDRESS_7> <"
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(answer)), rng.randint(1, 25)))
    pieces = [answer[a:b] for a, b in zip([0, *cuts], [*cuts, len(answer)])]
    text, out = stream_through(p, pieces)
    assert text == p.restore(answer)
    assert "bob@example.org" in text and "+44 20 7946 0958" in text and "<EMAIL_ADDRESS_7>" in text
    # Until the choice finishes, no piece ends half-way into a placeholder.
    known = ["<EMAIL_ADDRESS_1>", "<EMAIL_ADDRESS_2>", "<PHONE_NUMBER_1>"]
    for piece in out[:-1]:
        assert not any(piece.endswith(k[:i]) for k in known for i in range(1, len(k))), piece


def test_stream_holds_back_only_a_possible_placeholder_prefix():
    p = Pseudonymiser(locate, ["EMAIL_ADDRESS"])
    p.hide("ann@example.org")
    restorer = p.stream_restorer()

    def feed(piece: str) -> str:
        return restorer.feed({"choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]})[
            "choices"][0]["delta"]["content"]

    assert feed("a < b and <EMA") == "a < b and "
    assert feed("IL_ADDRESS_1") == ""
    assert feed("> said <b>hi") == "ann@example.org said <b>hi"
    assert feed("<EM") == ""
    assert restorer.flush() == {0: "<EM"}


# -- end to end: the SDK, the real detector, the policy's obligation ----------

SUPPORT = {"routing": {"purpose": "customer_support"}}
PROMPT = "Please answer the customer at jane.doe@example.org, and cc jane.doe@example.org's manager."


def test_the_upstream_sees_placeholders_and_the_app_sees_its_values(make_proxy, upstreams, pseudonymising_policy):
    proxy = make_proxy(policy=pseudonymising_policy)
    raw = proxy.sdk().chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": PROMPT}], extra_body=SUPPORT
    )
    assert raw.headers["x-douane-endpoint"] == "fake-us"
    (sent,) = upstreams["fake-us"].take()
    forwarded = sent.body["messages"][0]["content"]
    assert "jane.doe@example.org" not in str(sent.body)
    assert forwarded == "Please answer the customer at <EMAIL_ADDRESS_1>, and cc <EMAIL_ADDRESS_1>'s manager."
    # The fake echoes what it got; the app reads its own address back.
    assert raw.parse().choices[0].message.content == f"You said: {PROMPT}"
    assert not any(f.requests for f in upstreams.values())


@pytest.mark.parametrize("chunk_size", [1, 3, 5, 7])
def test_a_streamed_answer_is_restored_across_chunk_boundaries(make_proxy, upstreams, pseudonymising_policy, chunk_size):
    proxy = make_proxy(policy=pseudonymising_policy)
    upstreams["fake-us"].chunk_size = chunk_size  # placeholders arrive split across chunks
    pieces = []
    for chunk in proxy.sdk().chat.completions.create(
        model="auto", messages=[{"role": "user", "content": PROMPT}], stream=True, extra_body=SUPPORT
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
    assert "".join(pieces) == f"You said: {PROMPT}"
    assert len(pieces) > 5
    (sent,) = upstreams["fake-us"].take()
    assert "jane.doe@example.org" not in str(sent.body)


def test_the_mapping_never_reaches_the_audit_log(make_proxy, upstreams, pseudonymising_policy, database_url):
    from sqlalchemy import text

    from services.db import make_engine

    proxy = make_proxy(policy=pseudonymising_policy)
    raw = proxy.sdk().chat.completions.with_raw_response.create(
        model="auto", messages=[{"role": "user", "content": PROMPT}], extra_body=SUPPORT
    )
    decision_id = raw.headers["x-douane-decision-id"]
    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT row_to_json(d)::text || coalesce(row_to_json(o)::text, '') FROM decisions d "
                "LEFT JOIN outcomes o ON o.decision_id = d.id WHERE d.id = :id"
            ),
            {"id": decision_id},
        ).scalars().all()
    engine.dispose()
    assert len(rows) == 1 and '"status":"ok"' in rows[0]
    assert "jane.doe" not in rows[0] and "example.org" not in rows[0]
    assert '"pseudonymise"' in rows[0]  # the obligation is recorded; the values are not


@pytest.mark.parametrize(
    "obligation",
    [{"redact": ["PERSON"]}, {"pseudonymise": "EMAIL_ADDRESS"}, {"pseudonymise": [1]}],
)
def test_an_obligation_the_gateway_cannot_carry_out_fails_that_endpoint(obligation):
    from types import SimpleNamespace

    from services.providers import service

    runtime = SimpleNamespace(detector=SimpleNamespace(locate=locate))
    with pytest.raises(service._Failed) as caught:
        service._pseudonymiser(runtime, obligation)
    assert caught.value.error_type == "obligation_failed"
    assert service._pseudonymiser(runtime, {}) is None
