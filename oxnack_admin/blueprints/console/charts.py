"""The dashboard's money chart as SVG geometry: the view computes the bars, the template only draws them."""
from dataclasses import dataclass
from datetime import datetime, timezone
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


# --- a VM's usage: line charts, a gap where Proxmox has no value ---------------------------------

USAGE_WIDTH, USAGE_HEIGHT = 480, 160


@dataclass(frozen=True)
class Series:
    css: str
    label: str
    lines: list[str]  # SVG polyline `points`, one per run of points with a value


@dataclass(frozen=True)
class LineChart:
    title: str
    width: int
    height: int
    series: list[Series]
    y_labels: list[tuple[float, str]]
    x_labels: list[tuple[float, str, str]]
    has_data: bool


def _bytes_rate(value: float) -> str:
    for unit, size in (("MB/s", 1024 ** 2), ("KB/s", 1024)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B/s"


def _gib(value: float) -> str:
    return f"{value / 1024 ** 3:.1f} GiB"


# title, [(field, css, label)], the y axis top from a point (None: the largest value), label format
USAGE_CHARTS = (
    ("CPU", [("cpu", "line-a", "used")], lambda p: 1.0, lambda v: f"{v * 100:.0f} %"),
    ("Memory", [("mem", "line-a", "used")], lambda p: p.get("maxmem"), _gib),
    ("Network", [("netin", "line-a", "in"), ("netout", "line-b", "out")], lambda p: None, _bytes_rate),
    ("Disk IO", [("diskread", "line-a", "read"), ("diskwrite", "line-b", "write")], lambda p: None, _bytes_rate),
)


def usage_charts(points: list[dict], timeframe: str) -> list[LineChart]:
    """CPU, memory, network and disk IO of one timeframe; the template only draws them."""
    return [_line_chart(points, timeframe, *spec) for spec in USAGE_CHARTS]


def _line_chart(points: list[dict], timeframe: str, title: str, fields: list, top_of, label) -> LineChart:
    times = [p["time"] for p in points]
    values = [p[name] for p in points for name, _, _ in fields if name in p]
    tops = [top for top in (top_of(p) for p in points) if top]
    top = max(tops + values) if tops else max(values + [0])
    top = top or 1
    left, plot_width = CHART_LEFT + 20, USAGE_WIDTH - CHART_LEFT - 20
    plot_height = USAGE_HEIGHT - CHART_TOP - CHART_BOTTOM
    start, span = (times[0], (times[-1] - times[0]) or 1) if times else (0, 1)

    def x(t):
        return round(left + (t - start) / span * plot_width, 1)

    def y(v):
        return round(CHART_TOP + plot_height - min(v / top, 1) * plot_height, 1)

    series = []
    for name, css, text in fields:
        lines, run = [], []
        for point in points:
            if name in point:
                run.append(f"{x(point['time'])},{y(point[name])}")
            elif run:
                lines.append(" ".join(run))
                run = []
        if run:
            lines.append(" ".join(run))
        series.append(Series(css, text, lines))
    y_labels = [(y(top * share), label(top * share)) for share in (0, 0.5, 1)]
    stamp = "%H:%M" if timeframe in ("hour", "day") else "%d.%m"
    x_labels = [(x(t), datetime.fromtimestamp(t, timezone.utc).strftime(stamp), anchor)
                for t, anchor in ((times[0], "start"), (times[len(times) // 2], "middle"), (times[-1], "end"))] \
        if times else []
    return LineChart(title, USAGE_WIDTH, USAGE_HEIGHT, series, y_labels, x_labels, bool(values))
