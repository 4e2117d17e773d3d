"""The msgraph connector tells the truth: it reads back what it changed, finds hidden rules, leaves no
copy behind and keeps the first attempt's undo snapshot across a lost reply."""

import pytest

from investigations.connectors.base import PermanentError, TransientError, VerificationFailed
from investigations.connectors.msgraph import MsGraphConnector
from investigations.models import Action
from investigations.services.remediation import action_execute
from tests.investigations.connectors.test_msgraph import UPN, exchange_calls, make_action, undo

pytestmark = pytest.mark.django_db
LOST_REPLY = {"error": {"code": "ServiceUnavailable", "message": "The reply was lost."}}


@pytest.fixture
def megan(fake_microsoft):
    return fake_microsoft.add_user(UPN, displayName="Megan Bowen")


def running(action: Action) -> Action:
    """As the remediation task holds it: claimed, one attempt."""
    Action.objects.filter(pk=action.pk).update(status=Action.Status.RUNNING, attempts=1)
    action.refresh_from_db()
    return action


# --- hidden inbox rules ------------------------------------------------------------------------------


def test_a_hidden_rule_is_invisible_to_graph_and_to_get_inboxrule_without_include_hidden(
    megan, fake_microsoft, m365_client
):
    fake_microsoft.add_rule(UPN, "Visible", MoveToFolder="Archive")
    fake_microsoft.add_rule(UPN, ".", hidden=True, ForwardTo=["attacker@evil.example"])
    permission = "Exchange.ManageAsApp"

    graph = m365_client.graph("GET", f"users/{UPN}/mailFolders/inbox/messageRules", permission="x").json()["value"]
    plain = m365_client.invoke_cmdlet("Get-InboxRule", anchor=UPN, permission=permission, Mailbox=UPN)
    everything = m365_client.invoke_cmdlet(
        "Get-InboxRule", anchor=UPN, permission=permission, Mailbox=UPN, IncludeHidden=True
    )

    assert [r["displayName"] for r in graph] == ["Visible"]
    assert [r["Name"] for r in plain] == ["Visible"]
    assert [r["Name"] for r in everything] == ["Visible", "."]


def test_a_hidden_rule_is_found_removed_by_identity_and_its_absence_confirmed_with_include_hidden(
    megan, fake_microsoft
):
    fake_microsoft.add_rule(UPN, "Newsletters", MoveToFolder="Archive")
    hidden = fake_microsoft.add_rule(UPN, ".", hidden=True, ForwardTo=["attacker@evil.example"])

    result = MsGraphConnector().run(make_action(Action.Kind.REMOVE_INBOX_RULE, target="."))

    assert [r["Name"] for r in fake_microsoft.rules[UPN].values()] == ["Newsletters"]
    assert result.data == {"rules": [hidden["Identity"]], "hidden": 1} and not result.already_done
    assert "hidden from Outlook and Graph" in result.detail
    removal = next(c for c in exchange_calls(fake_microsoft) if c["CmdletName"] == "Remove-InboxRule")
    assert removal["Parameters"]["Identity"] == hidden["Identity"]
    read_back = [c for c in exchange_calls(fake_microsoft) if c["CmdletName"] == "Get-InboxRule"][-1]
    assert read_back["Parameters"]["IncludeHidden"] is True
    assert result.read_back == {"rules_left": ["Newsletters"]}


def test_a_renamed_rule_is_found_by_what_it_does(megan, fake_microsoft):
    fake_microsoft.add_rule(UPN, "Keep", MoveToFolder="Archive", SubjectContainsWords=["lunch"])
    rule = fake_microsoft.add_rule(
        UPN, " ", hidden=True, MoveToFolder="RSS Feeds", SubjectContainsWords=["invoice", "wire"], MarkAsRead=True
    )
    # The audit log named it differently: Exchange keeps the name the attacker's client sent, trimmed or not.
    settings = {"move_to_folder": ":\\RSS Feeds", "subject_contains_words": "invoice;wire", "mark_as_read": True}
    action = make_action(
        Action.Kind.REMOVE_INBOX_RULE, target="..", parameters={"rule": "..", "rule_settings": settings}
    )

    result = MsGraphConnector().run(action)

    assert result.data["rules"] == [rule["Identity"]]
    assert [r["Name"] for r in fake_microsoft.rules[UPN].values()] == ["Keep"]


def test_a_rule_named_alike_but_doing_something_else_is_not_taken_for_it(megan, fake_microsoft):
    fake_microsoft.add_rule(UPN, "Invoices", MoveToFolder="Accounting", SubjectContainsWords=["invoice"])
    fake_microsoft.add_rule(UPN, "Invoices ", hidden=True, ForwardTo=["attacker@evil.example"])
    settings = {"forward_to": "attacker@evil.example"}
    action = make_action(
        Action.Kind.REMOVE_INBOX_RULE, target="Invoices", parameters={"rule": "Invoices", "rule_settings": settings}
    )

    MsGraphConnector().run(action)

    assert [(r["Name"], r["MoveToFolder"]) for r in fake_microsoft.rules[UPN].values()] == [("Invoices", "Accounting")]


def test_a_rule_that_survives_its_removal_fails_the_action_with_what_was_seen(megan, fake_microsoft):
    fake_microsoft.add_rule(UPN, ".", hidden=True, ForwardTo=["attacker@evil.example"])
    fake_microsoft.ignored_writes.add(("exchange", "Remove-InboxRule"))

    with pytest.raises(VerificationFailed) as raised:
        MsGraphConnector().run(make_action(Action.Kind.REMOVE_INBOX_RULE, target="."))

    assert raised.value.seen == {"rules_left": ["."]}
    assert "Remove-InboxRule -Identity" in raised.value.message


def test_a_failing_read_back_makes_the_action_failed_through_the_remediation_task(megan, fake_microsoft, settings):
    settings.REMEDIATION_CONNECTOR = "msgraph"
    fake_microsoft.mailboxes[UPN]["ForwardingSmtpAddress"] = "smtp:attacker@evil.example"
    fake_microsoft.ignored_writes.add(("exchange", "Set-Mailbox"))
    action = make_action(Action.Kind.DISABLE_MAILBOX_FORWARDING)
    Action.objects.filter(pk=action.pk).update(status=Action.Status.APPROVED)

    assert action_execute(action_id=action.pk) is None

    action.refresh_from_db()
    assert action.status == Action.Status.FAILED
    assert "still forwards mail" in action.error and "smtp:attacker@evil.example" in action.error


def test_a_confirmed_action_records_its_read_back_in_the_result(megan, fake_microsoft, settings):
    settings.REMEDIATION_CONNECTOR = "msgraph"
    action = make_action(Action.Kind.DISABLE_ACCOUNT)
    Action.objects.filter(pk=action.pk).update(status=Action.Status.APPROVED)

    action_execute(action_id=action.pk)

    action.refresh_from_db()
    assert action.status == Action.Status.SUCCEEDED
    assert action.result["data"]["read_back"] == {"accountEnabled": False}
    assert action.result["undo_state"] == {"accountEnabled": True}


@pytest.mark.parametrize(
    ("kind", "ignored", "message"),
    [
        (Action.Kind.REVOKE_SESSIONS, "revokeSignInSessions", "still valid"),
        (Action.Kind.DISABLE_ACCOUNT, "PATCH users", "can still sign in"),
        (Action.Kind.RESET_PASSWORD, "PATCH users", "did not change"),
    ],
)
def test_an_account_change_graph_accepted_but_did_not_make_fails(megan, fake_microsoft, kind, ignored, message):
    fake_microsoft.ignored_writes.add(("graph", ignored))

    with pytest.raises(VerificationFailed, match=message):
        MsGraphConnector().run(make_action(kind))


def test_revoking_sessions_reads_the_new_revocation_time_back(megan, fake_microsoft):
    result = MsGraphConnector().run(make_action(Action.Kind.REVOKE_SESSIONS))

    assert result.read_back == {"signInSessionsValidFromDateTime": megan["signInSessionsValidFromDateTime"]}


def test_a_transport_rule_that_does_not_appear_fails_restrict_sending(megan, fake_microsoft):
    fake_microsoft.ignored_writes.add(("exchange", "New-TransportRule"))

    with pytest.raises(VerificationFailed, match="missing, disabled"):
        MsGraphConnector().run(make_action(Action.Kind.RESTRICT_SENDING))


# --- soft-delete -------------------------------------------------------------------------------------


def test_soft_delete_follows_next_links_so_no_copy_is_left_behind(megan, fake_microsoft):
    fake_microsoft.message_top_limit = 10  # the server gives 10 a page whatever $top asks
    for n in range(25):
        fake_microsoft.add_message(UPN, internet_message_id="<phish@evil>", subject="Invoice", folder=f"f{n % 3}")
    action = make_action(
        Action.Kind.SOFT_DELETE_MESSAGES, target="<phish@evil>",
        parameters={"internet_message_ids": ["<phish@evil>"], "recipients": [UPN]},
    )  # fmt: skip

    result = MsGraphConnector().run(action)

    folders = [m["parentFolderId"] for m in fake_microsoft.messages[UPN].values()]
    assert folders == ["recoverableitemsdeletions"] * 25
    assert result.data == {"messages": 25, "mailboxes": 1}
    assert result.read_back == {"left_in_mailboxes": 0, "in_recoverable_items": 25}
    assert any("$skip" in query for *_, query in fake_microsoft.calls("graph", "GET", "/messages"))


def test_soft_delete_after_a_lost_reply_keeps_the_undo_state_of_what_really_moved(megan, fake_microsoft):
    fake_microsoft.add_message(UPN, internet_message_id="<a@evil>", subject="Invoice", folder="archive")
    fake_microsoft.add_message(UPN, internet_message_id="<b@evil>", subject="Invoice", folder="inbox")
    fake_microsoft.fail("graph", "POST", "/move", 503, body=LOST_REPLY, applied=True, after=1)
    connector = MsGraphConnector()
    action = running(
        make_action(
            Action.Kind.SOFT_DELETE_MESSAGES, target="Invoice",
            parameters={"internet_message_ids": ["<a@evil>", "<b@evil>"], "recipients": [UPN]},
        )
    )  # fmt: skip

    with pytest.raises(TransientError):
        connector.run(action)  # both moved; the second reply was lost
    retried = connector.run(action)

    assert sorted(e["internet_message_id"] for e in retried.undo_state["moved"]) == ["<a@evil>", "<b@evil>"]
    assert retried.already_done  # this attempt found nothing left to move
    undo(connector, action, retried)
    folders = {m["internetMessageId"]: m["parentFolderId"] for m in fake_microsoft.messages[UPN].values()}
    assert folders == {"<a@evil>": "archive", "<b@evil>": "inbox"}


def test_a_message_purged_from_recoverable_items_fails_the_undo(megan, fake_microsoft):
    fake_microsoft.add_message(UPN, internet_message_id="<a@evil>", subject="Invoice")
    connector = MsGraphConnector()
    params = {"internet_message_ids": ["<a@evil>"], "recipients": [UPN]}
    action = make_action(Action.Kind.SOFT_DELETE_MESSAGES, target="<a@evil>", parameters=params)
    result = connector.run(action)
    fake_microsoft.messages[UPN].clear()  # purged by retention

    with pytest.raises(VerificationFailed, match="not back"):
        undo(connector, action, result)


# --- the first attempt's undo snapshot ---------------------------------------------------------------


def test_a_retry_after_a_lost_reply_keeps_the_rule_snapshot_and_undo_recreates_the_rule(megan, fake_microsoft):
    fake_microsoft.add_rule(UPN, "..", hidden=True, MoveToFolder="RSS Feeds", MarkAsRead=True)
    fake_microsoft.fail("exchange", "POST", "Remove-InboxRule", 503, body=LOST_REPLY, applied=True)
    connector = MsGraphConnector()
    action = running(make_action(Action.Kind.REMOVE_INBOX_RULE, target=".."))

    with pytest.raises(TransientError):
        connector.run(action)
    assert fake_microsoft.rules[UPN] == {}  # it was removed; only the reply was lost
    retried = connector.run(action)

    assert retried.already_done
    assert [rule["name"] for rule in retried.undo_state["rules"]] == [".."]
    undo(connector, action, retried)
    assert [(r["Name"], r["MarkAsRead"]) for r in fake_microsoft.rules[UPN].values()] == [("..", True)]


def test_a_retry_after_a_lost_reply_keeps_the_forwarding_to_restore(megan, fake_microsoft):
    mailbox = fake_microsoft.mailboxes[UPN]
    mailbox.update(ForwardingSmtpAddress="smtp:attacker@evil.example", DeliverToMailboxAndForward=True)
    fake_microsoft.fail("exchange", "POST", "Set-Mailbox", 503, body=LOST_REPLY, applied=True)
    connector = MsGraphConnector()
    action = running(make_action(Action.Kind.DISABLE_MAILBOX_FORWARDING))

    with pytest.raises(TransientError):
        connector.run(action)
    retried = connector.run(action)

    assert retried.already_done and retried.undo_state["ForwardingSmtpAddress"] == "smtp:attacker@evil.example"
    undo(connector, action, retried)
    assert mailbox["ForwardingSmtpAddress"] == "smtp:attacker@evil.example"


def test_a_missing_exchange_role_is_permanent_not_a_silent_success(megan, fake_microsoft):
    fake_microsoft.exchange_role_assigned = False
    fake_microsoft.add_rule(UPN, ".", hidden=True)

    with pytest.raises(PermanentError, match="403"):
        MsGraphConnector().run(make_action(Action.Kind.REMOVE_INBOX_RULE, target="."))


def test_the_remediation_task_retrying_after_a_lost_reply_records_the_first_snapshot(megan, fake_microsoft, settings):
    settings.REMEDIATION_CONNECTOR = "msgraph"
    fake_microsoft.add_rule(UPN, ".", hidden=True, ForwardTo=["attacker@evil.example"])
    fake_microsoft.fail("exchange", "POST", "Remove-InboxRule", 503, body=LOST_REPLY, applied=True)
    action = make_action(Action.Kind.REMOVE_INBOX_RULE, target=".")
    Action.objects.filter(pk=action.pk).update(status=Action.Status.APPROVED)

    assert action_execute(action_id=action.pk) is not None  # transient: retried later
    action_execute(action_id=action.pk)

    action.refresh_from_db()
    assert (action.status, action.attempts) == (Action.Status.SUCCEEDED, 2)
    assert action.result["already_done"] is True
    [snapshot] = action.result["undo_state"]["rules"]
    assert (snapshot["name"], snapshot["hidden"], snapshot["ForwardTo"]) == (".", True, ["attacker@evil.example"])
