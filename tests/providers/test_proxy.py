"""The proxy through the official OpenAI SDK: the app changes ``base_url``
and nothing else; the fakes record what was forwarded where."""

from __future__ import annotations

import threading

import httpx
import openai
import pytest
from sqlalchemy import text

from services.db import make_engine
from services.keys.service import authenticate
from tests.fake_upstream import closed_port_url
from tests.providers.conftest import EU, FAKE_KEY, catalog_entry

CLEAN = "What is the capital of Portugal?"
PERSONAL = "Write a polite reminder to jane.doe@example.org about the unpaid invoice"
SPECIAL = "Summarise: my patient Anna Schmidt, born 12.03.1961, has type 2 diabetes"


def messages(content: str) -> list[dict]:
    return [{"role": "user", "content": content}]


def decision(proxy, decision_id: str) -> dict:
    with httpx_client(proxy, proxy.auditor_key) as client:
        response = client.get(f"/v1/decisions/{decision_id}")
    assert response.status_code == 200, response.text
    return response.json()


def httpx_client(proxy, key) -> httpx.Client:
    return httpx.Client(base_url=proxy.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30)


def test_non_streaming_answer_comes_from_the_cheapest_planned_endpoint(proxy, upstreams):
    raw = proxy.sdk().chat.completions.with_raw_response.create(
        model="auto", messages=messages(CLEAN), temperature=0.2, max_tokens=50
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == f"You said: {CLEAN}"
    assert raw.headers["x-douane-endpoint"] == "fake-cn"
    decision_id = raw.headers["x-douane-decision-id"]

    (sent,) = upstreams["fake-cn"].take()
    assert sent.body["model"] == "fake-cn-model"  # the catalog's model name, not "auto"
    assert sent.body["temperature"] == 0.2 and sent.body["max_tokens"] == 50
    assert sent.body["messages"] == messages(CLEAN)
    assert "routing" not in sent.body
    assert sent.headers["authorization"] == f"Bearer {FAKE_KEY}"
    assert not any(f.requests for f in upstreams.values())

    view = decision(proxy, decision_id)
    outcome = view["outcome"]
    assert outcome["status"] == "ok" and outcome["endpoint"] == "fake-cn" and outcome["stream"] is False
    assert outcome["upstream_status"] == 200
    assert [a["endpoint"] for a in outcome["attempts"]] == ["fake-cn"]
    usage = completion.usage
    assert outcome["usage"] == {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}
    # fake-cn costs $10 per Mtok in and out.
    assert outcome["cost_usd"] == pytest.approx((usage.prompt_tokens + usage.completion_tokens) * 10 / 1e6)
    assert outcome["total_ms"] >= outcome["ttft_ms"] > 0


def test_routing_hints_ride_in_extra_body_and_are_not_forwarded(proxy, upstreams):
    raw = proxy.sdk().chat.completions.with_raw_response.create(
        model="auto", messages=messages(CLEAN), extra_body={"routing": {"residency": "eu"}}
    )
    assert raw.headers["x-douane-endpoint"] == "fake-eu"
    (sent,) = upstreams["fake-eu"].take()
    assert "routing" not in sent.body
    assert not any(f.requests for f in upstreams.values())


def test_stream_arrives_chunk_by_chunk(proxy, upstreams):
    fake = upstreams["fake-cn"]
    fake.gate = threading.Event()  # the fake holds its stream after the first content chunk
    with proxy.sdk().chat.completions.with_streaming_response.create(
        model="auto", messages=messages(CLEAN), stream=True
    ) as response:
        assert response.headers["x-douane-endpoint"] == "fake-cn"
        assert response.headers["content-type"].startswith("text/event-stream")
        decision_id = response.headers["x-douane-decision-id"]
        pieces = []
        for chunk in response.parse():
            if chunk.choices and chunk.choices[0].delta.content:
                if not pieces:
                    # The app has its first words while the upstream is still held.
                    assert fake.streams_finished == 0
                    fake.gate.set()
                pieces.append(chunk.choices[0].delta.content)
    assert "".join(pieces) == f"You said: {CLEAN}"
    assert len(pieces) > 3
    assert fake.streams_finished == 1
    outcome = decision(proxy, decision_id)["outcome"]
    assert outcome["status"] == "ok" and outcome["stream"] is True
    # Usage is asked upstream for the cost even when the app did not ask for it.
    assert outcome["usage"]["output_tokens"] > 0 and outcome["cost_usd"] > 0


def test_stream_options_include_usage_is_honoured(proxy, upstreams):
    chunks = list(
        proxy.sdk().chat.completions.create(
            model="auto", messages=messages(CLEAN), stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens > 0
    without = list(proxy.sdk().chat.completions.create(model="auto", messages=messages(CLEAN), stream=True))
    assert all(c.usage is None for c in without)
    assert all(c.choices for c in without)


def error_of(exc: openai.APIStatusError) -> dict:
    body = exc.response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"type", "message", "details"}
    return body["error"]


@pytest.mark.parametrize(
    "failure, stream",
    [(f, s) for f in ("status_500", "status_503", "status_429", "hang") for s in (False, True)] + [("hang_body", True)],
)
def test_first_endpoint_fails_before_its_first_byte_so_the_second_answers(proxy, upstreams, failure, stream):
    first = upstreams["fake-cn"]
    if failure.startswith("status_"):
        first.mode, first.status = "error", int(failure.removeprefix("status_"))
    else:
        first.mode = failure
    raw = proxy.sdk().chat.completions.with_raw_response.create(model="auto", messages=messages(CLEAN), stream=stream)
    assert raw.headers["x-douane-endpoint"] == "fake-us"
    if stream:
        text = "".join(c.choices[0].delta.content or "" for c in raw.parse() if c.choices)
    else:
        text = raw.parse().choices[0].message.content
    assert text == f"You said: {CLEAN}"
    assert len(first.take()) == 1 and len(upstreams["fake-us"].take()) == 1
    assert not any(f.requests for f in upstreams.values())

    outcome = decision(proxy, raw.headers["x-douane-decision-id"])["outcome"]
    assert outcome["status"] == "ok" and outcome["endpoint"] == "fake-us"
    failed, answered = outcome["attempts"]
    assert failed["endpoint"] == "fake-cn" and failed["error_type"] == {
        "status_500": "upstream_5xx", "status_503": "upstream_5xx", "status_429": "rate_limited",
        "hang": "timeout", "hang_body": "timeout",
    }[failure]
    assert answered == {**answered, "endpoint": "fake-us", "status": 200, "error_type": None}


def test_unreachable_endpoint_and_missing_key_are_failed_attempts(make_proxy, upstreams):
    proxy = make_proxy([
        catalog_entry("fake-cn", closed_port_url()),
        catalog_entry("fake-us", upstreams["fake-us"].base_url, api_key_env="DOUANE_TEST_KEY_NOBODY_SET"),
        catalog_entry("fake-eu", upstreams["fake-eu"].base_url),
    ])
    raw = proxy.sdk().chat.completions.with_raw_response.create(model="auto", messages=messages(CLEAN))
    assert raw.headers["x-douane-endpoint"] == "fake-eu"
    assert upstreams["fake-us"].requests == []  # never sent without the key its catalog row names
    attempts = decision(proxy, raw.headers["x-douane-decision-id"])["outcome"]["attempts"]
    assert [(a["endpoint"], a["error_type"]) for a in attempts] == [
        ("fake-cn", "connect_error"), ("fake-us", "missing_api_key"), ("fake-eu", None)
    ]
    assert "DOUANE_TEST_KEY_NOBODY_SET" in attempts[1]["reason"]


@pytest.mark.parametrize("stream", [False, True])
def test_exhausted_plan_is_503_with_every_attempts_reason(proxy, upstreams, stream):
    for fake in upstreams.values():
        fake.mode, fake.status = "error", 502
    upstreams["fake-eu"].status = 429
    with pytest.raises(openai.APIStatusError) as caught:
        proxy.sdk().chat.completions.create(model="auto", messages=messages(CLEAN), stream=stream)
    assert caught.value.status_code == 503
    error = error_of(caught.value)
    assert error["type"] == "upstream_unavailable"
    attempts = error["details"]["attempts"]
    assert [a["endpoint"] for a in attempts] == ["fake-cn", "fake-us", "fake-eu", "fake-eu-self"]
    assert [a["status"] for a in attempts] == [502, 502, 429, 502]
    for name in ("fake-cn", "fake-us", "fake-eu", "fake-eu-self"):
        assert name in error["message"]
    decision_id = caught.value.response.headers["x-douane-decision-id"]
    assert decision_id == error["details"]["decision_id"]
    outcome = decision(proxy, decision_id)["outcome"]
    assert outcome["status"] == "exhausted" and outcome["endpoint"] is None and len(outcome["attempts"]) == 4


def test_only_timeouts_is_504(proxy, upstreams):
    for fake in upstreams.values():
        fake.mode = "hang"
    with pytest.raises(openai.APIStatusError) as caught:
        proxy.sdk().chat.completions.create(model="auto", messages=messages(CLEAN), extra_body={"routing": {"residency": "eu"}})
    assert caught.value.status_code == 504
    error = error_of(caught.value)
    assert error["type"] == "upstream_timeout"
    assert [a["endpoint"] for a in error["details"]["attempts"]] == ["fake-eu", "fake-eu-self"]


@pytest.mark.parametrize("stream", [False, True])
def test_special_category_data_never_leaves_the_eu_when_the_eu_is_down(proxy, upstreams, stream):
    for name in EU:
        upstreams[name].mode, upstreams[name].status = "error", 503
    with pytest.raises(openai.APIStatusError) as caught:
        proxy.sdk().chat.completions.create(model="auto", messages=messages(SPECIAL), stream=stream)
    assert caught.value.status_code == 503
    attempts = error_of(caught.value)["details"]["attempts"]
    assert {a["endpoint"] for a in attempts} == EU
    assert upstreams["fake-cn"].requests == [] and upstreams["fake-us"].requests == []
    assert all(len(upstreams[name].take()) == 1 for name in EU)


def test_explicit_model_the_policy_forbids_is_403_with_reasons(proxy, upstreams):
    with pytest.raises(openai.PermissionDeniedError) as caught:
        proxy.sdk().chat.completions.create(model="fake-cn", messages=messages(SPECIAL))
    error = error_of(caught.value)
    assert error["type"] == "policy_denied"
    assert error["details"]["reasons"]
    assert error["details"]["denied"]["fake-cn"]
    assert not any(f.requests for f in upstreams.values())
    view = decision(proxy, caught.value.response.headers["x-douane-decision-id"])
    assert view["status"] == "denied" and view["outcome"] is None


def test_explicit_model_the_policy_allows_goes_there_only(proxy, upstreams):
    raw = proxy.sdk().chat.completions.with_raw_response.create(model="fake-eu-self", messages=messages(CLEAN))
    assert raw.headers["x-douane-endpoint"] == "fake-eu-self"
    (sent,) = upstreams["fake-eu-self"].take()
    assert sent.body["model"] == "fake-eu-self-model"
    assert not any(f.requests for f in upstreams.values())


def test_unknown_model_is_404_and_nothing_is_forwarded(proxy, upstreams):
    with pytest.raises(openai.NotFoundError) as caught:
        proxy.sdk().chat.completions.create(model="gpt-17", messages=messages(CLEAN))
    assert error_of(caught.value)["type"] == "model_not_found"
    assert not any(f.requests for f in upstreams.values())


def test_upstream_4xx_is_not_retried_and_comes_back_as_502(proxy, upstreams):
    upstreams["fake-cn"].mode, upstreams["fake-cn"].status = "error", 400
    with pytest.raises(openai.APIStatusError) as caught:
        proxy.sdk().chat.completions.create(model="auto", messages=messages(CLEAN))
    assert caught.value.status_code == 502
    error = error_of(caught.value)
    assert error["type"] == "upstream_error" and "fake-cn" in error["message"]
    assert error["details"]["upstream_status"] == 400
    assert error["details"]["upstream_error"]["message"] == "fake-cn fails on purpose"
    assert len(upstreams["fake-cn"].take()) == 1
    assert not any(f.requests for f in upstreams.values())
    outcome = decision(proxy, error["details"]["decision_id"])["outcome"]
    assert outcome["status"] == "upstream_error" and outcome["upstream_status"] == 400


def test_a_stream_cut_short_is_reported_to_the_app_and_in_the_outcome(proxy, upstreams):
    upstreams["fake-cn"].mode = "truncate"
    with proxy.sdk().chat.completions.with_streaming_response.create(
        model="auto", messages=messages(CLEAN), stream=True
    ) as response:
        decision_id = response.headers["x-douane-decision-id"]
        received = []
        with pytest.raises(openai.APIError) as caught:
            for chunk in response.parse():
                received.append(chunk)
    assert received  # the first part arrived
    assert "fake-cn" in str(caught.value.message)
    assert not upstreams["fake-us"].requests  # after the first byte: reported, not retried
    assert decision(proxy, decision_id)["outcome"]["status"] == "truncated"


def test_decision_is_committed_before_anything_is_forwarded(proxy, upstreams, database_url):
    with proxy.runtime.sessions() as session:
        tenant = authenticate(session, proxy.app_key).tenant
    seen = {}

    def reply(body):
        # Runs in the fake upstream, while the gateway waits for its answer.
        engine = make_engine(database_url)
        with engine.connect() as connection:
            seen["rows"] = connection.execute(
                text("SELECT count(*) FROM decisions WHERE api = 'chat' AND tenant = :t"), {"t": tenant}
            ).scalar()
        engine.dispose()
        return "ok"

    upstreams["fake-cn"].reply = reply
    proxy.sdk().chat.completions.create(model="auto", messages=messages(CLEAN))
    assert seen["rows"] == 1


def test_models_lists_auto_and_the_catalog(proxy):
    ids = [m.id for m in proxy.sdk().models.list()]
    assert ids[0] == "auto"
    assert set(ids[1:]) == {"fake-cn", "fake-us", "fake-eu", "fake-eu-self"}


def test_audit_database_down_is_503_and_nothing_is_forwarded(make_proxy, upstreams):
    proxy = make_proxy(database_url="postgresql+psycopg://postgres@127.0.0.1:9/douane")
    with pytest.raises(openai.APIStatusError) as caught:
        proxy.sdk().chat.completions.create(model="auto", messages=messages(CLEAN))
    assert caught.value.status_code == 503
    assert error_of(caught.value)["type"] == "database_unavailable"
    assert not any(f.requests for f in upstreams.values())


def test_an_app_that_hangs_up_mid_stream_still_gets_an_outcome_row(proxy, upstreams):
    fake = upstreams["fake-cn"]
    fake.gate = threading.Event()
    with proxy.sdk().chat.completions.with_streaming_response.create(
        model="auto", messages=messages(CLEAN), stream=True
    ) as response:
        decision_id = response.headers["x-douane-decision-id"]
        for chunk in response.parse():
            if chunk.choices and chunk.choices[0].delta.content:
                break  # hang up after the first words
    try:
        # The upstream is still held, so only the hang-up can end this stream.
        # The gateway notices it on its own time: wait for the row, bounded.
        pause = threading.Event()
        for _ in range(200):
            outcome = decision(proxy, decision_id)["outcome"]
            if outcome is not None:
                break
            pause.wait(0.05)
        assert fake.streams_finished == 0
    finally:
        fake.gate.set()
    assert outcome is not None
    assert outcome["status"] == "client_disconnected" and outcome["endpoint"] == "fake-cn"


def test_failures_open_the_breaker_and_the_policy_stops_planning_the_endpoint(proxy, upstreams):
    upstreams["fake-cn"].mode = "error"
    threshold = proxy.runtime.endpoint_health.failure_threshold
    for _ in range(threshold):
        raw = proxy.sdk().chat.completions.with_raw_response.create(model="auto", messages=messages(CLEAN))
        assert raw.headers["x-douane-endpoint"] == "fake-us"
    assert len(upstreams["fake-cn"].take()) == threshold
    with httpx_client(proxy, proxy.app_key) as client:
        states = {e["id"]: e for e in client.get("/v1/endpoints").json()["data"]}
        metrics = client.get("/metrics").text
    assert states["fake-cn"]["healthy"] is False and states["fake-us"]["healthy"] is True
    assert 'douane_fallbacks_total{from_endpoint="fake-cn",to_endpoint="fake-us"}' in metrics

    raw = proxy.sdk().chat.completions.with_raw_response.create(model="auto", messages=messages(CLEAN))
    view = decision(proxy, raw.headers["x-douane-decision-id"])
    assert "fake-cn" not in [view["route"]["endpoint"], *view["route"]["fallbacks"]]
    assert upstreams["fake-cn"].requests == []  # an open breaker is the policy's input, not a Python shortcut
