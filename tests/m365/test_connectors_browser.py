"""The Connectors page in Chromium: save the app registration, test the connection, pull now."""

import pytest

from alerts.models import Event

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_an_admin_connects_the_tenant_tests_it_and_pulls(page, admin_user, tenant_logs, settings):
    settings.M365_TENANT_ID = settings.M365_CLIENT_ID = settings.M365_CLIENT_SECRET = ""
    page.sign_in("ada")
    page.goto("/alerts/connectors/")
    page.page.get_by_label("Tenant (directory) id").fill(tenant_logs.tenant_id)
    page.page.get_by_label("Client (application) id").fill(tenant_logs.client_id)
    page.page.get_by_label("Client secret").fill(tenant_logs.client_secret)
    page.page.get_by_label("Accepted domains").fill("contoso.com")
    page.page.get_by_role("button", name="Save").click()
    page.page.wait_for_load_state("networkidle")
    assert "Connector settings saved." in page.page.content()
    assert tenant_logs.client_secret not in page.page.content()

    page.page.get_by_role("button", name="Test connection").click()
    page.page.wait_for_selector("#check-results table")
    assert "missing" not in page.page.locator("#check-results").inner_text()

    page.page.get_by_role("button", name="Pull now").click()
    page.page.wait_for_selector("#feed-status code")
    page.page.wait_for_selector("#feed-status:not([hx-get])", timeout=15000)
    assert Event.objects.count() == 18
    assert "signins" in page.page.locator("#feed-status").inner_text()
    page.screenshot("connectors")
    page.assert_clean()
