"""API keys from the shell: printed once as the last line, stored hashed."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
from sqlalchemy import text

from services.db import make_engine
from services.keys.service import KEY_PATTERN

DOUANE = [sys.executable, "-m", "services.cli"]


def run_cli(args: list[str], database_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DOUANE_DATABASE_URL": database_url}
    return subprocess.run(DOUANE + args, env=env, capture_output=True, text=True, timeout=120)


def test_keys_create_prints_the_key_last_and_stores_only_its_hash(database_url, gateway, tenant):
    result = run_cli(["keys", "create", "--tenant", tenant, "--role", "auditor"], database_url)
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    assert key.startswith("dk_k_")

    engine = make_engine(database_url)
    with engine.connect() as connection:
        stored = connection.execute(
            text("SELECT row_to_json(k)::text FROM api_keys k WHERE tenant = :t"), {"t": tenant}
        ).scalar_one()
    engine.dispose()
    # dk_<id>_<secret>: the secret is URL-safe base64 and may itself hold "_".
    secret = KEY_PATTERN.match(key).group(2)
    assert secret not in stored and key not in stored

    # The printed key works on the route its role allows, and only there.
    with httpx.Client(base_url=gateway.base_url, headers={"Authorization": f"Bearer {key}"}) as client:
        assert client.get("/v1/decisions").status_code == 200
        assert client.get("/v1/endpoints").status_code == 403


def test_a_tampered_key_is_refused(make_key, gateway):
    key = make_key("app")
    tampered = key[:-1] + ("A" if key[-1] != "A" else "B")
    with httpx.Client(base_url=gateway.base_url, headers={"Authorization": f"Bearer {tampered}"}) as client:
        assert client.get("/v1/endpoints").status_code == 401


def test_keys_create_rejects_a_bad_role_or_tenant(database_url):
    bad_role = run_cli(["keys", "create", "--tenant", "acme", "--role", "root"], database_url)
    assert bad_role.returncode != 0 and "--role must be one of app, auditor, dpo, admin" in bad_role.stderr
    bad_tenant = run_cli(["keys", "create", "--tenant", "Acme Corp!", "--role", "app"], database_url)
    assert bad_tenant.returncode != 0 and "--tenant" in bad_tenant.stderr
