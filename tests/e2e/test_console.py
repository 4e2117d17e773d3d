"""The analyst's day in the browser: queue → alert → timeline → investigation → decisions → history.

The tenant is the demo tenant, ingested through the real pipeline (adapters, detectors, the
playbook), so the pages show what a SOC would see. Remediation tasks run eagerly in the test
process (CELERY_TASK_ALWAYS_EAGER), so an approved action finishes within the request that
approved it; the rows still update in place, without a page load.
"""

import re

import pytest
from playwright.sync_api import expect

from demo.loader import demo_tenant_load
from investigations.models import Action

MEGAN = "megan.bowen@contoso.com"


@pytest.fixture
def tenant(transactional_db):
    demo_tenant_load(log=lambda line: None)


def plotted_traces(page) -> list[int]:
    """How many traces each plotly chart on the page holds (plotly sets ``el.data``)."""
    page.wait_for_function(
        "document.querySelectorAll('[data-plotly]').length === document.querySelectorAll('.js-plotly-plot').length"
    )
    return page.evaluate("Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => (el.data || []).length)")


def mark_document(page):
    """Tag the loaded document; if the page reloads, the tag is gone."""
    page.evaluate("window.__noReload = true")


def still_same_document(page) -> bool:
    return page.evaluate("window.__noReload === true")


def test_analyst_triages_investigates_and_decides_without_reloading(page, analyst, analyst2, tenant):
    browser = page.page
    page.sign_in("alice")
    page.screenshot("console-dashboard")
    assert plotted_traces(browser) and all(n > 0 for n in plotted_traces(browser))
    page.assert_clean()

    # The queue, filtered to high severity (htmx swaps the table and pushes the URL).
    browser.get_by_role("navigation", name="Main").get_by_role("link", name="Alerts").click()
    expect(browser.get_by_role("heading", name="Alerts")).to_be_visible()
    mark_document(browser)
    browser.get_by_label("High", exact=True).check()
    expect(browser).to_have_url(re.compile(r"severity=high"))
    rows = browser.locator("#queue-results tbody tr")
    expect(rows.first).to_be_visible()
    severities = rows.locator("td:nth-child(2)").all_inner_texts()
    assert severities and set(severities) == {"High"}
    assert still_same_document(browser)
    page.screenshot("console-alert-queue")
    page.assert_clean()

    # An alert, then its user's timeline with the three charts drawn.
    browser.get_by_role("link", name=re.compile("Mail forwarded outside the tenant")).click()
    expect(browser.get_by_role("heading", name=re.compile("Mail forwarded outside the tenant"))).to_be_visible()
    page.screenshot("console-alert")
    page.assert_clean()
    browser.get_by_role("link", name="User timeline").click()
    expect(browser.get_by_role("heading", name="Megan Bowen")).to_be_visible()
    traces = plotted_traces(browser)
    assert len(traces) == 3 and all(n > 0 for n in traces), traces
    browser.locator("#kind-filter").get_by_role("checkbox", name=re.compile("^Mailbox forwarding set")).check()
    expect(browser).to_have_url(re.compile(r"kind=mailbox_forwarding_set"))
    event = browser.locator("#timeline-events summary", has_text="Mailbox forwarding set").first
    event.click()  # expand the event: its raw record loads on demand
    expect(browser.locator(".ev[open] .raw-json").first).to_be_visible()
    page.screenshot("console-user-timeline")
    page.assert_clean()

    # The investigation, and a decision that runs and reports back in place.
    browser.locator(".identity-facts").get_by_role("link", name=re.compile(r"#\d+")).click()
    expect(browser.get_by_role("heading", name=re.compile("Investigation #"))).to_be_visible()
    expect(browser.get_by_role("tab", name=re.compile("Actions"))).to_have_attribute("aria-selected", "true")
    mark_document(browser)
    browser.get_by_role("button", name=re.compile("^Approve: Disable mailbox forwarding")).click()
    forwarding = browser.locator("tr", has_text="Disable mailbox forwarding")
    expect(forwarding.locator(".badge.status-succeeded")).to_have_text("Succeeded")
    expect(forwarding).to_contain_text("Approved by alice")
    assert still_same_document(browser)

    # Reject another with a comment in the dialog.
    browser.get_by_role("button", name=re.compile("^Reject: Restrict sending")).click()
    dialog = browser.get_by_role("dialog")
    dialog.get_by_label("Why do you reject it?").fill("Sending is already blocked by a transport rule")
    dialog.get_by_role("button", name="Reject action").click()
    restrict = browser.locator("tr", has_text="Restrict sending")
    expect(restrict.locator(".badge.status-rejected")).to_have_text("Rejected")
    assert still_same_document(browser)

    # The first of two approvals of a four-eyes action.
    browser.get_by_role("button", name=re.compile("^Approve: Reset password")).click()
    expect(browser.locator("tr", has_text="Reset password")).to_contain_text("1 of 2 approvals")
    for tab in ("Findings", "Log"):
        browser.get_by_role("tab", name=re.compile(tab)).click()
        expect(browser.get_by_role("tab", name=re.compile(tab))).to_have_attribute("aria-selected", "true")
    page.screenshot("console-investigation")
    page.assert_clean()

    # The rejection is in the action center's history.
    browser.get_by_role("navigation", name="Main").get_by_role("link", name="Action center").click()
    browser.get_by_role("link", name="History").click()
    browser.get_by_label("Outcome").select_option("rejected")
    expect(browser.locator("#action-panel tbody")).to_contain_text("Sending is already blocked by a transport rule")
    expect(browser.locator("#action-panel tbody")).to_contain_text("Rejected by alice")
    page.screenshot("console-action-history")
    page.assert_clean()

    # A second analyst completes the four-eyes approval.
    browser.get_by_role("button", name="Sign out").click()
    page.sign_in("arthur")
    browser.get_by_role("navigation", name="Main").get_by_role("link", name="Action center").click()
    mark_document(browser)
    pending = Action.objects.filter(status=Action.Status.PENDING_APPROVAL).count()
    expect(browser.locator("#pending-counter")).to_have_text(str(pending))
    browser.get_by_role("button", name=f"Give second approval: Reset password on {MEGAN}").click()
    reset = browser.locator("tr", has_text="Reset password").filter(has_text=MEGAN)
    expect(reset.locator(".badge.status-succeeded")).to_have_text("Succeeded")
    expect(browser.locator("#pending-counter")).to_have_text(str(pending - 1))  # refreshed by actionApproved
    expect(browser.locator("#action-panel tbody tr")).to_have_count(pending)  # the rest of the table stays
    assert still_same_document(browser)
    page.screenshot("console-action-center")
    page.assert_clean()
    action = Action.objects.get(kind="reset_password", identity__upn=MEGAN)
    assert (action.approved_by.username, action.second_approved_by.username) == ("alice", "arthur")


def test_search_from_the_header_pivots_on_an_ip(page, analyst, tenant):
    page.sign_in("alice")
    search = page.page.get_by_role("searchbox", name="Search events").first
    search.fill("102.89.32.18")
    search.press("Enter")
    expect(page.page.get_by_role("heading", name="Per identity")).to_be_visible()
    expect(page.page.locator("#search-results")).to_contain_text(MEGAN)
    page.screenshot("console-search")
    page.assert_clean()


def test_the_queue_works_from_the_keyboard(page, analyst, tenant):
    browser = page.page
    page.sign_in("alice")
    page.goto("/alerts/")
    browser.get_by_label("Medium", exact=True).focus()
    browser.keyboard.press("Space")
    expect(browser).to_have_url(re.compile(r"severity=medium"))
    browser.get_by_role("checkbox", name=re.compile("^Select alert")).first.focus()
    browser.keyboard.press("Space")
    browser.get_by_label("Assign selected to").focus()
    browser.keyboard.press("Tab")  # to the Assign button
    browser.keyboard.press("Enter")
    expect(browser.locator(".toast")).to_contain_text("assigned to alice")
    expect(browser.locator("#queue-results tbody")).to_contain_text("alice")
    page.assert_clean()
