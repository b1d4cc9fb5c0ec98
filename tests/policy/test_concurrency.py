"""Concurrent evaluations on one engine each get their own input's decision.

A shared regopy interpreter without isolation was measured returning another
request's decision; every answer here is checked against its own input.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.policy.conftest import make_input

THREADS = 8
PER_THREAD = 200


def unique_input(thread: int, n: int) -> tuple[dict, list[str]]:
    # Ids and costs are unique to (thread, n); cost order is reversed for odd
    # n so a leaked answer from another request cannot match by accident.
    tag = f"t{thread}n{n}"
    costs = [0.001 * (i + 1) for i in range(3)]
    if n % 2:
        costs.reverse()
    candidates = [
        {"id": f"{tag}-{i}", "provider": "p", "jurisdiction": "FR", "region": "eu", "self_hosted": False,
         "healthy": True, "latency_p95_ms": 100 + thread, "estimated_cost_usd": cost + thread * 1e-6}
        for i, cost in enumerate(costs)
    ]
    candidates.append({"id": f"{tag}-far", "provider": "p", "jurisdiction": "US", "region": "us",
                       "self_hosted": False, "healthy": True, "latency_p95_ms": 100, "estimated_cost_usd": 0.0})
    expected = [c["id"] for c in sorted(candidates[:3], key=lambda c: c["estimated_cost_usd"])]
    return make_input({"EMAIL_ADDRESS": {"count": 1, "max_score": 0.9}}, candidates=candidates), expected


def worker(engine, thread: int) -> list[str]:
    mismatches = []
    for n in range(PER_THREAD):
        policy_input, expected = unique_input(thread, n)
        decision = engine.evaluate(policy_input)
        tag = f"t{thread}n{n}"
        if decision.plan != expected or list(decision.denied) != [f"{tag}-far"]:
            mismatches.append(f"{tag}: plan {decision.plan} denied {list(decision.denied)}")
    return mismatches


def test_concurrent_evaluations_are_isolated(engine):
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(lambda t: worker(engine, t), range(THREADS)))
    mismatches = [m for r in results for m in r]
    assert mismatches == [], f"{len(mismatches)} of {THREADS * PER_THREAD} answers were wrong: {mismatches[:5]}"
