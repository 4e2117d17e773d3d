"""The metrics page in Chromium: every chart is drawn with data, no console error, no CSP violation."""

from datetime import timedelta

from django.utils import timezone

from alerts.models import Alert, Severity
from investigations.models import Action, Investigation
from tests.factories import ActionFactory, AlertFactory, AlertPolicyFactory, IdentityFactory, InvestigationFactory


def _recent_activity(analyst):
    AlertPolicyFactory(detector="suspicious_inbox_rule", name="Suspicious inbox rule")
    identity = IdentityFactory(upn="bob@contoso.com")
    now = timezone.now()
    for day, severity in enumerate([Severity.HIGH, Severity.MEDIUM, Severity.LOW, Severity.HIGH]):
        alert = AlertFactory(
            identity=identity,
            severity=severity,
            assignee=analyst,
            first_activity_at=now - timedelta(days=day, hours=2),
            acknowledged_at=now - timedelta(days=day) + timedelta(minutes=20),
            classification=Alert.Classification.TRUE_POSITIVE if day % 2 else Alert.Classification.FALSE_POSITIVE,
        )
        Alert.objects.filter(pk=alert.pk).update(created_at=now - timedelta(days=day))
        investigation = InvestigationFactory(identity=identity, status=Investigation.Status.REMEDIATED)
        investigation.alerts.add(alert)
        ActionFactory(
            investigation=investigation,
            status=Action.Status.SUCCEEDED,
            approved_by=analyst,
            approved_at=now - timedelta(days=day) + timedelta(minutes=30),
            finished_at=now - timedelta(days=day) + timedelta(hours=1),
        )


def test_metrics_page_draws_every_chart(page, manager, analyst):
    _recent_activity(analyst)
    page.sign_in("maria")
    page.goto("/reports/metrics/")
    page.page.wait_for_load_state("networkidle")
    charts = page.page.locator("[data-plotly]")
    assert charts.count() == 7
    page.page.wait_for_function(
        "[...document.querySelectorAll('[data-plotly]')].every(el => el.dataset.rendered === '1')", timeout=15000
    )
    traces = page.page.evaluate(
        "Object.fromEntries([...document.querySelectorAll('[data-plotly]')]"
        ".map(el => [el.dataset.plotly, (el.data || []).length]))"
    )
    assert all(count > 0 for count in traces.values()), traces
    # The alerts-per-day chart carries the four alerts; SVG bars are drawn.
    total = page.page.evaluate(
        "document.querySelector('[data-plotly=\"chart-alerts-per-day\"]').data"
        ".reduce((sum, trace) => sum + trace.y.reduce((a, b) => a + b, 0), 0)"
    )
    assert total == 4
    assert page.page.locator("[data-plotly='chart-alerts-per-day'] .main-svg").count() > 0
    assert page.page.locator("[data-metric='alerts']").inner_text() == "4"
    page.screenshot("metrics")
    page.assert_clean()


def test_history_record_and_printable_report(page, manager, analyst):
    _recent_activity(analyst)
    page.sign_in("maria")
    page.goto("/reports/history/")
    page.page.get_by_role("link", name="#", exact=False).first.click()
    page.page.wait_for_load_state("networkidle")
    assert page.page.get_by_role("heading", name="Actions (1)").is_visible()
    page.page.get_by_role("link", name="Printable report").click()
    page.page.wait_for_load_state("networkidle")
    assert "report" in page.page.title().lower()
    page.screenshot("investigation-report")
    page.assert_clean()
