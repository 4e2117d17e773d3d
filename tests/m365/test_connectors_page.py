"""The Connectors page: admin only, the credential encrypted and never shown, test, pull, status."""

import logging
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from airportal.models import AuditEntry
from airportal.services import portal_settings_get
from alerts.models import Event, M365FeedState
from m365 import crypto
from m365.config import config_get, connection_get
from m365.models import M365Connection
from tests.m365.fake.tls import make_app_certificate

pytestmark = pytest.mark.django_db
URL = reverse("alerts:connector_settings")
TENANT, CLIENT = "6f3c2a1e-9b8d-4e7f-a1b2-c3d4e5f60718", "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"
SECRET = "Qx8~page-secret-value.Zz"  # noqa: S105 - a test value


@pytest.fixture
def no_environment(settings):
    """The app registration comes from the page only."""
    settings.M365_TENANT_ID = settings.M365_CLIENT_ID = settings.M365_CLIENT_SECRET = ""
    settings.M365_CERTIFICATE_PATH = ""


def form_data(**overrides):
    data = {
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "client_secret": SECRET,
        "feeds": ["audit", "signins", "alerts", "message_trace"],
        "accepted_domains": "contoso.com\nContoso.onmicrosoft.com",
    }
    return {**data, **overrides}


def test_only_admins_reach_the_connectors_page(client, analyst, admin_user):
    assert client.get(URL).status_code == 302  # to the sign-in page
    client.force_login(analyst)
    assert client.get(URL).status_code == 403
    assert client.post(reverse("alerts:connector_pull")).status_code == 403
    client.force_login(admin_user)
    assert client.get(URL).status_code == 200


def test_the_secret_is_stored_encrypted_audited_without_its_value_and_never_shown_again(
    admin_client, no_environment, caplog
):
    caplog.set_level(logging.DEBUG)

    response = admin_client.post(URL, form_data(), follow=True)

    assert response.status_code == 200 and b"Connector settings saved." in response.content
    connection = M365Connection.objects.get(pk=1)
    assert (connection.tenant_id, connection.client_id, connection.credential_kind) == (TENANT, CLIENT, "secret")
    assert SECRET not in connection.credential_encrypted
    assert crypto.decrypt(connection.credential_encrypted) == SECRET
    assert config_get().client_secret == SECRET
    page = admin_client.get(URL).content.decode()
    assert SECRET not in page and "client secret" in page
    entry = AuditEntry.objects.get(verb="m365.connection_changed")
    assert entry.changes["credential"] == "client secret replaced" and SECRET not in str(entry.changes)
    assert SECRET not in response.content.decode() and SECRET not in caplog.text
    assert portal_settings_get().accepted_domains == ["contoso.com", "contoso.onmicrosoft.com"]


def test_saving_without_a_secret_keeps_the_stored_one(admin_client, no_environment):
    admin_client.post(URL, form_data())

    admin_client.post(URL, form_data(client_secret="", feeds=["alerts"]))

    assert config_get().client_secret == SECRET
    assert connection_get().feeds == ["alerts"]


def test_a_bad_tenant_id_is_refused_with_a_reason_and_nothing_is_saved(admin_client, no_environment):
    response = admin_client.post(URL, form_data(tenant_id="contoso", accepted_domains="contoso.com"))

    assert response.status_code == 400
    assert b"Tenant id must be a GUID" in response.content
    assert connection_get().credential_encrypted == ""
    assert portal_settings_get().accepted_domains == []
    assert not AuditEntry.objects.filter(verb="m365.connection_changed").exists()


def test_a_bad_accepted_domain_is_refused(admin_client, no_environment):
    response = admin_client.post(URL, form_data(accepted_domains="contoso.com\nnot a domain!"))

    assert response.status_code == 400
    assert b"is not a domain name" in response.content
    assert connection_get().tenant_id == ""


def test_a_certificate_is_accepted_and_only_its_thumbprint_is_shown(admin_client, no_environment):
    pem = make_app_certificate()
    upload = SimpleUploadedFile("app.pem", pem.encode(), content_type="application/x-pem-file")

    admin_client.post(URL, form_data(client_secret="", certificate=upload))

    connection = connection_get()
    assert connection.credential_kind == "certificate"
    assert config_get().certificate.thumbprint_sha1.upper() in connection.credential_hint
    page = admin_client.get(URL).content.decode()
    assert "PRIVATE KEY" not in page and connection.credential_hint in page


def test_environment_settings_are_shown_read_only_and_win_over_the_form(admin_client, fake_microsoft):
    response = admin_client.post(URL, form_data(tenant_id="11111111-2222-3333-4444-555555555555", feeds=["alerts"]))

    assert response.status_code == 302
    assert connection_get().tenant_id == "" and connection_get().credential_encrypted == ""
    assert config_get().tenant_id == fake_microsoft.tenant_id
    page = admin_client.get(URL).content.decode()
    assert "M365_CLIENT_SECRET" in page and "set (hidden)" in page
    assert fake_microsoft.client_secret not in page


def test_test_connection_lists_the_missing_permission(admin_client, fake_microsoft):
    fake_microsoft.roles["graph"].discard("Mail.ReadWrite")

    response = admin_client.post(reverse("alerts:connector_test"), HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert response.status_code == 200 and 'id="check-results"' in content and "<html" not in content
    assert "Missing: grant Mail.ReadWrite (Microsoft Graph) and admin consent" in content
    assert fake_microsoft.client_secret not in content


def test_pull_now_queues_the_cycle_after_commit_and_polls_until_it_has_run(
    admin_client, tenant_logs, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("alerts:connector_pull"), HTTP_HX_REQUEST="true")

    assert "toast" in response.headers["HX-Trigger"]
    assert 'hx-trigger="every 3s"' in response.content.decode()
    assert Event.objects.count() == 18
    since = response.content.decode().split("since=")[1].split('"')[0]
    status = admin_client.get(reverse("alerts:connector_status") + f"?since={since}", HTTP_HX_REQUEST="true")
    assert status.status_code == 286  # the cycle has run: htmx stops polling
    assert "signins" in status.content.decode()


def test_errors_from_microsoft_are_shown_escaped(admin_client, no_environment):
    M365FeedState.objects.create(stream="signins", last_error="<script>alert(1)</script> refused")

    page = admin_client.get(URL).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt; refused" in page and "<script>alert(1)" not in page


def test_the_page_makes_a_constant_number_of_queries(admin_client, no_environment, django_assert_num_queries):
    admin_client.get(URL)
    for stream in ("signins", "alerts", "audit:Audit.Exchange", "audit:Audit.General", "message_trace"):
        M365FeedState.objects.create(stream=stream, last_fetched=3)

    with django_assert_num_queries(7):
        admin_client.get(URL)


def test_test_connection_links_the_admin_consent_page_and_flags_an_expiring_secret(admin_client, fake_microsoft):
    fake_microsoft.roles["graph"].add("Application.Read.All")
    fake_microsoft.secret_expires = timezone.now() + timedelta(days=5)

    content = admin_client.post(reverse("alerts:connector_test"), HTTP_HX_REQUEST="true").content.decode()

    consent = (
        f"{fake_microsoft.url('login')}/{fake_microsoft.tenant_id}/adminconsent?client_id={fake_microsoft.client_id}"
    )
    assert f'<a href="{consent}"' in content
    assert '<span class="badge status-failed">warning</span>' in content and "in 4 day(s)" in content
