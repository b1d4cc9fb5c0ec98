"""The cost report: what the answered traffic of a period cost, and what the
same tokens would have cost had all of it gone to one chosen endpoint.

What counts: outcome rows with status ``ok`` (the answer completed) written
in the period (``since`` inclusive, ``until`` exclusive, on the outcome's
``created_at``: when the answer completed and the spend was incurred), of
one tenant or of all. An ``ok`` outcome always names the endpoint that
answered. Failed outcomes (``upstream_error``, ``exhausted``, ``timeout``,
``gateway_error``) and cut-off streams (``truncated``,
``client_disconnected``) do not count, nor do decisions without an outcome.

An ``ok`` outcome without both token counts (a stream whose upstream
reported no usage) cannot be priced: it is counted apart, as
``requests_without_usage``, and left out of the tokens, of the actual spend
and of every baseline, so that actual and baselines price the same traffic.

The actual spend is the sum of the counted outcomes' ``cost_usd`` as the
gateway recorded it (rounded to 8 decimals when written), summed by the
database as ``numeric``. A baseline prices the summed tokens at the
endpoint's catalog prices, in Decimal: a YAML price such as ``0.27`` is read
as the decimal 0.27 (its shortest float repr), never as the binary float
nearest it, so 1,000 x (500 x 0.27 + 300 x 1.10) / 1e6 is exactly 0.465.

The figures come from one grouped query over the outcomes alone (no join):
``ix_outcomes_tenant_created_id`` (tenant, created_at, id) serves a tenant's
period, and the monthly partitions outside the period are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Numeric, and_, cast, func, select
from sqlalchemy.orm import Session

from services.audit.models import OutcomeRecord
from services.audit.schemas import BaselineCost, CostReport, EndpointActualSpend, Period, PricePerMtok
from services.routing.catalog import Catalog, Endpoint

CENT = Decimal("0.01")


class UnknownBaseline(ValueError):
    """A baseline id the catalog does not have; the message lists the ones it has."""


def cost_report(
    session: Session,
    catalog: Catalog,
    *,
    tenant: str | None,
    since: datetime | None,
    until: datetime | None,
    baselines: Sequence[str],
) -> CostReport:
    """Actual spend of the period's answered requests (see the module
    docstring for which count) and, for each baseline endpoint id in the
    order given, the same tokens at its catalog prices and the saving of the
    actual routing against it. ``tenant=None``: every tenant. An empty period
    gives zeros. Raises ``UnknownBaseline`` before querying anything."""
    chosen = [_endpoint(catalog, endpoint_id) for endpoint_id in dict.fromkeys(baselines)]
    by_endpoint = [
        EndpointActualSpend(
            endpoint=row.endpoint,
            requests=row.requests,
            requests_without_usage=row.requests_without_usage,
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
            cost_usd=money(Decimal(row.cost_usd)),
        )
        for row in _answered_by_endpoint(session, tenant, since, until)
    ]
    input_tokens = sum(e.input_tokens for e in by_endpoint)
    output_tokens = sum(e.output_tokens for e in by_endpoint)
    spent = money(sum((e.cost_usd for e in by_endpoint), Decimal(0)))
    return CostReport(
        period=Period(
            since=since.isoformat() if since else None, until=until.isoformat() if until else None, tenant=tenant
        ),
        requests=sum(e.requests for e in by_endpoint),
        requests_without_usage=sum(e.requests_without_usage for e in by_endpoint),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        spent_usd=spent,
        by_endpoint=by_endpoint,
        baselines=[_baseline(endpoint, input_tokens, output_tokens, spent) for endpoint in chosen],
    )


def default_baselines(catalog: Catalog) -> list[str]:
    """The catalog's cheapest and most expensive endpoints, ranked by input
    plus output price per Mtok (a tie goes to the id first in alphabetical
    order for the cheapest, last for the most expensive)."""

    def rank(endpoint: Endpoint) -> tuple[Decimal, str]:
        prices = price(endpoint)
        return prices.input_per_mtok + prices.output_per_mtok, endpoint.id

    ranked = sorted(catalog.endpoints, key=rank)
    return list(dict.fromkeys([ranked[0].id, ranked[-1].id]))


def price(endpoint: Endpoint) -> PricePerMtok:
    """The endpoint's catalog prices as the decimals written in the catalog."""
    return PricePerMtok(
        input_per_mtok=money(Decimal(repr(endpoint.price.input_per_mtok))),
        output_per_mtok=money(Decimal(repr(endpoint.price.output_per_mtok))),
    )


def money(value: Decimal) -> Decimal:
    """The same amount, exact, written with at least 2 decimals and no
    trailing zeros beyond them: 0.46500000 -> 0.465, 30 -> 30.00."""
    value = value.normalize()
    return value.quantize(CENT) if value.as_tuple().exponent > -2 else value


def _endpoint(catalog: Catalog, endpoint_id: str) -> Endpoint:
    endpoint = catalog.get(endpoint_id)
    if endpoint is None:
        raise UnknownBaseline(
            f"unknown baseline endpoint {endpoint_id!r}; the catalog has: {', '.join(catalog.ids)}"
        )
    return endpoint


def _baseline(endpoint: Endpoint, input_tokens: int, output_tokens: int, spent: Decimal) -> BaselineCost:
    prices = price(endpoint)
    # scaleb(-6): per token from per million, exactly (a shift of the exponent, no division).
    cost = money((input_tokens * prices.input_per_mtok + output_tokens * prices.output_per_mtok).scaleb(-6))
    saving = money(cost - spent)
    percent = (saving * 100 / cost).quantize(CENT, ROUND_HALF_UP) if cost else None
    return BaselineCost(endpoint=endpoint.id, price=prices, cost_usd=cost, saving_usd=saving, saving_pct=percent)


def _answered_by_endpoint(session: Session, tenant: str | None, since: datetime | None, until: datetime | None):
    """One row per endpoint that answered: requests priced and not, tokens,
    and the recorded cost summed as numeric (exact, whatever the row count)."""
    o = OutcomeRecord
    metered = and_(o.input_tokens.is_not(None), o.output_tokens.is_not(None))
    # cost_usd is a float rounded to 8 decimals when written: as numeric(18, 8) it is that decimal again.
    cost = cast(o.cost_usd, Numeric(18, 8))
    query = (
        select(
            o.endpoint,
            func.count().filter(metered).label("requests"),
            func.count().filter(~metered).label("requests_without_usage"),
            func.coalesce(func.sum(o.input_tokens).filter(metered), 0).label("input_tokens"),
            func.coalesce(func.sum(o.output_tokens).filter(metered), 0).label("output_tokens"),
            func.coalesce(func.sum(cost).filter(metered), 0).label("cost_usd"),
        )
        .where(o.status == "ok", o.endpoint.is_not(None))
        .group_by(o.endpoint)
        .order_by(o.endpoint)
    )
    if tenant is not None:
        query = query.where(o.tenant == tenant)
    if since is not None:
        query = query.where(o.created_at >= since)
    if until is not None:
        query = query.where(o.created_at < until)
    return session.execute(query).all()


def usd(value: Decimal) -> str:
    """Money for people: at least 2 decimals, more up to 4 when the amount
    needs them (beyond 4, rounded half up): $0.465, $4.25, $30.00, -$1,234.50."""
    shown = money(value)
    if shown.as_tuple().exponent < -4:
        shown = money(shown.quantize(Decimal("0.0001"), ROUND_HALF_UP))
    return f"{'-' if shown < 0 else ''}${abs(shown):,}"


def render(report: CostReport) -> str:
    """The report as a readable table."""
    period = report.period
    scope = f"tenant {period.tenant}" if period.tenant is not None else "all tenants"
    start, end = _moment(period.since) or "the start of the log", _moment(period.until) or "now"
    lines = [
        f"answered requests from {start} to {end}, {scope}",
        f"{report.requests:,} requests, {report.input_tokens:,} input and {report.output_tokens:,} output tokens, "
        f"{usd(report.spent_usd)} spent",
    ]
    if report.requests_without_usage:
        lines.append(f"{report.requests_without_usage:,} more answered without token counts: not priced below")
    if report.by_endpoint:
        lines += ["", "actual spend by endpoint:"]
        unpriced = bool(report.requests_without_usage)  # the column only when there is something in it
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
    if report.baselines:
        lines += ["", "the same tokens sent to one endpoint:"]
        lines += _table(
            ["endpoint", "input $/Mtok", "output $/Mtok", "cost", "saving", "saving %"],
            [
                [
                    b.endpoint,
                    str(b.price.input_per_mtok),
                    str(b.price.output_per_mtok),
                    usd(b.cost_usd),
                    usd(b.saving_usd),
                    f"{b.saving_pct}%" if b.saving_pct is not None else "-",
                ]
                for b in report.baselines
            ],
        )
    return "\n".join(lines)


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
