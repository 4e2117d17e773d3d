"""The back-test as a plotly figure: alerts per day, current against proposed parameters."""

from alerts.charts import ACCENT, CONFIG, MUTED, OK, Chart, base_layout


def backtest_chart(result) -> Chart:
    days = [day.isoformat() for day in result.days]
    data = [
        {"type": "bar", "name": "Current parameters", "x": days, "y": result.current, "marker": {"color": MUTED}},
        {"type": "bar", "name": "Proposed parameters", "x": days, "y": result.proposed, "marker": {"color": ACCENT}},
        {
            "type": "scatter",
            "mode": "lines+markers",
            "name": "Actually raised",
            "x": days,
            "y": result.raised,
            "line": {"color": OK, "dash": "dot", "width": 1.5},
            "marker": {"size": 4},
        },
    ]
    layout = base_layout(height=260, barmode="group", yaxis={**base_layout()["yaxis"], "title": "alerts"})
    quiet = not any(result.current) and not any(result.proposed) and not any(result.raised)
    return Chart(
        id="backtest-chart",
        label=(
            f"Alerts per day over the last {len(days) - 1} days: {result.current_total} with the current parameters, "
            f"{result.proposed_total} with the proposed ones, {result.raised_total} actually raised."
        ),
        figure={"data": data, "layout": layout, "config": CONFIG},
        empty="Neither parameter set would have raised an alert in this period." if quiet else "",
    )
