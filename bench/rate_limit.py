"""What the per-key rate limit costs a request, and why it leases.

Measures, on this machine, with the local PostgreSQL (a scratch database is
created, migrated and dropped):
- the request path when the replica holds a token (lock + dict, no database),
- the same under a load spread over 8 keys with the background pass running
  every 250 ms, as the gateway does: CPU per admitted request, share of
  requests that had to lease for themselves,
- 300 requests/s over 30 keys (the gateway's target load), paced,
- one lease (the INSERT ... ON CONFLICT DO UPDATE ... RETURNING): what every
  request would pay if each were counted in Postgres, the exact alternative.

Run: `.venv/bin/python bench/rate_limit.py`.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.db import make_engine  # noqa: E402
from services.gateway.ratelimit import WINDOW_S, LeaseRequest, MemoryLeases, PostgresLeases, RateLimiter  # noqa: E402
from services.migrate import upgrade  # noqa: E402

ADMIN_URL = os.environ.get("DOUANE_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def fast_path(n: int = 200_000) -> float:
    limiter = RateLimiter(MemoryLeases())
    limiter.admit("k_warm", 10**9)
    started = time.process_time()
    for _ in range(n):
        limiter.admit("k_warm", 10**9)
    return (time.process_time() - started) / n * 1e6


def under_load(engine, *, keys: int = 8, threads: int = 8, per_thread: int = 5000) -> tuple[float, float, float]:
    """(CPU µs per request incl. the background pass, wall µs per request, % leased on the request path)"""
    limiter = RateLimiter(PostgresLeases(engine))
    leased_inline = [0]
    real_lease = limiter._leases.lease

    def counting(requests):
        if threading.current_thread().name.startswith("client"):
            leased_inline[0] += 1
        return real_lease(requests)

    limiter._leases.lease = counting  # type: ignore[method-assign]
    stop = threading.Event()

    def background() -> None:
        while not stop.wait(0.25):
            limiter.sync()

    def client(n: int) -> None:
        key = f"k_{n % keys:016x}"
        for _ in range(per_thread):
            limiter.admit(key, 10**6)

    sync = threading.Thread(target=background)
    workers = [threading.Thread(target=client, args=(n,), name=f"client-{n}") for n in range(threads)]
    cpu, wall = time.process_time(), time.perf_counter()
    sync.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    stop.set()
    sync.join()
    total = threads * per_thread
    return (
        (time.process_time() - cpu) / total * 1e6,
        (time.perf_counter() - wall) / total * 1e6,
        100 * leased_inline[0] / total,
    )


def paced(engine, *, rate: int = 300, seconds: float = 4.0, keys: int = 30, limit: int = 6000) -> list[tuple]:
    """The gateway's target load: ``rate`` requests/s spread over ``keys`` keys,
    in a window's first seconds and then again. For each: (CPU µs per request
    incl. the background pass, % leased on the request path, background passes)"""
    limiter = RateLimiter(PostgresLeases(engine))
    inline, passes = [0], [0]
    real_lease = limiter._leases.lease

    def counting(requests):
        if threading.current_thread().name == "client":
            inline[0] += 1
        return real_lease(requests)

    limiter._leases.lease = counting  # type: ignore[method-assign]
    stop = threading.Event()

    def background() -> None:
        while not stop.wait(0.25):
            limiter.sync()
            passes[0] += 1

    def client(admit=True) -> None:
        started = time.perf_counter()
        for n in range(int(rate * seconds)):
            delay = started + n / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            if admit:
                limiter.admit(f"k_p{n % keys:015x}", limit)

    cpu = time.process_time()
    client(admit=False)  # the pacing alone, subtracted below
    pacing = time.process_time() - cpu

    sync = threading.Thread(target=background)
    sync.start()
    results = []
    for _phase in ("cold: every key's first lease of the window", "warm"):
        inline[0] = passes[0] = 0
        worker = threading.Thread(target=client, name="client")
        cpu = time.process_time()
        worker.start()
        worker.join()
        total = int(rate * seconds)
        results.append(((time.process_time() - cpu - pacing) / total * 1e6, 100 * inline[0] / total, passes[0]))
    stop.set()
    sync.join()
    return results


def one_lease(engine, n: int = 2000) -> tuple[float, float]:
    """(median wall ms, CPU µs in this process) of one single-key lease statement."""
    store = PostgresLeases(engine)
    window = int(time.time() // WINDOW_S)
    store.lease([LeaseRequest("k_" + "0" * 16, window, 10**9, 1)])
    walls = []
    cpu = time.process_time()
    for _ in range(n):
        started = time.perf_counter()
        store.lease([LeaseRequest("k_" + "0" * 16, window, 10**9, 1)])
        walls.append(time.perf_counter() - started)
    return statistics.median(walls) * 1000, (time.process_time() - cpu) / n * 1e6


def main() -> None:
    name = f"douane_bench_rl_{secrets.token_hex(3)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    engine = make_engine(make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False))
    try:
        upgrade(engine)
        print(f"request path, token held (no database):  {fast_path():6.2f} µs CPU per request")
        cpu, wall, inline = under_load(engine)
        print(
            f"8 threads x 8 keys, Postgres leases:     {cpu:6.2f} µs CPU per request (background pass included), "
            f"{wall:.2f} µs wall, {inline:.3f}% leased on the request path"
        )
        for phase, (cpu, inline, passes) in zip(("cold", "warm"), paced(engine)):
            print(
                f"300 req/s over 30 keys, 4 s, {phase}:       {cpu:6.2f} µs CPU per request (background pass included, "
                f"pacing not), {inline:.2f}% leased on the request path, {passes} background passes"
            )
        median_ms, lease_cpu = one_lease(engine)
        print(
            f"one lease statement (per-request exact): {median_ms:6.3f} ms wall median, "
            f"{lease_cpu:.0f} µs CPU in the gateway process (plus the server's)"
        )
    finally:
        engine.dispose()
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
