"""Accepted domains read from the tenant (Graph ``GET /domains``) through the fake Microsoft cloud."""

import pytest

from airportal.services import portal_settings_get, portal_settings_update
from alerts.domains import accepted_domains_refresh, tenant_domains
from alerts.tasks import accepted_domains_refresh_task
from m365.client import AccessDenied

pytestmark = pytest.mark.django_db


def graph_domain(name, *, verified=True, services=("Email", "OfficeCommunicationsOnline")):
    return {"id": name, "isVerified": verified, "isDefault": False, "isInitial": False,
            "authenticationType": "Managed", "supportedServices": list(services)}  # fmt: skip


@pytest.fixture
def tenant_domains_in_graph(fake_microsoft):
    fake_microsoft.roles["graph"].add("Domain.Read.All")
    fake_microsoft.domains = [
        graph_domain("contoso.onmicrosoft.com"),
        graph_domain("contoso.com"),
        graph_domain("fabrikam.com"),  # three pages of two: the client must follow nextLink
        graph_domain("pending.example", verified=False),
        graph_domain("intranet.contoso.com", services=("SharePoint",)),
    ]
    return fake_microsoft


def test_verified_mail_domains_are_added_and_what_the_admin_listed_stays(tenant_domains_in_graph, m365_client):
    portal_settings_update(actor=None, accepted_domains=["partner-merged.com"])
    added = accepted_domains_refresh(client=m365_client)
    assert added == ["contoso.com", "contoso.onmicrosoft.com", "fabrikam.com"]
    assert portal_settings_get().accepted_domains == [
        "partner-merged.com",
        "contoso.com",
        "contoso.onmicrosoft.com",
        "fabrikam.com",
    ]
    assert tenant_domains().configured is True
    assert accepted_domains_refresh(client=m365_client) == []  # nothing new, no second audit row


def test_without_the_permission_the_task_keeps_the_stored_domains(fake_microsoft, m365_client):
    fake_microsoft.roles["graph"] -= {"Domain.Read.All", "Directory.Read.All"}
    portal_settings_update(actor=None, accepted_domains=["contoso.com"])
    with pytest.raises(AccessDenied):
        accepted_domains_refresh(client=m365_client)
    accepted_domains_refresh_task()
    assert portal_settings_get().accepted_domains == ["contoso.com"]


def test_the_task_does_nothing_without_a_connection():
    accepted_domains_refresh_task()
    assert portal_settings_get().accepted_domains == []
