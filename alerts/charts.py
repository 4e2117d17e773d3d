"""Selector output → plotly figures, for the console's pictures.

Figures are plain dicts in plotly's figure schema, not ``plotly.graph_objects``: building
graph objects validates every property and costs about 20 ms per figure, which a page with
three charts and a 150 ms budget cannot pay. The tests pass every figure through
``plotly.graph_objects.Figure``, so the schema is still checked. ``static/js/app.js`` draws a
``Chart`` rendered by ``templates/includes/chart.html``.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils.html import json_script
from django.utils.safestring import SafeString

from alerts.models import Event

TEXT = "#dbe2ea"
MUTED = "#8b98a9"
GRID = "#2b3544"
PANEL = "#1a212b"
HIGH = "#ff5d5d"
OK = "#3ecf8e"
ACCENT = "#4da3ff"

KIND_COLORS = {
    Event.Kind.SIGNIN: "#4da3ff",
    Event.Kind.SIGNIN_FAILED: "#ff8787",
    Event.Kind.MAIL_SENT: "#3ecf8e",
    Event.Kind.MAIL_RECEIVED: "#2a9d8f",
    Event.Kind.MAIL_ITEMS_ACCESSED: "#8bd3dd",
    Event.Kind.INBOX_RULE_CREATED: "#ffa94d",
    Event.Kind.INBOX_RULE_CHANGED: "#ffc078",
    Event.Kind.INBOX_RULE_REMOVED: "#b08968",
    Event.Kind.MAILBOX_FORWARDING_SET: "#ff5d5d",
    Event.Kind.MAILBOX_PERMISSION_ADDED: "#e599f7",
    Event.Kind.SEND_AS_PERMISSION_ADDED: "#cc5de8",
    Event.Kind.MFA_METHOD_CHANGED: "#f5d547",
    Event.Kind.PASSWORD_CHANGED: "#fab005",
    Event.Kind.OAUTH_CONSENT: "#9775fa",
    Event.Kind.SENDING_RESTRICTED: "#adb5bd",
    Event.Kind.EXTERNAL_ALERT: "#f783ac",
    Event.Kind.REMEDIATION: "#20c997",
    Event.Kind.OTHER: "#6c757d",
}
SERIES_COLORS = ["#4da3ff", "#ffa94d", "#3ecf8e", "#ff5d5d", "#9775fa", "#f5d547", "#20c997", "#f783ac", "#8bd3dd"]
SEVERITY_COLORS = {"high": HIGH, "medium": "#ffa94d", "low": "#f5d547", "informational": "#6cb6ff"}


@dataclass
class Chart:
    """A figure with its element id and an accessible description of what it shows."""

    id: str
    label: str
    figure: dict
    geo: bool = False
    empty: str = ""  # shown instead of the chart when there is nothing to draw
    height: int = 260

    @property
    def script(self) -> SafeString:
        return json_script(self.figure, self.id)

    @property
    def topojson_url(self) -> str:
        # Not {% static %}: plotly appends "world_110m.json" itself, so it needs the folder URL.
        return f"{settings.STATIC_URL}vendor/topojson/"


def base_layout(*, height: int = 260, **overrides) -> dict:
    layout = {
        "height": height,
        "margin": {"l": 44, "r": 12, "t": 8, "b": 36},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": TEXT, "size": 11, "family": "-apple-system, Segoe UI, Roboto, Arial, sans-serif"},
        "xaxis": {"gridcolor": GRID, "linecolor": GRID, "zeroline": False},
        "yaxis": {"gridcolor": GRID, "linecolor": GRID, "zeroline": False, "rangemode": "tozero"},
        "legend": {"orientation": "h", "y": -0.18, "x": 0, "font": {"size": 11}},
        "hoverlabel": {"bgcolor": PANEL, "bordercolor": GRID, "font": {"color": TEXT}},
        "bargap": 0.15,
    }
    layout.update(overrides)
    return layout


CONFIG = {"displayModeBar": False}


def _stacked_series(rows: Iterable[tuple], buckets: Sequence) -> dict[str, list[int]]:
    """{series: [count per bucket]} from (bucket, series, count) rows."""
    position = {bucket: i for i, bucket in enumerate(buckets)}
    series: dict[str, list[int]] = {}
    for bucket, name, count in rows:
        if bucket not in position:
            continue
        series.setdefault(name, [0] * len(buckets))[position[bucket]] += count
    return series


def _hourly(start: datetime, end: datetime) -> tuple[int, int, dict]:
    """(first epoch hour, number of hours, the x0/dx that place hourly values on a date axis).

    Hourly series carry no x values at all: ``x0`` and ``dx`` (in milliseconds) say where the
    first value sits and how far apart the next ones are, which keeps a 30-day figure small.
    """
    first = int(start.timestamp() // 3600)
    count = int((end - start).total_seconds() // 3600)
    return first, count, {"x0": start.isoformat(), "dx": 3_600_000}


def alerts_by_detector_figure(rows: Iterable[tuple], days: Sequence) -> dict:
    """Stacked bars: alerts raised per day, one colour per detector. Rows: (day, detector, count)."""
    series = _stacked_series(rows, days)
    data = [
        {
            "type": "bar",
            "name": detector.replace("_", " "),
            "x": [day.isoformat() for day in days],
            "y": counts,
            "marker": {"color": SERIES_COLORS[i % len(SERIES_COLORS)]},
            "hovertemplate": "%{x|%b %d}: %{y} alerts<extra>%{fullData.name}</extra>",
        }
        for i, (detector, counts) in enumerate(sorted(series.items()))
    ]
    layout = base_layout(barmode="stack", xaxis={"gridcolor": GRID, "type": "date", "tickformat": "%b %d"})
    return {"data": data, "layout": layout, "config": CONFIG}


def activity_figure(rows: Iterable[tuple], *, start: datetime, end: datetime, windows: Iterable[dict]) -> dict:
    """Events per hour, stacked by kind, with each alert's activity window shaded.

    Rows: (epoch hour, kind, count). Windows: {"start", "end", "severity", "title"}.
    """
    first, count, placement = _hourly(start, end)
    series = _stacked_series(rows, range(first, first + count))
    labels = dict(Event.Kind.choices)
    data = [
        {
            "type": "bar",
            "name": labels.get(kind, kind),
            **placement,
            "y": counts,
            "marker": {"color": KIND_COLORS.get(kind, MUTED)},
            "hovertemplate": "%{x|%b %d %H:00}: %{y}<extra>%{fullData.name}</extra>",
        }
        for kind, counts in sorted(series.items(), key=lambda item: -sum(item[1]))
    ]
    shapes = []
    for window in windows:
        # An alert on a single event still gets a visible band of one hour.
        band_end = max(window["end"], window["start"] + timedelta(hours=1))
        shapes.append(
            {
                "type": "rect",
                "xref": "x",
                "yref": "paper",
                "x0": window["start"].isoformat(),
                "x1": band_end.isoformat(),
                "y0": 0,
                "y1": 1,
                "fillcolor": SEVERITY_COLORS.get(window["severity"], HIGH),
                "opacity": 0.14,
                "line": {"width": 0},
                "layer": "below",
            }
        )
    layout = base_layout(
        barmode="stack",
        bargap=0.05,
        shapes=shapes,
        xaxis={"gridcolor": GRID, "type": "date", "range": [start.isoformat(), end.isoformat()]},
    )
    return {"data": data, "layout": layout, "config": CONFIG}


def mail_baseline_figure(
    rows: Iterable[tuple], *, start: datetime, end: datetime, band: dict[int, tuple[float, float]]
) -> dict:
    """Mail sent per hour against the user's usual band for that hour of the day.

    Rows: (epoch hour, count). Band: {hour of day: (low, high)} from the baseline period.
    """
    first, count, placement = _hourly(start, end)
    sent = [0] * count
    for hour, n in rows:
        if 0 <= hour - first < count:
            sent[hour - first] += n
    hours_of_day = [(first + i) % 24 for i in range(count)]
    data = []
    if band:
        data += [
            {
                "type": "scatter",
                "mode": "lines",
                "name": "usual low",
                **placement,
                "y": [round(band[hour][0], 2) for hour in hours_of_day],
                "line": {"width": 0, "shape": "hv"},
                "hoverinfo": "skip",
                "showlegend": False,
            },
            {
                "type": "scatter",
                "mode": "lines",
                "name": "usual range (14 days before)",
                **placement,
                "y": [round(band[hour][1], 2) for hour in hours_of_day],
                "fill": "tonexty",
                "fillcolor": "rgba(77,163,255,0.18)",
                "line": {"width": 0, "shape": "hv"},
                "hovertemplate": "usual up to %{y:.0f}<extra></extra>",
            },
        ]
    data.append(
        {
            "type": "scatter",
            "mode": "lines",
            "name": "mail sent",
            **placement,
            "y": sent,
            "line": {"color": OK, "width": 1.6, "shape": "hv"},
            "hovertemplate": "%{x|%b %d %H:00}: %{y} sent<extra></extra>",
        }
    )
    layout = base_layout(xaxis={"gridcolor": GRID, "type": "date", "range": [start.isoformat(), end.isoformat()]})
    return {"data": data, "layout": layout, "config": CONFIG}


def signin_map_figure(places: Sequence[dict], legs: Sequence[dict]) -> dict:
    """Sign-in locations with a line per move between consecutive sign-ins.

    Places: {"lat", "lon", "label", "count"}. Legs: {"from", "to", "impossible", "label"}
    (from/to are (lat, lon)); impossible-travel legs are drawn red and thick.
    """

    def leg_trace(selected: list[dict], *, name: str, color: str, width: float) -> dict:
        lat, lon, text = [], [], []
        for leg in selected:
            lat += [leg["from"][0], leg["to"][0], None]
            lon += [leg["from"][1], leg["to"][1], None]
            text += [leg["label"], leg["label"], None]
        return {
            "type": "scattergeo",
            "mode": "lines",
            "name": name,
            "lat": lat,
            "lon": lon,
            "text": text,
            "hoverinfo": "text",
            "line": {"color": color, "width": width},
        }

    normal = [leg for leg in legs if not leg["impossible"]]
    impossible = [leg for leg in legs if leg["impossible"]]
    data = []
    if normal:
        data.append(leg_trace(normal, name="move", color="rgba(139,152,169,0.6)", width=1))
    if impossible:
        data.append(leg_trace(impossible, name="impossible travel", color=HIGH, width=2.5))
    largest = max((place["count"] for place in places), default=1)
    data.append(
        {
            "type": "scattergeo",
            "mode": "markers",
            "name": "sign-in location",
            "lat": [place["lat"] for place in places],
            "lon": [place["lon"] for place in places],
            "text": [place["label"] for place in places],
            "hoverinfo": "text",
            "marker": {
                "size": [6 + 14 * (place["count"] / largest) ** 0.5 for place in places],
                "color": ACCENT,
                "line": {"color": "#0f1419", "width": 1},
                "opacity": 0.9,
            },
        }
    )
    layout = base_layout(
        height=300,
        margin={"l": 0, "r": 0, "t": 0, "b": 0},
        legend={"orientation": "h", "y": 0.02, "x": 0.01, "bgcolor": "rgba(15,20,25,0.6)"},
        geo={
            "projection": {"type": "natural earth"},
            # Zoom to where the user signed in from, not the whole world.
            "fitbounds": "locations" if places else False,
            "resolution": 110,
            "showland": True,
            "landcolor": "#253041",
            "showocean": True,
            "oceancolor": "#121820",
            "showcountries": True,
            "countrycolor": "#3a4657",
            "coastlinecolor": "#3a4657",
            "showframe": False,
            "bgcolor": "rgba(0,0,0,0)",
        },
    )
    return {"data": data, "layout": layout, "config": CONFIG}


def count_bars_figure(rows: Sequence[tuple[str, str, int]], colors: dict[str, str]) -> dict:
    """Horizontal bars, one per (value, label, count) row, top to bottom in the given order."""
    rows = list(reversed(rows))
    data = [
        {
            "type": "bar",
            "orientation": "h",
            "x": [count for _, _, count in rows],
            "y": [label for _, label, _ in rows],
            "marker": {"color": [colors.get(value, ACCENT) for value, _, _ in rows]},
            "hovertemplate": "%{y}: %{x}<extra></extra>",
            "text": [count for _, _, count in rows],
            "textposition": "auto",
        }
    ]
    layout = base_layout(
        height=max(120, 26 * len(rows) + 30),
        margin={"l": 140, "r": 12, "t": 4, "b": 24},
        showlegend=False,
        yaxis={"gridcolor": GRID, "automargin": True},
    )
    return {"data": data, "layout": layout, "config": CONFIG}
