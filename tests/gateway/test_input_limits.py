"""Input hardening: limits on messages and their size, the body limit,
malformed JSON, content types, undeclared query parameters and Unicode.
Every refusal is a clear 4xx in the one error shape; nothing is a 500."""

from __future__ import annotations

import json

import pytest

from tests.gateway.test_errors import assert_error_shape

CHAT_PATHS = ("/v1/route", "/v1/chat/completions")


def chat(*contents: str, **extra) -> dict:
    return {"model": "auto", "messages": [{"role": "user", "content": c} for c in contents], **extra}


@pytest.fixture
def small_gateway(make_gateway):
    """Limits small enough to reach with a few bytes."""
    return make_gateway({"max_messages": 3, "max_message_chars": 50, "max_total_chars": 80})


@pytest.mark.parametrize("path", CHAT_PATHS)
def test_too_many_messages_are_refused_naming_the_limit(small_gateway, make_key, path):
    with small_gateway.client(make_key("app")) as client:
        response = client.post(path, json=chat("a", "b", "c", "d"))
    error = assert_error_shape(response, 422, "limit_exceeded")
    assert "DOUANE_MAX_MESSAGES" in error["message"]
    assert error["details"] == {"limit": "DOUANE_MAX_MESSAGES", "max": 3, "actual": 4, "loc": ["body", "messages"]}


@pytest.mark.parametrize("path", CHAT_PATHS)
def test_an_oversized_message_is_refused_naming_the_limit(small_gateway, make_key, path):
    with small_gateway.client(make_key("app")) as client:
        response = client.post(path, json=chat("short", "x" * 51))
    error = assert_error_shape(response, 422, "limit_exceeded")
    assert error["details"]["limit"] == "DOUANE_MAX_MESSAGE_CHARS"
    assert error["details"]["loc"] == ["body", "messages", 1]
    assert "x" * 10 not in response.text  # the limit is named, the text is not quoted


def test_every_text_of_a_message_counts(small_gateway, make_key):
    # Names and tool-call arguments are read by detection, so they count too.
    message = {
        "role": "assistant",
        "content": "c" * 20,
        "name": "n" * 20,
        "tool_calls": [{"id": "1", "type": "function", "function": {"name": "f", "arguments": "a" * 20}}],
    }
    with small_gateway.client(make_key("app")) as client:
        response = client.post("/v1/route", json={"model": "auto", "messages": [message]})
    assert assert_error_shape(response, 422, "limit_exceeded")["details"]["actual"] == 60


def test_the_messages_together_have_a_limit(small_gateway, make_key):
    with small_gateway.client(make_key("app")) as client:
        response = client.post("/v1/route", json=chat("x" * 50, "y" * 50))
    error = assert_error_shape(response, 422, "limit_exceeded")
    assert error["details"]["limit"] == "DOUANE_MAX_TOTAL_CHARS"


def test_policy_dry_runs_have_the_same_limits(small_gateway, make_key):
    with small_gateway.client(make_key("dpo")) as client:
        response = client.post("/v1/policy/evaluate", json={"request": chat("a", "b", "c", "d")})
    error = assert_error_shape(response, 422, "limit_exceeded")
    assert error["details"]["loc"] == ["body", "request", "messages"]


def test_limits_are_checked_after_the_key(small_gateway):
    with small_gateway.client("not-a-key") as client:
        assert_error_shape(client.post("/v1/route", json=chat("a", "b", "c", "d")), 401)


def test_default_limits_take_a_32kb_prompt_and_a_long_conversation(gateway, make_key):
    settings = gateway.runtime.settings
    assert settings.max_message_chars >= 32_768 and settings.max_messages >= 500
    prompt = ("Bitte fasse den folgenden Vertrag zusammen. " * 800)[:32_768]
    conversation = [{"role": "user" if i % 2 == 0 else "assistant", "content": f"turn {i}"} for i in range(500)]
    with gateway.client(make_key("app")) as client:
        assert client.post("/v1/route", json=chat(prompt)).status_code == 200
        assert client.post("/v1/route", json={"model": "auto", "messages": conversation}).status_code == 200


def test_a_body_over_the_limit_gets_413_declared_or_chunked(make_gateway, make_key):
    live = make_gateway({"max_body_bytes": 2_000})
    with live.client(make_key("app")) as client:
        assert_error_shape(client.post("/v1/route", json=chat("x" * 3_000)), 413, "payload_too_large")

        def chunks():
            yield b'{"model": "auto", "messages": [{"role": "user", "content": "'
            for _ in range(5):
                yield b"y" * 500
            yield b'"}]}'

        chunked = client.post("/v1/route", content=chunks(), headers={"content-type": "application/json"})
        assert_error_shape(chunked, 413, "payload_too_large")
        # Just under the limit is served.
        assert client.post("/v1/route", json=chat("z" * 1_800)).status_code == 200


@pytest.mark.parametrize(
    "content",
    [
        b'{"model": "auto", "messages": [',
        b"",
        b"\xff\xfe\x00garbage",
        b'{"model": "auto", "messages": [{"role": "user", "content": "\xc3\x28"}]}',  # not UTF-8
        b'{"model": "auto", "messages": [{"role": "user", "content": "hi"}]} trailing',
        b"[" * 100_000,  # deeper than the JSON parser recurses
        b"NaN",
    ],
)
def test_malformed_json_is_a_clear_error(gateway, make_key, content):
    with gateway.client(make_key("app")) as client:
        response = client.post("/v1/route", content=content, headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text
    error = assert_error_shape(response, response.status_code)
    assert error["type"] in ("invalid_json", "validation_error")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"])
@pytest.mark.parametrize("path", [*CHAT_PATHS, "/v1/policy/evaluate"])
def test_a_body_that_is_not_json_gets_415(gateway, make_key, path, content_type):
    headers = {"content-type": content_type} if content_type else {}
    key = make_key("dpo" if "policy" in path else "app")
    with gateway.client(key) as client:
        response = client.post(path, content=json.dumps(chat("hi")).encode(), headers=headers)
    error = assert_error_shape(response, 415, "unsupported_media_type")
    assert "application/json" in error["message"]


def test_json_content_types_with_parameters_are_accepted(gateway, make_key):
    with gateway.client(make_key("app")) as client:
        for content_type in ("application/json; charset=utf-8", "Application/JSON", "application/vnd.api+json"):
            response = client.post("/v1/route", content=json.dumps(chat("hi")), headers={"content-type": content_type})
            assert response.status_code == 200, (content_type, response.text)


@pytest.mark.parametrize(
    "role, path",
    [
        ("auditor", "/v1/audit/report?purpose=support"),  # report has no purpose filter
        ("auditor", "/v1/decisions?outcom=exhausted"),  # a typo must not widen the answer
        ("auditor", "/v1/audit/verify?limit=5"),
        ("app", "/v1/models?x=1"),
        (None, "/healthz?verbose=1"),
    ],
)
def test_undeclared_query_parameters_are_refused(gateway, make_key, role, path):
    with gateway.client(make_key(role) if role else None) as client:
        error = assert_error_shape(client.get(path), 422, "validation_error")
    assert error["details"][0]["loc"][0] == "query" and error["details"][0]["type"] == "extra_forbidden"


def test_declared_query_parameters_still_work(gateway, make_key):
    with gateway.client(make_key("auditor")) as client:
        assert client.get("/v1/decisions?limit=5&outcome=none&sensitivity=none").status_code == 200
        assert client.get("/v1/decisions/export?format=csv").status_code == 200


# JSON text (as it appears on the wire) of strings that are hard on a pipeline.
UNICODE = {
    "lone high surrogate": r'"before \ud800 after"',
    "lone low surrogate": r'"\udfff"',
    "reversed pair": r'"\udc00\ud800"',
    "NUL": r'"a\u0000b"',
    "RTL override and marks": json.dumps("\u202eAnna Schmidt\u202c \u200f\u200e anna@example.org"),
    "emoji and ZWJ sequences": json.dumps("😀 👩‍👩‍👧 🏳️‍🌈 call me at +49 30 1234567"),
    "mixed scripts": json.dumps("Москва 東京 مرحبا नमस्ते Ελλάδα Straße"),
    "combining marks": json.dumps("Z̷̡̛a̶͖l̵̨g̸o̴ e\u0301\u0301\u0301"),
    "zero width": json.dumps("IBAN\u200bDE89\u200c3704\u200d0044\ufeff0532013000"),
    "noncharacters": json.dumps("\ufffe\uffff\U0010ffff"),
}


def bodies(literal: str) -> dict[str, str]:
    """The same string in every place of a chat request it can go."""
    return {
        "content": '{"model":"auto","messages":[{"role":"user","content":%s}]}' % literal,
        "text part": '{"model":"auto","messages":[{"role":"user","content":[{"type":"text","text":%s}]}]}' % literal,
        "name": '{"model":"auto","messages":[{"role":"user","content":"hi","name":%s}]}' % literal,
        "model": '{"model":%s,"messages":[{"role":"user","content":"hi"}]}' % literal,
        "purpose": '{"model":"auto","messages":[{"role":"user","content":"hi"}],"routing":{"purpose":%s}}' % literal,
        "unknown field": '{"model":"auto","messages":[{"role":"user","content":"hi"}],"user":%s}' % literal,
        "unknown key": '{"model":"auto","messages":[{"role":"user","content":"hi"}],%s:1}' % literal,
        "nested key and value": (
            '{"model":"auto","messages":[{"role":"user","content":"hi"}],"metadata":{%s:[%s]}}' % (literal, literal)
        ),
        "tool arguments": (
            '{"model":"auto","messages":[{"role":"assistant","content":null,"tool_calls":'
            '[{"id":"1","type":"function","function":{"name":"f","arguments":%s}}]}]}' % literal
        ),
    }


@pytest.mark.parametrize("case", list(UNICODE))
def test_unicode_gets_a_clean_answer_or_a_clear_4xx(gateway, make_key, case):
    literal = UNICODE[case]
    lone_surrogate = "surrogate" in case or "reversed" in case
    with gateway.client(make_key("app")) as client:
        for where, body in bodies(literal).items():
            response = client.post("/v1/route", content=body.encode(), headers={"content-type": "application/json"})
            assert response.status_code < 500, (where, response.text)
            if response.status_code >= 400:
                # Refused only where the schema restricts the string, or for a lone surrogate.
                error = assert_error_shape(response, response.status_code)
                assert where in ("model", "purpose") or lone_surrogate, (where, response.text)
                if lone_surrogate:
                    assert "lone surrogate" in json.dumps(error["details"]), (where, response.text)
            else:
                assert not lone_surrogate, (where, response.text)
                assert response.json()["decision_id"]


def test_lone_surrogates_in_a_policy_input_are_refused(gateway, make_key):
    body = r'{"input": {"request": {"tenant": "\ud800"}, "findings": {}, "candidates": []}}'
    with gateway.client(make_key("dpo")) as client:
        response = client.post("/v1/policy/evaluate", content=body, headers={"content-type": "application/json"})
    assert_error_shape(response, 422, "validation_error")


def test_deeply_nested_unknown_fields_are_not_a_500(gateway, make_key):
    nested = "[" * 5_000 + "]" * 5_000
    body = '{"model":"auto","messages":[{"role":"user","content":"hi"}],"metadata":%s}' % nested
    with gateway.client(make_key("app")) as client:
        response = client.post("/v1/route", content=body, headers={"content-type": "application/json"})
    assert response.status_code < 500, response.text


@pytest.mark.parametrize(
    "path",
    [
        "/v1/decisions?until=2026",  # a number would be read as Unix time: 1970-01-01T00:33:46Z
        "/v1/audit/report?since=-10642",
        "/v1/decisions/export?since=1.5e3",
        "/v1/audit/verify?since=0001-01-01T00:00:00%2B14:00",  # no UTC time
        "/v1/decisions?until=9999-12-31T23:59:59-14:00",
    ],
)
def test_times_that_are_numbers_or_out_of_range_are_refused(gateway, make_key, path):
    with gateway.client(make_key("auditor")) as client:
        assert_error_shape(client.get(path), 422, "validation_error")


def test_extreme_but_valid_times_get_an_answer(gateway, make_key, tenant):
    with gateway.client(make_key("app", tenant)) as client:
        assert client.post("/v1/route", json=chat("hello")).status_code == 200
    with gateway.client(make_key("auditor", tenant)) as client:
        # since - one day of clock margin used to overflow: a 500, and an export cut short.
        assert client.get("/v1/audit/report?since=0001-01-01T00:01:20Z").status_code == 200
        export = client.get("/v1/decisions/export?since=0001-01-01T00:00:00Z")
        assert export.status_code == 200 and len(export.text.splitlines()) == 1
        # An outcome filter walks months down from until: from year 9999 that was ~96,000 queries.
        page = client.get("/v1/decisions?outcome=none&until=9999-12-01T00:00:00Z", timeout=10)
        assert page.status_code == 200 and len(page.json()["data"]) == 1


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_output_tokens_are_bounded_so_the_policy_can_rank_the_cost(gateway, make_key, field):
    # From about 1e15 tokens the cost estimate overflowed the policy engine's
    # integers: garbage plans, refused (fail closed) as a 503 on valid input.
    with gateway.client(make_key("app")) as client:
        # At the bound the policy still decides (no 503): no model's context
        # window takes ten million tokens, and every endpoint says so.
        answer = client.post("/v1/route", json=chat("hi", **{field: 10_000_000}))
        assert answer.status_code == 200 and answer.json()["allowed"] is False
        assert all(
            any("tokens of context" in reason for reason in c["reasons"]) for c in answer.json()["candidates"]
        )
        assert client.post("/v1/route", json=chat("hi", **{field: 100_000})).json()["allowed"] is True
        assert_error_shape(client.post("/v1/route", json=chat("hi", **{field: 10**15})), 422, "validation_error")
