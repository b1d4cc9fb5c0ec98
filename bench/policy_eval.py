"""What one policy evaluation costs in the embedded engine (regopy), on the
request path's inputs: the shipped policy, the catalog's seven endpoints, and
the requests the gateway sees most (clean, personal, special-category, low
risk tolerance, EU residency, a latency budget).

Prints p50/p95/p99 per input kind and over all of them, for
EmbeddedEngine.evaluate (input conversion, evaluation under the lock, JSON
parse, output validation) and for the regopy query alone. OPA's guidance for
a request-path policy is about 1 ms. Asserts nothing.

What the time is made of (measured 2026-11-28 with thread CPU time, rego-cpp
1.5.2 through regopy, 7 candidates): a query costs ~0.06 ms before any rule
runs; then each element a comprehension or rule produces costs ~6-9 us, each
membership test or object lookup ~9-13 us, each builtin call ~5-15 us
(sprintf, floor, round), each `not` inside a loop ~10-25 us, and each
candidate object in the output ~20 us to serialise. A `some x` left unbound
in front of a lookup (`some name; m[name]`) can make rego-cpp enumerate the
data document instead (three times the cost): bind it with `some x in ...`.
Rewriting every concern as object-comprehension tables merged by id measured
no faster in the whole policy than the partial sets it replaced; what paid
was removing per-request work (a table of EU/EEA levels rebuilt on every
request; three sprintf and two function calls per candidate in the ranking).
The issue's 1 ms would need about half the per-candidate operations the
policy makes today, or a faster engine. Python adds ~0.3 ms around the query
(regopy.Input walks the input dict with one ctypes call per value).

Run: `.venv/bin/python bench/policy_eval.py` (no database, no network).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import regopy  # noqa: E402

from policy.embedded import EmbeddedEngine  # noqa: E402
from services.providers.health import EndpointHealth  # noqa: E402
from services.routing.candidates import build_candidates  # noqa: E402
from services.routing.catalog import load_catalog  # noqa: E402
from services.routing.schemas import UsageEstimate  # noqa: E402

N = 400


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def make_inputs() -> dict[str, dict]:
    catalog = load_catalog(ROOT / "config" / "endpoints.yaml")
    candidates = build_candidates(catalog, UsageEstimate(input_tokens=600, output_tokens=256), EndpointHealth())
    base = {"tenant": "acme", "key_id": "k_0123456789abcdef", "purpose": "customer_support", "residency": "any",
            "latency_budget_ms": None, "risk_tolerance": "medium", "model": "auto",
            # What the gateway adds for the quality concern (tiers): see services/routing/service.py.
            "min_tier": None, "needs": [], "estimated_tokens": 856, "stream": False, "cascade_check": None,
            "complexity": {"level": "simple", "score": 0.0, "signals": []}}
    personal = {"PERSON": {"count": 1, "max_score": 0.85}, "EMAIL_ADDRESS": {"count": 1, "max_score": 1.0}}
    special = {**personal, "HEALTH_TERM": {"count": 2, "max_score": 0.85}}

    def make(entities=None, **request):
        return {"request": {**base, **request}, "findings": {"languages": ["en"], "entities": entities or {}},
                "candidates": candidates}

    return {
        "clean": make(),
        "personal": make(personal),
        "special": make(special),
        "clean, low risk tolerance": make(risk_tolerance="low"),
        "personal, EU residency": make(personal, residency="eu"),
        "clean, latency budget 1200 ms": make(latency_budget_ms=1200),
        "personal, complex task": make(personal, complexity={"level": "complex", "score": 5.0,
                                                             "signals": ["reasoning_cues", "input_over_600_chars"]}),
    }


def timed(fn, n: int) -> list[float]:
    for _ in range(20):
        fn()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def line(name: str, samples: list[float]) -> str:
    return (f"{name:<34} p50={statistics.median(samples):6.3f} ms  p95={pct(samples, 95):6.3f} ms  "
            f"p99={pct(samples, 99):6.3f} ms")


def main() -> None:
    engine = EmbeddedEngine.from_dir(ROOT / "policies")
    print(f"policy {engine.revision[:19]}…, {len(engine.modules)} modules, regopy {regopy.__version__ if hasattr(regopy, '__version__') else ''}")
    everything_evaluate, everything_query = [], []
    print("\nEmbeddedEngine.evaluate (what a request pays):")
    for name, policy_input in make_inputs().items():
        samples = timed(lambda: engine.evaluate(policy_input), N)
        everything_evaluate += samples
        print("  " + line(name, samples))
    print("  " + line("all inputs", everything_evaluate))
    print("\nregopy query_bundle alone (the Rego evaluation):")
    for name, policy_input in make_inputs().items():
        native = regopy.Input(policy_input)

        slot = engine._slots.get()  # one slot, held for the whole measurement

        def query():
            slot.runner.set_input(native)
            return slot.runner.query_bundle(slot.compiled)

        samples = timed(query, N)
        engine._slots.put(slot)
        everything_query += samples
        print("  " + line(name, samples))
    print("  " + line("all inputs", everything_query))
    print(f"\ntarget: <= 1 ms p50 (OPA's guidance for a request-path policy); "
          f"measured p50 {statistics.median(everything_evaluate):.3f} ms")




def throughput(engine: EmbeddedEngine, policy_input: dict, threads: int, seconds: float = 3.0) -> float:
    """Evaluations per second with `threads` callers at once."""
    from concurrent.futures import ThreadPoolExecutor

    deadline = time.perf_counter() + seconds

    def loop() -> int:
        n = 0
        while time.perf_counter() < deadline:
            engine.evaluate(policy_input)
            n += 1
        return n

    with ThreadPoolExecutor(max_workers=threads) as pool:
        total = sum(pool.map(lambda _: loop(), range(threads)))
    return total / seconds


def concurrency() -> None:
    policy_input = make_inputs()["personal"]
    print("\nthroughput under concurrency (evaluations/s; regopy releases the GIL, slots run in parallel):")
    for slots in (1, 4):
        engine = EmbeddedEngine.from_dir(ROOT / "policies", slots=slots)
        figures = ", ".join(f"{t} callers {throughput(engine, policy_input, t):6.0f}/s" for t in (1, 4, 10))
        print(f"  {slots} slot{'s' if slots > 1 else ' '}: {figures}")


if __name__ == "__main__":
    main()
    concurrency()
