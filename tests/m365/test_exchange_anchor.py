"""Exchange admin calls follow one anchor convention: a mailbox cmdlet on the mailbox's UPN, an
organisation-level one on the system mailbox at the tenant's initial domain (never its GUID)."""

import pytest

from m365.check import m365_check
from m365.client import AccessDenied, NotFound
from tests.m365.records import MEGAN

pytestmark = pytest.mark.django_db

ORGANIZATION_ANCHOR = "UPN:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@contoso.onmicrosoft.com"


def exchange_headers(fake) -> list[dict]:
    return [headers for request, headers in zip(fake.requests, fake.request_headers, strict=True)
            if request[0] == "exchange"]  # fmt: skip


def test_a_mailbox_cmdlet_is_anchored_on_the_mailbox_and_names_itself(fake_microsoft, m365_client):
    fake_microsoft.add_user(MEGAN)

    m365_client.invoke_cmdlet("Get-Mailbox", anchor=MEGAN, permission="p", Identity=MEGAN)

    [headers] = exchange_headers(fake_microsoft)
    assert headers["x-anchormailbox"] == f"UPN:{MEGAN}"
    assert headers["x-cmdletname"] == "Get-Mailbox" and headers["x-responseformat"] == "json"
    assert not fake_microsoft.calls("graph", "GET", "/domains")  # a mailbox call needs no domain


def test_an_organisation_cmdlet_is_anchored_on_the_system_mailbox_at_the_initial_domain(fake_microsoft, m365_client):
    for _ in range(2):
        with pytest.raises(NotFound):  # no such rule; the anchor is what counts
            m365_client.invoke_cmdlet("Get-TransportRule", anchor=MEGAN, permission="p", Identity="AIR Portal: x")

    assert [h["x-anchormailbox"] for h in exchange_headers(fake_microsoft)] == [ORGANIZATION_ANCHOR] * 2
    assert len(fake_microsoft.calls("graph", "GET", "/domains")) == 1  # read once per process


def test_m365_organization_names_the_initial_domain_without_asking_graph(fake_microsoft, m365_client, settings):
    settings.M365_ORGANIZATION = "fabrikam.onmicrosoft.com"
    fake_microsoft.roles["graph"].discard("Domain.Read.All")

    m365_client.invoke_cmdlet("Get-Mailbox", anchor=None, permission="p", ResultSize=1)

    [headers] = exchange_headers(fake_microsoft)
    assert (
        headers["x-anchormailbox"] == "UPN:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@fabrikam.onmicrosoft.com"
    )
    assert not fake_microsoft.calls("graph")


def test_without_the_domain_an_organisation_call_says_what_to_grant_or_set(fake_microsoft, m365_client):
    fake_microsoft.roles["graph"].discard("Domain.Read.All")

    with pytest.raises(AccessDenied) as raised:
        m365_client.invoke_cmdlet("Get-TransportRule", anchor=None, permission="p")

    assert "Domain.Read.All" in raised.value.message and "M365_ORGANIZATION" in raised.value.message
    assert not exchange_headers(fake_microsoft)


def test_the_connection_probe_uses_the_organisation_anchor_not_the_tenant_guid(fake_microsoft):
    [probe] = [item for item in m365_check() if item.label == "Run an Exchange Online cmdlet"]

    assert probe.ok and "contoso.onmicrosoft.com" in probe.detail
    [headers] = exchange_headers(fake_microsoft)
    assert headers["x-anchormailbox"] == ORGANIZATION_ANCHOR
    assert fake_microsoft.tenant_id not in headers["x-anchormailbox"]
