"""What the console tests share: logging in over real HTTP, a tenant's
decisions made through the real /v1/route, and a tenant's answered requests
seeded into the audit chains (the spend page)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest

from services.audit.models import DecisionRecord, OutcomeRecord
from services.audit.writer import append
from services.db import make_engine
from services.keys.models import Role
from services.routing.catalog import Catalog
from tests.conftest import new_tenant
from tests.live import LiveGateway

CLEAN = "What is the capital of Portugal?"
PERSONAL = "Write a polite reminder to jane.doe@example.org about the unpaid invoice"
SPECIAL = "Summarise: my patient Anna Schmidt, born 12.03.1961, has type 2 diabetes"


def body(content: str) -> dict:
    return {"model": "auto", "messages": [{"role": "user", "content": content}]}


def browser(gateway: LiveGateway) -> httpx.Client:
    """A client that sends what a browser sends with a console form (its Origin), without a key."""
    return httpx.Client(base_url=gateway.base_url, headers={"Origin": gateway.base_url}, timeout=60)


def login(gateway: LiveGateway, key: str) -> httpx.Client:
    client = browser(gateway)
    response = client.post("/console/login", data={"key": key})
    assert response.status_code == 303, response.text[:500]
    return client


@dataclass
class Log:
    """One tenant's decisions (newest last) and keys of every role."""

    tenant: str
    keys: dict[Role, str]
    clean: str
    personal: str
    special: str

    @property
    def ids(self) -> list[str]:
        return [self.clean, self.personal, self.special]


def make_log(gateway: LiveGateway, make_key) -> Log:
    tenant = new_tenant()
    keys = {role: make_key(role, tenant) for role in Role}
    with gateway.client(keys[Role.app]) as client:
        made = []
        for content in (CLEAN, PERSONAL, SPECIAL):
            response = client.post("/v1/route", json=body(content))
            assert response.status_code == 200, response.text
            made.append(response.json()["decision_id"])
    return Log(tenant, keys, *made)


@pytest.fixture(scope="module")
def log_a(gateway, make_key) -> Log:
    return make_log(gateway, make_key)


@pytest.fixture(scope="module")
def log_b(gateway, make_key) -> Log:
    return make_log(gateway, make_key)


def seed_answered(
    database_url: str, catalog: Catalog, tenant: str, endpoint: str, count: int, at: datetime,
    usage: tuple[int, int] | None = (500, 300),
) -> None:
    """``count`` decisions answered by ``endpoint`` at ``at``, their outcomes
    recorded as the gateway records them (tokens, cost rounded to 8
    decimals), linked into the chains by the audit writer."""
    decisions = [
        DecisionRecord(
            id=uuid.uuid4(), created_at=at - timedelta(seconds=1), tenant=tenant, key_id="k_0123456789abcdef",
            api="chat", purpose="customer_support", requested_model="auto", status="routed", allowed=True,
            sensitivity="none", gdpr_categories=[], entities={}, endpoint=endpoint, endpoint_jurisdiction="US",
            endpoint_region="us", plan=[endpoint], usage_estimate={"input_tokens": 500, "output_tokens": 300},
            estimated_cost_usd=0.001, policy_input={"candidates": []},
            policy_output={"plan": [endpoint], "denied": {}, "reasons": []}, policy_engine="embedded",
            policy_revision="sha256:" + "3" * 64, decision_latency_ms=1.0,
        )
        for _ in range(count)
    ]
    price = catalog.get(endpoint)
    outcomes = [
        OutcomeRecord(
            id=uuid.uuid4(), decision_id=d.id, created_at=at, tenant=tenant, status="ok", endpoint=endpoint,
            upstream_status=200, stream=usage is None, input_tokens=usage[0] if usage else None,
            output_tokens=usage[1] if usage else None, cost_usd=round(price.cost_usd(*usage), 8) if usage else None,
            ttft_ms=1.0, total_ms=2.0,
            attempts=[{"endpoint": endpoint, "status": 200, "error_type": None, "reason": None, "latency_ms": 2.0}],
        )
        for d in decisions
    ]
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            append(connection, [*decisions, *outcomes])
    finally:
        engine.dispose()


@dataclass
class Tickets:
    """One tenant's 1,000 support tickets of 500 input and 300 output tokens:
    600 answered by deepseek-chat two days ago ($0.279), 400 by
    mistral-large today ($1.12); $1.399 in all."""

    tenant: str
    keys: dict[Role, str]
    earlier: date
    later: date


@pytest.fixture(scope="module")
def tickets(gateway, make_key, database_url) -> Tickets:
    tenant = new_tenant()
    keys = {role: make_key(role, tenant) for role in Role}
    now = datetime.now(timezone.utc)
    earlier, later = now - timedelta(days=2), now - timedelta(minutes=5)
    catalog = gateway.runtime.catalog
    seed_answered(database_url, catalog, tenant, "deepseek-chat", 600, earlier)
    seed_answered(database_url, catalog, tenant, "mistral-large", 400, later)
    return Tickets(tenant, keys, earlier.date(), later.date())
