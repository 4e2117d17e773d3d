"""The stored credential after the key that encrypted it is gone: every user of the configuration
says so with the same sentence, and nothing is sent to Microsoft."""

import pytest

from alerts.feeds.cycle import m365_pull_cycle
from investigations.connectors.base import PermanentError
from investigations.connectors.msgraph import MsGraphConnector
from m365.check import m365_check
from m365.config import ConfigError, config_get
from m365.connection import m365_connection_update
from m365.endpoints import with_path

pytestmark = pytest.mark.django_db
TENANT, CLIENT = "6f3c2a1e-9b8d-4e7f-a1b2-c3d4e5f60718", "0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f5a"
UNREADABLE = "The stored Microsoft 365 credential cannot be decrypted"


@pytest.fixture
def key_rotated(settings, monkeypatch, admin_user):
    """A secret saved on the Connectors page, then SECRET_KEY replaced (M365_SECRET_KEY unset)."""
    monkeypatch.delenv("M365_SECRET_KEY", raising=False)
    settings.M365_TENANT_ID = settings.M365_CLIENT_ID = settings.M365_CLIENT_SECRET = ""
    settings.M365_CERTIFICATE_PATH = ""
    m365_connection_update(
        actor=admin_user,
        tenant_id=TENANT,
        client_id=CLIENT,
        feeds=["signins"],
        accepted_domains=[],
        client_secret="Qx8~a-secret-value",  # noqa: S106 - a test value
    )
    settings.SECRET_KEY = "another-key-" + "x" * 50


def test_config_get_says_the_credential_must_be_entered_again(key_rotated):
    with pytest.raises(ConfigError, match=UNREADABLE):
        config_get()


def test_the_pull_check_and_connector_each_report_the_unreadable_credential(key_rotated):
    assert m365_pull_cycle().skipped.startswith(UNREADABLE)
    [item] = m365_check()
    assert (item.label, item.ok) == ("Configuration", False) and item.detail.startswith(UNREADABLE)
    with pytest.raises(PermanentError, match=UNREADABLE):
        MsGraphConnector().client  # noqa: B018 - the property builds the client from the configuration


@pytest.mark.parametrize("suffix", ["", "/"])
def test_graph_and_management_urls_may_be_bare_hosts_as_microsoft_lists_them_per_cloud(tenant_logs, settings, suffix):
    settings.M365_GRAPH_URL = tenant_logs.url("graph") + suffix
    settings.M365_MANAGEMENT_URL = tenant_logs.url("manage") + suffix

    report = m365_pull_cycle()

    assert report.ok, report
    assert report.fetched == 18
    assert all(path.startswith("/v1.0/") for *_, path, _ in tenant_logs.calls("graph"))
    assert all(path.startswith("/api/v1.0/") for *_, path, _ in tenant_logs.calls("manage"))


def test_a_base_url_with_its_version_path_is_kept_as_it_is():
    assert with_path("https://graph.microsoft.us/v1.0/", "/v1.0") == "https://graph.microsoft.us/v1.0"
    assert with_path("https://proxy.example/graph/beta", "/v1.0") == "https://proxy.example/graph/beta"
    assert with_path("https://manage.office365.us", "/api/v1.0") == "https://manage.office365.us/api/v1.0"
