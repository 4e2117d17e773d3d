"""The msgraph connector against the fake tenant: each action, its undo, idempotency and errors."""

import json
import logging

import pytest

from investigations.connectors.base import PermanentError, TransientError
from investigations.connectors.msgraph import MsGraphConnector
from investigations.models import Action
from tests.factories import ActionFactory, IdentityFactory

pytestmark = pytest.mark.django_db
UPN = "megan.bowen@contoso.com"


@pytest.fixture
def megan(fake_microsoft):
    return fake_microsoft.add_user(UPN, displayName="Megan Bowen")


def make_action(kind, *, target=UPN, parameters=None, identity_upn=UPN, external_id=""):
    identity = IdentityFactory(upn=identity_upn, external_id=external_id)
    return ActionFactory(
        kind=kind, target=target, parameters=parameters or {}, investigation__identity=identity, identity=identity
    )


def exchange_calls(fake) -> list[dict]:
    """The cmdlets the connector ran, in order (``{"CmdletName", "Parameters"}``)."""
    return [body["CmdletInput"] for body in fake.exchange_bodies]


def undo(connector, action, result):
    """Run the undo action of ``action`` (succeeded with ``result``), as the remediation task does."""
    action.result = {"detail": result.detail, "undo_state": result.undo_state}
    action.save(update_fields=["result"])
    Action.objects.filter(undo_of=action).delete()  # one undo per action; a test may undo twice
    undo_action = ActionFactory(
        investigation=action.investigation,
        identity=action.identity,
        kind=action.kind,
        target=action.target,
        parameters=action.parameters,
        undo_of=action,
    )
    return connector.run(undo_action)


def test_revoke_sessions_posts_revoke_and_a_repeat_is_harmless(megan, fake_microsoft):
    connector = MsGraphConnector()
    action = make_action(Action.Kind.REVOKE_SESSIONS)

    first, second = connector.run(action), connector.run(action)

    assert megan["revoked"] == 2
    assert not first.already_done and not second.already_done
    assert fake_microsoft.calls("graph", "POST", f"/users/{UPN}/revokeSignInSessions")


def test_revoke_sessions_of_a_deleted_user_is_already_done(fake_microsoft):
    result = MsGraphConnector().run(make_action(Action.Kind.REVOKE_SESSIONS, identity_upn="gone@contoso.com"))

    assert result.already_done


def test_disable_account_uses_the_entra_object_id_and_undo_enables_it_again(megan, fake_microsoft):
    connector = MsGraphConnector()
    action = make_action(Action.Kind.DISABLE_ACCOUNT, external_id=megan["id"])

    result = connector.run(action)
    assert megan["accountEnabled"] is False
    assert fake_microsoft.calls("graph", "PATCH", f"/users/{megan['id']}")

    undone = undo(connector, action, result)
    assert megan["accountEnabled"] is True
    assert "allowed" in undone.detail


def test_disabling_a_disabled_account_is_already_done_and_its_undo_leaves_it_disabled(megan):
    megan["accountEnabled"] = False
    connector = MsGraphConnector()
    action = make_action(Action.Kind.DISABLE_ACCOUNT)

    result = connector.run(action)
    undo(connector, action, result)

    assert result.already_done
    assert megan["accountEnabled"] is False


def test_reset_password_forces_a_change_and_the_password_is_never_kept_or_logged(megan, caplog):
    caplog.set_level(logging.DEBUG)

    result = MsGraphConnector().run(make_action(Action.Kind.RESET_PASSWORD))

    password = megan["passwordProfile"]["password"]
    assert megan["passwordProfile"]["forceChangePasswordNextSignIn"] is True
    assert len(password) >= 16
    assert password not in json.dumps([result.detail, result.data, result.undo_state])
    assert password not in caplog.text


def test_reset_password_cannot_be_undone(megan):
    connector = MsGraphConnector()
    action = make_action(Action.Kind.RESET_PASSWORD)
    result = connector.run(action)

    with pytest.raises(PermanentError, match="cannot be undone"):
        undo(connector, action, result)


def test_remove_inbox_rule_found_by_name_is_removed_by_identity_and_undo_recreates_it(megan, fake_microsoft):
    rule = fake_microsoft.add_rule(
        UPN, "..", SubjectContainsWords=["invoice", "payment"], MoveToFolder="RSS Feeds", MarkAsRead=True,
        StopProcessingRules=True,
    )  # fmt: skip
    connector = MsGraphConnector()
    action = make_action(Action.Kind.REMOVE_INBOX_RULE, target="..")

    result = connector.run(action)
    assert fake_microsoft.rules[UPN] == {}
    assert result.data == {"rules": [rule["Identity"]], "hidden": 0}
    assert result.read_back == {"rules_left": []}

    undo(connector, action, result)
    [recreated] = fake_microsoft.rules[UPN].values()
    assert recreated["RuleIdentity"] != rule["RuleIdentity"]
    assert (
        recreated["Name"],
        recreated["SubjectContainsWords"],
        recreated["MoveToFolder"],
        recreated["MarkAsRead"],
    ) == (
        "..",
        ["invoice", "payment"],
        f"{UPN}:\\RSS Feeds",
        True,
    )


def test_removing_a_rule_that_is_gone_is_already_done_after_reading_hidden_rules_too(megan, fake_microsoft):
    gone = make_action(Action.Kind.REMOVE_INBOX_RULE, target="x", parameters={"rule_id": "AQAAAnothere"})

    result = MsGraphConnector().run(gone)

    assert result.already_done
    [read] = [c for c in exchange_calls(fake_microsoft) if c["CmdletName"] == "Get-InboxRule"][:1]
    assert read["Parameters"]["IncludeHidden"] is True


def test_soft_delete_moves_each_copy_to_recoverable_items_and_undo_brings_them_back(megan, fake_microsoft):
    fake_microsoft.add_user("lee.gu@contoso.com")
    phish = "<phish-1@contoso.com>"
    for upn in (UPN, "lee.gu@contoso.com"):
        fake_microsoft.add_message(upn, internet_message_id=phish, subject="Invoice overdue")
        fake_microsoft.add_message(upn, internet_message_id="<ok@contoso.com>", subject="Lunch")
    connector = MsGraphConnector()
    action = make_action(
        Action.Kind.SOFT_DELETE_MESSAGES,
        target=phish,
        parameters={"internet_message_ids": [phish], "recipients": [UPN, "lee.gu@contoso.com", "left@contoso.com"]},
    )

    result = connector.run(action)

    def folders(upn):
        return sorted((m["subject"], m["parentFolderId"]) for m in fake_microsoft.messages[upn].values())

    assert folders("lee.gu@contoso.com") == [("Invoice overdue", "recoverableitemsdeletions"), ("Lunch", "inbox")]
    assert result.data == {"messages": 2, "mailboxes": 2}
    assert connector.run(action).already_done

    undo(connector, action, result)
    assert folders(UPN) == [("Invoice overdue", "inbox"), ("Lunch", "inbox")]


def test_soft_delete_by_subject_finds_the_recipients_in_message_trace(megan, fake_microsoft):
    sent = fake_microsoft.clock().strftime("%Y-%m-%dT%H:%M:%SZ")
    for recipient in ("lee.gu@contoso.com", "partner@fabrikam.example"):
        fake_microsoft.message_traces.append(
            {
                "id": "t1",
                "senderAddress": UPN,
                "recipientAddress": recipient,
                "subject": "Wire transfer",
                "receivedDateTime": sent,
                "messageId": "<w@contoso.com>",
                "status": "delivered",
            }  # fmt: skip
        )
    fake_microsoft.add_user("lee.gu@contoso.com")
    fake_microsoft.add_message("lee.gu@contoso.com", internet_message_id="<w@contoso.com>", subject="Wire transfer",
                               sender=UPN)  # fmt: skip
    fake_microsoft.add_message("lee.gu@contoso.com", internet_message_id="<x@x>", subject="Wire transfer")

    result = MsGraphConnector().run(
        make_action(Action.Kind.SOFT_DELETE_MESSAGES, target="Wire transfer", parameters={"subject": "Wire transfer"})
    )

    folders = {
        m["internetMessageId"]: m["parentFolderId"] for m in fake_microsoft.messages["lee.gu@contoso.com"].values()
    }
    assert folders == {"<w@contoso.com>": "recoverableitemsdeletions", "<x@x>": "inbox"}  # same subject, other sender
    assert result.data == {"messages": 1, "mailboxes": 1}
    assert fake_microsoft.calls("graph", "GET", "messageTraces")


def test_disable_forwarding_keeps_the_old_forwarding_for_undo(megan, fake_microsoft):
    mailbox = fake_microsoft.mailboxes[UPN]
    mailbox.update(ForwardingSmtpAddress="smtp:attacker@evil.example", DeliverToMailboxAndForward=True)
    connector = MsGraphConnector()
    action = make_action(Action.Kind.DISABLE_MAILBOX_FORWARDING)

    result = connector.run(action)
    assert (mailbox["ForwardingSmtpAddress"], mailbox["DeliverToMailboxAndForward"]) == (None, False)
    assert connector.run(action).already_done
    [call] = [c for c in fake_microsoft.calls("exchange", "POST")][:1]
    assert call[2] == f"/adminapi/beta/{fake_microsoft.tenant_id}/InvokeCommand"

    undo(connector, action, result)
    assert (mailbox["ForwardingSmtpAddress"], mailbox["DeliverToMailboxAndForward"]) == (
        "smtp:attacker@evil.example",
        True,
    )


def test_remove_mailbox_permission_removes_full_access_and_send_as_and_undo_grants_them_back(megan, fake_microsoft):
    cfo = "cfo@contoso.com"
    fake_microsoft.add_user(cfo)
    fake_microsoft.mailbox_permissions.append(
        {"Identity": cfo, "User": UPN, "AccessRights": ["FullAccess"], "IsInherited": False, "Deny": False}
    )
    fake_microsoft.recipient_permissions.append({"Identity": cfo, "Trustee": UPN, "AccessRights": ["SendAs"]})
    connector = MsGraphConnector()
    action = make_action(
        Action.Kind.REMOVE_MAILBOX_PERMISSION,
        target=UPN,
        parameters={"mailbox": cfo, "delegate": UPN, "access_rights": ["FullAccess", "SendAs"]},
    )

    result = connector.run(action)
    assert fake_microsoft.mailbox_permissions == [] and fake_microsoft.recipient_permissions == []
    assert result.undo_state["rights"] == ["FullAccess", "SendAs"]
    assert connector.run(action).already_done

    undo(connector, action, result)
    assert [p["AccessRights"] for p in fake_microsoft.mailbox_permissions] == [["FullAccess"]]
    assert [p["Trustee"] for p in fake_microsoft.recipient_permissions] == [UPN]


def test_remove_mailbox_permission_without_rights_removes_every_right_the_delegate_holds(megan, fake_microsoft):
    cfo = "cfo@contoso.com"
    fake_microsoft.add_user(cfo)
    fake_microsoft.mailbox_permissions.append(
        {"Identity": cfo, "User": UPN, "AccessRights": ["FullAccess", "ReadPermission"], "IsInherited": False}
    )
    fake_microsoft.mailbox_permissions.append(
        {"Identity": cfo, "User": "admin@contoso.com", "AccessRights": ["FullAccess"], "IsInherited": False}
    )

    result = MsGraphConnector().run(
        make_action(Action.Kind.REMOVE_MAILBOX_PERMISSION, parameters={"mailbox": cfo, "delegate": UPN})
    )

    assert result.undo_state["rights"] == ["FullAccess", "ReadPermission"]
    assert [p["User"] for p in fake_microsoft.mailbox_permissions] == ["admin@contoso.com"]


def test_restrict_sending_creates_one_blocking_transport_rule_and_undo_removes_it(megan, fake_microsoft):
    connector = MsGraphConnector()
    action = make_action(Action.Kind.RESTRICT_SENDING)

    result = connector.run(action)
    [rule] = fake_microsoft.transport_rules.values()
    assert rule["From"] == [UPN] and rule["RejectMessageEnhancedStatusCode"] == "5.7.1"
    assert connector.run(action).already_done

    undo(connector, action, result)
    assert fake_microsoft.transport_rules == {}
    assert undo(connector, action, result).already_done


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [(429, {"Retry-After": "7"}, 7.0), (503, {"Retry-After": "3"}, 3.0), (503, {}, None)],
)
def test_throttling_and_outages_are_transient_with_the_services_retry_after(
    megan, fake_microsoft, status, headers, retry_after
):
    body = {"error": {"code": "TooManyRequests" if status == 429 else "ServiceUnavailable", "message": "Slow down"}}
    fake_microsoft.fail("graph", "POST", "revokeSignInSessions", status, body=body, headers=headers)

    with pytest.raises(TransientError) as raised:
        MsGraphConnector().run(make_action(Action.Kind.REVOKE_SESSIONS))

    assert raised.value.retry_after == retry_after
    assert "revoked" not in megan


def test_exchange_throttling_is_transient(megan, fake_microsoft):
    fake_microsoft.fail("exchange", "POST", "InvokeCommand", 429, headers={"Retry-After": "30"})

    with pytest.raises(TransientError) as raised:
        MsGraphConnector().run(make_action(Action.Kind.RESTRICT_SENDING))

    assert raised.value.retry_after == 30.0


@pytest.mark.parametrize(
    ("kind", "role", "permission"),
    [
        (Action.Kind.REVOKE_SESSIONS, "User.RevokeSessions.All", "User.RevokeSessions.All"),
        (Action.Kind.DISABLE_ACCOUNT, "User.EnableDisableAccount.All", "User.EnableDisableAccount.All"),
        (Action.Kind.RESET_PASSWORD, "User-PasswordProfile.ReadWrite.All", "User-PasswordProfile.ReadWrite.All"),
        (Action.Kind.REMOVE_MFA_METHOD, "UserAuthenticationMethod.ReadWrite.All", "UserAuthenticationMethod"),
        (Action.Kind.REVOKE_APP_CONSENT, "DelegatedPermissionGrant.ReadWrite.All", "DelegatedPermissionGrant"),
    ],
)
def test_a_missing_graph_permission_is_a_permanent_error_naming_it(megan, fake_microsoft, kind, role, permission):
    fake_microsoft.roles["graph"].discard(role)

    with pytest.raises(PermanentError) as raised:
        MsGraphConnector().run(make_action(kind, target="r", parameters={"client_id": "sp", "method_id": "m"}))

    assert permission in raised.value.message
    assert "403" in raised.value.message


def test_exchange_without_manage_as_app_names_the_permission_and_the_role(megan, fake_microsoft):
    fake_microsoft.roles["exchange"].clear()

    with pytest.raises(PermanentError) as raised:
        MsGraphConnector().run(make_action(Action.Kind.DISABLE_MAILBOX_FORWARDING))

    assert "Exchange.ManageAsApp" in raised.value.message
    assert "Exchange Administrator" in raised.value.message


def test_a_token_refused_once_is_replaced_and_the_call_succeeds(megan, fake_microsoft):
    connector, action = MsGraphConnector(), make_action(Action.Kind.REVOKE_SESSIONS)
    connector.run(action)
    fake_microsoft.fail(
        "graph", "POST", "revokeSignInSessions", 401, body={"error": {"code": "InvalidAuthenticationToken"}}
    )

    connector.run(action)

    assert megan["revoked"] == 2
    graph_tokens = [t for t in fake_microsoft.token_requests if t["scope"].startswith(fake_microsoft.url("graph"))]
    assert len(graph_tokens) == 2
