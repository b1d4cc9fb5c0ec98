"""The foundation's promise, end to end over HTTP: a prompt is detected,
decided by the Rego policy, recorded in Postgres and read back by an auditor."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import text

from services.db import make_engine

PATIENT = "Summarise: my patient Anna Schmidt, born 12.03.1961, has type 2 diabetes"
CLEAN = "What is the capital of Portugal?"
EU_OR_SELF_HOSTED = {"mistral-large", "self-hosted-eu"}


def chat(content: str, **extra) -> dict:
    return {"model": "auto", "messages": [{"role": "user", "content": content}], **extra}


def test_patient_letter_goes_only_to_eu_or_self_hosted(gateway, make_key, tenant):
    with gateway.client(make_key("app", tenant)) as client:
        response = client.post("/v1/route", json=chat(PATIENT))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["allowed"] is True
    assert body["sensitivity"] == "special"
    assert "special:health" in body["gdpr_categories"]
    assert body["entities"].get("PERSON", 0) >= 1
    assert body["route"]["endpoint"] in EU_OR_SELF_HOSTED
    assert set(body["route"]["fallbacks"]) <= EU_OR_SELF_HOSTED
    by_id = {c["endpoint"]: c for c in body["candidates"]}
    for endpoint_id in ("deepseek-chat", "gpt-4o", "claude-opus-4"):
        assert by_id[endpoint_id]["eligible"] is False
        assert by_id[endpoint_id]["reasons"], f"{endpoint_id} is excluded without a reason"
    assert body["policy"]["engine"] == "embedded"
    assert body["policy"]["revision"].startswith("sha256:")


def test_clean_question_goes_to_the_cheapest_endpoint_within_budget(gateway, make_key, tenant):
    with gateway.client(make_key("app", tenant)) as client:
        response = client.post("/v1/route", json=chat(CLEAN))
    body = response.json()
    assert response.status_code == 200, response.text
    assert body["sensitivity"] == "none"
    assert body["gdpr_categories"] == []
    eligible = [c for c in body["candidates"] if c["eligible"]]
    cheapest = min(eligible, key=lambda c: c["estimated_cost_usd"])
    assert body["route"]["endpoint"] == cheapest["endpoint"]
    # With the shipped catalog's prices, that is DeepSeek-V3 ($0.27/$1.10 per Mtok).
    assert cheapest["endpoint"] == "deepseek-chat"
    # The plan is the eligible endpoints, cheapest first.
    plan = [body["route"]["endpoint"], *body["route"]["fallbacks"]]
    costs = [next(c["estimated_cost_usd"] for c in eligible if c["endpoint"] == e) for e in plan]
    assert costs == sorted(costs)
    assert body["usage_estimate"]["input_tokens"] > 0


def test_latency_budget_excludes_slow_endpoints(gateway, make_key, tenant):
    with gateway.client(make_key("app", tenant)) as client:
        body = client.post("/v1/route", json=chat(CLEAN, routing={"latency_budget_ms": 1000})).json()
    eligible = {c["endpoint"] for c in body["candidates"] if c["eligible"]}
    assert eligible, body
    assert all(c["latency_p95_ms"] <= 1000 for c in body["candidates"] if c["eligible"])
    slow = [c for c in body["candidates"] if c["latency_p95_ms"] > 1000]
    assert slow and all(not c["eligible"] and c["reasons"] for c in slow)
    assert body["route"]["endpoint"] not in {c["endpoint"] for c in slow}


def test_low_risk_tolerance_excludes_high_risk_jurisdictions(gateway, make_key, tenant):
    with gateway.client(make_key("app", tenant)) as client:
        body = client.post("/v1/route", json=chat(CLEAN, routing={"risk_tolerance": "low"})).json()
    for candidate in body["candidates"]:
        if candidate["jurisdiction"] == "CN":
            assert not candidate["eligible"]
            assert any("risk" in reason for reason in candidate["reasons"])
    assert body["route"]["endpoint"] not in {"deepseek-chat", "kimi-k2", "glm-4.5"}


def test_explicit_model_the_policy_forbids_is_not_allowed(gateway, make_key, tenant):
    with gateway.client(make_key("app", tenant)) as client:
        body = client.post("/v1/route", json={**chat(PATIENT), "model": "deepseek-chat"}).json()
    assert body["allowed"] is False
    assert body["status"] == "denied"
    assert body["route"]["endpoint"] is None
    deepseek = next(c for c in body["candidates"] if c["endpoint"] == "deepseek-chat")
    assert deepseek["reasons"]


def test_auditor_reads_both_decisions_back_without_raw_pii(gateway, make_key, tenant, database_url):
    with gateway.client(make_key("app", tenant)) as app_client:
        patient = app_client.post("/v1/route", json=chat(PATIENT)).json()
        clean = app_client.post("/v1/route", json=chat(CLEAN)).json()

    with gateway.client(make_key("auditor", tenant)) as auditor:
        page = auditor.get("/v1/decisions").json()
        one = auditor.get(f"/v1/decisions/{patient['decision_id']}").json()

    ids = [d["decision_id"] for d in page["data"]]
    assert ids == [clean["decision_id"], patient["decision_id"]]  # newest first
    assert one == patient  # the auditor sees what the app was told
    assert one["route"]["endpoint"] in EU_OR_SELF_HOSTED and "special:health" in one["gdpr_categories"]

    engine = make_engine(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT row_to_json(d)::text FROM decisions d WHERE tenant = :t"), {"t": tenant}
        ).scalars().all()
    engine.dispose()
    assert len(rows) == 2
    stored = " ".join(rows)
    for secret in ("Anna", "Schmidt", "1961", "12.03", "diabetes", "Portugal", "capital"):
        assert secret not in stored, f"raw text {secret!r} reached the audit log"
    # What is stored is enough to replay: the full policy input, minus any text.
    record = json.loads(rows[0])
    assert set(record["policy_input"]) == {"request", "findings", "candidates"}


def test_decision_is_committed_before_the_answer(gateway, make_key, tenant, database_url):
    with gateway.client(make_key("app", tenant)) as client:
        answer = client.post("/v1/route", json=chat(CLEAN)).json()
    engine = make_engine(database_url)
    with engine.connect() as connection:
        found = connection.execute(
            text("SELECT status, endpoint FROM decisions WHERE id = :id"), {"id": uuid.UUID(answer["decision_id"])}
        ).one()
    engine.dispose()
    assert tuple(found) == ("routed", answer["route"]["endpoint"])


@pytest.mark.parametrize("path", ["/v1/endpoints", "/v1/models"])
def test_catalog_routes(gateway, make_key, path):
    with gateway.client(make_key("app")) as client:
        response = client.get(path)
    assert response.status_code == 200
    ids = {item["id"] for item in response.json()["data"]}
    assert {"deepseek-chat", "gpt-4o", "claude-opus-4", "mistral-large", "self-hosted-eu"} <= ids


def test_endpoints_carry_live_fields(gateway, make_key):
    with gateway.client(make_key("app")) as client:
        data = client.get("/v1/endpoints").json()["data"]
    deepseek = next(e for e in data if e["id"] == "deepseek-chat")
    assert deepseek["jurisdiction"] == "CN" and deepseek["price"] == {"input_per_mtok": 0.27, "output_per_mtok": 1.10}
    assert deepseek["healthy"] is True and deepseek["latency_p95_ms"] > 0


def test_health_and_readiness(gateway):
    with gateway.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"] == "ok"


@pytest.mark.parametrize(
    "prompt, entity",
    [
        ("Call me on +44 20 7946 0958 tomorrow", "PHONE_NUMBER"),
        ("Write to jane.doe@example.org about the invoice", "EMAIL_ADDRESS"),
        ("Pay it to IBAN DE89370400440532013000 please", "IBAN_CODE"),
        ("Charge card 4111 1111 1111 1111", "CREDIT_CARD"),
        ("Peter Müller wrote this complaint", "PERSON"),
    ],
)
def test_a_single_identifier_makes_a_prompt_personal(gateway, make_key, prompt, entity):
    """What the detector finds and what the policy's category map counts must
    agree: one identifier alone keeps the prompt off non-EU endpoints."""
    with gateway.client(make_key("app")) as client:
        body = client.post("/v1/route", json=chat(prompt)).json()
    assert entity in body["entities"]
    assert body["sensitivity"] == "personal", body["entities"]
    assert body["route"]["endpoint"] in EU_OR_SELF_HOSTED


@pytest.mark.parametrize(
    "prompt, category",
    [
        ("My colleague Peter Müller has a criminal record for fraud", "criminal"),
        ("Frau Schmidt ist Mitglied der Gewerkschaft", "special:trade_union"),
        ("Mon collègue Jean Dupont est en chimiothérapie", "special:health"),
        ("La signora Bianchi è una musulmana praticante", "special:religious_beliefs"),
    ],
)
def test_special_and_criminal_data_in_any_language_stays_in_the_eu(gateway, make_key, prompt, category):
    with gateway.client(make_key("app")) as client:
        response = client.post("/v1/route", json=chat(prompt))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["sensitivity"] == "special" and category in body["gdpr_categories"], body["entities"]
    assert body["route"]["endpoint"] in EU_OR_SELF_HOSTED
