"""A bad catalog entry or setting stops start-up with a message naming the
file, the entry and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from services.routing.catalog import CatalogError, load_catalog
from services.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[2]
GOOD = {
    "id": "mistral-large",
    "provider": "mistral",
    "model": "mistral-large-latest",
    "base_url": "https://api.mistral.ai/v1",
    "api_key_env": "MISTRAL_API_KEY",
    "jurisdiction": "FR",
    "region": "eu",
    "self_hosted": False,
    "price": {"input_per_mtok": 2.0, "output_per_mtok": 6.0},
    "latency_p95_ms": 900,
}


def write(tmp_path: Path, endpoints) -> Path:
    path = tmp_path / "endpoints.yaml"
    path.write_text(yaml.safe_dump({"endpoints": endpoints}))
    return path


def test_shipped_catalog_has_the_endpoints_the_product_promises():
    catalog = load_catalog(ROOT / "config" / "endpoints.yaml")
    by_id = {e.id: e for e in catalog.endpoints}
    assert by_id["deepseek-chat"].jurisdiction == "CN"
    assert (by_id["deepseek-chat"].price.input_per_mtok, by_id["deepseek-chat"].price.output_per_mtok) == (0.27, 1.10)
    assert (by_id["gpt-4o"].price.input_per_mtok, by_id["gpt-4o"].price.output_per_mtok) == (2.50, 10.00)
    assert (by_id["claude-opus-4"].price.input_per_mtok, by_id["claude-opus-4"].price.output_per_mtok) == (15, 75)
    assert {"kimi-k2", "glm-4.5", "mistral-large", "self-hosted-eu"} <= set(by_id)
    assert by_id["mistral-large"].region == "eu" and by_id["self-hosted-eu"].self_hosted
    # From the EU, Asian endpoints answer 200-400 ms slower than US ones.
    fastest_cn = min(e.latency_p95_ms for e in catalog.endpoints if e.region == "cn")
    assert fastest_cn - by_id["gpt-4o"].latency_p95_ms >= 200


def test_cost_of_the_buyers_arithmetic():
    catalog = load_catalog(ROOT / "config" / "endpoints.yaml")
    # 1,000 tickets of 500 input and 300 output tokens.
    cost = {e.id: round(1000 * e.cost_usd(500, 300), 4) for e in catalog.endpoints}
    assert cost["deepseek-chat"] == 0.465
    assert cost["gpt-4o"] == 4.25
    assert cost["claude-opus-4"] == 30.0


@pytest.mark.parametrize(
    "entry, field",
    [
        ({**GOOD, "jurisdiction": "France"}, "jurisdiction"),
        ({**GOOD, "price": {"input_per_mtok": -1, "output_per_mtok": 6.0}}, "price.input_per_mtok"),
        ({**GOOD, "price": {"input_per_mtok": 1}}, "price.output_per_mtok"),
        ({**GOOD, "latency_p95_ms": "fast"}, "latency_p95_ms"),
        ({**GOOD, "base_url": "ftp://x"}, "base_url"),
        ({**GOOD, "regoin": "eu"}, "regoin"),
        ({k: v for k, v in GOOD.items() if k != "region"}, "region"),
    ],
)
def test_bad_entry_names_file_entry_and_field(tmp_path, entry, field):
    path = write(tmp_path, [GOOD | {"id": "self-hosted"}, entry])
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert str(path) in message
    assert "entry 1 (mistral-large)" in message
    assert f"'{field}'" in message


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "file not found"),
        ("endpoints: [", "not valid YAML"),
        ("endpoints: []", "non-empty list"),
        ("something: else", "non-empty list"),
    ],
)
def test_unusable_catalog_file(tmp_path, content, expected):
    path = tmp_path / "endpoints.yaml"
    if content is not None:
        path.write_text(content)
    with pytest.raises(CatalogError, match=expected):
        load_catalog(path)


def test_duplicate_ids_are_refused(tmp_path):
    with pytest.raises(CatalogError, match="'mistral-large' appears more than once"):
        load_catalog(write(tmp_path, [GOOD, GOOD]))


@pytest.mark.parametrize(
    "env, variable",
    [
        ({"DOUANE_POLICY_ENGINE": "wasm"}, "DOUANE_POLICY_ENGINE"),
        ({"DOUANE_DATABASE_URL": "mysql://x/y"}, "DOUANE_DATABASE_URL"),
        ({"DOUANE_POLICY_ENGINE": "opa"}, "DOUANE_OPA_URL"),
        ({"DOUANE_MAX_BODY_BYTES": "-1"}, "DOUANE_MAX_BODY_BYTES"),
    ],
)
def test_bad_setting_names_the_variable(monkeypatch, env, variable):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match=variable):
        load_settings()


def test_postgres_urls_are_pointed_at_psycopg(monkeypatch):
    monkeypatch.setenv("DOUANE_DATABASE_URL", "postgresql://u@db:5432/douane")
    assert load_settings().database_url == "postgresql+psycopg://u@db:5432/douane"
