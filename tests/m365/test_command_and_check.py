"""``manage.py m365 pull|check``, the beat task, and which connector remediation uses."""

from datetime import timedelta
from io import StringIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.core.management import CommandError, call_command
from django.utils import timezone

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
    assert "0 record(s)" in lines["risk_detections"]
    assert "Fetched 18 record(s) in 8 stream(s)." in output
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

    assert [(item.label, item.ok) for item in items] == [
        ("Configuration", True),
        ("Admin consent", True),
        ("Sign-in to Microsoft Graph", False),
    ]
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


def test_user_readwrite_all_satisfies_password_reset_and_the_directory_role_is_named(fake_microsoft):
    fake_microsoft.roles["graph"] -= {"User-PasswordProfile.ReadWrite.All", "User.RevokeSessions.All",
                                      "User.EnableDisableAccount.All", "User.Read.All"}  # fmt: skip
    fake_microsoft.roles["graph"].add("User.ReadWrite.All")

    items = {item.label: item for item in m365_check()}

    reset = items["Microsoft Graph: User-PasswordProfile.ReadWrite.All"]
    assert reset.ok and "Granted as User.ReadWrite.All." in reset.detail
    assert "User Administrator" in reset.detail and "Privileged Authentication Administrator" in reset.detail
    disable = items["Microsoft Graph: User.EnableDisableAccount.All"]
    assert disable.ok and "Privileged Authentication Administrator" in disable.detail and "admin role" in disable.detail


def test_check_drops_cached_tokens_so_a_new_grant_shows_at_once(fake_microsoft, m365_client):
    fake_microsoft.roles["graph"].discard("AuditLog.Read.All")
    m365_client.granted_roles(f"{fake_microsoft.url('graph')}/.default")  # a token without it, cached
    fake_microsoft.roles["graph"].add("AuditLog.Read.All")  # the admin grants it and consents

    [item] = [item for item in m365_check() if item.label == "Microsoft Graph: AuditLog.Read.All"]

    assert item.ok


def test_check_shows_the_admin_consent_url_of_the_app(fake_microsoft):
    [item] = [item for item in m365_check() if item.label == "Admin consent"]

    login = fake_microsoft.url("login")
    assert f"{login}/{fake_microsoft.tenant_id}/adminconsent?client_id={fake_microsoft.client_id}" in item.detail


def test_check_probes_message_trace_and_names_the_missing_service_principal(fake_microsoft):
    fake_microsoft.message_trace_principal = False

    [probe] = [item for item in m365_check() if item.label == "Read message trace"]

    assert not probe.ok
    assert "create the service principal for the message trace app" in probe.detail.lower()
    assert "8bd644d1-64a1-4d4b-ae52-2e0cbf64e373" in probe.detail
    with pytest.raises(CommandError):
        run("check")


def test_a_secret_expiring_within_30_days_is_warned_about(fake_microsoft):
    fake_microsoft.roles["graph"].add("Application.Read.All")
    fake_microsoft.secret_expires = timezone.now() + timedelta(days=12, hours=1)

    [item] = [item for item in m365_check() if item.label == "Credential expiry"]

    assert not item.ok and not item.required and item.warning
    assert "client secret s3c…" in item.detail and "in 12 day(s)" in item.detail
    assert "[-- ] Credential expiry" in run("check")  # a warning, not a failure


def test_a_secret_far_from_expiry_is_fine_and_without_the_permission_its_end_is_unknown(fake_microsoft):
    [unknown] = [item for item in m365_check() if item.label == "Credential expiry"]
    fake_microsoft.roles["graph"].add("Application.Read.All")
    [known] = [item for item in m365_check() if item.label == "Credential expiry"]

    assert unknown.ok and "unknown" in unknown.detail and "Application.Read.All" in unknown.detail
    assert known.ok and f"valid until {fake_microsoft.secret_expires:%Y-%m-%d}" in known.detail


def test_a_certificate_expiring_within_30_days_is_warned_about_from_its_notafter(fake_microsoft, settings, tmp_path):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "AIR Portal")])
    now = timezone.now()
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(days=700))
            .not_valid_after(now + timedelta(days=3, hours=1)).sign(key, hashes.SHA256()))  # fmt: skip
    pem = tmp_path / "app.pem"
    pem.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    fake_microsoft.certificate_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    settings.M365_CLIENT_SECRET, settings.M365_CERTIFICATE_PATH = "", str(pem)

    [item] = [item for item in m365_check() if item.label == "Credential expiry"]

    assert not item.ok and "certificate" in item.detail and "in 3 day(s)" in item.detail
