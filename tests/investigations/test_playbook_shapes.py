"""Playbook checks on the record shapes of Exchange: folder sharing, failed cmdlets, rules changed by
``Set-InboxRule``, localised folders, unnamed rules, transport rules."""

from datetime import timedelta

import pytest

from alerts.models import Event
from investigations.models import Finding
from tests.factories import EventFactory
from tests.investigations.support import T0, home_history, identity, investigate, rule_event

pytestmark = pytest.mark.django_db
V = Finding.Verdict


def findings(investigation):
    return {f.check_key: f for f in investigation.findings.all()}


def grant(owner, at, *, folder="", delegate, actor, rights=("Reviewer",), scope="", succeeded=True):
    attributes = {"mailbox": owner.upn, "delegate": delegate, "actor": actor, "access_rights": list(rights)}
    attributes.update({"folder": folder} if folder else {})
    attributes.update({"delegate_scope": scope} if scope else {})
    return EventFactory(
        identity=owner,
        occurred_at=at,
        kind=Event.Kind.MAILBOX_PERMISSION_ADDED,
        source="o365-audit",
        operation="Set-MailboxFolderPermission" if folder else "Add-MailboxPermission",
        succeeded=succeeded,
        ip=None,
        attributes=attributes,
    )


def test_inbox_opened_to_default_by_the_owner_is_malicious_and_the_calendar_is_not(django_capture_on_commit_callbacks):
    megan = identity()
    home_history(megan)
    grant(megan, T0, folder="\\Calendar", delegate="Default", actor=megan.upn, scope="everyone")
    grant(megan, T0 + timedelta(minutes=5), folder="\\Inbox", delegate="Default", actor=megan.upn, scope="everyone")
    investigation = investigate(megan, django_capture_on_commit_callbacks)
    found = findings(investigation)["permissions"]
    assert found.verdict == V.MALICIOUS
    assert found.explanation.startswith(
        "This user opened \\Inbox of megan.bowen@contoso.com to everyone in the organisation (Default). "
        "Remove the folder permission by hand"
    )
    # remove_mailbox_permission runs Remove-MailboxPermission: it cannot take a folder right away.
    assert not investigation.actions.filter(kind="remove_mailbox_permission").exists()


def test_a_failed_grant_is_not_evidence(django_capture_on_commit_callbacks):
    megan, diego = identity(), identity("diego.siciliani")
    home_history(diego)
    grant(megan, T0, delegate=diego.upn, actor=diego.upn, rights=["FullAccess"], succeeded=False)
    found = findings(investigate(diego, django_capture_on_commit_callbacks))["permissions"]
    assert found.verdict == V.CLEAN
    assert "No mailbox or send-as permission" in found.explanation


def test_set_inbox_rule_moving_an_invoice_rule_to_a_french_rss_folder_is_judged_on_the_whole_rule(
    django_capture_on_commit_callbacks,
):
    megan = identity()
    home_history(megan)
    rule_event(megan, T0, {"name": "Factures", "subject_contains_words": ["facture", "invoice"]})
    change = rule_event(
        megan, T0 + timedelta(minutes=3), {"name": "Factures", "move_to_folder": "Flux RSS"},
        kind=Event.Kind.INBOX_RULE_CHANGED,
    )  # fmt: skip
    found = findings(investigate(megan, django_capture_on_commit_callbacks))["inbox_rules"]
    assert found.verdict == V.MALICIOUS
    assert "moves mail to “Flux RSS”" in found.explanation and "“invoice”" in found.explanation
    assert [event.pk for event in found.events.all()] == [change.pk]


def test_unnamed_client_rules_with_ids_do_not_overwrite_each_other(django_capture_on_commit_callbacks):
    megan = identity()
    home_history(megan)
    rule_event(megan, T0, {"name": "", "id": "-101", "forward_to": ["drop@protonmail.com"]})
    rule_event(
        megan,
        T0 + timedelta(minutes=1),
        {"name": "", "id": "-102", "delete_message": True, "subject_contains_words": ["invoice"]},
    )
    found = findings(investigate(megan, django_capture_on_commit_callbacks))["inbox_rules"]
    assert found.verdict == V.MALICIOUS
    assert len(found.data["rules"]) == 2  # keyed by name alone, the second would have hidden the first


def test_a_transport_rule_blind_copying_outside_is_forwarding_and_an_internal_one_is_not(
    django_capture_on_commit_callbacks,
):
    admin = identity("allan.deyoung")
    home_history(admin)
    for name, target in (("Legal hold", "compliance@contoso.com"), ("Journal", "vault@ledger-backup.net")):
        EventFactory(
            identity=admin,
            occurred_at=T0,
            kind=Event.Kind.TRANSPORT_RULE_CHANGED,
            source="o365-audit",
            operation="New-TransportRule",
            target=name,
            ip=None,
            attributes={"transport_rule": {"name": name, "blind_copy_to": [target]}, "actor": admin.upn},
        )
    found = findings(investigate(admin, django_capture_on_commit_callbacks))["forwarding"]
    assert found.verdict == V.MALICIOUS
    assert found.data["transport_rule_targets"] == ["vault@ledger-backup.net"]
    assert "transport rule “Journal” blind-copies the organisation's mail to vault@ledger-backup.net" in (
        found.explanation
    )


def test_send_as_on_a_mailbox_no_identity_answers_to_is_still_a_self_grant(django_capture_on_commit_callbacks):
    """The shared mailbox named by DN is no identity, so the grant is filed on the account that ran it."""
    diego = identity("diego.siciliani")
    home_history(diego)
    mailbox = "CN=finance,OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=EURPR02A007"
    EventFactory(
        identity=diego,
        occurred_at=T0,
        kind=Event.Kind.SEND_AS_PERMISSION_ADDED,
        source="o365-audit",
        operation="Add-RecipientPermission",
        ip=None,
        attributes={"mailbox": mailbox, "delegate": diego.upn, "actor": diego.upn, "access_rights": ["SendAs"]},
    )
    found = findings(investigate(diego, django_capture_on_commit_callbacks))["permissions"]
    assert found.verdict == V.MALICIOUS
    assert found.explanation == f"This user gave itself SendAs on {mailbox.lower()}."
