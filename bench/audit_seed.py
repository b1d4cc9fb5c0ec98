"""Seed a decision log of realistic shape and size for the auditor benchmarks.

Creates the dedicated database ``douane_bench`` (dropped and recreated unless
``--reuse``), builds its schema with ``alembic upgrade head`` (services/migrate)
and loads N decisions (default 10,000,000) plus an outcome row for every routed
chat decision, with PostgreSQL COPY, batch by batch (bounded memory).

Where the content comes from: one real decision is made through the real code
(the functions ``decide()`` calls: the real detector, candidates from the
catalog, the real embedded policy; nothing is written), and its policy input is then varied (findings, purpose,
residency, risk, model, usage, endpoint health) and evaluated again by the real
policy, so every seeded policy_output is what the policy really answers to its
policy_input. No prompt text exists anywhere in a row.

Distributions: a few hundred tenants, Zipf-skewed (a few big ones); each with
its own app keys; sensitivity ~70% none / 25% personal / 5% special; a few
denied (unregistered purposes) and error rows; four policy revisions over time;
traffic growing over the last 12 months (three times as many rows in the last
month as in the first), so every monthly partition holds rows.

If the schema has the hash-chain columns (seq, prev_hash, hash) and
services/audit/chain.py exists, every row gets a valid chain link computed with
its ``canonical`` and ``link`` and the chain heads are written at the end.

Run: ``.venv/bin/python bench/audit_seed.py --rows 100000`` (or ``make
bench-audit``). Prints rows/s; asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import math
import os
import queue
import random
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ADMIN_URL = os.environ.get("DOUANE_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
DATABASE = "douane_bench"
DAY = timedelta(days=1)

DECISION_COLUMNS = (
    "id", "created_at", "tenant", "key_id", "api", "purpose", "requested_model", "status", "allowed", "error",
    "sensitivity", "gdpr_categories", "entities", "endpoint", "endpoint_jurisdiction", "endpoint_region", "plan",
    "usage_estimate", "estimated_cost_usd", "policy_input", "policy_output", "policy_engine", "policy_revision",
    "decision_latency_ms",
)
OUTCOME_COLUMNS = (
    "id", "decision_id", "created_at", "tenant", "status", "endpoint", "upstream_status", "attempts", "stream",
    "input_tokens", "output_tokens", "cost_usd", "ttft_ms", "total_ms",
)
CHAIN_COLUMNS = ("seq", "prev_hash", "hash")

# Purposes registered by default in policies/reference/purposes, and two that
# are not (those requests are denied for every endpoint: purpose limitation).
PURPOSES = {
    "general": 30, "customer_support": 25, "coding": 15, "summarisation": 12, "translation": 8,
    "analytics": 5, "internal_tools": 4, "marketing": 0.6, "hr_screening": 0.4,
}
LANGUAGES = {"en": 50, "de": 15, "fr": 10, "es": 6, "it": 5, "nl": 4, "pl": 3, "und": 7}
NOT_PERSONAL = ["DATE_TIME", "LOCATION", "ORGANIZATION", "URL", "NRP"]
PERSONAL = {
    "PERSON": 35, "EMAIL_ADDRESS": 20, "PHONE_NUMBER": 12, "POSTAL_ADDRESS": 5, "IBAN_CODE": 5,
    "DATE_OF_BIRTH": 5, "IP_ADDRESS": 4, "CREDIT_CARD": 2, "DE_TAX_ID": 2, "FR_NIR": 2, "EU_VAT_ID": 2,
    "ES_DNI": 1, "IT_FISCAL_CODE": 1, "NL_BSN": 1, "PL_PESEL": 1, "NAMES_NOT_SCANNED": 2,
}
SPECIAL = {
    "HEALTH_TERM": 55, "CRIMINAL_TERM": 10, "RELIGIOUS_BELIEF_TERM": 8, "TRADE_UNION_TERM": 6,
    "SEXUAL_ORIENTATION_TERM": 6, "ETHNIC_ORIGIN_TERM": 5, "POLITICAL_OPINION_TERM": 5, "GENETIC_TERM": 3,
    "BIOMETRIC_TERM": 2,
}
SENSITIVITY_SHARE = {"none": 0.70, "personal": 0.25, "special": 0.05}
ERROR_SHARE = 0.002
CHAT_SHARE = 0.8
BIG_TENANTS = ["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell", "cyberdyne", "soylent"]
OUTCOME_STATUSES = {
    "ok": 96.0, "client_disconnected": 1.5, "upstream_error": 0.6, "exhausted": 0.4, "timeout": 0.5,
    "truncated": 0.6, "gateway_error": 0.4,
}


def pick(rng: random.Random, weighted: dict):
    return rng.choices(list(weighted), weights=list(weighted.values()))[0]


# --------------------------------------------------------------------------- who calls


@dataclass(frozen=True)
class Tenant:
    name: str
    weight: float
    keys: tuple[str, ...]
    engine: str


def tenants(count: int = 300, seed: int = 7) -> list[Tenant]:
    """Zipf-like shares (s=1.1): the biggest tenant has ~16% of the traffic,
    the smallest a few hundredths of a percent. Deterministic, so the query
    benchmark knows which tenants are big and small without counting."""
    rng = random.Random(seed)
    out = []
    for rank in range(1, count + 1):
        name = BIG_TENANTS[rank - 1] if rank <= len(BIG_TENANTS) else f"tenant-{rank:03d}"
        weight = 1 / rank**1.1
        keys = tuple(f"k_{rng.getrandbits(64):016x}" for _ in range(max(1, int(40 / rank**0.8))))
        out.append(Tenant(name, weight, keys, "opa" if rank % 9 == 4 else "embedded"))
    return out


# --------------------------------------------------------------------------- what the policy said


@dataclass
class Template:
    """One (policy input, real policy output) pair, serialised once."""

    sensitivity: str | None
    status: str
    purpose: str
    requested_model: str
    policy_input: dict | None
    policy_output: dict | None
    input_head: str  # policy_input JSON up to the tenant value
    input_mid: str  # between the tenant value and the key id value
    input_tail: str  # after the key id value
    output_json: str | None
    categories: list
    categories_json: str
    entities: dict
    entities_json: str
    plan: list
    plan_json: str
    usage: dict
    usage_json: str
    endpoint: str | None
    jurisdiction: str | None
    region: str | None
    cost: float | None
    error: dict | None
    error_json: str | None


def compact(value) -> str:
    return json.dumps(value, separators=(",", ":"))


TENANT_MARK, KEY_MARK = "@@tenant@@", "@@key@@"


def make_template(policy_input: dict | None, decision, usage: dict, purpose: str, model: str, error=None) -> Template:
    if policy_input is None:
        head = mid = tail = ""
        plan, output, sensitivity, categories, entities = [], None, None, [], {}
        status = "error"
    else:
        marked = {**policy_input, "request": {**policy_input["request"], "tenant": TENANT_MARK, "key_id": KEY_MARK}}
        text = compact(marked)
        head, rest = text.split(f'"{TENANT_MARK}"')
        mid, tail = rest.split(f'"{KEY_MARK}"')
        output = decision.document
        plan, sensitivity, categories = list(decision.plan), decision.sensitivity, list(decision.gdpr_categories)
        entities = {name: f["count"] for name, f in sorted(policy_input["findings"]["entities"].items())}
        status = "routed" if plan else "denied"
    chosen = None
    if plan:
        chosen = next(c for c in policy_input["candidates"] if c["id"] == plan[0])
    return Template(
        sensitivity=sensitivity, status=status, purpose=purpose, requested_model=model,
        policy_input=policy_input, policy_output=output,
        input_head=head, input_mid=mid, input_tail=tail,
        output_json=compact(output) if output is not None else None,
        categories=categories, categories_json=compact(categories),
        entities=entities, entities_json=compact(entities),
        plan=plan, plan_json=compact(plan), usage=usage, usage_json=compact(usage),
        endpoint=plan[0] if plan else None,
        jurisdiction=chosen.get("jurisdiction") if chosen else None,
        region=chosen.get("region") if chosen else None,
        cost=chosen["estimated_cost_usd"] if chosen else None,
        error=error, error_json=compact(error) if error else None,
    )


def real_decision(database_url: str):
    """One decision through the real code, as decide() makes it: the real
    detector on a prompt, the real candidates, the real embedded policy.
    Nothing is written (the seeded rows are the only rows). Returns
    (runtime, policy_input, decision)."""
    from policy import load_engine
    from services.gateway.runtime import Runtime
    from services.keys.models import Role
    from services.keys.service import Principal
    from services.pii import build_detector
    from services.providers.health import EndpointHealth
    from services.routing.catalog import load_catalog
    from services.routing.schemas import ChatCompletionRequest
    from services.routing.service import build_policy_input, check_model
    from services.routing.usage import estimate_usage
    from services.settings import Settings

    detector = build_detector()
    policy = load_engine("embedded", ROOT / "policies")
    settings = Settings(
        database_url=database_url, policy_dir=ROOT / "policies", endpoints_file=ROOT / "config" / "endpoints.yaml"
    )
    # What build_runtime assembles, minus the database and the metrics: nothing here writes.
    runtime = Runtime(
        settings=settings, catalog=load_catalog(settings.endpoints_file), detector=detector, policy=policy,
        db_engine=None, sessions=None, endpoint_health=EndpointHealth(), metrics=None,
    )
    request = ChatCompletionRequest(
        model="auto",
        messages=[{"role": "user", "content": "Please draft a reply to Jane Doe (jane.doe@example.org) about her order."}],
        routing={"purpose": "customer_support"},
    )
    principal = Principal(key_id="k_0000000000000000", tenant="acme", role=Role.app)
    check_model(runtime, request)
    usage = estimate_usage(request, runtime.settings.default_output_tokens)
    findings = runtime.detector.detect(request.texts())
    policy_input = build_policy_input(runtime, principal, request, findings, usage)
    return runtime, policy_input, runtime.policy.evaluate(policy_input)


def build_templates(runtime, base_input: dict, count: int, rng: random.Random) -> dict[str, list[Template]]:
    """Vary the real decision's policy input and ask the real policy again."""
    from services.routing.candidates import build_candidates
    from services.routing.schemas import UsageEstimate

    policy = runtime.policy
    models = ["auto"] * 22 + list(runtime.catalog.ids)
    by_class: dict[str, list[Template]] = {"none": [], "personal": [], "special": [], "denied": []}
    started = time.perf_counter()
    for index in range(count):
        intended = ("none", "personal", "special")[index % 3]
        entities: dict[str, dict] = {}
        if intended == "none" and rng.random() < 0.3:
            entities[rng.choice(NOT_PERSONAL)] = {"count": rng.randint(1, 3), "max_score": rng.choice([0.6, 0.85])}
        if intended in ("personal", "special"):
            for _ in range(rng.choice([1, 1, 1, 2, 2, 3])):
                entities[pick(rng, PERSONAL)] = {
                    "count": rng.choice([1, 1, 1, 2, 3, 5]), "max_score": rng.choice([0.85, 0.9, 0.99, 1.0]),
                }
        if intended == "special":
            entities[pick(rng, SPECIAL)] = {"count": rng.choice([1, 1, 2, 3]), "max_score": 0.85}
        output_tokens = rng.choice([256, 256, 256, 512, 1024])
        usage = UsageEstimate(input_tokens=int(rng.lognormvariate(math.log(600), 0.9)) + 8, output_tokens=output_tokens)
        candidates = build_candidates(runtime.catalog, usage, runtime.endpoint_health)
        for candidate in candidates:  # live latencies replace the priors; now and then one is down
            candidate["latency_p95_ms"] = int(candidate["latency_p95_ms"] * rng.uniform(0.7, 1.4))
        if rng.random() < 0.05:
            rng.choice(candidates)["healthy"] = False
        purpose = pick(rng, PURPOSES)
        model = rng.choice(models)
        policy_input = {
            "request": {
                **base_input["request"],
                "purpose": purpose,
                "residency": "eu" if rng.random() < 0.3 else "any",
                "latency_budget_ms": rng.choice([None] * 7 + [800, 1500, 3000]),
                "risk_tolerance": rng.choices(["low", "medium", "high"], [2, 7, 1])[0],
                "model": model,
            },
            "findings": {"languages": [pick(rng, LANGUAGES)], "entities": dict(sorted(entities.items()))},
            "candidates": candidates,
        }
        decision = policy.evaluate(policy_input)
        template = make_template(policy_input, decision, usage.model_dump(), purpose, model)
        by_class["denied" if template.status == "denied" else template.sensitivity].append(template)
    elapsed = time.perf_counter() - started
    print(
        f"templates: {count} policy inputs evaluated by the real policy in {elapsed:.1f} s: "
        + ", ".join(f"{k} {len(v)}" for k, v in by_class.items())
    )
    return by_class


# --------------------------------------------------------------------------- COPY text


def copy_text(value: str) -> str:
    """A value in COPY's text format (JSON carries backslashes; nothing else here does)."""
    return value.replace("\\", "\\\\")


NULL = "\\N"


def fmt_float(value: float | None) -> str:
    return NULL if value is None else repr(value)


class Chain:
    """The hash chain, if the schema and services/audit/chain.py have it."""

    def __init__(self, module, start_seq: int = 1) -> None:
        self.module = module
        self.seq = start_seq - 1
        self.head = module.GENESIS

    def link(self, row: dict) -> tuple[int, str, str]:
        self.seq += 1
        prev = self.head
        self.head = self.module.link(prev, self.module.canonical(row))
        return self.seq, prev, self.head


def chain_module():
    if not (ROOT / "services" / "audit" / "chain.py").exists():
        return None
    return importlib.import_module("services.audit.chain")


# --------------------------------------------------------------------------- the load


def admin_engine():
    return create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")


def database_url(name: str = DATABASE) -> str:
    return make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def libpq_url(name: str = DATABASE) -> str:
    return make_url(ADMIN_URL).set(drivername="postgresql", database=name).render_as_string(hide_password=False)


def prepare_database(reuse: bool) -> bool:
    """Create (or keep) douane_bench and migrate it. Returns whether it already holds decisions."""
    admin = admin_engine()
    with admin.connect() as connection:
        exists = connection.exec_driver_sql("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).first()
        if exists and not reuse:
            connection.exec_driver_sql(f'DROP DATABASE "{DATABASE}" WITH (FORCE)')
            exists = None
        if not exists:
            connection.exec_driver_sql(f'CREATE DATABASE "{DATABASE}"')
    admin.dispose()
    from services.db import make_engine
    from services.migrate import upgrade

    engine = make_engine(database_url())
    started = time.perf_counter()
    upgrade(engine)
    engine.dispose()
    print(f"database {DATABASE}: alembic upgrade head in {time.perf_counter() - started:.1f} s")
    with psycopg.connect(libpq_url()) as connection:
        return connection.execute("SELECT EXISTS (SELECT 1 FROM decisions)").fetchone()[0]


def table_columns(connection, table: str) -> set[str]:
    rows = connection.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s",
        (table,),
    ).fetchall()
    return {r[0] for r in rows}


class Seeder:
    def __init__(self, args, runtime, templates, chain_mod) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.catalog = runtime.catalog
        self.templates = templates
        self.tenants = tenants()
        self.tenant_weights = [t.weight for t in self.tenants]
        self.cum_tenants = list(_accumulate(self.tenant_weights))
        revision = runtime.policy.revision
        # Four revisions over the year: three earlier ones (their hashes stand for
        # files since changed) and the one the policy directory holds now.
        older = ["sha256:" + hashlib.sha256(f"douane-policy-{n}".encode()).hexdigest() for n in range(3)]
        self.revisions = [(0.0, older[0]), (0.25, older[1]), (0.55, older[2]), (0.85, revision)]
        self.chain_mod = chain_mod
        self.decision_chain = Chain(chain_mod) if chain_mod else None
        self.outcome_chain = Chain(chain_mod) if chain_mod else None
        self.end = datetime.now(timezone.utc).replace(microsecond=0)
        self.start = self.end - 365 * DAY
        self.error_template = make_template(
            None, None, {"input_tokens": 420, "output_tokens": 256}, "general", "auto",
            error={"type": "detection_failed", "message": "personal-data detection failed; nothing was forwarded"},
        )

    def moment(self, index: int, total: int) -> datetime:
        """Row ``index`` of ``total`` in time order; traffic density rises
        linearly from 0.5 to 1.5 over the year (CDF 0.5t + t²/2)."""
        u = (index + self.rng.random()) / total
        t = -0.5 + math.sqrt(0.25 + 2 * u)
        return self.start + timedelta(seconds=t * 365 * 86400)

    def revision(self, fraction: float) -> str:
        current = self.revisions[0][1]
        for start, rev in self.revisions:
            if fraction >= start:
                current = rev
        return current

    def template(self) -> Template:
        rng = self.rng
        if rng.random() < ERROR_SHARE:
            return self.error_template
        sensitivity = rng.choices(list(SENSITIVITY_SHARE), cum_weights=(0.70, 0.95, 1.0))[0]
        pool = self.templates[sensitivity]
        return pool[int(rng.random() ** 1.5 * len(pool))]  # some shapes are much more common than others

    def rows(self, total: int):
        """Yield (decision COPY line, outcome COPY line or None), oldest first."""
        rng = self.rng
        denied_pool = self.templates["denied"]
        previous = self.start
        for index in range(total):
            created = self.moment(index, total)
            if created <= previous:
                created = previous + timedelta(microseconds=1)
            previous = created
            fraction = (created - self.start) / (self.end - self.start)
            tenant = self.tenants[_bisect(self.cum_tenants, rng.random() * self.cum_tenants[-1])]
            key_id = rng.choice(tenant.keys)
            if denied_pool and rng.random() < 0.012:
                template = denied_pool[rng.randrange(len(denied_pool))]
            else:
                template = self.template()
            api = "chat" if rng.random() < CHAT_SHARE else "route"
            decision_id = uuid.UUID(int=rng.getrandbits(128), version=4)
            latency = round(rng.lognormvariate(math.log(5.5), 0.45) + (8 if template.sensitivity else 0), 3)
            revision = self.revision(fraction)
            engine = tenant.engine
            requested_model = template.requested_model
            fields = [
                str(decision_id), created.isoformat(), tenant.name, key_id, api, template.purpose, requested_model,
                template.status, "t" if template.status == "routed" else "f",
                copy_text(template.error_json) if template.error_json else NULL,
                template.sensitivity or NULL, template.categories_json, copy_text(template.entities_json),
                template.endpoint or NULL, template.jurisdiction or NULL, template.region or NULL,
                template.plan_json, template.usage_json, fmt_float(template.cost),
                copy_text(f'{template.input_head}"{tenant.name}"{template.input_mid}"{key_id}"{template.input_tail}')
                if template.policy_input is not None else NULL,
                copy_text(template.output_json) if template.output_json else NULL,
                engine, revision, repr(latency),
            ]
            if self.decision_chain:
                fields.extend(map(str, self.decision_chain.link({
                    "id": decision_id, "created_at": created, "tenant": tenant.name, "key_id": key_id, "api": api,
                    "purpose": template.purpose, "requested_model": requested_model, "status": template.status,
                    "allowed": template.status == "routed", "error": template.error,
                    "sensitivity": template.sensitivity, "gdpr_categories": template.categories,
                    "entities": template.entities, "endpoint": template.endpoint,
                    "endpoint_jurisdiction": template.jurisdiction, "endpoint_region": template.region,
                    "plan": template.plan, "usage_estimate": template.usage, "estimated_cost_usd": template.cost,
                    "policy_input": _with_caller(template.policy_input, tenant.name, key_id),
                    "policy_output": template.policy_output, "policy_engine": engine,
                    "policy_revision": revision, "decision_latency_ms": latency,
                })))
            decision_line = "\t".join(fields) + "\n"
            outcome_line = None
            if api == "chat" and template.status == "routed":
                outcome_line = self.outcome(decision_id, created, tenant.name, template)
            yield decision_line, outcome_line

    def outcome(self, decision_id: uuid.UUID, decided: datetime, tenant: str, template: Template) -> str:
        rng = self.rng
        status = pick(rng, OUTCOME_STATUSES)
        stream = rng.random() < 0.4
        plan = template.plan
        attempts = []
        endpoint = None
        upstream_status = None
        if status == "gateway_error":
            pass
        elif status in ("exhausted", "timeout"):
            for endpoint_id in plan[:3]:
                if status == "timeout":
                    attempts.append(_attempt(endpoint_id, None, "timeout", "no answer within the time budget",
                                             round(rng.uniform(8000, 30000), 3)))
                else:
                    code = rng.choice([429, 500, 502, 503])
                    attempts.append(_attempt(endpoint_id, code, "upstream_rejected", f"the endpoint answered {code}",
                                             round(rng.uniform(50, 900), 3)))
        else:
            answered = 0
            if len(plan) > 1 and rng.random() < 0.03:  # a fallback: the first endpoint failed before its first byte
                code = rng.choice([429, 503])
                attempts.append(_attempt(plan[0], code, "upstream_rejected", f"the endpoint answered {code}",
                                         round(rng.uniform(40, 600), 3)))
                answered = 1
            endpoint = plan[answered]
            upstream_status = 200 if status != "upstream_error" else rng.choice([400, 500])
            if status == "upstream_error":
                attempts.append(_attempt(endpoint, upstream_status, "upstream_rejected",
                                         f"the endpoint answered {upstream_status}", round(rng.uniform(80, 900), 3)))
                endpoint = None
        input_tokens = output_tokens = cost = ttft = None
        if endpoint is not None:
            prior = self.catalog.get(endpoint).latency_p95_ms
            total = round(rng.lognormvariate(math.log(prior * 0.55), 0.5), 3)
            ttft = round(total * rng.uniform(0.08, 0.3), 3) if stream else None
            input_tokens = max(1, int(template.usage["input_tokens"] * rng.uniform(0.85, 1.05)))
            output_tokens = max(1, int(template.usage["output_tokens"] * rng.betavariate(2, 3)))
            cost = round(self.catalog.get(endpoint).cost_usd(input_tokens, output_tokens), 8)
            attempts.append(_attempt(endpoint, 200, None, None, total))
            total_ms = round(sum(a["latency_ms"] for a in attempts) + rng.uniform(1, 4), 3)
        else:
            total_ms = round(sum(a["latency_ms"] for a in attempts) + rng.uniform(1, 4), 3)
        created = decided + timedelta(milliseconds=total_ms + rng.uniform(2, 10))
        outcome_id = uuid.UUID(int=rng.getrandbits(128), version=4)
        fields = [
            str(outcome_id), str(decision_id), created.isoformat(), tenant, status, endpoint or NULL,
            NULL if upstream_status is None else str(upstream_status), copy_text(compact(attempts)),
            "t" if stream else "f", NULL if input_tokens is None else str(input_tokens),
            NULL if output_tokens is None else str(output_tokens), fmt_float(cost), fmt_float(ttft), repr(total_ms),
        ]
        if self.outcome_chain:
            fields.extend(map(str, self.outcome_chain.link({
                "id": outcome_id, "decision_id": decision_id, "created_at": created, "tenant": tenant,
                "status": status, "endpoint": endpoint, "upstream_status": upstream_status, "attempts": attempts,
                "stream": stream, "input_tokens": input_tokens, "output_tokens": output_tokens, "cost_usd": cost,
                "ttft_ms": ttft, "total_ms": total_ms,
            })))
        return "\t".join(fields) + "\n"


def _attempt(endpoint: str, status: int | None, error_type: str | None, reason: str | None, latency: float) -> dict:
    return {"endpoint": endpoint, "status": status, "error_type": error_type, "reason": reason, "latency_ms": latency}


def _with_caller(policy_input: dict | None, tenant: str, key_id: str) -> dict | None:
    if policy_input is None:
        return None
    return {**policy_input, "request": {**policy_input["request"], "tenant": tenant, "key_id": key_id}}


def _accumulate(values):
    total = 0.0
    for v in values:
        total += v
        yield total


def _bisect(cumulative: list[float], x: float) -> int:
    lo, hi = 0, len(cumulative) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


def seed(args, runtime, templates) -> None:
    chain_mod = chain_module()
    with psycopg.connect(libpq_url()) as connection:
        decision_columns = list(DECISION_COLUMNS)
        outcome_columns = list(OUTCOME_COLUMNS)
        chained = chain_mod is not None and set(CHAIN_COLUMNS) <= table_columns(connection, "decisions")
        if chained:
            decision_columns += CHAIN_COLUMNS
            if set(CHAIN_COLUMNS) <= table_columns(connection, "outcomes"):
                outcome_columns += CHAIN_COLUMNS
        else:
            chain_mod = None
            print("hash chain: not in this schema yet (no seq/prev_hash/hash or no services/audit/chain.py); rows unchained")
        seeder = Seeder(args, runtime, templates, chain_mod)
        if seeder.outcome_chain and "seq" not in outcome_columns:
            seeder.outcome_chain = None
        connection.execute("SET synchronous_commit = off")  # this session only: a crash loses a batch, not the cluster
        _insert_keys(connection, seeder.tenants)
        connection.commit()
        total = args.rows
        decisions_sql = f"COPY decisions ({', '.join(decision_columns)}) FROM STDIN"
        outcomes_sql = f"COPY outcomes ({', '.join(outcome_columns)}) FROM STDIN"
        started = last_report = time.perf_counter()
        generated = outcome_count = 0
        copy_seconds = {"decisions": 0.0, "outcomes": 0.0}
        # Generation (Python) and COPY (the server) overlap: a thread makes the
        # next batch while this one is sent; the queue keeps memory bounded.
        batches: queue.Queue = queue.Queue(maxsize=2)
        producer = threading.Thread(target=_produce, args=(seeder.rows(total), total, args.batch, batches), daemon=True)
        producer.start()
        while generated < total:
            item = batches.get()
            if isinstance(item, BaseException):
                raise item
            decision_text, outcome_text, batch, batch_outcomes = item
            with connection.cursor() as cursor:
                mark = time.perf_counter()
                with cursor.copy(decisions_sql) as copy:
                    copy.write(decision_text)
                copy_seconds["decisions"] += time.perf_counter() - mark
                mark = time.perf_counter()
                with cursor.copy(outcomes_sql) as copy:
                    copy.write(outcome_text)
                copy_seconds["outcomes"] += time.perf_counter() - mark
            connection.commit()
            generated += batch
            outcome_count += batch_outcomes
            now = time.perf_counter()
            if now - last_report > 30 or generated == total:
                last_report = now
                elapsed = now - started
                print(
                    f"  {generated:>11,} decisions, {outcome_count:>11,} outcomes  {elapsed:6.0f} s  "
                    f"{generated / elapsed:7.0f} decisions/s, {(generated + outcome_count) / elapsed:7.0f} rows/s "
                    f"(COPY decisions {copy_seconds['decisions']:.0f} s, outcomes {copy_seconds['outcomes']:.0f} s)",
                    flush=True,
                )
        elapsed = time.perf_counter() - started
        print(
            f"loaded {generated:,} decisions + {outcome_count:,} outcomes in {elapsed:.0f} s: "
            f"{generated / elapsed:,.0f} decisions/s, {(generated + outcome_count) / elapsed:,.0f} rows/s"
        )
        if chain_mod is not None:
            _write_heads(connection, seeder)
            connection.commit()
    started = time.perf_counter()
    # What autovacuum would have done on a live log (visibility map, hint bits,
    # statistics); the figures in the report were taken after it.
    command = "ANALYZE" if args.no_vacuum else "VACUUM (ANALYZE)"
    with psycopg.connect(libpq_url(), autocommit=True) as connection:
        for table in ("decisions", "outcomes", "api_keys"):
            connection.execute(f"{command} {table}")
    print(f"{command} in {time.perf_counter() - started:.0f} s")


def _produce(rows, total: int, batch_size: int, out: queue.Queue) -> None:
    try:
        made = 0
        while made < total:
            batch = min(batch_size, total - made)
            decisions, outcomes = [], []
            for _ in range(batch):
                decision_line, outcome_line = next(rows)
                decisions.append(decision_line)
                if outcome_line is not None:
                    outcomes.append(outcome_line)
            out.put(("".join(decisions), "".join(outcomes), batch, len(outcomes)))
            made += batch
    except BaseException as exc:  # noqa: BLE001 - handed to the loading thread, which raises it
        out.put(exc)


def _insert_keys(connection, all_tenants: list[Tenant]) -> None:
    """The app keys the seeded decisions name (their secrets are random: nobody can use them)."""
    with connection.cursor() as cursor:
        with cursor.copy("COPY api_keys (id, tenant, role, secret_sha256, created_at) FROM STDIN") as copy:
            created = (datetime.now(timezone.utc) - 400 * DAY).isoformat()
            for tenant in all_tenants:
                for key_id in tenant.keys:
                    copy.write_row((key_id, tenant.name, "app", os.urandom(32).hex(), created))


def _write_heads(connection, seeder: Seeder) -> None:
    """The migration made one head row per chain (seq 0, GENESIS); move them to the seeded heads."""
    heads = [("decisions", seeder.decision_chain)]
    if seeder.outcome_chain:
        heads.append(("outcomes", seeder.outcome_chain))
    for table, chain in heads:
        updated = connection.execute(
            "UPDATE audit_chain_heads SET seq = %s, hash = %s WHERE chain = %s", (chain.seq, chain.head, table)
        ).rowcount
        if not updated:
            connection.execute(
                "INSERT INTO audit_chain_heads (chain, seq, hash) VALUES (%s, %s, %s)", (table, chain.seq, chain.head)
            )
        print(f"chain head {table}: seq {chain.seq:,}, {chain.head[:23]}…")


def sizes(connection) -> None:
    """Sizes summed over every partition (pg_partition_tree), indexes and TOAST included."""
    for table in ("decisions", "outcomes", "api_keys"):
        total, heap, indexes, parts = connection.execute(
            """
            SELECT coalesce(sum(pg_total_relation_size(relid)), 0), coalesce(sum(pg_table_size(relid)), 0),
                   coalesce(sum(pg_indexes_size(relid)), 0), count(*) FILTER (WHERE isleaf)
            FROM pg_partition_tree(%s::regclass)
            """,
            (table,),
        ).fetchone()
        print(
            f"  {table:<10} total {total / 2**30:7.2f} GiB (table+TOAST {heap / 2**30:.2f} GiB, "
            f"indexes {indexes / 2**30:.2f} GiB; {parts} partition(s))"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="decisions to seed (default 10,000,000)")
    parser.add_argument("--reuse", action="store_true", help="keep douane_bench if it exists; seed only if it is empty")
    parser.add_argument("--batch", type=int, default=20_000, help="decisions per COPY and commit")
    parser.add_argument("--templates", type=int, default=3000, help="policy inputs evaluated by the real policy")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--no-vacuum", action="store_true", help="only ANALYZE after the load, no VACUUM")
    args = parser.parse_args()
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, python {sys.version.split()[0]}, {os.cpu_count()} cores")
    populated = prepare_database(args.reuse)
    if populated:
        print(f"{DATABASE} already holds decisions (--reuse): nothing seeded")
    else:
        started = time.perf_counter()
        runtime, policy_input, decision = real_decision(database_url())
        print(
            f"one real decision (detector, candidates, policy) in {time.perf_counter() - started:.1f} s, detector load "
            f"included: {decision.sensitivity}, plan {decision.plan}, policy input {len(compact(policy_input))} B, "
            f"output {len(compact(decision.document))} B"
        )
        templates = build_templates(runtime, policy_input, args.templates, random.Random(args.seed))
        seed(args, runtime, templates)
    with psycopg.connect(libpq_url()) as connection:
        for table in ("decisions", "outcomes"):
            count = connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            print(f"  {table:<10} {count:>12,} rows")
        sizes(connection)


if __name__ == "__main__":
    main()
