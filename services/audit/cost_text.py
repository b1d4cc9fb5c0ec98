"""The cost report as text, for people (``douane report cost``): the
figures of services/audit/cost.py in aligned tables."""

from __future__ import annotations

from datetime import datetime

from services.audit.cost import usd
from services.audit.schemas import BaselineCost, CostReport, WorkloadCostReport


def render(report: CostReport) -> str:
    """The report as readable tables."""
    period = report.period
    scope = f"tenant {period.tenant}" if period.tenant is not None else "all tenants"
    start, end = _moment(period.since) or "the start of the log", _moment(period.until) or "now"
    return "\n".join([f"answered requests from {start} to {end}, {scope}", *_figures(report)])


def render_workload(report: WorkloadCostReport) -> str:
    """A synthetic workload's report: the mix, then the same tables as ``render``."""
    mix = report.mix

    def counts(values: dict[str, int]) -> str:
        return ", ".join(f"{count:,} {name}" for name, count in values.items()) or "none"

    lines = [
        f"synthetic workload {report.workload!r}, seed {report.seed}: {report.generated:,} requests decided offline "
        "(nothing forwarded, nothing written), estimated tokens at the planned endpoint's catalog prices",
        f"generated as: {counts(mix.kind)}",
        f"estimated complexity: {counts(mix.complexity)}; needed tier: {counts(mix.needed_tier)}",
        f"sensitivity: {counts(mix.sensitivity)}",
        f"{report.routed:,} routed ({counts(mix.tier)} by the planned endpoint's tier), "
        f"{report.denied:,} denied by the policy, {report.failed:,} failed closed",
    ]
    return "\n".join([*lines, *_figures(report.cost)])


def _figures(report: CostReport) -> list[str]:
    lines = [
        f"{report.requests:,} requests, {report.input_tokens:,} input and {report.output_tokens:,} output tokens, "
        f"{usd(report.spent_usd)} spent"
    ]
    if report.requests_without_usage:
        lines.append(f"{report.requests_without_usage:,} more answered without token counts: not priced below")
    unpriced = bool(report.requests_without_usage)  # the column only when there is something in it
    if report.by_endpoint:
        lines += ["", "actual spend by endpoint:"]
        lines += _table(
            ["endpoint", "requests", *(["without usage"] if unpriced else []), "input tokens", "output tokens", "cost"],
            [
                [
                    e.endpoint,
                    f"{e.requests:,}",
                    *([f"{e.requests_without_usage:,}"] if unpriced else []),
                    f"{e.input_tokens:,}",
                    f"{e.output_tokens:,}",
                    usd(e.cost_usd),
                ]
                for e in report.by_endpoint
            ],
        )
        frontier = report.frontier_only
        lines += [
            "",
            "by tier (of the endpoint that answered), and the same tokens on the frontier-only "
            f"({frontier.endpoint if frontier else 'none'}) and cheapest-only ({report.cheapest_only.endpoint}) endpoints:",
        ]
        lines += _table(
            [
                "tier", "requests", *(["without usage"] if unpriced else []), "input tokens", "output tokens", "cost",
                *(["frontier-only"] if frontier else []), "cheapest-only",
            ],
            [
                [
                    t.tier,
                    f"{t.requests:,}",
                    *([f"{t.requests_without_usage:,}"] if unpriced else []),
                    f"{t.input_tokens:,}",
                    f"{t.output_tokens:,}",
                    usd(t.cost_usd),
                    *([usd(t.frontier_cost_usd)] if t.frontier_cost_usd is not None else []),
                    usd(t.cheapest_cost_usd),
                ]
                for t in report.by_tier
            ],
        )
    lines += ["", "the same tokens, all on one endpoint (the standard comparisons):"]
    standard = [("frontier-only", report.frontier_only), ("cheapest-only", report.cheapest_only)]
    lines += _table(
        ["comparison", "endpoint", "input $/Mtok", "output $/Mtok", "cost", "saving", "saving %"],
        [[name, *_baseline_cells(b)] for name, b in standard if b is not None],
    )
    if report.frontier_only is None:
        lines.append("(the catalog has no frontier-tier endpoint: no frontier-only comparison)")
    if report.baselines:
        lines += ["", "the same tokens sent to one endpoint:"]
        lines += _table(
            ["endpoint", "input $/Mtok", "output $/Mtok", "cost", "saving", "saving %"],
            [_baseline_cells(b) for b in report.baselines],
        )
    return lines


def _baseline_cells(b: BaselineCost) -> list[str]:
    return [
        b.endpoint,
        str(b.price.input_per_mtok),
        str(b.price.output_per_mtok),
        usd(b.cost_usd),
        usd(b.saving_usd),
        f"{b.saving_pct}%" if b.saving_pct is not None else "-",
    ]


def _moment(iso: str | None) -> str | None:
    return datetime.fromisoformat(iso).isoformat(timespec="seconds") if iso else None


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    """First column left-aligned, the others (numbers) right-aligned."""
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows)]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width) for i, (cell, width) in enumerate(zip(cells, widths))
        ).rstrip()

    return [line(headers), *(line(row) for row in rows)]
