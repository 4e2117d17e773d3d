"""Sign-in streams: interactive from Graph v1.0, non-interactive from Graph beta when switched on."""

import pytest

from alerts.feeds.cycle import m365_pull_cycle
from alerts.models import Event
from tests.m365 import records
from tests.m365.records import LEE

pytestmark = pytest.mark.django_db


@pytest.fixture
def replayed_token(tenant_logs):
    """Lee's refresh token redeemed from elsewhere: non-interactive sign-ins only."""
    tenant_logs.signins += [records.noninteractive_signin(tenant_logs.days_ago(days), LEE, ip="198.51.100.7")
                            for days in (0.2, 1.2)]  # fmt: skip
    return tenant_logs


def test_non_interactive_sign_ins_are_not_pulled_unless_switched_on(replayed_token, settings):
    settings.M365_NONINTERACTIVE_SIGNINS = False

    report = m365_pull_cycle()

    assert report.ok, report
    assert "signins_noninteractive" not in [run.stream for run in report.runs]
    assert not Event.objects.filter(ip="198.51.100.7").exists()  # v1.0 lists interactive sign-ins only


def test_switched_on_non_interactive_sign_ins_come_from_graph_beta_with_the_event_type_filter(replayed_token, settings):
    settings.M365_NONINTERACTIVE_SIGNINS = True

    report = m365_pull_cycle()

    assert report.ok, report
    fetched = {run.stream: run.fetched for run in report.runs}
    assert fetched["signins"] == 5 and fetched["signins_noninteractive"] == 2
    replayed = Event.objects.filter(source="entra-signins", ip="198.51.100.7")
    assert replayed.count() == 2
    assert all(event.attributes["is_interactive"] is False for event in replayed)
    beta = [query for _, _, path, query in replayed_token.calls("graph", "GET") if path.startswith("/beta/")]
    assert beta and all("signInEventTypes/any(t: t eq 'nonInteractiveUser')" in q["$filter"] for q in beta)
