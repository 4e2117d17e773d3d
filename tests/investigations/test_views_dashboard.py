"""The dashboard: what needs a person now, in a fixed number of queries."""

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from alerts.models import Alert
from investigations.models import Action, Investigation
from tests.factories import ActionFactory, AlertFactory, InvestigationFactory

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("dashboard")


def figure(html: str, chart_id: str) -> dict:
    return json.loads(re.search(rf'<script id="{chart_id}" type="application/json">(.*?)</script>', html, re.S)[1])


def test_dashboard_counts_new_alerts_by_severity_and_charts_14_days_by_detector(analyst_client):
    AlertFactory.create_batch(2, severity="high", detector="external_forwarding")
    AlertFactory(severity="low", detector="suspicious_signin")
    AlertFactory(severity="high", status=Alert.Status.RESOLVED)
    old = AlertFactory(severity="medium", detector="suspicious_signin")
    Alert.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=20))
    html = analyst_client.get(DASHBOARD).content.decode()
    counts = dict(re.findall(r'<span class="stat-label">New · (\w+)</span>\s*<span class="stat">(\d+)</span>', html))
    assert counts == {"high": "2", "medium": "1", "low": "1", "informational": "0"}
    chart = figure(html, "chart-alerts-14d")
    totals = {trace["name"]: sum(trace["y"]) for trace in chart["data"]}
    # every alert raised in the last 14 days counts, whatever its status; the 20-day-old one does not
    assert totals == {"external forwarding": 2, "suspicious signin": 1, "suspicious inbox rule": 1}
    assert len(chart["data"][0]["x"]) == 14


def test_dashboard_lists_pending_approvals_oldest_first_with_the_sla(analyst_client):
    investigation = InvestigationFactory(status=Investigation.Status.PENDING_ACTION)
    late = ActionFactory(investigation=investigation, kind=Action.Kind.REVOKE_SESSIONS)
    fresh = ActionFactory(investigation=investigation, kind=Action.Kind.RESET_PASSWORD)
    Action.objects.filter(pk=late.pk).update(created_at=timezone.now() - timedelta(hours=2))
    html = analyst_client.get(DASHBOARD).content.decode()
    assert html.index("Revoke sessions") < html.index("Reset password")
    assert "over SLA" in html and "4-eyes" in html
    statuses = figure(html, "chart-investigations")["data"][0]
    assert dict(zip(statuses["y"], statuses["x"], strict=True))["Pending action"] == 1
    assert fresh.status == Action.Status.PENDING_APPROVAL


def test_dashboard_query_count_does_not_grow(analyst_client, django_assert_num_queries):
    ActionFactory()
    AlertFactory()
    analyst_client.get(DASHBOARD)
    with CaptureQueriesContext(connection) as few:
        analyst_client.get(DASHBOARD)
    for _ in range(12):
        ActionFactory()
        AlertFactory()
    with django_assert_num_queries(len(few.captured_queries)):
        analyst_client.get(DASHBOARD)
