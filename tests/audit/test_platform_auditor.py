"""A platform auditor reads every tenant's log (and may narrow to one with
``tenant=``); a tenant auditor reads its own only; neither can do anything
but read the audit log."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from services.keys.models import Role
from tests.audit.test_filters import CLEAN, PERSONAL, client, ids, key_id, route
from tests.conftest import new_tenant

DOUANE = [sys.executable, "-m", "services.cli"]


@pytest.fixture
def two_tenants(gateway, make_key):
    """Tenants a and b, each with an app key, an auditor key and decisions."""
    out = {}
    for name in ("a", "b"):
        tenant = new_tenant()
        app = make_key("app", tenant)
        made = [route(gateway.base_url, app, CLEAN), route(gateway.base_url, app, PERSONAL)]
        out[name] = {"tenant": tenant, "app": app, "auditor": make_key("auditor", tenant), "made": made}
    return out


def test_keys_create_makes_a_platform_auditor_key(database_url, gateway, two_tenants):
    env = {**os.environ, "DOUANE_DATABASE_URL": database_url}
    result = subprocess.run(
        DOUANE + ["keys", "create", "--tenant", "platform", "--role", "platform_auditor"],
        env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    a, b = two_tenants["a"], two_tenants["b"]
    # Across tenants: the key id alone finds each tenant's rows.
    assert ids(gateway.base_url, key, key_id=key_id(a["app"])) == list(reversed(a["made"]))
    assert ids(gateway.base_url, key, key_id=key_id(b["app"])) == list(reversed(b["made"]))


def test_a_platform_auditor_sees_every_tenant_and_can_narrow_to_one(gateway, make_key, two_tenants):
    platform = make_key(Role.platform_auditor, "platform")
    a, b = two_tenants["a"], two_tenants["b"]
    with client(gateway.base_url, platform) as c:
        unfiltered = [d["decision_id"] for d in c.get("/v1/decisions", params={"limit": 1000}).json()["data"]]
        for decision in a["made"] + b["made"]:
            # The detail of any tenant's decision.
            view = c.get(f"/v1/decisions/{decision}")
            assert view.status_code == 200 and view.json()["decision_id"] == decision
        tenants = {d["decision_id"]: d["tenant"] for d in c.get("/v1/decisions", params={"limit": 4}).json()["data"]}
    assert tenants == {**{i: a["tenant"] for i in a["made"]}, **{i: b["tenant"] for i in b["made"]}}
    # Newest first across tenants: these four rows are the newest of the whole log.
    assert unfiltered[:4] == list(reversed(a["made"] + b["made"]))
    assert ids(gateway.base_url, platform, tenant=a["tenant"]) == list(reversed(a["made"]))
    assert ids(gateway.base_url, platform, tenant=b["tenant"], sensitivity="personal") == [b["made"][1]]
    assert ids(gateway.base_url, platform, tenant=new_tenant()) == []

    # The export and the report narrow the same way, and agree with the tenant's own auditor.
    with client(gateway.base_url, platform) as c:
        lines = c.get("/v1/decisions/export", params={"tenant": a["tenant"], "format": "jsonl"}).text.splitlines()
        assert [json.loads(line)["decision_id"] for line in lines] == list(reversed(a["made"]))
        exported = c.get("/v1/decisions/export", params={"format": "csv"})
        assert 'filename="douane-decisions-all-tenants-' in exported.headers["content-disposition"]
        tenants = {row["tenant"] for row in csv.DictReader(io.StringIO(exported.text))}
        assert {a["tenant"], b["tenant"]} <= tenants
        narrowed = c.get("/v1/audit/report", params={"tenant": a["tenant"]}).json()
        everything = c.get("/v1/audit/report").json()
    with client(gateway.base_url, a["auditor"]) as c:
        own = c.get("/v1/audit/report").json()
    assert narrowed == own and own["decisions"] == 2
    assert everything["period"]["tenant"] is None and everything["decisions"] >= 4


def test_a_tenant_auditor_reads_its_own_tenant_only(gateway, two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    with client(gateway.base_url, a["auditor"]) as c:
        assert c.get(f"/v1/decisions/{b['made'][0]}").status_code == 404
        assert c.get(f"/v1/decisions/{a['made'][0]}").status_code == 200
        for path in ("/v1/decisions", "/v1/decisions/export", "/v1/audit/report"):
            refused = c.get(path, params={"tenant": b["tenant"]})
            assert refused.status_code == 403, path
            assert refused.json()["error"]["details"] == {"parameter": "tenant"}
        # Naming its own tenant is allowed, and changes nothing.
        assert c.get("/v1/decisions", params={"tenant": a["tenant"]}).status_code == 200
    assert ids(gateway.base_url, a["auditor"]) == list(reversed(a["made"]))
    assert ids(gateway.base_url, a["auditor"], key_id=key_id(b["app"])) == []


def test_an_admin_keeps_its_own_tenant(gateway, make_key, two_tenants):
    a, b = two_tenants["a"], two_tenants["b"]
    admin = make_key("admin", a["tenant"])
    assert ids(gateway.base_url, admin) == list(reversed(a["made"]))
    with client(gateway.base_url, admin) as c:
        assert c.get("/v1/decisions", params={"tenant": b["tenant"]}).status_code == 403
        assert c.get(f"/v1/decisions/{b['made'][0]}").status_code == 404


def test_a_platform_auditor_can_only_read(gateway, make_key):
    platform = make_key(Role.platform_auditor, "platform")
    body = {"model": "auto", "messages": [{"role": "user", "content": CLEAN}]}
    with client(gateway.base_url, platform) as c:
        assert c.post("/v1/route", json=body).status_code == 403
        assert c.post("/v1/chat/completions", json=body).status_code == 403
        assert c.get("/v1/endpoints").status_code == 403
        assert c.get("/v1/policy").status_code == 403
        assert c.post("/v1/policy/reload").status_code == 403
        # A bad tenant name is a bad request, not a 500.
        bad = c.get("/v1/decisions", params={"tenant": "../etc"})
        assert bad.status_code == 400 and bad.json()["error"]["details"] == {"parameter": "tenant"}
