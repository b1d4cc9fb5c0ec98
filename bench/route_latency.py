"""Where a decision's time goes, and what /v1/route costs end to end.

Measures, on this machine, with the real parts:
- detection (Presidio + spaCy) on a short and a ~2 KB prompt,
- policy evaluation (embedded regopy, compiled bundle),
- the audit write (INSERT + COMMIT of one decision row in PostgreSQL),
- POST /v1/route over loopback HTTP, sequential and with concurrent clients.

Run: `make bench` (or `.venv/bin/python bench/route_latency.py`). Needs the
local PostgreSQL; a scratch database is created and dropped.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.live import make_settings, serve_in_thread  # noqa: E402

from policy import load_engine  # noqa: E402
from services.db import make_engine, make_sessionmaker  # noqa: E402
from services.gateway.app import build_runtime  # noqa: E402
from services.keys.models import Role  # noqa: E402
from services.keys.service import Principal, create_key  # noqa: E402
from services.migrate import upgrade  # noqa: E402
from services.pii import build_detector  # noqa: E402
from services.routing.candidates import build_candidates  # noqa: E402
from services.routing.schemas import ChatCompletionRequest  # noqa: E402
from services.routing.service import decide, policy_request  # noqa: E402
from services.routing.usage import estimate_usage  # noqa: E402

ADMIN_URL = os.environ.get("DOUANE_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SHORT = "Summarise: my patient Anna Schmidt, born 12.03.1961, has type 2 diabetes"
LONG = (
    "Hello support team, I am writing about my order 88-1234 placed last Tuesday. "
    "The parcel arrived damaged and two items were missing from the box. "
    "You can reach me at jane.doe@example.org or on +44 20 7946 0958 during office hours. "
    "My colleague Peter Müller already called your hotline but the ticket was closed without an answer. "
) * 5  # about 2 KB


_serial = iter(range(10**9))


def fresh(text: str) -> str:
    """The text with a unique reference in front: the detector remembers
    messages it has seen, so repeating one text would time cache hits."""
    return f"Ref {next(_serial)}: {text}"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def report(name: str, samples_ms: list[float]) -> None:
    print(
        f"{name:<44} n={len(samples_ms):>5}  p50={statistics.median(samples_ms):8.2f} ms  "
        f"p95={pct(samples_ms, 95):8.2f} ms  p99={pct(samples_ms, 99):8.2f} ms"
    )


def timed(fn, n: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    name = f"douane_bench_{secrets.token_hex(4)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        run(url)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def run(database_url: str) -> None:
    engine = make_engine(database_url)
    upgrade(engine)
    detector = build_detector()
    policy = load_engine("embedded", ROOT / "policies")
    runtime = build_runtime(make_settings(database_url), detector=detector, policy=policy)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores; policy {policy.revision[:19]}…")

    report("detect: short prompt (72 chars)", timed(lambda: detector.detect([fresh(SHORT)]), 100))
    report(f"detect: long prompt ({len(LONG)} chars)", timed(lambda: detector.detect([fresh(LONG)]), 50))
    report("detect: the same prompt again (cache hit)", timed(lambda: detector.detect([SHORT]), 100))

    request = ChatCompletionRequest(model="auto", messages=[{"role": "user", "content": SHORT}])
    principal = Principal(key_id="k_0000000000000000", tenant="bench", role=Role.app)
    usage = estimate_usage(request, 256)
    policy_input = {
        "request": policy_request(principal, request, usage, runtime.complexity.classify(request, 256)),
        "findings": detector.detect([SHORT]).to_policy_input(),
        "candidates": build_candidates(runtime.catalog, usage, runtime.endpoint_health),
    }
    report("policy: evaluate (embedded, compiled)", timed(lambda: policy.evaluate(policy_input), 500))

    sessions = make_sessionmaker(engine)

    def decide_and_commit() -> None:
        unique = ChatCompletionRequest(model="auto", messages=[{"role": "user", "content": fresh(SHORT)}])
        decide(runtime, principal, unique, api="route")  # committed by the audit writer

    report("decide + commit (detect, policy, audit)", timed(decide_and_commit, 100))

    with sessions() as session:
        _p, key = create_key(session, "bench", Role.app)
        session.commit()
    live, stop = serve_in_thread(runtime)
    try:
        def body() -> dict:
            return {"model": "auto", "messages": [{"role": "user", "content": fresh(SHORT)}]}

        with httpx.Client(base_url=live.base_url, headers={"Authorization": f"Bearer {key}"}) as client:
            report("POST /v1/route, 1 client", timed(lambda: client.post("/v1/route", json=body()).raise_for_status(), 100))

        for clients in (4, 16):
            per_client = 50
            latencies: list[float] = []

            def worker(_i: int) -> None:
                with httpx.Client(base_url=live.base_url, headers={"Authorization": f"Bearer {key}"}) as c:
                    for _ in range(per_client):
                        start = time.perf_counter()
                        c.post("/v1/route", json=body()).raise_for_status()
                        latencies.append((time.perf_counter() - start) * 1000)

            started = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                list(pool.map(worker, range(clients)))
            elapsed = time.perf_counter() - started
            report(f"POST /v1/route, {clients} clients", latencies)
            print(f"{'':<44} throughput {len(latencies) / elapsed:8.1f} decisions/s")
    finally:
        stop()
        engine.dispose()


if __name__ == "__main__":
    main()
