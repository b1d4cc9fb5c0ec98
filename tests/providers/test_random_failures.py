"""Whatever the upstreams do, nothing is forwarded outside the decision's
plan: random failures through many requests, and every request each fake
received checked against the plan recorded for it in the audit log."""

from __future__ import annotations

import random

import httpx
import openai
import pytest

from tests.providers.conftest import EU, FAKES

PROMPTS = [
    ("clean", "What is the capital of Portugal?"),
    ("personal", "Write a polite reminder to jane.doe@example.org about the unpaid invoice"),
    ("special", "Summarise: my patient Anna Schmidt, born 12.03.1961, has type 2 diabetes"),
]
FAILURES = [("ok", 10), ("error:500", 3), ("error:503", 2), ("error:429", 2), ("error:400", 1),
            ("hang", 1), ("hang_body", 1), ("truncate", 2)]


def pick(rng: random.Random, weighted):
    return rng.choices([w[0] for w in weighted], weights=[w[1] for w in weighted])[0]


def send(proxy, body: dict) -> tuple[str, int]:
    """One request through the SDK; the decision id and the HTTP status."""
    client = proxy.sdk()
    extra = {"extra_body": {"routing": body.pop("routing")}} if "routing" in body else {}
    try:
        if body.get("stream"):
            with client.chat.completions.with_streaming_response.create(**body, **extra) as response:
                try:
                    for _chunk in response.parse():
                        pass
                except openai.APIError:
                    pass  # a stream broken after its first event: reported in-band
                return response.headers["x-douane-decision-id"], response.status_code
        raw = client.chat.completions.with_raw_response.create(**body, **extra)
        return raw.headers["x-douane-decision-id"], raw.status_code
    except openai.APIStatusError as exc:
        return exc.response.headers["x-douane-decision-id"], exc.status_code


@pytest.mark.parametrize("seed", [20261128, 5])
def test_nothing_is_ever_forwarded_outside_the_plan(proxy, upstreams, seed):
    rng = random.Random(seed)
    auditor = httpx.Client(base_url=proxy.base_url, headers={"Authorization": f"Bearer {proxy.auditor_key}"})
    statuses = set()
    for _ in range(60):
        for fake in upstreams.values():
            failure = pick(rng, FAILURES)
            fake.mode, _, status = failure.partition(":")
            fake.status = int(status or 500)
            fake.chunk_size = rng.choice([1, 4, 16])
        kind, prompt = rng.choice(PROMPTS)
        body = {"model": rng.choice(["auto", "auto", "auto", *FAKES]),
                "messages": [{"role": "user", "content": prompt}], "stream": rng.random() < 0.5}
        if rng.random() < 0.2:
            body["routing"] = {"residency": "eu"}
        decision_id, status = send(proxy, body)
        statuses.add(status)

        view = auditor.get(f"/v1/decisions/{decision_id}").json()
        plan = [view["route"]["endpoint"], *view["route"]["fallbacks"]] if view["allowed"] else []
        received = {name: fake.take() for name, fake in upstreams.items()}
        reached = [name for name, requests in received.items() if requests]
        # Each planned endpoint is tried at most once, and only planned ones are tried.
        assert all(len(requests) <= 1 for requests in received.values()), (seed, decision_id)
        assert set(reached) <= set(plan), (seed, decision_id, plan, reached)
        if kind == "special" or body.get("routing"):
            assert set(reached) <= EU
        for name in reached:
            sent = received[name][0].body
            assert sent["model"] == f"{name}-model" and "routing" not in sent
        outcome = view["outcome"]
        if not plan:
            assert status == 403 and outcome is None and not reached
            continue
        tried = [a["endpoint"] for a in outcome["attempts"]]
        # The attempts follow the plan in order, and are exactly who got the request.
        assert tried == plan[: len(tried)], (seed, decision_id)
        assert set(tried) == set(reached), (seed, decision_id, tried, reached)
        if outcome["status"] == "ok":
            assert status == 200 and outcome["endpoint"] == tried[-1]
    auditor.close()
    # The run exercised both answers and failures.
    assert 200 in statuses and statuses - {200}
