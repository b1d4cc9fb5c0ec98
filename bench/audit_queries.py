"""What auditors wait for on a big decision log: filtered pages, exports, the
compliance report and chain verification, over HTTP against the real gateway.

Needs the database seeded by bench/audit_seed.py (``douane_bench``; say
another with --database). Starts ``douane serve`` on a free loopback port in a
subprocess pointed at it, creates an auditor key for a big and for a small
tenant (services.keys.service.create_key), then prints p50/p95/p99 per case:

- the first page of GET /v1/decisions, unfiltered and with each filter the
  API takes (a filter the gateway answers 400/404/422 to is skipped and said
  so), a few combinations, and a filtered second page through the cursor;
- GET /v1/decisions/export, CSV and JSONL, of a filtered month (rows/s);
- GET /v1/audit/report for a month;
- GET /v1/audit/verify over a range (rows/s);
- for every page case whose p95 is over the issue's 200 ms, the EXPLAIN
  (ANALYZE, BUFFERS) of the query services.audit.repository.page sends;
- table sizes and row counts.

Run: ``.venv/bin/python bench/audit_queries.py`` (or ``make bench-audit``).
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from audit_seed import DATABASE, database_url, libpq_url, sizes, tenants  # noqa: E402

TARGET_P95_MS = 200.0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def line(name: str, samples: list[float], extra: str = "") -> None:
    p95 = pct(samples, 95)
    flag = "" if p95 < TARGET_P95_MS else "  > 200 ms"
    print(
        f"  {name:<58} n={len(samples):>3}  p50={statistics.median(samples):8.1f}  p95={p95:8.1f}  "
        f"p99={pct(samples, 99):8.1f} ms{flag}{extra}",
        flush=True,
    )


# --------------------------------------------------------------------------- the gateway


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_gateway(url: str, log_path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {
        **os.environ,
        "DOUANE_DATABASE_URL": url,
        "DOUANE_POLICY_WATCH": "false",
        # One key drives the whole run: the per-key limit would measure itself.
        "DOUANE_RATE_LIMIT_PER_MINUTE": "0",
        "DOUANE_POLICY_DIR": str(ROOT / "policies"),
        "DOUANE_ENDPOINTS_FILE": str(ROOT / "config" / "endpoints.yaml"),
    }
    log = open(log_path, "w")
    process = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "douane"), "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"douane serve exited with {process.returncode}; see {log_path}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    process.terminate()
    raise RuntimeError(f"douane serve did not answer /healthz in 120 s; see {log_path}")


def auditor_key(url: str, tenant: str) -> str:
    from services.db import make_engine, make_sessionmaker
    from services.keys.models import Role
    from services.keys.service import create_key

    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            _principal, key = create_key(session, tenant, Role.auditor)
            session.commit()
    finally:
        engine.dispose()
    return key


# --------------------------------------------------------------------------- cases


class Skipped(Exception):
    pass


def timed_get(client: httpx.Client, path: str, params: dict, n: int, warmup: int, budget_s: float):
    """GET n times (fewer when one call is slow: ``budget_s`` per case); the last response."""
    response = None
    for _ in range(warmup):
        started = time.perf_counter()
        response = client.get(path, params=params)
        first_ms = (time.perf_counter() - started) * 1000
        if response.status_code in (400, 404, 405, 422):
            raise Skipped(f"{response.status_code}: {_message(response)}")
        response.raise_for_status()
    if response is not None and first_ms > 1000:
        n = max(3, min(n, int(budget_s * 1000 / first_ms)))
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path, params=params)
        samples.append((time.perf_counter() - started) * 1000)
        response.raise_for_status()
    return samples, response


def _message(response: httpx.Response) -> str:
    try:
        return response.json()["error"]["message"][:120]
    except Exception:  # noqa: BLE001 - any body: show its start
        return response.text[:120]


def month_bounds(now: datetime) -> tuple[datetime, datetime]:
    """The last complete calendar month (UTC)."""
    first_this = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    first_last = (first_this - timedelta(days=1)).replace(day=1)
    return first_last, first_this


def page_cases(tenant, since: datetime, until: datetime, older_revision: str) -> list[tuple[str, dict]]:
    month = {"since": since.isoformat(), "until": until.isoformat()}
    return [
        ("unfiltered", {}),
        ("since/until (last month)", month),
        ("endpoint=mistral-large", {"endpoint": "mistral-large"}),
        ("jurisdiction=US", {"jurisdiction": "US"}),
        ("region=eu", {"region": "eu"}),
        ("sensitivity=special", {"sensitivity": "special"}),
        ("category=special:health", {"category": "special:health"}),
        ("category=criminal", {"category": "criminal"}),
        ("purpose=translation", {"purpose": "translation"}),
        ("policy_revision=<oldest>", {"policy_revision": older_revision}),
        ("status=denied", {"status": "denied"}),
        ("status=error", {"status": "error"}),
        ("outcome=ok", {"outcome": "ok"}),
        ("outcome=exhausted", {"outcome": "exhausted"}),
        ("outcome=none", {"outcome": "none"}),
        ("key_id=<one of the tenant's keys>", {"key_id": tenant.keys[-1]}),
        ("sensitivity=special & region=eu & last month", {"sensitivity": "special", "region": "eu", **month}),
        ("sensitivity=special & region=us (must be empty)", {"sensitivity": "special", "region": "us"}),
        ("sensitivity=personal & jurisdiction=CN & last month", {"sensitivity": "personal", "jurisdiction": "CN", **month}),
        ("purpose=customer_support & outcome=timeout", {"purpose": "customer_support", "outcome": "timeout"}),
    ]


def explain(url: str, tenant: str, params: dict) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the SQL repository.page sends for these filters."""
    from sqlalchemy import event

    from services.audit import repository
    from services.db import make_engine, make_sessionmaker

    fields = {k: v for k, v in params.items() if k not in ("since", "until")}
    for bound in ("since", "until"):
        if bound in params:
            fields[bound] = datetime.fromisoformat(params[bound])
    try:
        filters = repository.DecisionFilter(tenant=tenant, **fields)
    except TypeError as exc:
        print(f"    (no EXPLAIN: repository.DecisionFilter does not take these filters: {exc})")
        return
    engine = make_engine(url)
    captured: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _capture(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        if not captured and statement.lstrip().upper().startswith("SELECT"):
            captured.append((statement, parameters))

    try:
        with make_sessionmaker(engine)() as session:
            repository.page(session, filters, None, 51)
            statement, parameters = captured[0]
            raw = session.connection().connection.dbapi_connection
            with raw.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
                plan = [row[0] for row in cursor.fetchall()]
            session.rollback()
    finally:
        engine.dispose()
    print("    EXPLAIN (ANALYZE, BUFFERS) of repository.page (partition scans that returned nothing left out):")
    shown = compact_plan(plan)
    for text in shown[:45]:
        print(f"      {text}")
    if len(shown) > 45:
        print(f"      … {len(shown) - 45} more lines")


def compact_plan(plan: list[str]) -> list[str]:
    """Drop the per-partition nodes that found no row (and their details): with
    monthly partitions they are most of the plan and say nothing."""
    out: list[str] = []
    skip_deeper_than: int | None = None
    omitted = 0
    for text in plan:
        indent = len(text) - len(text.lstrip())
        if skip_deeper_than is not None:
            if indent > skip_deeper_than:
                continue
            skip_deeper_than = None
        if "->" in text and (" rows=0 loops=1)" in text or "(never executed)" in text):
            skip_deeper_than = indent
            omitted += 1
            continue
        out.append(text)
    if omitted:
        out.append(f"({omitted} partition or sub-plan nodes that returned 0 rows omitted)")
    return out


def bench_pages(client, tenant, since, until, older_revision, n, slow: list) -> None:
    for name, params in page_cases(tenant, since, until, older_revision):
        try:
            samples, response = timed_get(client, "/v1/decisions", {**params, "limit": 50}, n, 2, budget_s=20)
        except Skipped as why:
            print(f"  {name:<58} skipped ({why})", flush=True)
            continue
        rows = len(response.json()["data"])
        line(name, samples, f"  ({rows} rows)")
        if pct(samples, 95) >= TARGET_P95_MS:
            slow.append((tenant.name, name, params))


def bench_second_page(client, tenant, params: dict, label: str, n: int) -> None:
    first = client.get("/v1/decisions", params={**params, "limit": 50})
    if first.status_code != 200:
        print(f"  second page ({label}): skipped ({first.status_code}: {_message(first)})")
        return
    cursor = first.json().get("next_cursor")
    if not cursor:
        print(f"  second page ({label}): skipped (the first page is the only one)")
        return
    try:
        samples, response = timed_get(
            client, "/v1/decisions", {**params, "limit": 50, "cursor": cursor}, n, 2, budget_s=20
        )
    except Skipped as why:
        print(f"  second page ({label}): skipped ({why})")
        return
    line(f"second page via cursor ({label})", samples, f"  ({len(response.json()['data'])} rows)")


def bench_export(client, params: dict, label: str) -> None:
    for fmt in ("csv", "jsonl"):
        started = time.perf_counter()
        first_byte = None
        lines = size = 0
        try:
            with client.stream("GET", "/v1/decisions/export", params={**params, "format": fmt}, timeout=1800) as response:
                if response.status_code != 200:
                    response.read()
                    print(f"  export {fmt:<5} {label}: skipped ({response.status_code}: {_message(response)})")
                    continue
                for chunk in response.iter_bytes():
                    if first_byte is None:
                        first_byte = time.perf_counter() - started
                    lines += chunk.count(b"\n")
                    size += len(chunk)
        except httpx.HTTPError as exc:
            print(f"  export {fmt:<5} {label}: failed after {time.perf_counter() - started:.1f} s ({type(exc).__name__}: {exc})")
            continue
        elapsed = time.perf_counter() - started
        rows = lines - 1 if fmt == "csv" else lines  # the CSV header
        print(
            f"  export {fmt:<5} {label}: {rows:,} rows, {size / 2**20:.1f} MiB in {elapsed:.1f} s: "
            f"{rows / elapsed:,.0f} rows/s (first byte after {1000 * (first_byte or 0):.0f} ms)",
            flush=True,
        )


def bench_report(client, since: datetime, until: datetime, label: str, n: int) -> None:
    params = {"since": since.isoformat(), "until": until.isoformat()}
    try:
        samples, _response = timed_get(client, "/v1/audit/report", params, n, 1, budget_s=60)
    except Skipped as why:
        print(f"  report {label}: skipped ({why})")
        return
    line(f"GET /v1/audit/report ({label})", samples)


def bench_verify(client, since: datetime, until: datetime, label: str) -> None:
    params = {"since": since.isoformat(), "until": until.isoformat()}
    started = time.perf_counter()
    try:
        response = client.get("/v1/audit/verify", params=params, timeout=3600)
    except httpx.HTTPError as exc:
        print(f"  verify {label}: failed after {time.perf_counter() - started:.0f} s ({type(exc).__name__})")
        return
    elapsed = time.perf_counter() - started
    if response.status_code in (400, 404, 405, 422):
        print(f"  verify {label}: skipped ({response.status_code}: {_message(response)})")
        return
    body = response.json()
    checked = sum(c.get("rows_checked", 0) for c in body.get("chains", []))
    per_chain = ", ".join(f"{c['chain']} {c['rows_checked']:,}" for c in body.get("chains", []))
    print(
        f"  GET /v1/audit/verify ({label}): ok={body.get('ok')}, {checked:,} rows ({per_chain}) in {elapsed:.1f} s: "
        f"{checked / elapsed:,.0f} rows/s; first broken: {body.get('first_broken')}",
        flush=True,
    )


# --------------------------------------------------------------------------- main


def counts(url_libpq: str) -> dict[str, int | None]:
    """Exact row counts (None when counting takes over two minutes)."""
    out: dict[str, int | None] = {}
    with psycopg.connect(url_libpq, autocommit=True) as connection:
        connection.execute("SET statement_timeout = '120s'")
        for table in ("decisions", "outcomes"):
            try:
                out[table] = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            except psycopg.errors.QueryCanceled:
                out[table] = None
        heads = dict(connection.execute("SELECT chain, seq FROM audit_chain_heads").fetchall())
    for table in ("decisions", "outcomes"):
        out[f"{table} chain head seq"] = heads.get(table)
    return out


def tenant_rows(url_libpq: str, tenant: str) -> str:
    with psycopg.connect(url_libpq, autocommit=True) as connection:
        connection.execute("SET statement_timeout = '60s'")
        try:
            return f"{connection.execute('SELECT count(*) FROM decisions WHERE tenant = %s', (tenant,)).fetchone()[0]:,}"
        except psycopg.errors.QueryCanceled:
            return "(count over 60 s, not shown)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("-n", type=int, default=30, help="timed requests per page case")
    parser.add_argument("--small", default="tenant-250", help="the small tenant")
    parser.add_argument("--skip-verify", action="store_true")
    parser.add_argument("--verify-days", type=int, default=7, help="days of rows GET /v1/audit/verify checks")
    args = parser.parse_args()

    url, url_libpq = database_url(args.database), libpq_url(args.database)
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, database {args.database}")
    started = time.perf_counter()
    rows = counts(url_libpq)
    print(
        "rows: " + ", ".join(f"{name} {value:,}" if value is not None else f"{name} (count over 120 s)" for name, value in rows.items())
        + f" (counted in {time.perf_counter() - started:.1f} s)"
    )
    with psycopg.connect(url_libpq) as connection:
        sizes(connection)
        revision_row = connection.execute(
            "SELECT policy_revision FROM decisions WHERE created_at < (SELECT min(created_at) FROM decisions) + interval '1 day' LIMIT 1"
        ).fetchone()
        newest = connection.execute("SELECT max(created_at) FROM decisions").fetchone()[0]
    older_revision = revision_row[0] if revision_row else "sha256:" + "0" * 64
    all_tenants = {t.name: t for t in tenants()}
    big, small = all_tenants["acme"], all_tenants[args.small]
    since, until = month_bounds(newest or datetime.now(timezone.utc))

    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"douane-bench-audit-gateway-{os.getpid()}.log"
    process, base = start_gateway(url, log_path)
    print(f"gateway: douane serve at {base} (log {log_path})")
    slow: list[tuple[str, str, dict]] = []
    try:
        for tenant in (big, small):
            key = auditor_key(url, tenant.name)
            print(
                f"\ntenant {tenant.name}: {tenant_rows(url_libpq, tenant.name)} decisions; "
                f"last month = [{since:%Y-%m-%d}, {until:%Y-%m-%d})"
            )
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=600) as client:
                bench_pages(client, tenant, since, until, older_revision, args.n, slow)
                bench_second_page(client, tenant, {"sensitivity": "personal"}, "sensitivity=personal", args.n)
                bench_second_page(
                    client, tenant, {"region": "eu", "since": since.isoformat(), "until": until.isoformat()},
                    "region=eu & last month", args.n,
                )
                month = {"since": since.isoformat(), "until": until.isoformat()}
                bench_export(client, {**month, "region": "eu"}, "last month, region=eu")
                bench_report(client, since, until, "last month", max(5, args.n // 3))
                if tenant is big and not args.skip_verify:
                    v_until = until
                    bench_verify(client, v_until - timedelta(days=args.verify_days), v_until, f"{args.verify_days} days, all tenants")
        if slow:
            print(f"\npage cases over {TARGET_P95_MS:.0f} ms at p95, and what PostgreSQL does for them:")
            for tenant_name, name, params in slow:
                print(f"  {tenant_name}: {name}  params {params}")
                try:
                    explain(url, tenant_name, params)
                except Exception as exc:  # noqa: BLE001 - a figure missing, not a reason to lose the others
                    print(f"    (no EXPLAIN: {type(exc).__name__}: {exc})")
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


if __name__ == "__main__":
    main()
