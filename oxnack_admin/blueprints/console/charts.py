"""The dashboard's money chart as SVG geometry: the view computes the bars, the template only draws them."""
from dataclasses import dataclass
from decimal import Decimal

from oxnack_admin.services.ops.dashboard import DayTotals

CHART_WIDTH, CHART_HEIGHT, CHART_TOP, CHART_BOTTOM, CHART_LEFT = 1000, 220, 14, 24, 52


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    x_labels: list[tuple[float, str, str]]  # x, text, text-anchor
    y_labels: list[tuple[float, str]]
    baseline: float
    totals: dict


def money_chart(series: list[DayTotals]) -> Chart:
    """Bars for revenue and top-ups per day, scaled to the largest day; the template only draws them."""
    peak = max([max(d.revenue, d.top_ups) for d in series] + [Decimal(1)])
    plot_height = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    slot = (CHART_WIDTH - CHART_LEFT) / max(len(series), 1)
    bar_width = max(slot * 0.38, 1)
    baseline = CHART_TOP + plot_height
    bars, x_labels = [], []
    for index, totals in enumerate(series):
        left = CHART_LEFT + index * slot + slot * 0.1
        for offset, value, css, name in ((0, totals.revenue, "bar-revenue", "revenue"),
                                         (bar_width, totals.top_ups, "bar-topup", "top-ups")):
            height = float(max(value, 0) / peak) * plot_height
            bars.append(Bar(round(left + offset, 1), round(baseline - height, 1), round(bar_width, 1),
                            round(height, 1), css, f"{totals.day:%d.%m}: {name} {value}"))
        last = index == len(series) - 1
        if index % 5 == 0 or last:
            x_labels.append((round(left + bar_width, 1), f"{totals.day:%d.%m}", "end" if last else "middle"))
    digits = 0 if peak >= 10 else 2
    y_labels = [(round(baseline - plot_height * share, 1), f"{peak * Decimal(share):.{digits}f}") for share in (0, 0.5, 1)]
    totals = {"revenue": sum((d.revenue for d in series), Decimal(0)),
              "top_ups": sum((d.top_ups for d in series), Decimal(0))}
    return Chart(CHART_WIDTH, CHART_HEIGHT, bars, x_labels, y_labels, baseline, totals)
