"""The cost report: what the answered traffic of a period cost, per endpoint
and per quality tier, and what the same tokens would have cost had all of it
gone to one endpoint: the frontier one, the cheapest one, or one chosen.

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

Per tier: each answer counts at the quality tier of the endpoint that
answered, read from the catalog in Python (an endpoint no longer in the
catalog counts as tier ``unknown``), so the tiers come from the same grouped
query as the endpoints. Two comparisons are always made, whatever baselines
were asked for: everything on the frontier endpoint (the catalog's
frontier-tier endpoint; the cheapest of them if there are several) and
everything on the cheapest endpoint (of any tier); each tier's tokens are
priced on both too, so the tiers add up to them exactly.

The same pricing serves a synthetic workload (services/routing/workload.py):
``priced_report`` takes per-endpoint traffic from anywhere.

The figures come from one grouped query over the outcomes alone (no join):
``ix_outcomes_tenant_created_id`` (tenant, created_at, id) serves a tenant's
period, and the monthly partitions outside the period are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import Numeric, and_, cast, func, select
from sqlalchemy.orm import Session

from services.audit.days import as_date, utc_day
from services.audit.models import OutcomeRecord
from services.audit.schemas import (
    BaselineCost,
    CostReport,
    EndpointActualSpend,
    Period,
    PricePerMtok,
    TierSpend,
)
from services.routing.catalog import TIERS, Catalog, Endpoint

CENT = Decimal("0.01")
FRONTIER = TIERS[-1]
UNKNOWN_TIER = "unknown"  # an endpoint that answered but is no longer in the catalog


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
    chosen = baseline_endpoints(catalog, baselines)
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
    period = Period(
        since=since.isoformat() if since else None, until=until.isoformat() if until else None, tenant=tenant
    )
    return _priced(catalog, period, by_endpoint, chosen)


def priced_report(
    catalog: Catalog, by_endpoint: Sequence[EndpointActualSpend], *, period: Period, baselines: Sequence[str]
) -> CostReport:
    """The cost report of traffic given per endpoint (its actual cost
    included) rather than read from the log: what a synthetic workload is
    priced with. Raises ``UnknownBaseline``."""
    chosen = baseline_endpoints(catalog, baselines)
    return _priced(catalog, period, sorted(by_endpoint, key=lambda e: e.endpoint), chosen)


def _priced(
    catalog: Catalog, period: Period, by_endpoint: Sequence[EndpointActualSpend], chosen: Sequence[Endpoint]
) -> CostReport:
    input_tokens = sum(e.input_tokens for e in by_endpoint)
    output_tokens = sum(e.output_tokens for e in by_endpoint)
    spent = money(sum((e.cost_usd for e in by_endpoint), Decimal(0)))
    frontier, cheapest = frontier_endpoint(catalog), cheapest_endpoint(catalog)
    return CostReport(
        period=period,
        requests=sum(e.requests for e in by_endpoint),
        requests_without_usage=sum(e.requests_without_usage for e in by_endpoint),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        spent_usd=spent,
        by_endpoint=list(by_endpoint),
        baselines=[_baseline(endpoint, input_tokens, output_tokens, spent) for endpoint in chosen],
        by_tier=_by_tier(catalog, by_endpoint, frontier, cheapest),
        frontier_only=_baseline(frontier, input_tokens, output_tokens, spent) if frontier else None,
        cheapest_only=_baseline(cheapest, input_tokens, output_tokens, spent),
    )


def _by_tier(
    catalog: Catalog, by_endpoint: Sequence[EndpointActualSpend], frontier: Endpoint | None, cheapest: Endpoint
) -> list[TierSpend]:
    """Every catalog tier, weakest first, then ``unknown`` if an endpoint that
    answered has left the catalog."""
    grouped: dict[str, list[EndpointActualSpend]] = {tier: [] for tier in TIERS}
    for spend in by_endpoint:
        endpoint = catalog.get(spend.endpoint)
        grouped.setdefault(endpoint.tier if endpoint else UNKNOWN_TIER, []).append(spend)
    tiers = []
    for tier, spends in grouped.items():
        input_tokens = sum(e.input_tokens for e in spends)
        output_tokens = sum(e.output_tokens for e in spends)
        tiers.append(
            TierSpend(
                tier=tier,
                endpoints=[e.endpoint for e in spends],
                requests=sum(e.requests for e in spends),
                requests_without_usage=sum(e.requests_without_usage for e in spends),
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_usd=money(sum((e.cost_usd for e in spends), Decimal(0))),
                frontier_cost_usd=tokens_cost(frontier, input_tokens, output_tokens) if frontier else None,
                cheapest_cost_usd=tokens_cost(cheapest, input_tokens, output_tokens),
            )
        )
    return tiers


def cheapest_endpoint(catalog: Catalog) -> Endpoint:
    """The endpoint of the lowest input plus output price per Mtok, any tier
    (a tie goes to the id first in alphabetical order)."""
    return min(catalog.endpoints, key=_price_rank)


def frontier_endpoint(catalog: Catalog) -> Endpoint | None:
    """The catalog's frontier-tier endpoint; the cheapest of them if several
    (ranked as ``cheapest_endpoint`` ranks); None when it has none."""
    frontier = [e for e in catalog.endpoints if e.tier == FRONTIER]
    return min(frontier, key=_price_rank) if frontier else None


def default_baselines(catalog: Catalog) -> list[str]:
    """The catalog's cheapest and most expensive endpoints, ranked by input
    plus output price per Mtok (a tie goes to the id first in alphabetical
    order for the cheapest, last for the most expensive)."""

    ranked = sorted(catalog.endpoints, key=_price_rank)
    return list(dict.fromkeys([ranked[0].id, ranked[-1].id]))


def _price_rank(endpoint: Endpoint) -> tuple[Decimal, str]:
    prices = price(endpoint)
    return prices.input_per_mtok + prices.output_per_mtok, endpoint.id


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


def baseline_endpoints(catalog: Catalog, baselines: Sequence[str]) -> list[Endpoint]:
    """The catalog endpoints of these baseline ids, each once, in the order
    given; ``UnknownBaseline`` for the first id the catalog does not have."""
    return [_endpoint(catalog, endpoint_id) for endpoint_id in dict.fromkeys(baselines)]


def _endpoint(catalog: Catalog, endpoint_id: str) -> Endpoint:
    endpoint = catalog.get(endpoint_id)
    if endpoint is None:
        raise UnknownBaseline(
            f"unknown baseline endpoint {endpoint_id!r}; the catalog has: {', '.join(catalog.ids)}"
        )
    return endpoint


def tokens_cost(endpoint: Endpoint, input_tokens: int, output_tokens: int) -> Decimal:
    """The tokens at the endpoint's catalog prices, exact."""
    prices = price(endpoint)
    # scaleb(-6): per token from per million, exactly (a shift of the exponent, no division).
    return money((input_tokens * prices.input_per_mtok + output_tokens * prices.output_per_mtok).scaleb(-6))


def _baseline(endpoint: Endpoint, input_tokens: int, output_tokens: int, spent: Decimal) -> BaselineCost:
    prices = price(endpoint)
    cost = tokens_cost(endpoint, input_tokens, output_tokens)
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



@dataclass(frozen=True)
class DaySpend:
    """One UTC day of the traffic ``cost_report`` prices."""

    day: date
    requests: int
    input_tokens: int
    output_tokens: int
    spent_usd: Decimal
    baselines: dict[str, Decimal]  # endpoint id -> the day's tokens at its catalog prices


def daily_spend(
    session: Session,
    catalog: Catalog,
    *,
    tenant: str | None,
    since: datetime | None,
    until: datetime | None,
    baselines: Sequence[str],
) -> list[DaySpend]:
    """What ``cost_report`` sums, per UTC day of the outcome's
    ``created_at``, oldest first; a day without priced answers is absent.
    The same rows (answered, with both token counts) and the same money: a
    day's actual spend is its recorded costs summed as numeric, a baseline's
    is the day's tokens priced as the report prices the period's, so the days
    add up to the report's figures exactly. One grouped query. Raises
    ``UnknownBaseline`` before querying anything."""
    chosen = baseline_endpoints(catalog, baselines)
    o = OutcomeRecord
    day = utc_day(session, o.created_at)
    query = (
        select(
            day.label("day"),
            func.count().label("requests"),
            func.sum(o.input_tokens).label("input_tokens"),
            func.sum(o.output_tokens).label("output_tokens"),
            func.sum(cast(o.cost_usd, Numeric(18, 8))).label("cost_usd"),
        )
        .where(o.status == "ok", o.endpoint.is_not(None), o.input_tokens.is_not(None), o.output_tokens.is_not(None))
        .group_by(day)
        .order_by(day)
    )
    if tenant is not None:
        query = query.where(o.tenant == tenant)
    if since is not None:
        query = query.where(o.created_at >= since)
    if until is not None:
        query = query.where(o.created_at < until)
    days = []
    for row in session.execute(query).all():
        spent = money(Decimal(row.cost_usd or 0))
        days.append(
            DaySpend(
                day=as_date(row.day),
                requests=row.requests,
                input_tokens=row.input_tokens,
                output_tokens=row.output_tokens,
                spent_usd=spent,
                baselines={
                    e.id: _baseline(e, row.input_tokens, row.output_tokens, spent).cost_usd for e in chosen
                },
            )
        )
    return days




def usd(value: Decimal) -> str:
    """Money for people: at least 2 decimals, more up to 4 when the amount
    needs them (beyond 4, rounded half up): $0.465, $4.25, $30.00, -$1,234.50."""
    shown = money(value)
    if shown.as_tuple().exponent < -4:
        shown = money(shown.quantize(Decimal("0.0001"), ROUND_HALF_UP))
    return f"{'-' if shown < 0 else ''}${abs(shown):,}"
