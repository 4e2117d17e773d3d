"""Inbox and transport rules in the shapes Exchange writes them: localised and id-named folders,
``Set-InboxRule`` changes merged onto the rule, ``UpdateInboxRules`` ServerRule, transport rules."""

import json
from datetime import timedelta

import pytest

from alerts.models import Event
from tests.alerts.support.detection import T0, alerts_of, detect, identity, rule_event
from tests.alerts.support.ingest import dataset_lines, one
from tests.factories import EventFactory, IdentityFactory
from tests.pipeline import ingest_judged

pytestmark = pytest.mark.django_db
SEKOIA = "sekoia-intake-formats/o365_management_activity.jsonl"


def test_sekoia_rule_hiding_mail_in_the_french_conversation_history_alerts():
    record = dataset_lines(SEKOIA)[37]  # New-InboxRule … MoveToFolder "Historique des conversations"
    IdentityFactory(upn="user1")
    ingest_judged(source="o365-audit", records=[record])
    [alert] = alerts_of("suspicious_inbox_rule")
    assert "moves mail to “Historique des conversations”" in alert.description


def test_set_inbox_rule_is_judged_on_the_rule_it_leaves():
    megan = identity()
    created = rule_event(megan, T0, {"name": "Factures", "subject_contains_words": ["invoice"]})
    detect([created])
    assert alerts_of("suspicious_inbox_rule") == []  # a rule on a word, hiding nothing: a user's filing
    change = rule_event(
        megan, T0 + timedelta(days=3), {"name": "factures", "move_to_folder": "Flux RSS", "mark_as_read": True},
        kind=Event.Kind.INBOX_RULE_CHANGED,
    )  # fmt: skip
    detect([change])
    [alert] = alerts_of("suspicious_inbox_rule")
    assert "acts on mail containing “invoice”" in alert.description  # known from the rule's creation
    assert list(alert.events.all()) == [change]


def test_a_users_own_rule_into_a_localised_archive_stays_quiet_and_a_folder_id_scores():
    megan = identity()
    own = rule_event(megan, T0, {"name": "Notifications", "move_to_folder": "Archives", "mark_as_read": True})
    opaque = rule_event(
        megan,
        T0 + timedelta(minutes=1),
        {"name": ".", "move_to_folder": "AAMkADAwATM0MDAAMS0yMDE5LTAwAC0wMAoALgAAAzf3", "mark_as_read": True},
    )
    detect([own, opaque])
    [alert] = alerts_of("suspicious_inbox_rule")
    assert "moves mail to a folder named only by its id" in alert.description  # its point makes the score 3
    assert list(alert.events.all()) == [opaque]


def test_hiding_a_colleagues_mail_is_intent():
    megan = identity()
    identity("it.security")
    rule = {"name": "Filter", "from": ["it.security@contoso.com"], "delete_message": True, "mark_as_read": True}
    detect([rule_event(megan, T0, rule)])
    [alert] = alerts_of("suspicious_inbox_rule")
    assert "only for mail from “it.security@contoso.com”" in alert.description


def test_server_rule_format_of_update_inbox_rules_is_read():
    server_rule = {
        "Id": "AQAAAKzs3Fc=",
        "Name": "",
        "Actions": [
            {"ActionType": "ForwardToRecipientsAction", "Recipients": [{"Values": [{"PropTag": 805371934,
             "Value": "Drop@Protonmail.com"}]}]},
            {"ActionType": "DeleteAction"},
        ],
    }  # fmt: skip
    record = {
        "CreationTime": "2026-03-02T09:00:00",
        "Id": "uir-1",
        "Operation": "UpdateInboxRules",
        "RecordType": 2,
        "ResultStatus": "Succeeded",
        "Workload": "Exchange",
        "UserId": "megan.bowen@contoso.com",
        "MailboxOwnerUPN": "megan.bowen@contoso.com",
        "OperationProperties": [
            {"Name": "RuleOperation", "Value": "AddMailboxRule"},
            {"Name": "ServerRule", "Value": json.dumps(server_rule)},
        ],
    }
    event = one("o365-audit", record)
    assert event.kind == Event.Kind.INBOX_RULE_CREATED
    assert event.attributes["rule"]["forward_to"] == ["drop@protonmail.com"]
    assert event.attributes["rule"]["delete_message"] is True
    assert event.attributes["rule"]["id"] == "AQAAAKzs3Fc="


def test_set_inbox_rule_by_mailbox_path_and_rule_number_lands_on_the_mailbox():
    IdentityFactory(upn="megan.bowen@contoso.com", display_name="Megan Bowen")
    record = {
        "CreationTime": "2026-03-02T09:00:00",
        "Id": "sir-1",
        "Operation": "Set-InboxRule",
        "RecordType": 1,
        "ResultStatus": "True",
        "Workload": "Exchange",
        "UserId": "admin@contoso.com",
        "Parameters": [
            {"Name": "Identity", "Value": "Megan Bowen\\17291849584627908609"},
            {"Name": "ForwardTo", "Value": "drop@protonmail.com"},
        ],
    }
    ingest_judged(source="o365-audit", records=[record])
    event = Event.objects.get(operation="Set-InboxRule")
    assert event.identity.upn == "megan.bowen@contoso.com"
    assert event.attributes["rule"]["id"] == "17291849584627908609"
    assert event.attributes["actor"] == "admin@contoso.com"
    [alert] = alerts_of("external_forwarding")
    assert alert.identity == event.identity


def transport(admin, name, **rule):
    return EventFactory(
        identity=admin,
        occurred_at=T0,
        kind=Event.Kind.TRANSPORT_RULE_CHANGED,
        source="o365-audit",
        operation="New-TransportRule",
        target=name,
        attributes={"transport_rule": {"name": name, **rule}, "actor": admin.upn},
    )


def test_transport_rule_copying_mail_outside_is_external_forwarding_and_internal_copies_are_not():
    admin = identity("allan.deyoung")
    detect(
        [
            transport(admin, "Legal hold", blind_copy_to=["compliance@contoso.com"]),
            transport(admin, "Disclaimer", apply_html_disclaimer_text="Confidential"),
        ]
    )
    assert alerts_of("external_forwarding") == []
    detect([transport(admin, "Journal", redirect_message_to=["vault@ledger-backup.net"])])
    [alert] = alerts_of("external_forwarding")
    assert alert.identity == admin
    assert "Transport rule “Journal” redirects the organisation's mail to vault@ledger-backup.net" in alert.description


def test_transport_rule_cmdlet_is_read_and_a_failed_one_is_ignored():
    IdentityFactory(upn="allan.deyoung@contoso.com")

    def new_rule(status):
        return {
            "CreationTime": "2026-03-02T09:00:00",
            "Id": f"ntr-{status}",
            "Operation": "New-TransportRule",
            "RecordType": 1,
            "ResultStatus": status,
            "Workload": "Exchange",
            "UserId": "allan.deyoung@contoso.com",
            "Parameters": [
                {"Name": "Name", "Value": "Journal"},
                {"Name": "BlindCopyTo", "Value": "vault@ledger-backup.net"},
                {"Name": "Mode", "Value": "Enforce"},
            ],
        }

    ingest_judged(source="o365-audit", records=[new_rule("False")])
    failed = Event.objects.get(kind=Event.Kind.TRANSPORT_RULE_CHANGED)
    assert failed.succeeded is False and failed.attributes["forward_to"] == ["vault@ledger-backup.net"]
    assert alerts_of("external_forwarding") == []
    ingest_judged(source="o365-audit", records=[new_rule("True")])
    assert len(alerts_of("external_forwarding")) == 1
