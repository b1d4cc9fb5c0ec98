"""A decision in words: one summary line, and every endpoint with its rank or
the reasons it was denied. Used by the dry-run API and `douane policy eval`."""

from __future__ import annotations

from policy.decision import PolicyDecision


def summary(decision: PolicyDecision, offered: int) -> str:
    head = f"sensitivity {decision.sensitivity}"
    if decision.gdpr_categories:
        head += f" ({', '.join(decision.gdpr_categories)})"
    if not decision.plan:
        return f"{head}; no endpoint is eligible: all {offered} candidates were denied"
    rest = f", then {', '.join(decision.plan[1:])}" if len(decision.plan) > 1 else ""
    return f"{head}; routed to {decision.plan[0]}{rest}; {len(decision.denied)} of {offered} candidates denied"


def explain(decision: PolicyDecision, candidates: list[dict]) -> list[dict]:
    """Eligible endpoints in plan order, then the denied ones by id."""
    rank = {endpoint: i + 1 for i, endpoint in enumerate(decision.plan)}
    rows = [
        {
            "endpoint": c["id"],
            "eligible": c["id"] in rank,
            "rank": rank.get(c["id"]),
            "reasons": decision.denied.get(c["id"], []),
            "obligations": decision.obligations.get(c["id"], {}),
            "jurisdiction": c.get("jurisdiction"),
            "region": c.get("region"),
            "estimated_cost_usd": c.get("estimated_cost_usd"),
        }
        for c in candidates
    ]
    rows.sort(key=lambda r: (r["rank"] is None, r["rank"] or 0, r["endpoint"]))
    return rows
