"""Metrics → plotly figures (as plain JSON dicts for ``json_script``; static/js/app.js draws them)."""

import json
from datetime import timedelta

import plotly.graph_objects as go
import plotly.io as pio

from alerts.models import Severity
from investigations.reports.metrics import SPEEDS, Metrics

SEVERITY_COLOURS = {
    Severity.INFORMATIONAL: "#6cb6ff",
    Severity.LOW: "#f5d547",
    Severity.MEDIUM: "#ffa94d",
    Severity.HIGH: "#ff5d5d",
}
TEXT, GRID = "#dbe2ea", "#2b3544"


def _layout(**extra) -> dict:
    """A compact layout that matches the dark theme (no plotly template: it would weigh ~6 KB a chart)."""
    axis = {"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True, "rangemode": "nonnegative"}
    if "title" in extra:  # left-aligned at the top; the legend sits between it and the plot
        extra["title"] = {"x": 0, "xref": "paper", "y": 0.98, "yanchor": "top", **extra["title"]}
    return {
        "template": "none",
        "height": 300,
        "margin": {"l": 50, "r": 16, "t": 64, "b": 40},
        "paper_bgcolor": "rgba(0,0,0,0)",
        "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": TEXT, "size": 12},
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
        "xaxis": dict(axis),
        "yaxis": dict(axis),
        **extra,
    }


def _plain(figure: go.Figure) -> dict:
    return json.loads(pio.to_json(figure, validate=False))


def _period_axis(metrics: Metrics) -> dict:
    """A date axis spanning the whole period, so sparse data still gets sensible day ticks."""
    filters = metrics.filters
    return {
        "gridcolor": GRID,
        "type": "date",
        "tickformat": "%b %d",
        "automargin": True,
        "range": [(filters.start - timedelta(hours=12)).isoformat(), (filters.end + timedelta(hours=12)).isoformat()],
    }


def alerts_per_day_figure(metrics: Metrics) -> dict:
    start = metrics.filters.start.date()
    days = [start + timedelta(days=i) for i in range((metrics.filters.end.date() - start).days + 1)]
    counts = {(str(row["day"])[:10], row["severity"]): row["n"] for row in metrics.alerts_per_day}
    figure = go.Figure(
        layout=_layout(
            barmode="stack",
            title={"text": "Alerts per day by severity"},
            xaxis=_period_axis(metrics),
        )
    )
    for severity in reversed(Severity.values):
        figure.add_bar(
            name=Severity(severity).label,
            x=[day.isoformat() for day in days],
            y=[counts.get((day.isoformat(), severity), 0) for day in days],
            marker={"color": SEVERITY_COLOURS[severity]},
        )
    return _plain(figure)


def speed_trend_figure(metrics: Metrics, speed: str) -> dict:
    """Median and p90 of one speed per day or week, in hours."""
    speeds = metrics.speeds
    x = [day.isoformat() for day, _ in speeds.trend]
    figure = go.Figure(
        layout=_layout(
            title={"text": f"{SPEEDS[speed]} per {speeds.bucket} (hours)"},
            xaxis=_period_axis(metrics),
            yaxis={"gridcolor": GRID, "zerolinecolor": GRID, "automargin": True, "rangemode": "tozero"},
        )
    )
    for name, attribute, dash in (("median", "p50", "solid"), ("p90", "p90", "dot")):
        values = [_hours(getattr(stats[speed], attribute)) for _, stats in speeds.trend]
        figure.add_scatter(name=name, x=x, y=values, mode="lines+markers", line={"dash": dash}, connectgaps=True)
    return _plain(figure)


def decisions_figure(metrics: Metrics) -> dict:
    labels = [row["label"] for row in metrics.decisions]
    figure = go.Figure(layout=_layout(barmode="group", title={"text": "Approvals vs rejections per action kind"}))
    figure.add_bar(name="Approved", x=labels, y=[row["approved"] for row in metrics.decisions], marker_color="#3ecf8e")
    figure.add_bar(name="Rejected", x=labels, y=[row["rejected"] for row in metrics.decisions], marker_color="#ff5d5d")
    return _plain(figure)


def automation_figure(metrics: Metrics) -> dict:
    labels = [row["label"] for row in metrics.decisions]
    figure = go.Figure(layout=_layout(barmode="stack", title={"text": "Actions run automatically vs by hand"}))
    figure.add_bar(
        name="Automatically", x=labels, y=[row["automated"] for row in metrics.decisions], marker_color="#4da3ff"
    )
    figure.add_bar(name="By hand", x=labels, y=[row["approved"] for row in metrics.decisions], marker_color="#8b98a9")
    return _plain(figure)


def policy_quality_figure(metrics: Metrics) -> dict:
    rows = metrics.policy_quality
    names = [row["name"] for row in rows]
    figure = go.Figure(
        layout=_layout(
            barmode="stack",
            title={"text": "Classified alerts per policy"},
            height=max(240, 90 + 34 * len(rows)),
            legend={"orientation": "h", "x": 0, "y": -0.08, "yanchor": "top"},
        )
    )
    for label, key, colour in (
        ("True positive", "true_positive", "#ff5d5d"),
        ("Benign positive", "benign_positive", "#ffa94d"),
        ("False positive", "false_positive", "#8b98a9"),
    ):
        figure.add_bar(name=label, y=names, x=[row[key] for row in rows], orientation="h", marker_color=colour)
    return _plain(figure)


def metrics_figures(metrics: Metrics) -> dict[str, dict]:
    """Every figure of the metrics page, keyed by the id its ``json_script`` gets."""
    figures = {
        "chart-alerts-per-day": alerts_per_day_figure(metrics),
        "chart-decisions": decisions_figure(metrics),
        "chart-automation": automation_figure(metrics),
        "chart-policy-quality": policy_quality_figure(metrics),
    }
    for speed in SPEEDS:
        figures[f"chart-trend-{speed}"] = speed_trend_figure(metrics, speed)
    return figures


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600, 2)
