"""What the console tests share: logging in over real HTTP, and a tenant's
decisions made through the real /v1/route."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest

from services.keys.models import Role
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
