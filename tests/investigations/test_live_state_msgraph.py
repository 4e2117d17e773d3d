"""The live state read through Microsoft Graph and Exchange (the local Microsoft fake), judged by the playbook."""

import pytest

from tests.investigations.support import identity, investigate
from tests.investigations.test_live_state import finding, proposals, risky_signin

pytestmark = pytest.mark.django_db


def test_forwarding_and_a_hidden_rule_without_audit_records_are_found_through_the_tenant(
    fake_microsoft, settings, django_capture_on_commit_callbacks
):
    settings.REMEDIATION_CONNECTOR = "msgraph"
    megan = identity("megan.bowen")
    fake_microsoft.add_user(megan.upn, displayName="Megan Bowen")
    # Set up before the window (or before AIR Portal was installed): no audit record of either.
    fake_microsoft.add_rule(megan.upn, ".", hidden=True, ForwardTo=["drop@evil.example"], DeleteMessage=True)
    fake_microsoft.mailboxes[megan.upn].update(ForwardingSmtpAddress="smtp:megan.backup@gmail.com")
    risky_signin(megan)

    investigation = investigate(megan, django_capture_on_commit_callbacks)

    assert investigation.live_state["source"] == "msgraph"
    forwarding, rules = finding(investigation, "forwarding"), finding(investigation, "inbox_rules")
    assert forwarding.verdict == "malicious" and "megan.backup@gmail.com" in forwarding.explanation
    assert rules.verdict == "malicious" and "hidden" in rules.explanation
    kinds = {kind for kind, _ in proposals(investigation)}
    assert {"disable_mailbox_forwarding", "remove_inbox_rule"} <= kinds


def test_without_the_permission_to_read_rules_the_playbook_says_so(
    fake_microsoft, settings, django_capture_on_commit_callbacks
):
    settings.REMEDIATION_CONNECTOR = "msgraph"
    fake_microsoft.roles["exchange"].clear()  # the app has no Exchange role: rules and forwarding are unread
    megan = identity("megan.bowen")
    fake_microsoft.add_user(megan.upn, displayName="Megan Bowen")
    risky_signin(megan)

    investigation = investigate(megan, django_capture_on_commit_callbacks)

    explanation = finding(investigation, "inbox_rules").explanation
    assert "could not be read" in explanation and "Exchange Administrator" in explanation
    assert "only the logs were judged" in explanation
