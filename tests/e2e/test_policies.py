"""The Policies page in Chromium: edit parameters, run the back-test, see the chart; no CSP violation."""

from datetime import timedelta

from django.utils import timezone

from alerts.models import AlertPolicy
from tests.alerts.support.detection import detect, identity, rule_event


def test_policy_backtest_draws_current_against_proposed(page, admin_user):
    now = timezone.now()
    for day in range(1, 6):
        who = identity(f"user{day}")
        detect(
            [
                rule_event(
                    who,
                    now - timedelta(days=day),
                    {"name": "tidy", "move_to_folder": "Archive", "forward_to": ["boss@contoso.com"]},
                )
            ]
        )
    policy = AlertPolicy.objects.get(detector="suspicious_inbox_rule")
    page.sign_in("ada")
    page.goto(f"/alerts/policies/{policy.pk}/")
    page.page.get_by_label("Score to alert").fill("4")
    page.page.get_by_role("button", name="Run back-test").click()
    page.page.wait_for_selector("[data-plotly='backtest-chart']")
    page.page.wait_for_function("document.querySelector(\"[data-plotly='backtest-chart']\").dataset.rendered === '1'")
    summary = page.page.locator("#backtest p").first.inner_text()
    assert "5 alerts with the current parameters, 0 with the proposed ones" in summary
    page.screenshot("policy-backtest")
    page.page.get_by_role("button", name="Save as version 2").click()
    page.page.wait_for_load_state("networkidle")
    assert "parameters.min_score" in page.page.locator("#history-heading + div").inner_text()
    page.assert_clean()
