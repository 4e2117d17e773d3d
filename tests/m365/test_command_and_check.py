"""``manage.py m365 pull|check``, the beat task, and which connector remediation uses."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from airportal.celery import app
from alerts.models import Event
from alerts.tasks import m365_pull
from investigations.connectors import get_connector
from m365.check import m365_check
from m365.config import connection_get
from m365.models import M365Connection

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command("m365", *args, stdout=out)
    return out.getvalue()


def test_m365_pull_runs_a_cycle_and_prints_what_each_stream_fetched(tenant_logs):
    output = run("pull")

    lines = {line.split()[0]: line for line in output.splitlines() if line and not line.startswith(" ")}
    assert "4 record(s) from 4 content blob(s): 4 new" in lines["audit:Audit.Exchange"]
    assert "5 record(s): 5 new, 0 duplicate(s)" in lines["signins"]
    assert "lag 0 min" in lines["message_trace"]
    assert "Fetched 18 record(s) in 6 stream(s)." in output
    assert Event.objects.count() == 18


def test_m365_pull_fails_with_the_reason_when_a_stream_fails(tenant_logs):
    tenant_logs.roles["graph"].discard("SecurityAlert.Read.All")

    with pytest.raises(CommandError, match="Some streams failed"):
        run("pull")


def test_m365_pull_without_a_tenant_says_so(settings, db):
    settings.M365_TENANT_ID = ""

    with pytest.raises(CommandError, match="No Microsoft 365 tenant is configured"):
        run("pull")


def test_the_beat_task_runs_the_same_cycle_on_the_ingest_queue(tenant_logs, settings):
    assert settings.CELERY_BEAT_SCHEDULE["m365-pull"]["task"] == "alerts.m365_pull"
    assert settings.CELERY_BEAT_SCHEDULE["m365-pull"]["options"]["queue"] == "ingest"
    assert app.tasks["alerts.m365_pull"].queue == "ingest"

    m365_pull.delay()

    assert Event.objects.count() == 18


def test_check_passes_when_every_permission_is_granted(fake_microsoft):
    output = run("check")

    assert "The connector is ready." in output
    assert "[ok ] Microsoft Graph: User-PasswordProfile.ReadWrite.All: Granted." in output


def test_check_names_exactly_the_missing_permissions(fake_microsoft):
    fake_microsoft.roles["graph"] -= {"AuditLog.Read.All", "Mail.ReadWrite"}

    items = {item.label: item for item in m365_check()}

    failed = sorted(label for label, item in items.items() if not item.ok)
    assert failed == ["Microsoft Graph: AuditLog.Read.All", "Microsoft Graph: Mail.ReadWrite"]
    assert items["Microsoft Graph: Mail.ReadWrite"].detail == (
        "Missing: grant Mail.ReadWrite (Microsoft Graph) and admin consent, "
        "to move phishing messages to Recoverable Items."
    )
    with pytest.raises(CommandError, match="2 check"):
        run("check")


def test_a_permission_only_a_disabled_feed_needs_is_not_required(fake_microsoft):
    connection_get()
    M365Connection.objects.filter(pk=1).update(feeds=["audit", "alerts", "message_trace"])
    fake_microsoft.roles["graph"].discard("AuditLog.Read.All")

    [item] = [item for item in m365_check() if item.label == "Microsoft Graph: AuditLog.Read.All"]

    assert not item.ok and not item.required
    assert "The connector is ready." in run("check")


def test_check_finds_a_missing_exchange_role_the_token_cannot_show(fake_microsoft):
    fake_microsoft.exchange_role_assigned = False

    [probe] = [item for item in m365_check() if item.label == "Run an Exchange Online cmdlet"]

    assert not probe.ok and "403" in probe.detail and "Exchange.ManageAsApp" in probe.detail


def test_check_stops_at_a_wrong_secret_with_entras_reason(fake_microsoft, settings):
    settings.M365_CLIENT_SECRET = "wrong-value"

    items = m365_check()

    assert [item.ok for item in items] == [True, False]
    assert "AADSTS7000215" in items[-1].detail


def test_remediation_uses_msgraph_when_a_tenant_is_configured(fake_microsoft, settings):
    settings.REMEDIATION_CONNECTOR = ""
    assert get_connector().name == "msgraph"

    settings.REMEDIATION_CONNECTOR = "simulated"
    assert get_connector().name == "simulated"


def test_remediation_uses_the_simulated_tenant_when_none_is_configured(settings, db):
    settings.REMEDIATION_CONNECTOR = ""
    settings.M365_TENANT_ID = settings.M365_CLIENT_ID = settings.M365_CLIENT_SECRET = ""
    assert get_connector().name == "simulated"

    settings.REMEDIATION_CONNECTOR = "msgraph"
    assert get_connector().name == "msgraph"
