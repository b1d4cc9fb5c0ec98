"""GET /v1/audit/report: counts, spend and violations on a known set of
decisions made through the real routes; violations are found when an outcome
went where the recorded policy did not allow (on Postgres and on SQLite)."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.orm import Session

from services.audit.models import DecisionRecord, OutcomeRecord
from services.audit.report import build_report
from services.audit.writer import append_in_session
from services.db import make_engine
from services.migrate import upgrade
from tests.audit.test_filters import SPECIAL, KnownLog, client, route, walk
from tests.providers.conftest import fakes, make_proxy, upstreams  # noqa: F401 (fixtures)


def report(base_url: str, key: str, **params) -> dict:
    with client(base_url, key) as c:
        response = c.get("/v1/audit/report", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def outcome_for(decision_id: str, tenant: str, endpoint: str, cost: float = 0.001) -> OutcomeRecord:
    return OutcomeRecord(
        id=uuid.uuid4(), decision_id=uuid.UUID(decision_id), created_at=datetime.now(timezone.utc), tenant=tenant,
        status="ok", endpoint=endpoint, upstream_status=200, stream=False, input_tokens=10, output_tokens=10,
        cost_usd=cost, ttft_ms=1.0, total_ms=2.0,
        attempts=[{"endpoint": endpoint, "status": 200, "error_type": None, "reason": None, "latency_ms": 2.0}],
    )


def write(database_url: str, records: list) -> None:
    engine = make_engine(database_url)
    with Session(engine) as session:
        append_in_session(session, records)
        session.commit()
    engine.dispose()


@pytest.fixture
def log(make_proxy, upstreams, tenant, make_key) -> KnownLog:
    return KnownLog(make_proxy, upstreams, tenant, make_key)


def test_report_figures_on_a_known_set(log, tenant):
    p, views = log.proxy, list(log.views.values())
    got = report(p.base_url, p.auditor_key)
    assert got["period"] == {"since": None, "until": None, "tenant": tenant}
    assert got["decisions"] == len(log.all) == 7

    by_region = Counter((v["sensitivity"], v["endpoint_region"]) for v in views)
    assert {(r["sensitivity"], r["region"]): r["count"] for r in got["by_sensitivity_region"]} == by_region
    assert by_region[("none", "cn")] == 3 and by_region[("special", None)] == 1
    by_jurisdiction = Counter((v["sensitivity"], v["endpoint_jurisdiction"]) for v in views)
    assert {
        (r["sensitivity"], r["jurisdiction"]): r["count"] for r in got["by_sensitivity_jurisdiction"]
    } == by_jurisdiction
    assert {r["status"]: r["count"] for r in got["by_decision_status"]} == {"routed": 6, "denied": 1}
    assert {r["status"]: r["count"] for r in got["by_outcome_status"]} == {"ok": 3, "exhausted": 1, "none": 3}

    outcomes = [v["outcome"] for v in views if v["outcome"]]
    spent = sum(o["cost_usd"] or 0.0 for o in outcomes)
    assert spent > 0
    assert got["spend"]["spent_usd"] == pytest.approx(spent)
    assert got["spend"]["estimated_usd"] == pytest.approx(
        sum(v["estimated_cost_usd"] for v in views if v["status"] == "routed")
    )
    by_endpoint = {e["endpoint"]: e for e in got["spend"]["by_endpoint"]}
    assert sum(e["outcomes"] for e in by_endpoint.values()) == len(outcomes)
    assert by_endpoint["fake-cn"]["cost_usd"] == pytest.approx(log.views[log.chat_clean]["outcome"]["cost_usd"])
    # The exhausted completion answered from nowhere: its outcome names no endpoint.
    assert by_endpoint[None]["outcomes"] == 1 and by_endpoint[None]["cost_usd"] == 0

    assert got["violations"] == {"count": 0, "decisions": []}


def test_report_period_bounds(log):
    p, v = log.proxy, log.views
    middle = v[log.chat_special]["created_at"]
    after = report(p.base_url, p.auditor_key, since=middle)
    before = report(p.base_url, p.auditor_key, until=middle)
    assert after["decisions"] == 4 and before["decisions"] == 3
    assert after["period"]["since"] == datetime.fromisoformat(middle).isoformat()
    future = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    empty = report(p.base_url, p.auditor_key, since=future)
    assert empty["decisions"] == 0 and empty["by_sensitivity_region"] == [] and empty["spend"]["spent_usd"] == 0


def test_violations_name_the_decisions_and_the_rules_they_broke(log, tenant, database_url):
    p = log.proxy
    # Decided, never forwarded: special data planned for the EU only, personal data likewise.
    special = route(p.base_url, p.app_key, SPECIAL)
    personal = log.route_support
    special_view = next(d for d in walk(p.base_url, p.auditor_key) if d["decision_id"] == special)
    assert "fake-cn" in special_view["denied"] and "fake-cn" not in special_view["route"]["fallbacks"]
    # As if the proxy had sent them elsewhere: outcome rows naming other endpoints.
    write(database_url, [outcome_for(special, tenant, "fake-cn"), outcome_for(personal, tenant, "fake-us")])

    got = report(p.base_url, p.auditor_key)["violations"]
    assert got["count"] == 2
    rules = {v["decision_id"]: (v["endpoint"], v["sensitivity"], v["rules"]) for v in got["decisions"]}
    assert rules == {
        personal: ("fake-us", "personal", ["not_in_plan", "denied_by_policy"]),
        special: ("fake-cn", "special", ["not_in_plan", "denied_by_policy", "special_outside_eu"]),
    }
    assert [v["decision_id"] for v in got["decisions"]] == [personal, special]  # oldest first
    assert all(v["tenant"] == tenant for v in got["decisions"])


def _decision(tenant: str, sensitivity: str, plan: list[str], denied: dict, candidates: list[dict]) -> DecisionRecord:
    return DecisionRecord(
        id=uuid.uuid4(), created_at=datetime.now(timezone.utc), tenant=tenant, key_id="k_0123456789abcdef",
        api="chat", purpose="general", requested_model="auto", status="routed" if plan else "denied",
        allowed=bool(plan), sensitivity=sensitivity, gdpr_categories=["personal"], entities={"PERSON": 1},
        endpoint=plan[0] if plan else None, endpoint_jurisdiction="DE", endpoint_region="eu", plan=plan,
        usage_estimate={"input_tokens": 10, "output_tokens": 10}, estimated_cost_usd=0.002,
        policy_input={"candidates": candidates}, policy_output={"plan": plan, "denied": denied, "reasons": []},
        policy_engine="embedded", policy_revision="sha256:" + "1" * 64, decision_latency_ms=1.0,
    )


def test_the_report_works_on_sqlite_too(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/douane.db")
    upgrade(engine)
    candidates = [
        {"id": "us-one", "region": "us", "jurisdiction": "US", "self_hosted": False},
        {"id": "us-own", "region": "us", "jurisdiction": "US", "self_hosted": True},
        {"id": "eu-one", "region": "eu", "jurisdiction": "FR", "self_hosted": False},
    ]
    fine = _decision("t-a", "special", ["eu-one", "us-own"], {"us-one": ["no"]}, candidates)
    fallback = _decision("t-a", "special", ["eu-one", "us-own"], {"us-one": ["no"]}, candidates)
    # Planned, but a special-category row that the candidates place outside the EU: the policy was wrong.
    outside = _decision("t-a", "special", ["us-one"], {}, candidates)
    denied = _decision("t-a", "personal", ["eu-one"], {"us-one": ["no"]}, candidates)
    other_tenant = _decision("t-b", "personal", ["eu-one"], {"us-one": ["no"]}, candidates)
    decisions = [fine, fallback, outside, denied, other_tenant]
    outcomes = [
        outcome_for(str(fine.id), "t-a", "eu-one", 0.5),
        outcome_for(str(fallback.id), "t-a", "us-own", 0.25),  # self-hosted: allowed outside the EU
        outcome_for(str(outside.id), "t-a", "us-one"),
        outcome_for(str(denied.id), "t-a", "us-one"),
        outcome_for(str(other_tenant.id), "t-b", "us-one"),
    ]
    with Session(engine, expire_on_commit=False) as session:
        append_in_session(session, decisions)
        append_in_session(session, outcomes)
        session.commit()
    with Session(engine) as session:
        got = build_report(session, "t-a", None, None)
        everyone = build_report(session, None, None, None)
    engine.dispose()
    assert got.decisions == 4 and everyone.decisions == 5
    assert {(v.decision_id, tuple(v.rules)) for v in got.violations.decisions} == {
        (str(outside.id), ("special_outside_eu",)),
        (str(denied.id), ("not_in_plan", "denied_by_policy")),
    }
    assert everyone.violations.count == 3
    assert got.spend.spent_usd == pytest.approx(0.5 + 0.25 + 0.001 + 0.001)
    assert got.spend.estimated_usd == pytest.approx(4 * 0.002)
    assert [(r.sensitivity, r.region, r.count) for r in got.by_sensitivity_region] == [
        ("personal", "eu", 1), ("special", "eu", 3)
    ]
