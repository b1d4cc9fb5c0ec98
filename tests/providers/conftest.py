"""The proxy under test: a gateway of the test's own (fresh endpoint health),
whose catalog points at fake OpenAI-compatible upstreams on loopback."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
import yaml
from openai import OpenAI

from policy import PolicyEngine, load_engine
from services.gateway.app import build_runtime, create_app
from services.gateway.runtime import Runtime
from services.pii import Detector
from tests.fake_upstream import FakeUpstream, serve_app, start_fake
from tests.live import ROOT, make_settings

FAKE_KEY = "sk-fake-upstream-key"
KEY_ENV = "DOUANE_TEST_FAKE_UPSTREAM_KEY"

# name -> (jurisdiction, region, self_hosted, price per Mtok). Cheapest first,
# so a clean prompt's plan is this order and personal data's is the EU pair.
# Prices keep estimated costs above 1e-4 USD: regopy's sort() misorders
# floats it prints in exponent notation (2.68e-05 sorts after 0.000134).
FAKES = {
    "fake-cn": ("CN", "cn", False, 10.0),
    "fake-us": ("US", "us", False, 20.0),
    "fake-eu": ("FR", "eu", False, 30.0),
    "fake-eu-self": ("DE", "eu", True, 40.0),
}
EU = {"fake-eu", "fake-eu-self"}


def catalog_entry(endpoint_id: str, base_url: str, *, api_key_env: str | None = KEY_ENV) -> dict:
    jurisdiction, region, self_hosted, price = FAKES.get(endpoint_id, ("DE", "eu", False, 50.0))
    return {
        "id": endpoint_id,
        "provider": "fake",
        "model": f"{endpoint_id}-model",
        "base_url": base_url,
        "api_key_env": api_key_env,
        "jurisdiction": jurisdiction,
        "region": region,
        "self_hosted": self_hosted,
        "price": {"input_per_mtok": price, "output_per_mtok": price},
        "latency_p95_ms": 500,
    }


@pytest.fixture(scope="session")
def fakes() -> Iterator[dict[str, FakeUpstream]]:
    started = {name: start_fake(name, api_key=FAKE_KEY) for name in FAKES}
    yield {name: fake for name, (fake, _stop) in started.items()}
    for _fake, stop in started.values():
        stop()


@pytest.fixture
def upstreams(fakes, monkeypatch) -> dict[str, FakeUpstream]:
    """The fakes, reset for this test, and their key in the environment."""
    monkeypatch.setenv(KEY_ENV, FAKE_KEY)
    for fake in fakes.values():
        fake.reset()
    return fakes


@dataclass
class Proxy:
    base_url: str
    runtime: Runtime
    app_key: str
    auditor_key: str

    def sdk(self) -> OpenAI:
        # No SDK retries: every request the fakes see is one the gateway sent.
        return OpenAI(base_url=f"{self.base_url}/v1", api_key=self.app_key, max_retries=0, timeout=30)


ProxyMaker = Callable[..., Proxy]


@pytest.fixture
def make_proxy(
    upstreams, tmp_path, database_url: str, real_detector: Detector, policy_engine: PolicyEngine, make_key, tenant
) -> Iterator[ProxyMaker]:
    stops = []

    def make(entries: list[dict] | None = None, *, policy: PolicyEngine | None = None, **settings) -> Proxy:
        entries = entries or [catalog_entry(name, fake.base_url) for name, fake in upstreams.items()]
        catalog = tmp_path / f"endpoints-{len(stops)}.yaml"
        catalog.write_text(yaml.safe_dump({"endpoints": entries}), encoding="utf-8")
        settings.setdefault("upstream_connect_timeout_s", 1.0)
        settings.setdefault("upstream_read_timeout_s", 0.5)
        settings.setdefault("upstream_total_timeout_s", 20.0)
        runtime = build_runtime(
            make_settings(settings.pop("database_url", database_url), **settings).model_copy(
                update={"endpoints_file": catalog}
            ),
            detector=real_detector,
            policy=policy or policy_engine,
        )
        base_url, stop = serve_app(create_app(runtime), lifespan="on")
        stops.append((stop, runtime))
        return Proxy(base_url, runtime, make_key("app", tenant), make_key("auditor", tenant))

    yield make
    for stop, runtime in reversed(stops):
        stop()
        runtime.db_engine.dispose()


@pytest.fixture
def proxy(make_proxy) -> Proxy:
    return make_proxy()


@pytest.fixture
def pseudonymising_policy(tmp_path) -> PolicyEngine:
    """The shipped policy with one DPO opt-in (the shipped data has none):
    e-mail addresses may go to US endpoints for customer support, once
    pseudonymised."""
    target = tmp_path / "policies"
    shutil.copytree(ROOT / "policies", target)
    data_file = target / "reference" / "pseudonymisation" / "data.json"
    data = json.loads(data_file.read_text(encoding="utf-8"))
    data["rules"] = [{
        "id": "test-support-email-us",
        "entities": ["EMAIL_ADDRESS"],
        "purposes": ["customer_support"],
        "jurisdictions": ["US"],
        "reason": "test: support e-mails may go to the US pseudonymised",
    }]
    data_file.write_text(json.dumps(data), encoding="utf-8")
    return load_engine("embedded", target)

