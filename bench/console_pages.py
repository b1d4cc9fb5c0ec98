"""How fast the console's pages load on a decision log of a million rows.

Seeds the scratch database ``douane_console_bench`` with bench/audit_seed.py
(1,000,000 decisions by default; ``--rows``), unless it already holds
decisions or ``--database-url`` names a database seeded before (seeding takes
minutes). Then starts ``douane serve`` on a free loopback port in a
subprocess pointed at it, creates keys (services.keys.service.create_key), logs
in to the console like a browser (the cookie) and loads every page 20 times,
printing p50/p95 per page against the 300 ms target (the time to the last
byte over loopback, as the server answers it).

Run: ``.venv/bin/python bench/console_pages.py`` (or ``make bench-console``).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import audit_seed  # noqa: E402
from audit_queries import pct, start_gateway  # noqa: E402

DATABASE = "douane_console_bench"
TARGET_MS = 300.0


def seed(name: str, rows: int) -> str:
    """``name`` seeded with ``rows`` decisions by bench/audit_seed.py, unless it
    holds decisions already. audit_seed names its database in one constant
    (and in two defaults bound from it): pointed at ours, so a concurrent
    ``make bench-audit`` on douane_bench and this bench never share rows."""
    audit_seed.DATABASE = name
    audit_seed.database_url.__defaults__ = (name,)
    audit_seed.libpq_url.__defaults__ = (name,)
    argv = sys.argv
    sys.argv = [argv[0], "--rows", str(rows), "--reuse"]
    try:
        audit_seed.main()
    finally:
        sys.argv = argv
    return audit_seed.database_url(name)


def make_key(url: str, tenant: str, role) -> str:
    from services.db import make_engine, make_sessionmaker
    from services.keys.service import create_key

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            _principal, key = create_key(session, tenant, role)
            session.commit()
    finally:
        engine.dispose()
    return key


def console(base: str, key: str) -> httpx.Client:
    """A client logged in like a browser: the form, the cookie, the Origin."""
    client = httpx.Client(base_url=base, headers={"Origin": base}, timeout=600)
    response = client.post("/console/login", data={"key": key})
    if response.status_code != 303:
        raise RuntimeError(f"login answered {response.status_code}: {response.text[:200]}")
    return client


def timed(client: httpx.Client, method: str, path: str, n: int, data: dict | None = None) -> tuple[list[float], httpx.Response]:
    response = client.request(method, path, data=data)  # warm-up (and the check that it works)
    if response.status_code != 200:
        raise RuntimeError(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.request(method, path, data=data)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return samples, response


def line(name: str, samples: list[float], target: bool = True) -> None:
    p95 = pct(samples, 95)
    flag = ("  ok" if p95 < TARGET_MS else f"  > {TARGET_MS:.0f} ms") if target else "  (on demand, no target)"
    print(f"  {name:<62} n={len(samples):>3}  p50={statistics.median(samples):8.1f}  p95={p95:8.1f} ms{flag}", flush=True)


def main() -> None:
    from services.keys.models import Role

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="an already seeded database (skips seeding)")
    parser.add_argument("--rows", type=int, default=1_000_000, help="decisions to seed when seeding")
    parser.add_argument("-n", type=int, default=20, help="timed loads per page")
    parser.add_argument("--tenant", default="acme", help="the tenant auditors and the DPO read (acme: the biggest)")
    args = parser.parse_args()
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores")
    url = args.database_url or seed(DATABASE, args.rows)
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq) as connection:
        total = connection.execute("SELECT count(*) FROM decisions").fetchone()[0]
        mine = connection.execute("SELECT count(*) FROM decisions WHERE tenant = %s", (args.tenant,)).fetchone()[0]
        newest_id, newest = connection.execute(
            "SELECT id, created_at FROM decisions WHERE tenant = %s ORDER BY created_at DESC LIMIT 1", (args.tenant,)
        ).fetchone()
        special_id = connection.execute(
            "SELECT id FROM decisions WHERE tenant = %s AND sensitivity = 'special' ORDER BY created_at DESC LIMIT 1",
            (args.tenant,),
        ).fetchone()[0]
    print(f"database {make_url(url).database}: {total:,} decisions, tenant {args.tenant} {mine:,}; newest {newest:%Y-%m-%d %H:%M}")
    month_ago = (newest - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")

    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"douane-bench-console-{os.getpid()}.log"
    process, base = start_gateway(url, log_path)
    print(f"gateway: douane serve at {base} (log {log_path}); target p95 < {TARGET_MS:.0f} ms, {args.n} loads a page\n")
    try:
        auditor = console(base, make_key(url, args.tenant, Role.auditor))
        platform = console(base, make_key(url, "platform", Role.platform_auditor))
        dpo = console(base, make_key(url, args.tenant, Role.dpo))
        first, _ = timed(auditor, "GET", "/console/decisions", 1)
        page = auditor.get("/console/decisions").text
        cursor = page.split('class="next" href="')[1].split('"')[0].replace("&amp;", "&") if 'class="next"' in page else ""
        cases = [
            (auditor, f"auditor ({args.tenant}): decision log, first page", "/console/decisions"),
            (auditor, "  next page (keyset cursor)", cursor),
            (auditor, "  sensitivity=special", "/console/decisions?sensitivity=special"),
            (auditor, "  category=special:health", "/console/decisions?category=special:health"),
            (auditor, "  region=eu & last 30 days", f"/console/decisions?region=eu&since={month_ago}"),
            (auditor, "  outcome=exhausted", "/console/decisions?outcome=exhausted"),
            (auditor, "  purpose=translation & jurisdiction=US", "/console/decisions?purpose=translation&jurisdiction=US"),
            (auditor, "  100 rows a page (the most it shows)", "/console/decisions?limit=100"),
            (auditor, "a decision's page", f"/console/decisions/{newest_id}"),
            (auditor, "a decision's page (special category)", f"/console/decisions/{special_id}"),
            (auditor, "traffic, last 30 days (3 grouped queries)", "/console/traffic"),
            (auditor, "traffic, 92 days", f"/console/traffic?since={(newest - timedelta(days=91)).strftime('%Y-%m-%dT%H:%M')}"),
            (auditor, "spend, last 30 days (cost report + daily chart)", "/console/spend"),
            (auditor, "spend, 92 days, three baselines",
             f"/console/spend?since={(newest - timedelta(days=91)).strftime('%Y-%m-%dT%H:%M')}"
             "&baseline=deepseek-chat&baseline=gpt-4o&baseline=claude-opus-4"),
            (auditor, "chain page", "/console/verify"),
            (platform, "platform auditor: decision log, every tenant", "/console/decisions"),
            (platform, "  traffic, last 30 days, every tenant", "/console/traffic"),
            (platform, "  spend, last 30 days, every tenant", "/console/spend"),
            (platform, "  a decision's page", f"/console/decisions/{newest_id}"),
            (dpo, f"DPO ({args.tenant}): policy page", "/console/policy"),
        ]
        for client, name, path in cases:
            samples, _ = timed(client, "GET", path, args.n)
            line(name, samples)
        print("\non demand (a button, not a page load):")
        day_ago = (newest - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
        samples, response = timed(auditor, "POST", "/console/verify", 3, {"since": day_ago})
        line("chain check, the last day", samples, target=False)
        samples, response = timed(dpo, "POST", "/console/policy/whatif", 1, {"candidate": str(ROOT / "policies"), "since": "1d"})
        replayed = response.text.split("replayed ")[1].split(" recorded")[0] if "replayed " in response.text else "?"
        line(f"what-if, 1 day ({replayed} decisions replayed)", samples, target=False)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()
