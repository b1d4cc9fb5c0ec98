"""`douane report cost`: the actual spend of the answered requests against
the same tokens on one endpoint, to the cent a buyer computes by hand
(1,000 tickets of 500 input and 300 output tokens: $0.465 on deepseek-chat,
$4.25 on gpt-4o, $30.00 on claude-opus-4), on rows seeded into the real
audit chain; per quality tier against everything on the frontier endpoint
and everything on the cheapest one; and the same report of a synthetic
workload decided offline (--synthetic)."""

from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from services.audit.cost import UnknownBaseline, cost_report, default_baselines, priced_report
from services.audit.schemas import EndpointActualSpend, Period
from services.audit.models import DecisionRecord, OutcomeRecord
from services.audit.writer import append
from services.cli import app
from services.db import make_engine
from services.migrate import upgrade
from services.routing.catalog import Catalog, load_catalog
from tests.conftest import new_tenant
from tests.live import ROOT

ENDPOINTS_FILE = ROOT / "config" / "endpoints.yaml"
THREE = ["deepseek-chat", "gpt-4o", "claude-opus-4"]
FAILED = ["upstream_error", "exhausted", "timeout", "truncated", "client_disconnected", "gateway_error"]


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(ENDPOINTS_FILE)


@pytest.fixture(scope="module")
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def _decision(tenant: str, endpoint: str, at: datetime) -> DecisionRecord:
    return DecisionRecord(
        id=uuid.uuid4(), created_at=at, tenant=tenant, key_id="k_0123456789abcdef", api="chat",
        purpose="customer_support", requested_model="auto", status="routed", allowed=True, sensitivity="none",
        gdpr_categories=[], entities={}, endpoint=endpoint, endpoint_jurisdiction="US", endpoint_region="us",
        plan=[endpoint], usage_estimate={"input_tokens": 500, "output_tokens": 300}, estimated_cost_usd=0.001,
        policy_input={"candidates": []}, policy_output={"plan": [endpoint], "denied": {}, "reasons": []},
        policy_engine="embedded", policy_revision="sha256:" + "2" * 64, decision_latency_ms=1.0,
    )


def _outcome(
    decision: DecisionRecord, catalog: Catalog, status: str, endpoint: str | None, usage: tuple[int, int] | None
) -> OutcomeRecord:
    # Tokens and cost as the gateway records them (services/providers/exchange.py).
    priced = catalog.get(endpoint) if endpoint else None
    cost = round(priced.cost_usd(*usage), 8) if priced and usage else None
    return OutcomeRecord(
        id=uuid.uuid4(), decision_id=decision.id, created_at=decision.created_at + timedelta(seconds=1),
        tenant=decision.tenant, status=status, endpoint=endpoint, upstream_status=200 if status == "ok" else 502,
        stream=False, input_tokens=usage[0] if usage else None, output_tokens=usage[1] if usage else None,
        cost_usd=cost, ttft_ms=1.0, total_ms=2.0,
        attempts=[{"endpoint": endpoint, "status": 200, "error_type": None, "reason": None, "latency_ms": 2.0}],
    )


def seed(engine, catalog: Catalog, tenant: str, endpoint: str | None, count: int, *, at: datetime | None = None,
         status: str = "ok", usage: tuple[int, int] | None = (500, 300), outcome: bool = True) -> None:
    """``count`` decisions for ``endpoint`` and, unless ``outcome=False``, their outcomes, linked into the chains."""
    at = at or datetime.now(timezone.utc) - timedelta(minutes=5)
    decisions = [_decision(tenant, endpoint or "gpt-4o", at) for _ in range(count)]
    outcomes = [_outcome(d, catalog, status, endpoint, usage) for d in decisions] if outcome else []
    with engine.begin() as connection:
        append(connection, [*decisions, *outcomes])


def report(engine, catalog, tenant, *, since=None, until=None, baselines=THREE):
    with Session(engine) as session:
        return cost_report(session, catalog, tenant=tenant, since=since, until=until, baselines=baselines)


def cli(database_url: str, *args: str):
    env = {
        "DOUANE_DATABASE_URL": database_url, "DOUANE_ENDPOINTS_FILE": str(ENDPOINTS_FILE),
        "DOUANE_POLICY_DIR": str(ROOT / "policies"), "DOUANE_COMPLEXITY_FILE": str(ROOT / "services" / "routing" / "complexity.yaml"),
    }
    return CliRunner().invoke(app, ["report", "cost", *args], env=env)


def row(output: str, section: str, endpoint: str) -> list[str]:
    """The cells of ``endpoint``'s line in the table under ``section``."""
    lines = output.splitlines()
    start = lines.index(section)
    return next(line.split() for line in lines[start + 1:] if line.split()[:1] == [endpoint])


@pytest.fixture(scope="module")
def tickets(engine, catalog) -> str:
    """1,000 support tickets of 500 input and 300 output tokens: 600 answered
    by deepseek-chat ($0.279), 400 by mistral-large ($1.12)."""
    tenant = new_tenant()
    seed(engine, catalog, tenant, "deepseek-chat", 600)
    seed(engine, catalog, tenant, "mistral-large", 400)
    return tenant


def test_a_thousand_tickets_cost_what_the_buyer_computes_by_hand(engine, catalog, tickets):
    got = report(engine, catalog, tickets, since=datetime.now(timezone.utc) - timedelta(days=30))
    counts = (got.requests, got.requests_without_usage, got.input_tokens, got.output_tokens)
    assert counts == (1000, 0, 500_000, 300_000)
    assert got.spent_usd == Decimal("1.399")
    assert [(e.endpoint, e.requests, e.input_tokens, e.output_tokens, e.cost_usd) for e in got.by_endpoint] == [
        ("deepseek-chat", 600, 300_000, 180_000, Decimal("0.279")),
        ("mistral-large", 400, 200_000, 120_000, Decimal("1.12")),
    ]
    assert [(b.endpoint, b.price.input_per_mtok, b.price.output_per_mtok) for b in got.baselines] == [
        ("deepseek-chat", Decimal("0.27"), Decimal("1.10")),
        ("gpt-4o", Decimal("2.50"), Decimal("10.00")),
        ("claude-opus-4", Decimal("15.00"), Decimal("75.00")),
    ]
    assert [(b.cost_usd, b.saving_usd, b.saving_pct) for b in got.baselines] == [
        (Decimal("0.465"), Decimal("-0.934"), Decimal("-200.86")),  # the cheapest: the routing cost more
        (Decimal("4.25"), Decimal("2.851"), Decimal("67.08")),
        (Decimal("30.00"), Decimal("28.601"), Decimal("95.34")),
    ]
    # Exact in JSON too: decimal strings, written as the buyer writes them.
    document = got.model_dump(mode="json")
    assert [b["cost_usd"] for b in document["baselines"]] == ["0.465", "4.25", "30.00"]
    assert document["spent_usd"] == "1.399"


def test_the_cli_prints_the_same_figures(database_url, tickets):
    args = ["--since", "30d", "--tenant", tickets, *(a for b in THREE for a in ("--baseline", b))]
    text = cli(database_url, *args)
    assert text.exit_code == 0, text.output
    assert "1,000 requests, 500,000 input and 300,000 output tokens, $1.399 spent" in text.output
    actual = "actual spend by endpoint:"
    assert row(text.output, actual, "deepseek-chat") == ["deepseek-chat", "600", "300,000", "180,000", "$0.279"]
    assert row(text.output, actual, "mistral-large")[-1] == "$1.12"
    same = "the same tokens sent to one endpoint:"
    assert row(text.output, same, "deepseek-chat") == ["deepseek-chat", "0.27", "1.10", "$0.465", "-$0.934", "-200.86%"]
    assert row(text.output, same, "gpt-4o") == ["gpt-4o", "2.50", "10.00", "$4.25", "$2.851", "67.08%"]
    assert row(text.output, same, "claude-opus-4") == ["claude-opus-4", "15.00", "75.00", "$30.00", "$28.601", "95.34%"]

    as_json = cli(database_url, *args, "--json")
    assert as_json.exit_code == 0, as_json.output
    document = json.loads(as_json.output)
    assert document["requests"] == 1000 and document["period"]["tenant"] == tickets
    assert {b["endpoint"]: b["cost_usd"] for b in document["baselines"]} == {
        "deepseek-chat": "0.465", "gpt-4o": "4.25", "claude-opus-4": "30.00"
    }


def test_the_default_baselines_are_the_cheapest_and_the_most_expensive(database_url, catalog, tickets):
    assert default_baselines(catalog) == ["deepseek-chat", "claude-opus-4"]
    result = cli(database_url, "--tenant", tickets, "--json")
    assert result.exit_code == 0, result.output
    assert [(b["endpoint"], b["cost_usd"]) for b in json.loads(result.output)["baselines"]] == [
        ("deepseek-chat", "0.465"), ("claude-opus-4", "30.00")
    ]


def test_a_tenant_sees_its_own_traffic_and_no_tenant_means_all(engine, catalog):
    # A second of its own, a year back, so that "every tenant" here sees only these rows.
    moment = datetime.now(timezone.utc) - timedelta(days=400, seconds=random.randrange(86_400 * 200))
    acme, globex = new_tenant(), new_tenant()
    seed(engine, catalog, acme, "gpt-4o", 3, at=moment)
    seed(engine, catalog, globex, "deepseek-chat", 2, at=moment)
    window = {"since": moment, "until": moment + timedelta(seconds=2)}
    mine = report(engine, catalog, acme, **window)
    assert mine.requests == 3 and [e.endpoint for e in mine.by_endpoint] == ["gpt-4o"]
    assert mine.spent_usd == Decimal("0.01275") and mine.period.tenant == acme
    everyone = report(engine, catalog, None, **window)
    assert everyone.requests == 5 and everyone.period.tenant is None
    assert everyone.spent_usd == Decimal("0.01275") + Decimal("0.00093")
    assert report(engine, catalog, new_tenant(), **window).requests == 0


def test_the_period_counts_answers_completed_from_since_until_until(engine, catalog, database_url):
    tenant, now = new_tenant(), datetime.now(timezone.utc)
    seed(engine, catalog, tenant, "gpt-4o", 2, at=now - timedelta(days=40))
    seed(engine, catalog, tenant, "gpt-4o", 3, at=now - timedelta(days=10))
    seed(engine, catalog, tenant, "gpt-4o", 4, at=now - timedelta(hours=1))
    assert report(engine, catalog, tenant).requests == 9
    assert report(engine, catalog, tenant, since=now - timedelta(days=30)).requests == 7
    bounded = report(engine, catalog, tenant, since=now - timedelta(days=30), until=now - timedelta(days=2))
    assert bounded.requests == 3 and bounded.period.until == (now - timedelta(days=2)).isoformat()

    def requests(*args):
        result = cli(database_url, "--tenant", tenant, "--json", *args)
        assert result.exit_code == 0, result.output
        return json.loads(result.output)["requests"]

    assert requests() == 7  # --since defaults to 30d
    assert requests("--since", "60d") == 9
    assert requests("--since", "60d", "--until", (now - timedelta(days=20)).isoformat()) == 2


def test_only_answered_outcomes_with_token_counts_are_priced(engine, catalog):
    tenant = new_tenant()
    seed(engine, catalog, tenant, "gpt-4o", 2)
    for status in FAILED:  # with tokens and a cost, so that only the status keeps them out
        seed(engine, catalog, tenant, None if status == "exhausted" else "gpt-4o", 1, status=status)
    seed(engine, catalog, tenant, "gpt-4o", 1, usage=None)  # answered; the upstream reported no usage
    seed(engine, catalog, tenant, "gpt-4o", 1, outcome=False)  # decided, no outcome (yet)
    got = report(engine, catalog, tenant)
    assert (got.requests, got.requests_without_usage, got.input_tokens, got.output_tokens) == (2, 1, 1000, 600)
    assert got.spent_usd == Decimal("0.0085")
    [gpt] = got.by_endpoint
    assert (gpt.requests, gpt.requests_without_usage, gpt.cost_usd) == (2, 1, Decimal("0.0085"))
    assert got.baselines[1].cost_usd == Decimal("0.0085") and got.baselines[1].saving_usd == Decimal("0.00")


def test_an_empty_period_gives_zeros(engine, catalog, database_url):
    tenant = new_tenant()
    got = report(engine, catalog, tenant, since=datetime.now(timezone.utc) - timedelta(days=30))
    assert (got.requests, got.requests_without_usage, got.input_tokens, got.output_tokens) == (0, 0, 0, 0)
    assert got.spent_usd == Decimal("0.00") and got.by_endpoint == []
    zero = (Decimal("0.00"), Decimal("0.00"), None)
    assert [(b.cost_usd, b.saving_usd, b.saving_pct) for b in got.baselines] == [zero] * 3
    text = cli(database_url, "--tenant", tenant)
    assert text.exit_code == 0, text.output
    assert "0 requests, 0 input and 0 output tokens, $0.00 spent" in text.output
    assert row(text.output, "the same tokens sent to one endpoint:", "claude-opus-4")[-3:] == ["$0.00", "$0.00", "-"]


def test_an_unknown_baseline_is_a_clear_error(engine, catalog, database_url):
    with pytest.raises(UnknownBaseline) as error:
        report(engine, catalog, new_tenant(), baselines=["gpt-4o", "gpt-5"])
    assert str(error.value) == "unknown baseline endpoint 'gpt-5'; the catalog has: " + ", ".join(catalog.ids)
    result = cli(database_url, "--baseline", "gpt-5")
    assert result.exit_code == 2
    assert "--baseline: unknown baseline endpoint 'gpt-5'; the catalog has: deepseek-chat, kimi-k2" in result.output
    bad = cli(database_url, "--since", "last tuesday")
    assert bad.exit_code == 2 and "--since 'last tuesday'" in bad.output


def test_the_cost_report_works_on_sqlite_too(tmp_path, catalog):
    engine = make_engine(f"sqlite:///{tmp_path}/douane.db")
    upgrade(engine)
    seed(engine, catalog, "t-a", "deepseek-chat", 10)
    seed(engine, catalog, "t-b", "gpt-4o", 5)
    got = report(engine, catalog, "t-a")
    everyone = report(engine, catalog, None)
    engine.dispose()
    assert got.requests == 10 and got.spent_usd == Decimal("0.00465")
    assert [b.cost_usd for b in got.baselines] == [Decimal("0.00465"), Decimal("0.0425"), Decimal("0.30")]
    assert everyone.requests == 15 and everyone.spent_usd == Decimal("0.00465") + Decimal("0.02125")


# -- per tier, and the two standard comparisons ----------------------------------------


@pytest.fixture(scope="module")
def tiered(engine, catalog) -> str:
    """1,000 tickets of 500 input and 300 output tokens at three tiers: 300 on
    self-hosted-eu (small, $0.288), 600 on deepseek-chat (standard, $0.279),
    100 on claude-opus-4 (frontier, $3.00)."""
    tenant = new_tenant()
    seed(engine, catalog, tenant, "self-hosted-eu", 300)
    seed(engine, catalog, tenant, "deepseek-chat", 600)
    seed(engine, catalog, tenant, "claude-opus-4", 100)
    return tenant


def test_each_tier_costs_what_the_buyer_computes_by_hand(engine, catalog, tiered):
    got = report(engine, catalog, tiered)
    assert got.spent_usd == Decimal("3.567")
    assert [
        (t.tier, t.endpoints, t.requests, t.input_tokens, t.output_tokens, t.cost_usd, t.frontier_cost_usd,
         t.cheapest_cost_usd)
        for t in got.by_tier
    ] == [
        ("small", ["self-hosted-eu"], 300, 150_000, 90_000, Decimal("0.288"), Decimal("9.00"), Decimal("0.1395")),
        ("standard", ["deepseek-chat"], 600, 300_000, 180_000, Decimal("0.279"), Decimal("18.00"), Decimal("0.279")),
        ("frontier", ["claude-opus-4"], 100, 50_000, 30_000, Decimal("3.00"), Decimal("3.00"), Decimal("0.0465")),
    ]
    # Everything on the frontier endpoint: 1,000 x $0.03; on the cheapest: 1,000 x $0.000465.
    frontier, cheapest = got.frontier_only, got.cheapest_only
    assert (frontier.endpoint, frontier.cost_usd, frontier.saving_usd, frontier.saving_pct) == (
        "claude-opus-4", Decimal("30.00"), Decimal("26.433"), Decimal("88.11")
    )
    assert (cheapest.endpoint, cheapest.cost_usd, cheapest.saving_usd, cheapest.saving_pct) == (
        "deepseek-chat", Decimal("0.465"), Decimal("-3.102"), Decimal("-667.10")
    )
    # The tiers add up to the whole, exactly.
    assert sum(t.cost_usd for t in got.by_tier) == got.spent_usd
    assert sum(t.frontier_cost_usd for t in got.by_tier) == frontier.cost_usd
    assert sum(t.cheapest_cost_usd for t in got.by_tier) == cheapest.cost_usd
    document = got.model_dump(mode="json")
    assert document["frontier_only"]["cost_usd"] == "30.00" and document["cheapest_only"]["saving_usd"] == "-3.102"
    assert document["by_tier"][0]["frontier_cost_usd"] == "9.00"


def test_the_standard_comparisons_are_made_whatever_baselines_were_asked_for(engine, catalog, tiered):
    got = report(engine, catalog, tiered, baselines=["gpt-4o"])
    assert [b.endpoint for b in got.baselines] == ["gpt-4o"]
    assert (got.frontier_only.endpoint, got.cheapest_only.endpoint) == ("claude-opus-4", "deepseek-chat")


def test_the_cli_prints_the_tiers_and_the_standard_comparisons(database_url, tiered):
    text = cli(database_url, "--tenant", tiered)
    assert text.exit_code == 0, text.output
    tiers = next(line for line in text.output.splitlines() if line.startswith("by tier"))
    assert "frontier-only (claude-opus-4)" in tiers and "cheapest-only (deepseek-chat)" in tiers
    assert row(text.output, tiers, "small") == ["small", "300", "150,000", "90,000", "$0.288", "$9.00", "$0.1395"]
    assert row(text.output, tiers, "frontier") == ["frontier", "100", "50,000", "30,000", "$3.00", "$3.00", "$0.0465"]
    standard = "the same tokens, all on one endpoint (the standard comparisons):"
    assert row(text.output, standard, "frontier-only") == [
        "frontier-only", "claude-opus-4", "15.00", "75.00", "$30.00", "$26.433", "88.11%"
    ]
    assert row(text.output, standard, "cheapest-only")[-3:] == ["$0.465", "-$3.102", "-667.10%"]

    document = json.loads(cli(database_url, "--tenant", tiered, "--json").output)
    assert {t["tier"]: t["requests"] for t in document["by_tier"]} == {"small": 300, "standard": 600, "frontier": 100}
    assert document["frontier_only"]["saving_pct"] == "88.11"


def test_an_empty_period_has_every_tier_at_zero(engine, catalog):
    got = report(engine, catalog, new_tenant())
    assert [(t.tier, t.requests, t.cost_usd, t.frontier_cost_usd) for t in got.by_tier] == [
        (tier, 0, Decimal("0.00"), Decimal("0.00")) for tier in ("small", "standard", "frontier")
    ]
    assert got.frontier_only.saving_pct is None and got.cheapest_only.cost_usd == Decimal("0.00")


def _spend(endpoint: str, requests: int, cost: str) -> EndpointActualSpend:
    return EndpointActualSpend(
        endpoint=endpoint, requests=requests, requests_without_usage=0, input_tokens=500 * requests,
        output_tokens=300 * requests, cost_usd=Decimal(cost),
    )


def test_the_frontier_endpoint_is_the_cheapest_frontier_one_and_may_be_missing(catalog):
    period = Period(since=None, until=None, tenant=None)
    traffic = [_spend("gpt-4o", 10, "0.0425"), _spend("retired-model", 2, "0.01")]
    # Two frontier endpoints: the cheaper (gpt-4o here) is "everything on the frontier endpoint".
    two = Catalog(endpoints=tuple(e.model_copy(update={"tier": "frontier"}) if e.id == "gpt-4o" else e
                                  for e in catalog.endpoints))
    got = priced_report(two, traffic, period=period, baselines=[])
    assert (got.frontier_only.endpoint, got.frontier_only.cost_usd) == ("gpt-4o", Decimal("0.051"))
    # An endpoint that left the catalog still counts, at tier "unknown", after the catalog's tiers.
    assert [(t.tier, t.requests) for t in got.by_tier] == [("small", 0), ("standard", 0), ("frontier", 10), ("unknown", 2)]
    assert got.spent_usd == Decimal("0.0525")
    none = Catalog(endpoints=tuple(e.model_copy(update={"tier": "standard"}) for e in catalog.endpoints))
    got = priced_report(none, traffic, period=period, baselines=[])
    assert got.frontier_only is None and all(t.frontier_cost_usd is None for t in got.by_tier)
    assert got.cheapest_only.endpoint == "deepseek-chat"


# -- a synthetic workload ---------------------------------------------------------------


def test_the_synthetic_workload_is_priced_as_the_log_is(database_url, real_detector, monkeypatch):
    monkeypatch.setattr("services.pii.build_detector", lambda: real_detector)  # built once per session
    result = cli(database_url, "--synthetic", "support-desk", "--requests", "60", "--seed", "3", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    assert (document["workload"], document["seed"], document["generated"]) == ("support-desk", 3, 60)
    assert document["routed"] + document["denied"] + document["failed"] == 60
    cost, mix = document["cost"], document["mix"]
    assert cost["requests"] == document["routed"] and cost["period"]["tenant"] == "synthetic"
    assert {t["tier"]: t["requests"] for t in cost["by_tier"]} == mix["tier"]
    assert sum(mix["kind"].values()) == 60 and set(mix["kind"]) == {"short", "document", "complex"}
    assert sum(Decimal(t["cost_usd"]) for t in cost["by_tier"]) == Decimal(cost["spent_usd"])
    assert Decimal(cost["frontier_only"]["saving_usd"]) > 0
    # The same seed, the same requests, the same figures.
    again = cli(database_url, "--synthetic", "support-desk", "--requests", "60", "--seed", "3", "--json")
    assert json.loads(again.output) == document

    text = cli(database_url, "--synthetic", "support-desk", "--requests", "60", "--seed", "3")
    assert text.exit_code == 0, text.output
    assert text.output.startswith("synthetic workload 'support-desk', seed 3: 60 requests decided offline")
    assert row(text.output, "the same tokens, all on one endpoint (the standard comparisons):", "frontier-only")[1] == (
        "claude-opus-4"
    )


def test_synthetic_options_are_checked(database_url):
    unknown = cli(database_url, "--synthetic", "call-centre")
    assert unknown.exit_code == 2 and "call-centre.yaml: no such workload file" in unknown.output
    period = cli(database_url, "--synthetic", "support-desk", "--since", "7d")
    assert period.exit_code == 2 and "drop --since and --until" in period.output
    baseline = cli(database_url, "--synthetic", "support-desk", "--baseline", "gpt-5")
    assert baseline.exit_code == 2 and "unknown baseline endpoint 'gpt-5'" in baseline.output
