"""Tiering changes what a request costs, never what compliance allows.

The synthetic support-desk workload (200 requests, a fixed seed: mostly
short questions, some long pasted documents, about a tenth complex, in six
languages, some with personal and special-category data) is decided twice
with the real detector and the real policy: once with the complexity
estimate in the policy input, once without it (an input without
request.complexity asks for no tier: policies/douane/quality). For every
request the compliance denials (every denied reason but "the task needs a
... model") are the same, and the tiered plan holds only endpoints the
untiered plan holds. And the workload's cost report shows a saving against
everything on the frontier endpoint."""

from __future__ import annotations

from collections import Counter

import pytest

from services.audit.cost import default_baselines
from services.audit.cost_text import render_workload
from services.routing.catalog import load_catalog
from services.routing.complexity import ComplexityClassifier
from services.routing.workload import OfflineDecider, PlannedRequest, Workload, workload_report
from services.settings import Settings
from tests.live import ROOT

REQUESTS = 200
SEED = 20261128
TIER_REASON = "the task needs a "


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(ROOT / "config" / "endpoints.yaml")


@pytest.fixture(scope="module")
def workload() -> Workload:
    return Workload.load(ROOT / "config" / "workloads" / "support-desk.yaml")


@pytest.fixture(scope="module")
def decided(catalog, workload, real_detector, policy_engine) -> tuple[list[PlannedRequest], list[PlannedRequest]]:
    """(with tiers, without tiers), request by request."""
    decider = OfflineDecider(
        catalog=catalog,
        detector=real_detector,
        policy=policy_engine,
        complexity=ComplexityClassifier.load(),
        default_output_tokens=Settings().default_output_tokens,
    )
    requests = workload.generate(REQUESTS, SEED)
    return decider.decide_all(requests, tiers=True), decider.decide_all(requests, tiers=False)


def compliance_denials(planned: PlannedRequest) -> dict[str, list[str]]:
    denied = {
        endpoint: [reason for reason in reasons if not reason.startswith(TIER_REASON)]
        for endpoint, reasons in planned.decision.denied.items()
    }
    return {endpoint: reasons for endpoint, reasons in denied.items() if reasons}


def test_the_workload_is_the_support_desk_mix(decided):
    tiered, _ = decided
    kinds = Counter(p.synthetic.kind for p in tiered)
    assert kinds["short"] > REQUESTS / 2 and kinds["document"] > 0
    assert 0.05 * REQUESTS <= kinds["complex"] <= 0.15 * REQUESTS
    assert len({p.synthetic.language for p in tiered}) >= 5
    # The compliance side is exercised: personal and special-category data among them.
    sensitivities = Counter(p.decision.sensitivity for p in tiered if p.decision)
    assert sensitivities["personal"] > 0 and sensitivities["special"] > 0 and sensitivities["none"] > 0
    print(f"\n{dict(kinds)}; sensitivity {dict(sensitivities)}")


def test_tiers_change_no_compliance_decision(decided):
    tiered, untiered = decided
    assert all(p.decision is not None for p in tiered + untiered), "a decision failed closed"
    narrowed = 0
    for with_tiers, without in zip(tiered, untiered, strict=True):
        assert with_tiers.synthetic.id == without.synthetic.id
        name = with_tiers.synthetic.id
        assert with_tiers.complexity is not None and without.complexity is None
        assert compliance_denials(with_tiers) == compliance_denials(without), name
        assert with_tiers.decision.sensitivity == without.decision.sensitivity, name
        assert with_tiers.decision.gdpr_categories == without.decision.gdpr_categories, name
        assert set(with_tiers.decision.plan) <= set(without.decision.plan), name
        assert bool(with_tiers.decision.plan) == bool(without.decision.plan), name  # tiers never deny outright
        # Without an estimate nothing is denied for its tier.
        assert not any(r.startswith(TIER_REASON) for rs in without.decision.denied.values() for r in rs), name
        narrowed += set(with_tiers.decision.plan) < set(without.decision.plan)
    assert narrowed > 0  # the tiers did something: some plans lost endpoints below the needed tier
    print(f"\n{narrowed} of {REQUESTS} plans narrowed by tiers; compliance denials identical for all")


def test_the_workload_saves_against_frontier_only(decided, catalog, workload):
    tiered, _ = decided
    report = workload_report(workload, SEED, tiered, catalog, tenant="synthetic",
                             baselines=default_baselines(catalog))
    print("\n" + render_workload(report))
    cost = report.cost
    assert report.routed == cost.requests > 0
    assert cost.frontier_only is not None and cost.frontier_only.saving_usd > 0
    assert sum(t.cost_usd for t in cost.by_tier) == cost.spent_usd
    assert sum(t.requests for t in cost.by_tier) == report.routed
    assert {t.tier: t.requests for t in cost.by_tier} == report.mix.tier
