"""The load test's client and reconciliation, briefly, against the real stack:
`douane serve --workers 2` on a scratch database (two processes extending
one audit chain), a fake upstream, route, chat and streamed chat requests
from the realistic mix. Nothing may be lost: every request answered, every
decision id answered is a row, every routed chat completion has its outcome
row, and both chains verify. A behaviour test: no timing is asserted."""

from __future__ import annotations

import asyncio

from bench.load import TENANTS, _decision_id, drive, plan_requests, reconcile, running_stack
from bench.prompts_mix import build_mix

RATE = 30
SECONDS = 4


def test_prompt_mix_is_deterministic_distinct_and_sized():
    mix = build_mix(3000, seed=11)
    assert [r.body for r in mix[:50]] == [r.body for r in build_mix(50, seed=11)]
    users = [r.body["messages"][1]["content"] for r in mix]
    assert len(set(users)) == len(users)  # the detector's per-message cache must not flatter the figures
    systems = {r.body["messages"][0]["content"] for r in mix}
    assert 3 <= len(systems) <= 10  # a handful of system prompts, reused
    sizes = sorted(r.user_bytes for r in mix)
    assert 700 <= sizes[len(sizes) // 2] <= 1400
    assert 0.01 <= sum(s > 8192 for s in sizes) / len(sizes) <= 0.06
    assert sizes[-1] >= 30_000
    assert 0.15 <= sum(r.personal for r in mix) / len(mix) <= 0.25
    assert len({r.language for r in mix if r.personal}) == 7


def test_decision_id_is_found_in_the_body_bytes():
    route = b'{"decision_id":"0b6f","allowed":true,"reasons":[]}'
    error = b'{"error":{"type":"service_unavailable","details":{"decision_id":"7c1e","message":"x"}}}'
    assert _decision_id(route) == "0b6f"
    assert _decision_id(error) == "7c1e"
    assert _decision_id(b'{"error":{"type":"unauthorized"}}') is None
    assert _decision_id(b"not json") is None
    # One escaped inside a string does not count; two real ones: the body is parsed, the top-level one wins.
    assert _decision_id(b'{"note":"{\\"decision_id\\": \\"zz\\"}","decision_id":"a1"}') == "a1"
    assert _decision_id(b'{"decision_id": "a1", "x": {"decision_id": "b2"}}') == "a1"


def test_load_run_loses_nothing_and_the_chain_verifies():
    planned = plan_requests(RATE * SECONDS + 5, seed=3, chat_share=0.5, stream_share=0.5)
    warmup, planned = planned[:5], planned[5:]
    assert {p.kind for p in planned} == {"route", "chat", "stream"}
    with running_stack(workers=2, upstream_delay_ms=5) as stack:
        results, _elapsed = asyncio.run(drive(stack.base_url, stack.keys, planned, RATE, 64, warmup=warmup))
        reconciliation = reconcile(stack.database_url, results, TENANTS)

    assert len(results) == len(planned) + len(warmup)
    assert not reconciliation.problems, "\n".join(reconciliation.lines)
    assert all(r.status == 200 for r in results), sorted({str(r.status) for r in results})
    assert all(r.decision_id for r in results)
