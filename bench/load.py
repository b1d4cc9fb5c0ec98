"""Sustained load on the real stack, then a reconciliation of every count.

One run starts, each as its own process on loopback:
- a fake OpenAI-compatible upstream (bench/stack.py): chat
  completions, streamed or not, after ``--upstream-delay-ms``;
- a scratch PostgreSQL database made by ``douane db upgrade``, two tenants'
  app keys made by ``douane keys create``;
- ``douane serve --workers N`` with a copy of the shipped catalog whose
  endpoints all point at the fake upstream.

Then an open-loop asyncio client (aiohttp, one pooled session) sends the
prompt mix of bench/prompts_mix.py at ``--rate`` requests per second for
``--duration`` seconds: to POST /v1/route, and a ``--chat`` share to /v1/chat/completions
(``--stream`` of those streamed). Sends follow the schedule, not the answers,
with at most ``--max-in-flight`` requests outstanding; latency is measured
from each request's scheduled send time, so a gateway that falls behind is
charged for the queue it causes (no coordinated omission), and the client
says when it could not keep the offered rate.

Then it reconciles: every request sent got a response; the decision rows of
the run are exactly the decision ids the responses carry, each one present;
the outcome rows are exactly the chat completions that were routed; both
hash chains verify. It prints throughput, latency percentiles, status counts,
the reconciliation and the gateway's own stage timings from /metrics, and
exits 1 when the reconciliation fails (never on the rate or latency: it is a
benchmark).

Run: ``make bench-load`` (the issue's 300 req/s for 60 s), or
``.venv/bin/python bench/load.py --rate 300 --duration 60 --workers 2``.
Needs the local PostgreSQL (DOUANE_TEST_ADMIN_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.prompts_mix import build_mix, describe  # noqa: E402
from bench.stack import Process, free_port, pct, scratch_database, start, upstream_argv, wait_until_up  # noqa: E402

UPSTREAM_KEY = "sk-load-" + "0" * 24  # the fake upstream accepts any key; nothing real
TENANTS = ("load-acme", "load-globex")
DECISION_HEADER = "x-douane-decision-id"
LATE_MS = 10.0  # a send later than this after its schedule counts as late


# ----------------------------------------------------------------- the stack


def _wait_for_workers(process: Process, workers: int, timeout_s: float = 180) -> None:
    """/healthz answers once one worker is up; the run waits for all of them."""
    deadline = time.monotonic() + timeout_s
    while process.log.read_text(errors="replace").count("Application startup complete") < workers:
        if process.popen.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{process.name}: not all {workers} workers started:\n{process.tail()}")
        time.sleep(0.25)


@dataclass
class Stack:
    base_url: str
    database_url: str
    keys: dict[str, str]  # tenant -> app key
    gateway: Process
    workers: int


@contextmanager
def running_stack(*, workers: int = 1, upstream_delay_ms: float = 20.0):
    """Fake upstream, scratch database, keys and ``douane serve``; all torn down on exit."""
    import yaml

    workdir = Path(tempfile.mkdtemp(prefix="douane-load-"))
    database_url, drop_database = scratch_database("douane_load")
    processes: list[Process] = []
    try:
        port = free_port()
        upstream = start("upstream", upstream_argv(port, upstream_delay_ms), workdir)
        processes.append(upstream)
        upstream_url = f"http://127.0.0.1:{port}/v1"

        catalog = yaml.safe_load((ROOT / "config" / "endpoints.yaml").read_text())
        for entry in catalog["endpoints"]:
            entry["base_url"] = upstream_url
            entry["api_key_env"] = "LOAD_UPSTREAM_KEY"
        catalog_file = workdir / "endpoints.yaml"
        catalog_file.write_text(yaml.safe_dump(catalog, sort_keys=False))
        env = {
            **os.environ,
            "DOUANE_DATABASE_URL": database_url,
            "DOUANE_ENDPOINTS_FILE": str(catalog_file),
            "DOUANE_POLICY_DIR": str(ROOT / "policies"),
            "DOUANE_POLICY_ENGINE": "embedded",
            "DOUANE_POLICY_WATCH": "false",
            "LOAD_UPSTREAM_KEY": UPSTREAM_KEY,
            # The run measures the decision path, not the per-key rate limiter (0 turns its default off).
            "DOUANE_RATE_LIMIT_PER_MINUTE": "0",
        }
        # `python -m services.cli` from ROOT: the douane of this tree, whatever the venv's entry point points at.
        douane = [sys.executable, "-m", "services.cli"]
        subprocess.run([*douane, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        gateway_port = free_port()
        gateway = start("douane", [*douane, "serve", "--host", "127.0.0.1", "--port", str(gateway_port),
                                    "--workers", str(workers)], workdir, env)
        processes.append(gateway)
        base = f"http://127.0.0.1:{gateway_port}"
        # Keys are made while the gateway loads its detector: both only need the schema.
        creating = {
            tenant: subprocess.Popen([*douane, "keys", "create", "--tenant", tenant, "--role", "app"], env=env, cwd=ROOT,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for tenant in TENANTS
        }
        keys = {}
        for tenant, popen in creating.items():
            out, err = popen.communicate(timeout=120)
            if popen.returncode != 0:
                raise RuntimeError(f"douane keys create failed: {err}")
            keys[tenant] = out.strip().splitlines()[-1]
        wait_until_up(upstream, upstream_url + "/models")
        wait_until_up(gateway, base + "/healthz")
        _wait_for_workers(gateway, workers)
        yield Stack(base, database_url, keys, gateway, workers)
    finally:
        for process in reversed(processes):
            process.stop()
        drop_database()
        shutil.rmtree(workdir, ignore_errors=True)


# ----------------------------------------------------------------- the client


@dataclass
class Planned:
    kind: str  # route | chat | stream
    tenant: str
    body: bytes
    personal: bool


@dataclass
class Result:
    kind: str
    tenant: str
    personal: bool
    status: int | str = "not_sent"  # an HTTP status, or the transport error's name
    decision_id: str | None = None
    latency_ms: float = 0.0  # from the scheduled send time (what a user waits)
    service_ms: float = 0.0  # from the actual send time
    lag_ms: float = 0.0  # how late the send was
    complete: bool = True  # a stream ended with [DONE]
    warmup: bool = False


def plan_requests(n: int, seed: int, chat_share: float, stream_share: float) -> list[Planned]:
    import random

    rng = random.Random(seed + 1)
    planned = []
    for request in build_mix(n, seed):
        body = dict(request.body)
        kind = "route"
        if rng.random() < chat_share:
            kind = "chat"
            if rng.random() < stream_share:
                kind = "stream"
                body["stream"] = True
        planned.append(Planned(kind, rng.choice(TENANTS), json.dumps(body, ensure_ascii=False).encode(), request.personal))
    return planned


_DECISION_ID = re.compile(rb'"decision_id"\s*:\s*"([^"\\]+)"')


def _decision_id(response_body: bytes) -> str | None:
    """The decision id a JSON body carries (``decision_id``, or an error's
    ``details.decision_id``): found in the bytes, parsed only when ambiguous."""
    found = _DECISION_ID.findall(response_body)
    if len(found) == 1:
        return found[0].decode()
    if not found:
        return None
    try:
        payload = json.loads(response_body)
    except ValueError:
        return None
    if not isinstance(payload, dict):
        return None
    if "decision_id" in payload:
        return payload["decision_id"]
    details = (payload.get("error") or {}).get("details")
    return details.get("decision_id") if isinstance(details, dict) else None


_PATHS = {"route": "/v1/route", "chat": "/v1/chat/completions", "stream": "/v1/chat/completions"}
_DONE = b"data: [DONE]"


async def _send(session, item: Planned, headers: dict[str, str], result: Result, scheduled: float, loop) -> None:
    """One request on the shared aiohttp session: the body is already bytes,
    the response is read as bytes to its end (a stream too) and only the
    status and decision id are looked at."""
    import aiohttp

    sent = loop.time()
    result.lag_ms = (sent - scheduled) * 1000
    try:
        async with session.post(_PATHS[item.kind], data=item.body, headers=headers) as response:
            raw = await response.read()
            status = response.status
            decision_id = response.headers.get(DECISION_HEADER)
        if item.kind == "stream":
            result.complete = status != 200 or raw.rstrip().endswith(_DONE)
        result.status = status
        result.decision_id = decision_id or _decision_id(raw)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        result.status = type(exc).__name__
    done = loop.time()
    result.latency_ms = (done - scheduled) * 1000
    result.service_ms = (done - sent) * 1000


async def drive(base_url: str, keys: dict[str, str], planned: list[Planned], rate: float, max_in_flight: int,
                timeout_s: float = 30.0, warmup: list[Planned] | None = None, grace_s: float = 30.0) -> tuple[list[Result], float]:
    """Send ``planned`` open-loop at ``rate``/s (``warmup`` first, closed-loop,
    not timed). Returns every request's result and the timed phase's length.

    The client is aiohttp, one session for the run: a connection pool as large
    as ``max_in_flight`` (so no request queues inside the client unseen),
    keep-alive, no cookie jar, bodies serialised once when planned. httpx cost
    2-6 ms of CPU per request here, a large share of 2 cores at 300/s."""
    import gc

    import aiohttp

    loop = asyncio.get_running_loop()
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout: at
    # equal timeouts a request can go out on a connection the server is
    # closing, and the client would count an error the gateway never saw
    # (aiohttp never retries a POST on its own, so nothing is sent twice).
    connector = aiohttp.TCPConnector(limit=max_in_flight, limit_per_host=max_in_flight, keepalive_timeout=2.0,
                                     use_dns_cache=True)
    session = aiohttp.ClientSession(
        base_url=base_url, connector=connector, timeout=aiohttp.ClientTimeout(total=timeout_s),
        cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False, skip_auto_headers=("User-Agent",),
    )
    headers_of = {tenant: {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
                  for tenant, key in keys.items()}
    results: list[Result] = []
    async with session:
        for item in warmup or []:
            result = Result(item.kind, item.tenant, item.personal, warmup=True)
            results.append(result)
            await _send(session, item, headers_of[item.tenant], result, loop.time(), loop)

        slots = asyncio.Semaphore(max_in_flight)
        tasks = []

        async def one(item: Planned, result: Result, scheduled: float) -> None:
            try:
                await _send(session, item, headers_of[item.tenant], result, scheduled, loop)
            finally:
                slots.release()

        gc.collect()
        gc.freeze()  # the plan and the warm-up are long-lived: the collector need not walk them again
        try:
            start = loop.time() + 0.05
            # A wedged gateway must not hold the run forever: past the schedule and
            # this grace, nothing more is sent (those requests are 'not_sent').
            stop_at = start + len(planned) / rate + grace_s
            for index, item in enumerate(planned):
                scheduled = start + index / rate
                delay = scheduled - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                result = Result(item.kind, item.tenant, item.personal)
                results.append(result)
                if slots.locked():  # at the bound this waits: the send, and the schedule behind it, is late
                    try:
                        await asyncio.wait_for(slots.acquire(), max(0.0, stop_at - loop.time()))
                    except asyncio.TimeoutError:
                        results += [Result(p.kind, p.tenant, p.personal) for p in planned[index + 1:]]
                        break
                else:
                    await slots.acquire()  # free: returns at once, no wait_for task
                tasks.append(asyncio.create_task(one(item, result, scheduled)))
            await asyncio.gather(*tasks)
            elapsed = loop.time() - start
        finally:
            gc.unfreeze()
    return results, elapsed


# ----------------------------------------------------------------- reconciliation


@dataclass
class Reconciliation:
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, line: str) -> None:
        self.lines.append(("ok    " if ok else "FAIL  ") + line)
        if not ok:
            self.problems.append(line)


def reconcile(database_url: str, results: list[Result], tenants=TENANTS, settle_s: float = 10.0) -> Reconciliation:
    """Compare what the client saw with what the audit log holds."""
    from sqlalchemy import text

    from services.audit.verify import verify
    from services.db import make_engine

    rec = Reconciliation()
    unsent = [r for r in results if r.status == "not_sent"]
    if unsent:
        rec.lines.append(f"note  {len(unsent)} planned requests not sent: the client gave up at the run's deadline")
    results = [r for r in results if r.status != "not_sent"]
    answered = [r for r in results if isinstance(r.status, int)]
    lost = [r for r in results if not isinstance(r.status, int)]
    rec.check(not lost, f"requests sent {len(results)} = responses received {len(answered)}"
                        + (f" (no response: {dict(Counter(str(r.status) for r in lost))})" if lost else ""))
    broken_streams = [r for r in answered if not r.complete]
    rec.check(not broken_streams, f"streams answered 200 that ended without [DONE]: {len(broken_streams)}")
    carrying = [r for r in answered if r.decision_id]
    missing_id = [r for r in answered if not r.decision_id and r.status in (200, 403, 502, 503, 504)]
    rec.check(not missing_id, f"responses that should carry a decision id but do not: {len(missing_id)}"
                              f" {dict(Counter(r.status for r in missing_id)) or ''}")
    ids = [r.decision_id for r in carrying]
    rec.check(len(set(ids)) == len(ids), f"decision ids in responses {len(ids)}, distinct {len(set(ids))}")

    engine = make_engine(database_url)
    try:
        deadline = time.monotonic() + settle_s
        while True:
            with engine.connect() as connection:
                rows = connection.execute(
                    text("SELECT id, api, status FROM decisions WHERE tenant = ANY(:t)"), {"t": list(tenants)}
                ).all()
                outcomes = connection.execute(
                    text("SELECT decision_id, status, stream FROM outcomes WHERE tenant = ANY(:t)"), {"t": list(tenants)}
                ).all()
            stored = {str(row.id): row for row in rows}
            routed_chat = {i for i, row in stored.items() if row.api == "chat" and row.status == "routed"}
            outcome_of = {str(o.decision_id): o for o in outcomes}
            if (len(stored) >= len(ids) and set(outcome_of) >= routed_chat) or time.monotonic() > deadline:
                break
            time.sleep(0.5)  # an outcome row may trail its response by a batch commit
        absent = [i for i in ids if i not in stored]
        extra = set(stored) - set(ids)
        rec.check(not absent and not extra,
                  f"decision rows {len(stored)} = responses carrying a decision id {len(ids)}; "
                  f"ids not in the table: {len(absent)}, rows no response names: {len(extra)}")
        wrong_api = [r for r in carrying if r.decision_id in stored and
                     stored[r.decision_id].api != ("route" if r.kind == "route" else "chat")]
        rec.check(not wrong_api, f"decision rows recorded under the wrong api: {len(wrong_api)}")
        chat_routed_answered = [r for r in carrying if r.kind != "route" and r.decision_id in routed_chat]
        rec.check(set(outcome_of) == routed_chat and len(outcomes) == len(chat_routed_answered),
                  f"outcome rows {len(outcomes)} = routed chat completions answered {len(chat_routed_answered)} "
                  f"(decisions routed for chat: {len(routed_chat)})")
        chat_ok = [r for r in carrying if r.kind != "route" and r.status == 200]
        ok_outcomes = [o for o in outcomes if o.status == "ok"]
        rec.check(len(ok_outcomes) == len(chat_ok), f"outcome rows 'ok' {len(ok_outcomes)} = chat answers 200 {len(chat_ok)}")
        stream_mismatch = [r for r in chat_ok if outcome_of.get(r.decision_id) is not None
                           and outcome_of[r.decision_id].stream != (r.kind == "stream")]
        rec.check(not stream_mismatch, f"outcome rows whose stream flag disagrees with the request: {len(stream_mismatch)}")
        started = time.perf_counter()
        report = verify(engine)
        chains = ", ".join(f"{c.chain} {c.rows_checked} rows" for c in report.chains)
        rec.check(report.ok, f"audit chains verify ({chains}; {time.perf_counter() - started:.1f} s)"
                             + ("" if report.ok else f": {report.to_dict()}"))
    finally:
        engine.dispose()
    return rec


# ----------------------------------------------------------------- figures


def process_tree_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its descendants (Linux /proc):
    the gateway's cost per request, less at the mercy of a shared machine's
    load than its latency is."""
    ticks = os.sysconf("SC_CLK_TCK")
    total, stack = 0.0, [pid]
    while stack:
        current = stack.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(c) for c in (task / "children").read_text().split()]
        except (OSError, IndexError, ValueError):
            continue
    return total


def latency_line(label: str, values: list[float]) -> str:
    v = sorted(values)
    return (f"{label:<22} n {len(v):>6}  p50 {pct(v, 50):7.1f}  p90 {pct(v, 90):7.1f}  p99 {pct(v, 99):7.1f}  "
            f"max {v[-1] if v else float('nan'):7.1f} ms")


def scrape_metrics(base_url: str, workers: int) -> tuple[dict, int]:
    """The stage histograms summed over the workers: each scrape reaches one
    worker, so scrape on fresh connections until every worker has been seen
    (told apart by their counters). Returns ({(name, labels): value}, workers seen)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    seen: dict[tuple, dict] = {}
    for _ in range(max(1, workers * 6)):
        try:
            body = httpx.get(base_url + "/metrics", timeout=10).text
        except httpx.HTTPError:
            continue
        samples = {}
        for family in text_string_to_metric_families(body):
            for s in family.samples:
                if s.name.startswith(("douane_decision_stage_seconds", "douane_decisions_total", "douane_requests_total")):
                    samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
        fingerprint = tuple(sorted((k, v) for k, v in samples.items() if k[0].endswith("_count")))
        seen[fingerprint] = samples
        if len(seen) >= workers:
            break
    total: dict = {}
    for samples in seen.values():
        for k, v in samples.items():
            total[k] = total.get(k, 0.0) + v
    return total, len(seen)


def stage_lines(samples: dict) -> list[str]:
    lines = []
    for stage in ("detection", "policy", "audit"):
        count = samples.get(("douane_decision_stage_seconds_count", (("stage", stage),)), 0.0)
        total = samples.get(("douane_decision_stage_seconds_sum", (("stage", stage),)), 0.0)
        if not count:
            continue
        buckets = sorted(
            (float(dict(labels)["le"]), value)
            for (name, labels), value in samples.items()
            if name == "douane_decision_stage_seconds_bucket" and dict(labels).get("stage") == stage
        )

        def quantile(q: float) -> str:
            for le, cumulative in buckets:
                if cumulative >= q * count:
                    return f"<= {le * 1000:g}" if le != float("inf") else "> 2500"
            return "?"

        lines.append(f"  {stage:<10} n {int(count):>6}  mean {1000 * total / count:6.2f} ms  "
                     f"p50 {quantile(0.5)} ms  p99 {quantile(0.99)} ms")
    return lines


def report(results: list[Result], elapsed: float, rate: float, duration: float, mix_note: str) -> list[str]:
    planned = [r for r in results if not r.warmup]
    timed = [r for r in planned if r.status != "not_sent"]
    answered = [r for r in timed if isinstance(r.status, int)]
    lines = [mix_note]
    lines.append(f"offered {rate:g} req/s for {duration:g} s = {len(planned)} requests, {len(timed)} sent; "
                 f"achieved {len(answered) / elapsed:.1f} responses/s over {elapsed:.1f} s")
    late = [r for r in timed if r.lag_ms > LATE_MS]
    lags = sorted(r.lag_ms for r in timed)
    kept = len(late) <= 0.01 * len(timed)
    unsent = len(planned) - len(timed)
    lines.append(("rate kept" if kept and not unsent else "RATE NOT KEPT")
                 + f": {len(late)} sends ({len(late) / max(1, len(timed)):.1%}) later than {LATE_MS:g} ms after their schedule"
                 f" (send lag p99 {pct(lags, 99):.1f} ms, max {lags[-1] if lags else 0:.1f} ms)")
    if unsent:
        # Their latency is unknown, not small: the percentiles below are of the sent ones only, a lower bound.
        lines.append(f"{unsent} requests never sent (the client stops sending at the schedule's end plus a grace): "
                     f"latency figures below cover the {len(timed)} sent and understate the wait")
    for kind in ("route", "chat", "stream"):
        subset = [r for r in answered if r.kind == kind]
        if subset:
            lines.append(latency_line(f"{kind} latency", [r.latency_ms for r in subset]))
    lines.append(latency_line("all, from schedule", [r.latency_ms for r in answered]))
    lines.append(latency_line("all, from send", [r.service_ms for r in answered]))
    personal = [r.latency_ms for r in answered if r.personal]
    lines.append(latency_line("with personal data", personal))
    statuses = Counter((r.kind, r.status) for r in timed)
    lines.append("status: " + ", ".join(f"{k}/{s}: {n}" for (k, s), n in sorted(statuses.items(), key=str)))
    return lines


# ----------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=300.0, help="offered requests per second")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of offered load")
    parser.add_argument("--workers", type=int, default=1, help="douane serve --workers")
    parser.add_argument("--chat", type=float, default=0.0, help="share of requests sent to /v1/chat/completions")
    parser.add_argument("--stream", type=float, default=0.5, help="share of the chat requests that stream")
    parser.add_argument("--max-in-flight", type=int, default=256, help="outstanding requests at most")
    parser.add_argument("--upstream-delay-ms", type=float, default=20.0, help="the fake model's answer time")
    parser.add_argument("--warmup", type=int, default=50, help="requests sent one by one before the timed run")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", metavar="FILE", help="record the gateway with py-spy (collapsed stacks) into FILE")
    args = parser.parse_args()
    n = int(args.rate * args.duration)
    planned = plan_requests(n + args.warmup, args.seed, args.chat, args.stream)
    warmup, planned = planned[:args.warmup], planned[args.warmup:]
    mix_note = "mix: " + describe(build_mix(n + args.warmup, args.seed))
    load_before = os.getloadavg()
    with running_stack(workers=args.workers, upstream_delay_ms=args.upstream_delay_ms) as stack:
        profiler = None
        if args.profile:
            profiler = subprocess.Popen(
                [str(Path(sys.executable).parent / "py-spy"), "record", "--pid", str(stack.gateway.popen.pid),
                 "--subprocesses", "--format", "raw", "--rate", "50", "--nonblocking", "--output", args.profile],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )
        usage_before = resource.getrusage(resource.RUSAGE_SELF)
        gateway_before = process_tree_cpu_s(stack.gateway.popen.pid)
        try:
            results, elapsed = asyncio.run(drive(stack.base_url, stack.keys, planned, args.rate, args.max_in_flight,
                                                 warmup=warmup))
        finally:
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)  # py-spy writes its file and exits
                try:
                    profiler.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    profiler.kill()
        usage_after = resource.getrusage(resource.RUSAGE_SELF)
        gateway_cpu = process_tree_cpu_s(stack.gateway.popen.pid) - gateway_before
        load_after = os.getloadavg()
        samples, seen = scrape_metrics(stack.base_url, args.workers)
        lines = [f"douane serve --workers {args.workers}; {os.cpu_count()} cores shared by client, gateway, upstream "
                 f"and Postgres; load average before {load_before[0]:.2f}, after {load_after[0]:.2f}; "
                 f"fake upstream answers after {args.upstream_delay_ms:g} ms; chat share {args.chat:g} "
                 f"(streamed {args.stream:g}); at most {args.max_in_flight} in flight"]
        lines += report(results, elapsed, args.rate, args.duration, mix_note)
        client_cpu = (usage_after.ru_utime + usage_after.ru_stime) - (usage_before.ru_utime + usage_before.ru_stime)
        sent = sum(r.status != "not_sent" for r in results)
        lines.append(f"load client CPU {client_cpu:.1f} s over {elapsed:.1f} s ({client_cpu / elapsed:.0%} of one core), "
                     f"{1000 * client_cpu / max(1, sent):.2f} ms per request sent (warm-up included)")
        answered = sum(isinstance(r.status, int) for r in results if not r.warmup)
        lines.append(f"gateway CPU {gateway_cpu:.1f} s over {elapsed:.1f} s ({gateway_cpu / elapsed:.2f} cores), "
                     f"{1000 * gateway_cpu / max(1, answered):.1f} ms per answered request")
        lines.append(f"gateway stage timings from /metrics ({seen} of {args.workers} workers seen, warm-up included):")
        lines += stage_lines(samples) or ["  (none)"]
        rec = reconcile(stack.database_url, results)
    print("\n".join(lines))
    print("reconciliation (warm-up included):")
    print("\n".join("  " + line for line in rec.lines))
    if rec.problems:
        print(f"RECONCILIATION FAILED: {len(rec.problems)} problem(s)")
        return 1
    print("reconciliation: nothing lost")
    return 0


if __name__ == "__main__":
    sys.exit(main())
