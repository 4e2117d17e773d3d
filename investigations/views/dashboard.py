"""The dashboard: new alerts by severity, investigations by status, the oldest pending approvals."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from airportal.roles import Capability, capability_required
from airportal.services import portal_settings_get
from alerts import charts
from alerts.selectors.alerts import alert_counts_by_severity, alerts_per_day_by_detector
from investigations.models import Investigation
from investigations.selectors.actions import actions_pending, actions_pending_count
from investigations.selectors.investigations import investigation_counts_by_status

STATUS_COLORS = {
    "queued": "#6cb6ff",
    "running": "#4da3ff",
    "pending_action": "#ffa94d",
    "remediated": "#3ecf8e",
    "partially_remediated": "#f5d547",
    "no_threats_found": "#2a9d8f",
    "failed": "#ff5d5d",
    "terminated": "#8b98a9",
}


@require_GET
@capability_required(Capability.VIEW)
def dashboard(request):
    """New alerts by severity, investigations by status, the oldest pending approvals, 14 days of alerts."""
    days, per_day = alerts_per_day_by_detector(days=14)
    by_status = investigation_counts_by_status()
    status_labels = dict(Investigation.Status.choices)
    status_rows = [(status, status_labels[status], count) for status, count in by_status.items()]
    settings = portal_settings_get()
    pending = actions_pending(limit=10).rows
    context = {
        "new_by_severity": alert_counts_by_severity(),
        "open_investigations": sum(by_status[s] for s in Investigation.OPEN_STATUSES),
        "by_status": status_rows,
        "pending": pending,
        "pending_total": actions_pending_count(),
        "sla_minutes": settings.action_sla_minutes,
        "alerts_chart": charts.Chart(
            id="chart-alerts-14d",
            label="Alerts raised per day over the last 14 days, by detector",
            figure=charts.alerts_by_detector_figure(per_day, days),
            empty="" if per_day else "No alerts in the last 14 days.",
        ),
        "status_chart": charts.Chart(
            id="chart-investigations",
            label="Investigations by status",
            figure=charts.count_bars_figure(status_rows, STATUS_COLORS),
            empty="" if any(count for _, _, count in status_rows) else "No investigations yet.",
        ),
    }
    return render(request, "investigations/dashboard.html", context)
