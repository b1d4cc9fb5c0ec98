"""The DPO's live policy over HTTP: what runs, reload (accepted and refused),
the kill switch taking effect, the file watch, and dry runs."""

from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import func, select

from policy.reload import PolicyReloader, PolicyWatcher
from services.audit.models import DecisionRecord
from services.keys.models import Role

PATIENT = "My patient Anna Schmidt was diagnosed with diabetes last week; please draft a letter."
CLEAN = "What is the capital of Portugal?"


@pytest.fixture
def live(make_gateway, policy_copy):
    return make_gateway(settings={"policy_dir": policy_copy})


def route(gw, key, text, **routing):
    with gw.client(key) as c:
        r = c.post("/v1/route", json={"model": "auto", "messages": [{"role": "user", "content": text}], "routing": routing})
    assert r.status_code == 200, r.text
    return r.json()


def block_cn(policy_dir):
    path = policy_dir / "reference" / "blocklist" / "data.json"
    data = json.loads(path.read_text())
    data["jurisdictions"] = {"CN": {"reason": "sanctions announced overnight", "since": "2026-11-28"}}
    path.write_text(json.dumps(data, indent=2))


def test_get_policy_shows_the_running_revision_and_what_it_is_made_of(live, make_key, tenant):
    with live.client(make_key(Role.dpo, tenant)) as c:
        body = c.get("/v1/policy").json()
    assert body["revision"] == live.runtime.policy.revision and body["revision"].startswith("sha256:")
    assert body["engine"] == "embedded"
    assert "douane/decision.rego" in body["modules"] and not any(m.endswith("_test.rego") for m in body["modules"])
    assert {"path": "reference/blocklist/data.json", "updated": "2026-11-28"} in body["data_files"]


def test_policy_routes_need_a_dpo_key(live, make_key, tenant):
    app_key = make_key(Role.app, tenant)
    with live.client(app_key) as c:
        for method, path in (("GET", "/v1/policy"), ("POST", "/v1/policy/reload"), ("POST", "/v1/policy/evaluate")):
            r = c.request(method, path, json={})
            assert r.status_code == 403 and r.json()["error"]["type"] == "forbidden", (path, r.text)


def test_reload_without_changes_is_unchanged(live, make_key, tenant):
    with live.client(make_key(Role.dpo, tenant)) as c:
        r = c.post("/v1/policy/reload")
    assert r.status_code == 200 and r.json()["status"] == "unchanged"


def test_blocking_a_jurisdiction_and_reloading_moves_the_next_request_off_it(live, make_key, tenant, policy_copy, database_url):
    app_key, dpo_key = make_key(Role.app, tenant), make_key(Role.dpo, tenant)
    before = route(live, app_key, CLEAN)
    assert before["route"]["endpoint"] == "deepseek-chat"
    old_revision = before["policy"]["revision"]

    block_cn(policy_copy)
    with live.client(dpo_key) as c:
        r = c.post("/v1/policy/reload")
    assert r.status_code == 200, r.text
    reload = r.json()
    assert reload["status"] == "loaded" and reload["previous_revision"] == old_revision
    assert reload["revision"] != old_revision and reload["tests_passed"] >= 60 and reload["tests_failed"] == []

    after = route(live, app_key, CLEAN)
    assert after["route"]["endpoint"] != "deepseek-chat"
    assert after["policy"]["revision"] == reload["revision"]
    cn = {c["endpoint"]: c for c in after["candidates"] if c["endpoint"] in ("deepseek-chat", "kimi-k2", "glm-4.5")}
    assert cn and all(not c["eligible"] for c in cn.values())
    assert all(c["reasons"] == ["jurisdiction CN is blocked since 2026-11-28: sanctions announced overnight"] for c in cn.values())


def test_a_policy_that_does_not_compile_is_refused_and_the_old_one_keeps_serving(live, make_key, tenant, policy_copy):
    running = live.runtime.policy.revision
    (policy_copy / "douane" / "risk" / "risk.rego").write_text("package douane.risk\n\nimport rego.v1\n\ndeny contains x if {\n")
    with live.client(make_key(Role.dpo, tenant)) as c:
        r = c.post("/v1/policy/reload")
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["type"] == "policy_refused" and running in error["message"]
    assert error["details"]["status"] == "refused" and error["details"]["revision"] == running
    assert any("douane/risk/risk.rego" in e for e in error["details"]["errors"])
    assert live.runtime.policy.revision == running
    decision = route(live, make_key(Role.app, tenant), PATIENT)
    assert decision["policy"]["revision"] == running and decision["sensitivity"] == "special"


def test_a_policy_that_fails_its_own_tests_is_refused_naming_the_test(live, make_key, tenant, policy_copy):
    running = live.runtime.policy.revision
    # A DPO "simplifies" residency and forgets special categories: it compiles, its tests catch it.
    path = policy_copy / "douane" / "residency" / "residency.rego"
    source = path.read_text()
    path.write_text(source.replace('sensitivity.level == "special"', 'sensitivity.level == "never"'))
    with live.client(make_key(Role.dpo, tenant)) as c:
        r = c.post("/v1/policy/reload")
    assert r.status_code == 422, r.text
    details = r.json()["error"]["details"]
    assert "data.douane.residency_test.test_special_data_stays_in_eu_or_self_hosted" in details["tests_failed"]
    assert details["tests_passed"] > 0 and live.runtime.policy.revision == running


def test_dry_run_explains_and_records_nothing(live, make_key, tenant, database_url):
    from sqlalchemy import create_engine

    dpo_key = make_key(Role.dpo, tenant)
    with live.client(dpo_key) as c:
        r = c.post("/v1/policy/evaluate", json={"request": {"model": "auto", "messages": [{"role": "user", "content": PATIENT}]}})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["decision"]["sensitivity"] == "special" and body["revision"] == live.runtime.policy.revision
    assert body["summary"].startswith("sensitivity special (personal, special:health); routed to ")
    eligible = [e for e in body["endpoints"] if e["eligible"]]
    assert [e["rank"] for e in eligible] == list(range(1, len(eligible) + 1))
    assert all(e["region"] == "eu" for e in eligible)
    denied = [e for e in body["endpoints"] if not e["eligible"]]
    assert denied and all(e["reasons"] and e["rank"] is None for e in denied)
    assert "Anna" not in r.text and "diabetes" not in r.text  # the input carries no prompt text

    # The same input, sent back as a policy input, gives the same decision.
    with live.client(dpo_key) as c:
        again = c.post("/v1/policy/evaluate", json={"input": body["input"]}).json()
    assert again["decision"] == body["decision"]

    engine = create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(DecisionRecord).where(DecisionRecord.tenant == tenant)).scalar()
    engine.dispose()
    assert rows == 0


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"input": {"request": {}}, "request": {"model": "auto", "messages": [{"role": "user", "content": "x"}]}}, 422),
        ({"input": {"request": {}, "findings": {}}}, 400),
        ({"input": {"request": {}, "findings": {}, "candidates": [{"id": "a"}, {"id": "a"}]}}, 400),
        ({"request": {"model": "no-such-model", "messages": [{"role": "user", "content": "x"}]}}, 404),
    ],
)
def test_dry_run_refuses_bad_input_in_the_error_shape(live, make_key, tenant, body, status):
    with live.client(make_key(Role.dpo, tenant)) as c:
        r = c.post("/v1/policy/evaluate", json=body)
    assert r.status_code == status, r.text
    assert set(r.json()["error"]) >= {"type", "message"}


def test_the_file_watch_reloads_a_saved_change(policy_copy, policy_engine):
    from policy import load_engine
    from tests.policy.conftest import CATALOG

    holder = {"engine": load_engine("embedded", policy_copy)}
    reloader = PolicyReloader(
        policy_dir=policy_copy,
        build=lambda d: load_engine("embedded", d),
        current=lambda: holder["engine"],
        install=lambda e: holder.update(engine=e),
        fixture_candidates=CATALOG,
    )
    watcher = PolicyWatcher(policy_copy, reloader)
    watcher.start()
    try:
        first = holder["engine"].revision
        time.sleep(0.5)  # let the watch start before the change it must see
        block_cn(policy_copy)
        deadline = time.monotonic() + 60
        while holder["engine"].revision == first and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        watcher.stop()
    assert holder["engine"].revision != first
    from tests.policy.conftest import make_input

    assert holder["engine"].evaluate(make_input()).denied["deepseek-chat"] == [
        "jurisdiction CN is blocked since 2026-11-28: sanctions announced overnight"
    ]
