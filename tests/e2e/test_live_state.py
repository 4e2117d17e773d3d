"""The "Current state" tab in the browser: htmx swaps it in, no reload, no console or CSP error."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.investigations.support import T0, forwarding_event, identity, investigate
from tests.investigations.test_live_state import hidden_rule, risky_signin


@pytest.fixture
def nestor_case(transactional_db, django_capture_on_commit_callbacks):
    nestor = identity("nestor.wilke")
    risky_signin(nestor)
    forwarding_event(nestor, T0 + timedelta(minutes=10), ["nestor.backup@gmail.com"])
    hidden_rule(nestor, "Sync")
    return investigate(nestor, django_capture_on_commit_callbacks)


def test_the_current_state_tab_opens_in_place(page, analyst, nestor_case):
    page.sign_in("alice")
    page.goto(f"/investigations/{nestor_case.pk}/")
    page.page.evaluate("window.__noReload = true")
    page.page.get_by_role("tab", name="Current state").click()
    table = page.page.locator("table.live-state")
    expect(table).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(2)  # the hidden rule and the forwarding
    expect(table).to_contain_text("Live read only")
    expect(table).to_contain_text("Remove inbox rule")
    assert page.page.evaluate("window.__noReload === true")
    assert "tab=state" in page.page.url
    page.screenshot("investigation-current-state")
    page.assert_clean()
