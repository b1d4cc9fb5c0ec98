"""What a proxy in front of the model costs: douane (detection, policy and
audit on) and LiteLLM's proxy (none of them), against calling the upstream
directly.

One run starts, each as its own process on loopback:
- a fake OpenAI-compatible upstream (bench/stack.py) that answers a fixed
  completion after ``--upstream-delay-ms``;
- LiteLLM's proxy (``litellm --config``), from its own venv (``.venv-litellm``,
  made by ``make bench-proxy``: LiteLLM pins versions that would fight ours),
  with one model pointed at the fake upstream;
- the douane gateway (``douane serve``) on a scratch PostgreSQL database, with
  a copy of the shipped catalog whose endpoints all point at the fake upstream.

Then a bounded asyncio httpx client sends non-streaming chat completions with
a ~1 KB prompt (holding a name and an e-mail address, made unique per request
so douane's detection cache never answers) at 1, 10 and 50 concurrent clients,
to each target in turn, and prints end-to-end p50/p95/p99 and the latency each
proxy adds over the direct call (its percentile minus the direct one).

Run: `make bench-proxy` (or `.venv/bin/python bench/proxy_latency.py` once
`.venv-litellm` exists). Needs the local PostgreSQL. Figures depend on the
machine; all processes share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.stack import Process, free_port, pct, scratch_database, start, upstream_argv, wait_until_up  # noqa: E402

LITELLM_VENV = ROOT / ".venv-litellm"
UPSTREAM_KEY = "sk-bench-" + "0" * 24  # the fake upstream accepts any key; nothing real
CONCURRENCY = (1, 10, 50)
PROMPT = (
    "Hello support team, I am writing about my order 88-1234 placed last Tuesday. "
    "The parcel arrived damaged and two items were missing from the box. "
    "You can reach me at jane.doe@example.org during office hours. "
    "My colleague Peter Müller already called your hotline but the ticket was closed without an answer. "
    "Could you please check what happened, send the missing items and tell me how to return the broken ones? "
    "I have attached photos of the box and of the packing slip. The order was a birthday present, "
    "so I would be grateful for a quick reply. Many thanks in advance and kind regards from Lyon. "
    "P.S. The courier left the parcel in the rain next to the door, which may explain part of the damage; "
    "please pass this on to them. If it helps, my customer number is the same as on the invoice you sent "
    "in September, and I am at home every afternoon this week should the courier need to collect anything. "
    "Please answer by e-mail rather than by phone, as I am often in meetings during the morning hours. Thank you again. "
)
PROMPT_CHARS = 1024


def start_litellm(workdir: Path, upstream: str) -> tuple[Process, str, str]:
    binary = LITELLM_VENV / "bin" / "litellm"
    if not binary.exists():
        raise SystemExit(f"{binary} is missing: run `make bench-proxy`, which installs LiteLLM into {LITELLM_VENV}")
    port = free_port()
    master_key = "sk-" + secrets.token_hex(32)
    config = workdir / "litellm.yaml"
    config.write_text(
        "model_list:\n"
        "  - model_name: fake\n"
        "    litellm_params:\n"
        "      model: openai/fake\n"
        f"      api_base: {upstream}\n"
        f"      api_key: {UPSTREAM_KEY}\n"
    )
    env = {
        **os.environ,
        # Offline, as a gateway in a DPO's data centre would run: the price map
        # that ships in the package, no telemetry.
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
        "LITELLM_TELEMETRY": "False",
        "LITELLM_LOG": "ERROR",
        # It refuses to start without one; checked on every request, as douane checks its keys.
        "LITELLM_MASTER_KEY": master_key,
    }
    process = start(
        "litellm", [str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(port)], workdir, env
    )
    base = f"http://127.0.0.1:{port}"
    wait_until_up(process, base + "/health/liveliness")
    return process, base, master_key


def start_douane(workdir: Path, upstream: str, database_url: str) -> tuple[Process, str, str]:
    import yaml

    catalog = yaml.safe_load((ROOT / "config" / "endpoints.yaml").read_text())
    for entry in catalog["endpoints"]:
        entry["base_url"] = upstream
        entry["api_key_env"] = "BENCH_UPSTREAM_KEY"
    catalog_file = workdir / "endpoints.yaml"
    catalog_file.write_text(yaml.safe_dump(catalog, sort_keys=False))
    env = {
        **os.environ,
        "DOUANE_DATABASE_URL": database_url,
        "DOUANE_ENDPOINTS_FILE": str(catalog_file),
        "DOUANE_POLICY_DIR": str(ROOT / "policies"),
        "DOUANE_POLICY_ENGINE": "embedded",
        # One key drives the whole run: the per-key limit would measure itself.
        "DOUANE_RATE_LIMIT_PER_MINUTE": "0",
        "BENCH_UPSTREAM_KEY": UPSTREAM_KEY,
    }
    douane = str(Path(sys.executable).parent / "douane")
    subprocess.run([douane, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    created = subprocess.run(
        [douane, "keys", "create", "--tenant", "bench", "--role", "app"],
        env=env, cwd=ROOT, check=True, capture_output=True, text=True,
    )
    key = created.stdout.strip().splitlines()[-1]
    port = free_port()
    process = start("douane", [douane, "serve", "--host", "127.0.0.1", "--port", str(port)], workdir, env)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(process, base + "/healthz")
    return process, base, key


# ----------------------------------------------------------------- the client


@dataclass
class Target:
    name: str
    url: str
    model: str
    headers: dict[str, str] = field(default_factory=dict)


_serial = iter(range(10**9))


def body(model: str) -> dict:
    # A unique reference up front: no cache anywhere answers from a previous request.
    content = f"Ref {next(_serial):07d}-{secrets.token_hex(4)}: {PROMPT}"
    return {"model": model, "messages": [{"role": "user", "content": content[:PROMPT_CHARS]}], "max_tokens": 64}


@dataclass
class Run:
    latencies_ms: list[float]
    errors: dict[str, int]
    elapsed_s: float


async def measure(target: Target, clients: int, requests: int, warmup: int) -> Run:
    import httpx

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    async with httpx.AsyncClient(headers=target.headers, limits=limits, timeout=60) as client:

        async def one(record: bool) -> None:
            payload = body(target.model)
            started = time.perf_counter()
            try:
                response = await client.post(target.url, json=payload)
                outcome = None if response.status_code == 200 else f"http_{response.status_code}"
            except httpx.HTTPError as exc:
                outcome = type(exc).__name__
            if not record:
                return
            if outcome is None:
                latencies.append((time.perf_counter() - started) * 1000)
            else:
                errors[outcome] = errors.get(outcome, 0) + 1

        await asyncio.gather(*(one(False) for _ in range(warmup)))
        queue = iter(range(requests))

        async def worker() -> None:
            for _ in queue:
                await one(True)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return Run(latencies, errors, elapsed)


def figures(run: Run) -> tuple[float, float, float]:
    return statistics.median(run.latencies_ms), pct(run.latencies_ms, 95), pct(run.latencies_ms, 99)


def probe(target: Target) -> str | None:
    """None when the target answers a chat completion; else why not."""
    import httpx

    try:
        response = httpx.post(target.url, json=body(target.model), headers=target.headers, timeout=60)
    except httpx.HTTPError as exc:
        return type(exc).__name__
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:200]}"
    return None


def decision_stages(base: str) -> dict[str, tuple[float, float]]:
    """douane's own account of its decision time, from /metrics: stage -> (sum s, count)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    out: dict[str, list[float]] = {}
    for family in text_string_to_metric_families(httpx.get(base + "/metrics").text):
        for sample in family.samples:
            if sample.name == "douane_decision_stage_seconds_sum":
                out.setdefault(sample.labels["stage"], [0.0, 0.0])[0] = sample.value
            elif sample.name == "douane_decision_stage_seconds_count":
                out.setdefault(sample.labels["stage"], [0.0, 0.0])[1] = sample.value
    return {stage: (total, count) for stage, (total, count) in out.items()}


def stage_means(before: dict, after: dict) -> str:
    parts = []
    for stage, (total, count) in after.items():
        old_total, old_count = before.get(stage, (0.0, 0.0))
        if count > old_count:
            parts.append(f"{stage} {1000 * (total - old_total) / (count - old_count):.1f}")
    return "mean ms: " + ", ".join(parts)


# ----------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    # 200 ms: a short answer from a fast model. Far shorter, and at 10 clients
    # every proxy on a small machine is saturated: the figures then measure
    # throughput (queueing), not what a request costs.
    parser.add_argument("--upstream-delay-ms", type=float, default=200.0, help="the fake model's answer time")
    parser.add_argument("--requests", type=int, default=0, help="requests per target and level (default: by level)")
    parser.add_argument("--clients", type=int, nargs="*", default=list(CONCURRENCY))
    parser.add_argument("--skip-litellm", action="store_true")
    parser.add_argument("--skip-douane", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="douane-bench-"))
    processes: list[Process] = []
    drop_database = None
    try:
        port = free_port()
        upstream_process = start("upstream", upstream_argv(port, args.upstream_delay_ms), workdir)
        processes.append(upstream_process)
        upstream = f"http://127.0.0.1:{port}/v1"
        wait_until_up(upstream_process, upstream + "/models")
        targets = [Target("direct", upstream + "/chat/completions", "fake")]

        if not args.skip_litellm:
            litellm, litellm_base, master_key = start_litellm(workdir, upstream)
            processes.append(litellm)
            targets.append(
                Target(
                    "litellm proxy",
                    litellm_base + "/v1/chat/completions",
                    "fake",
                    {"Authorization": f"Bearer {master_key}"},
                )
            )

        douane_base = None
        if not args.skip_douane:
            database_url, drop_database = scratch_database()
            douane, douane_base, key = start_douane(workdir, upstream, database_url)
            processes.append(douane)
            targets.append(
                Target("douane", douane_base + "/v1/chat/completions", "auto", {"Authorization": f"Bearer {key}"})
            )

        usable = []
        for target in targets:
            why = probe(target)
            if why:
                print(f"{target.name}: not measured, a probe request failed: {why}")
            else:
                usable.append(target)

        print(
            f"python {sys.version.split()[0]}, {os.cpu_count()} cores shared by client, proxies and upstream; "
            f"fake upstream answers after {args.upstream_delay_ms:g} ms; prompt {len(body('x')['messages'][0]['content'])} chars; "
            "non-streaming"
        )
        print(f"{'target':<15}{'clients':>8}{'n':>7}{'p50':>10}{'p95':>10}{'p99':>10}"
              f"{'+p50':>10}{'+p95':>10}{'+p99':>10}{'req/s':>9}  errors  decision stages")
        for clients in args.clients:
            requests = args.requests or {1: 300, 10: 1000}.get(clients, 40 * clients)
            direct = None
            for target in usable:
                before = decision_stages(douane_base) if target.name == "douane" else None
                run = asyncio.run(measure(target, clients, requests, warmup=max(10, clients)))
                stages = stage_means(before, decision_stages(douane_base)) if before is not None else ""
                if not run.latencies_ms:
                    print(f"{target.name:<15}{clients:>8}  every request failed: {run.errors}")
                    continue
                p50, p95, p99 = figures(run)
                if target.name == "direct":
                    direct = (p50, p95, p99)
                added = (
                    "".join(f"{value - base:>10.2f}" for value, base in zip((p50, p95, p99), direct))
                    if direct and target.name != "direct"
                    else f"{'':>30}"
                )
                print(
                    f"{target.name:<15}{clients:>8}{len(run.latencies_ms):>7}{p50:>10.2f}{p95:>10.2f}{p99:>10.2f}"
                    f"{added}{len(run.latencies_ms) / run.elapsed_s:>9.1f}  {run.errors or '-'}  {stages}"
                )
        if douane_base and any(t.name == "douane" for t in usable):
            # The decision alone (detect, policy, audit row), nothing forwarded:
            # what the proxy path adds on top of it is forwarding and the outcome row.
            route = Target("douane route", douane_base + "/v1/route", "auto", usable[-1].headers)
            run = asyncio.run(measure(route, 1, args.requests or 300, warmup=10))
            p50, p95, p99 = figures(run)
            print(f"{'(decision only: POST /v1/route, nothing forwarded)':<55}"
                  f"1 client  p50 {p50:.2f}  p95 {p95:.2f}  p99 {p99:.2f}  {run.errors or ''}")
        print(
            "latencies in ms, end to end at the client; +pNN = that percentile minus the direct call's; "
            "douane's decision stages (warm-up included) from its /metrics"
        )
    finally:
        for process in reversed(processes):
            process.stop()
        if drop_database:
            drop_database()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
