"""docker-compose.yml is for users (no Docker engine here): validate it
against the Compose specification and check it wires douane's contract."""

from __future__ import annotations

from pathlib import Path

import compose_spec
import yaml

from services.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def test_compose_file_is_valid_and_wires_the_contract():
    text = (ROOT / "docker-compose.yml").read_text()
    compose = compose_spec.PyCompose.from_yaml(text)
    compose.validate()
    assert set(compose.service_names()) == {"gateway", "postgres", "opa"}

    raw = yaml.safe_load(text)
    gateway = raw["services"]["gateway"]
    env = gateway["environment"]
    settings = Settings(**{k.removeprefix("DOUANE_").lower(): v for k, v in env.items() if k.startswith("DOUANE_")})
    assert settings.policy_engine == "opa" and settings.opa_url == "http://opa:8181"
    assert settings.database_url.startswith("postgresql+psycopg://")
    # The OPA server evaluates the very files the embedded engine runs.
    opa = raw["services"]["opa"]
    assert "./policies:/policies:ro" in opa["volumes"] and "/policies" in opa["command"]
    assert "./policies:/app/policies:ro" in gateway["volumes"] and settings.policy_dir == Path("/app/policies")
    # Both sides follow edits: OPA watches its bundle, the gateway its directory.
    assert "--watch" in opa["command"] and settings.policy_watch is True
    # Decision logs are on, and the bundle masks who asked and why.
    assert "decision_logs.console=true" in opa["command"]
    assert (ROOT / "policies" / "system" / "log" / "mask.rego").is_file()
    # Every catalog key variable reaches the gateway.
    catalog = yaml.safe_load((ROOT / "config" / "endpoints.yaml").read_text())
    assert {e["api_key_env"] for e in catalog["endpoints"]} <= set(env)
