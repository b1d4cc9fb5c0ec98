"""Daily bar charts as numbers the SVG template draws: no chart library, no
script, nothing the page's CSP would have to allow (colours are CSS classes,
not inline styles). Decisions stacked by value (the traffic page), and a
day's actual spend beside what its tokens cost on one baseline endpoint (the
spend page)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_CEILING, Decimal

from services.audit.cost import DaySpend, usd
from services.console.repository import DayCount

WIDTH, HEIGHT = 760, 220
LEFT, BOTTOM, TOP = 44, 22, 8
PALETTE = 8  # CSS classes series-0 .. series-7
NONE_LABEL = "(none)"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    title: str


@dataclass
class Chart:
    title: str
    days: list[date]
    # value -> count per day (in the order of days), values by total, largest first
    series: dict[str, list[int]]
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, int]] = field(default_factory=list)  # (y, count)
    labels: list[tuple[float, str]] = field(default_factory=list)  # (x, day label)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    baseline: float = HEIGHT - BOTTOM

    @property
    def totals(self) -> dict[str, int]:
        return {value: sum(counts) for value, counts in self.series.items()}

    @property
    def total(self) -> int:
        return sum(self.totals.values())

    def series_class(self, value: str) -> int:
        return list(self.series).index(value) % PALETTE


def days_between(first: date, last_exclusive: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last_exclusive - first).days)]


def build(title: str, rows: list[DayCount], days: list[date]) -> Chart:
    per_value: dict[str, dict[date, int]] = defaultdict(dict)
    for row in rows:
        per_value[row.value if row.value is not None else NONE_LABEL][row.day] = row.count
    ordered = sorted(per_value, key=lambda value: (-sum(per_value[value].values()), value))
    series = {value: [per_value[value].get(day, 0) for day in days] for value in ordered}
    chart = Chart(title=title, days=days, series=series)
    _lay_out(chart)
    return chart


def _lay_out(chart: Chart) -> None:
    days = chart.days
    if not days:
        return
    day_totals = [sum(counts[i] for counts in chart.series.values()) for i in range(len(days))]
    top = _nice_ceiling(max(day_totals, default=0))
    plot_height = chart.baseline - TOP
    slot = (chart.width - chart.left) / len(days)
    bar_width = max(1.0, slot * 0.8)
    for i, day in enumerate(days):
        x = chart.left + i * slot + (slot - bar_width) / 2
        y = chart.baseline
        for index, (value, counts) in enumerate(chart.series.items()):
            count = counts[i]
            if not count:
                continue
            height = count / top * plot_height
            y -= height
            chart.bars.append(
                Bar(round(x, 1), round(y, 1), round(bar_width, 1), round(height, 1), index % PALETTE,
                    f"{day.isoformat()} {value}: {count}")
            )
    chart.ticks = [(round(chart.baseline - plot_height * n / 4, 1), top * n // 4) for n in range(5)]
    every = max(1, len(days) // 6)
    chart.labels = [
        (round(chart.left + i * slot + slot / 2, 1), day.strftime("%m-%d")) for i, day in enumerate(days) if i % every == 0
    ]


def _nice_ceiling(value: int) -> int:
    """The top of the axis: a round number at or above ``value`` that four
    gridlines divide into whole numbers (1, 2, 4, 5, 8 or 10 times a power of
    ten when one fits, else the next multiple of 4)."""
    if value <= 4:
        return 4
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 4, 5, 8, 10):
        candidate = step * magnitude
        if candidate >= value and candidate % 4 == 0:
            return candidate
    return 4 * -(-value // 4)


# Money axes count in steps of $0.0001, the finest amount usd() shows.
MONEY_STEP = Decimal("0.0001")
MONEY_LEFT = 64  # room for "$1,234.00"


@dataclass
class SpendChart:
    """Per day, two bars: what was spent (series-0) and what the same tokens
    cost on ``against`` (series-1), both in exact dollars."""

    title: str
    days: list[date]
    against: str
    actual: list[Decimal]  # per day, in the order of days
    compared: list[Decimal]
    bars: list[Bar] = field(default_factory=list)
    ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, dollars)
    labels: list[tuple[float, str]] = field(default_factory=list)
    width: int = WIDTH
    height: int = HEIGHT
    left: int = MONEY_LEFT
    baseline: float = HEIGHT - BOTTOM

    @property
    def actual_total(self) -> Decimal:
        return sum(self.actual, Decimal(0))

    @property
    def compared_total(self) -> Decimal:
        return sum(self.compared, Decimal(0))


def build_spend(title: str, daily: list[DaySpend], days: list[date], against: str) -> SpendChart:
    by_day = {d.day: d for d in daily}
    zero = Decimal(0)
    chart = SpendChart(
        title=title,
        days=days,
        against=against,
        actual=[by_day[day].spent_usd if day in by_day else zero for day in days],
        compared=[by_day[day].baselines[against] if day in by_day else zero for day in days],
    )
    if not days:
        return chart
    steps = _nice_ceiling(int((max(chart.actual + chart.compared) / MONEY_STEP).to_integral_value(ROUND_CEILING)))
    top = steps * MONEY_STEP
    plot_height = chart.baseline - TOP
    slot = (chart.width - chart.left) / len(days)
    bar_width = max(1.0, slot * 0.4)
    for i, day in enumerate(days):
        x = chart.left + i * slot + (slot - 2 * bar_width) / 2
        for series, (name, value) in enumerate((("spent", chart.actual[i]), (f"on {against}", chart.compared[i]))):
            if not value:
                continue
            height = float(value / top) * plot_height
            chart.bars.append(
                Bar(round(x + series * bar_width, 1), round(chart.baseline - height, 1), round(bar_width, 1),
                    round(height, 1), series, f"{day.isoformat()} {name}: {usd(value)}")
            )
    chart.ticks = [(round(chart.baseline - plot_height * n / 4, 1), usd(steps * n // 4 * MONEY_STEP)) for n in range(5)]
    every = max(1, len(days) // 6)
    chart.labels = [
        (round(chart.left + i * slot + slot / 2, 1), day.strftime("%m-%d")) for i, day in enumerate(days) if i % every == 0
    ]
    return chart
