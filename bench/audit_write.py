"""Decision-write throughput of the group-commit audit writer: N threads
(1, 8, 32, 64) each calling AuditWriter.write with realistic decision rows
(policy input with candidates, policy output, findings) against PostgreSQL,
each write committed (synchronous_commit on) before it returns. Also two
writer processes on the same database, the case of two gateway workers.

Prints rows/s, the mean batch size and p50/p95/p99 of one write, then
checks the chain still verifies. The issue's target: >= 2,000 decision
writes/s on 2 cores. Asserts nothing.

Run: `.venv/bin/python bench/audit_write.py` (PostgreSQL on 127.0.0.1:5432;
a database of its own is created and dropped; DOUANE_BENCH_ADMIN_URL to change).
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from services.audit.verify import verify  # noqa: E402
from services.audit.writer import AuditWriter  # noqa: E402
from services.db import make_engine  # noqa: E402
from services.migrate import upgrade  # noqa: E402
from tests.audit.test_writer import decision  # noqa: E402  (the same realistic row the tests write)

ADMIN_URL = os.environ.get("DOUANE_BENCH_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
SECONDS = float(os.environ.get("DOUANE_BENCH_SECONDS", "5"))


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def run(url: str, threads: int, seconds: float) -> tuple[int, float, list[float], int]:
    engine = make_engine(url)
    writer = AuditWriter(engine)
    writer.write(decision())  # warm the pool and the thread
    latencies: list[float] = []
    lock = threading.Lock()
    stop = time.perf_counter() + seconds
    before_rows, before_batches = writer.rows, writer.batches

    def client() -> None:
        mine = []
        while time.perf_counter() < stop:
            record = decision(tenant="t-bench")
            started = time.perf_counter()
            writer.write(record)
            mine.append((time.perf_counter() - started) * 1000)
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    workers = [threading.Thread(target=client) for _ in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - started
    rows, batches = writer.rows - before_rows, writer.batches - before_batches
    writer.close()
    engine.dispose()
    return rows, elapsed, latencies, batches


def _process(url: str, threads: int, seconds: float, out) -> None:
    rows, elapsed, _lat, _b = run(url, threads, seconds)
    out.put((rows, elapsed))


def main() -> None:
    name = f"douane_bench_{secrets.token_hex(3)}"
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        engine = make_engine(url)
        upgrade(engine)
        print(f"audit writes, {SECONDS:.0f} s per run, {os.cpu_count()} cores, PostgreSQL (synchronous_commit on)")
        print(f"{'threads':>8} {'rows/s':>9} {'batch':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}")
        for threads in (1, 8, 32, 64):
            rows, elapsed, latencies, batches = run(url, threads, SECONDS)
            print(
                f"{threads:>8} {rows / elapsed:>9.0f} {rows / max(batches, 1):>7.1f} "
                f"{statistics.median(latencies):>8.2f} {pct(latencies, 95):>8.2f} {pct(latencies, 99):>8.2f}"
            )
        queue: multiprocessing.Queue = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=_process, args=(url, 32, SECONDS, queue)) for _ in range(2)]
        for p in procs:
            p.start()
        results = [queue.get() for _ in procs]
        for p in procs:
            p.join()
        total = sum(r for r, _ in results) / max(e for _, e in results)
        print(f"2 processes x 32 threads: {total:.0f} rows/s together (one chain, head row lock)")
        started = time.perf_counter()
        report = verify(engine)
        took = time.perf_counter() - started
        rows = report.chains[0].rows_checked
        print(f"verify: {'ok' if report.ok else 'BROKEN'}, {rows} decisions in {took:.1f} s ({rows / took:.0f} rows/s)")
        engine.dispose()
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
