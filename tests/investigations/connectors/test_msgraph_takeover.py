"""What a taken-over account needs through msgraph: app consent, MFA methods, phones, delegates, and the
live state read with the same reads."""

from datetime import timedelta

import pytest

from investigations.connectors.base import PermanentError, VerificationFailed
from investigations.connectors.msgraph import MsGraphConnector
from investigations.connectors.state import StateKind
from investigations.models import Action
from m365.times import iso_z
from tests.investigations.connectors.test_msgraph import UPN, exchange_calls, make_action, undo

pytestmark = pytest.mark.django_db
APP = "5b1e7a9c-0d2f-4c3e-8a6b-7f9e0d1c2b3a"  # the consented app's service principal


@pytest.fixture
def megan(fake_microsoft):
    return fake_microsoft.add_user(UPN, displayName="Megan Bowen")


# --- revoke_app_consent ------------------------------------------------------------------------------


def test_revoking_consent_removes_the_apps_grants_and_role_assignments_and_undo_restores_them(megan, fake_microsoft):
    grant = fake_microsoft.add_grant(megan, APP, "Mail.Read offline_access")
    other = fake_microsoft.add_grant(megan, "teams-sp", "User.Read")
    fake_microsoft.add_app_role_assignment(megan, APP)
    connector = MsGraphConnector()
    action = make_action(Action.Kind.REVOKE_APP_CONSENT, target="Mail Sync", parameters={"client_id": APP})

    result = connector.run(action)

    assert fake_microsoft.oauth2_grants == [other] and fake_microsoft.app_role_assignments == []
    assert result.data == {"grants": 1, "assignments": 1}
    assert result.read_back == {"grants_left": [], "assignments_left": []}
    assert "Mail.Read offline_access" in result.detail
    assert connector.run(action).already_done

    undo(connector, action, result)
    restored = [g for g in fake_microsoft.oauth2_grants if g["clientId"] == APP]
    assert [(g["principalId"], g["resourceId"], g["scope"]) for g in restored] == [
        (megan["id"], grant["resourceId"], "Mail.Read offline_access")
    ]
    assert [a["resourceId"] for a in fake_microsoft.app_role_assignments] == [APP]


def test_the_app_is_found_by_its_name_when_the_record_had_no_client_id(megan, fake_microsoft):
    fake_microsoft.service_principals.append({"id": APP, "appId": "x", "displayName": "Mail Sync"})
    fake_microsoft.add_grant(megan, APP, "Mail.ReadWrite")

    result = MsGraphConnector().run(make_action(Action.Kind.REVOKE_APP_CONSENT, target="Mail Sync"))

    assert result.data["grants"] == 1 and fake_microsoft.oauth2_grants == []


def test_a_grant_that_survives_its_deletion_fails_the_revocation(megan, fake_microsoft):
    fake_microsoft.add_grant(megan, APP, "Mail.Read")
    fake_microsoft.ignored_writes.add(("graph", "DELETE oauth2PermissionGrants"))

    with pytest.raises(VerificationFailed, match="still has consent"):
        MsGraphConnector().run(make_action(Action.Kind.REVOKE_APP_CONSENT, parameters={"client_id": APP}))


# --- remove_mfa_method -------------------------------------------------------------------------------


def window(fake, hours_ago: float = 2) -> dict:
    return {
        "registered_after": iso_z(fake.clock() - timedelta(hours=hours_ago)),
        "registered_before": iso_z(fake.clock()),
    }


def test_the_method_registered_in_the_window_is_removed_and_older_ones_stay(megan, fake_microsoft):
    own = fake_microsoft.add_auth_method(megan, "microsoftAuthenticatorAuthenticationMethod",
                                         fake_microsoft.days_ago(90), displayName="Megan's iPhone")  # fmt: skip
    intruder = fake_microsoft.add_auth_method(megan, "microsoftAuthenticatorAuthenticationMethod",
                                              fake_microsoft.days_ago(0.02), displayName="SM-A515F")  # fmt: skip

    result = MsGraphConnector().run(make_action(Action.Kind.REMOVE_MFA_METHOD, parameters=window(fake_microsoft)))

    assert fake_microsoft.auth_methods[megan["id"]] == [own]
    assert result.data == {"methods": [{"id": intruder["id"], "name": "microsoftAuthenticator SM-A515F"}]}
    assert fake_microsoft.calls("graph", "DELETE", f"microsoftAuthenticatorMethods/{intruder['id']}")


def test_a_method_without_a_registration_time_cannot_be_declared_absent(megan, fake_microsoft):
    fake_microsoft.add_auth_method(megan, "phoneAuthenticationMethod", phoneNumber="+1 5555550100")
    params = {**window(fake_microsoft), "method_type": "phone"}

    with pytest.raises(PermanentError, match="absence cannot be confirmed"):
        MsGraphConnector().run(make_action(Action.Kind.REMOVE_MFA_METHOD, parameters=params))

    assert len(fake_microsoft.auth_methods[megan["id"]]) == 1


def test_no_method_in_the_window_is_already_done_after_reading_them_all(megan, fake_microsoft):
    fake_microsoft.add_auth_method(megan, "fido2AuthenticationMethod", fake_microsoft.days_ago(30))

    result = MsGraphConnector().run(make_action(Action.Kind.REMOVE_MFA_METHOD, parameters=window(fake_microsoft)))

    assert result.already_done and len(result.read_back["methods"]) == 1


def test_a_method_still_there_after_its_deletion_fails(megan, fake_microsoft):
    fake_microsoft.add_auth_method(megan, "softwareOathAuthenticationMethod", fake_microsoft.days_ago(0.01))
    fake_microsoft.ignored_writes.add(("graph", "DELETE softwareOathMethods"))

    with pytest.raises(VerificationFailed):
        MsGraphConnector().run(make_action(Action.Kind.REMOVE_MFA_METHOD, parameters=window(fake_microsoft)))


def test_removing_an_mfa_method_cannot_be_undone(megan, fake_microsoft):
    action = make_action(Action.Kind.REMOVE_MFA_METHOD, parameters=window(fake_microsoft))
    result = MsGraphConnector().run(action)

    with pytest.raises(PermanentError, match="cannot be undone"):
        undo(MsGraphConnector(), action, result)


# --- remove_mobile_device ----------------------------------------------------------------------------


def test_the_partnership_first_synced_in_the_window_is_removed(megan, fake_microsoft):
    own = fake_microsoft.add_mobile_device(UPN, fake_microsoft.days_ago(200), model="iPhone")
    intruder = fake_microsoft.add_mobile_device(UPN, fake_microsoft.days_ago(0.05), model="Outlook")
    params = {"first_synced_after": iso_z(fake_microsoft.days_ago(1)), "mailbox": UPN}

    result = MsGraphConnector().run(make_action(Action.Kind.REMOVE_MOBILE_DEVICE, parameters=params))

    assert fake_microsoft.mobile_devices == [own]
    removal = next(c for c in exchange_calls(fake_microsoft) if c["CmdletName"] == "Remove-MobileDevice")
    assert removal["Parameters"]["Identity"] == intruder["Identity"]
    assert result.read_back == {"devices": ["iPhone iOS 17"]}


def test_a_partnership_that_comes_back_fails_the_removal(megan, fake_microsoft):
    device = fake_microsoft.add_mobile_device(UPN, fake_microsoft.days_ago(0.05))
    fake_microsoft.ignored_writes.add(("exchange", "Remove-MobileDevice"))

    with pytest.raises(VerificationFailed):
        MsGraphConnector().run(
            make_action(Action.Kind.REMOVE_MOBILE_DEVICE, parameters={"device_id": device["DeviceId"]})
        )


# --- remove_mailbox_permission: send on behalf and folders -------------------------------------------


def test_send_on_behalf_and_the_inbox_folder_permission_are_removed_and_given_back(megan, fake_microsoft):
    cfo = "cfo@contoso.com"
    fake_microsoft.add_user(cfo)
    fake_microsoft.mailboxes[cfo]["GrantSendOnBehalfTo"] = [UPN, "assistant@contoso.com"]
    fake_microsoft.folder_permissions.append(
        {"Identity": f"{cfo}:\\Inbox", "FolderName": "Inbox", "User": UPN, "AccessRights": ["Reviewer"]}
    )
    connector = MsGraphConnector()
    action = make_action(Action.Kind.REMOVE_MAILBOX_PERMISSION, parameters={"mailbox": cfo, "delegate": UPN})

    result = connector.run(action)

    assert fake_microsoft.mailboxes[cfo]["GrantSendOnBehalfTo"] == ["assistant@contoso.com"]
    assert fake_microsoft.folder_permissions == []
    assert result.undo_state["rights"] == ["SendOnBehalf"] and result.undo_state["folder_rights"] == ["Reviewer"]
    change = next(c for c in exchange_calls(fake_microsoft) if "GrantSendOnBehalfTo" in c["Parameters"])
    assert change["Parameters"]["GrantSendOnBehalfTo"]["remove"] == [UPN]

    undo(connector, action, result)
    assert UPN in fake_microsoft.mailboxes[cfo]["GrantSendOnBehalfTo"]
    assert [row["AccessRights"] for row in fake_microsoft.folder_permissions] == [["Reviewer"]]


def test_only_send_on_behalf_is_removed_when_only_it_is_asked(megan, fake_microsoft):
    cfo = "cfo@contoso.com"
    fake_microsoft.add_user(cfo)
    fake_microsoft.mailboxes[cfo]["GrantSendOnBehalfTo"] = [UPN]
    fake_microsoft.mailbox_permissions.append({"Identity": cfo, "User": UPN, "AccessRights": ["FullAccess"]})
    params = {"mailbox": cfo, "delegate": UPN, "access_rights": ["SendOnBehalf"]}

    MsGraphConnector().run(make_action(Action.Kind.REMOVE_MAILBOX_PERMISSION, parameters=params))

    assert fake_microsoft.mailboxes[cfo]["GrantSendOnBehalfTo"] == []
    assert len(fake_microsoft.mailbox_permissions) == 1


def test_a_permission_still_held_after_its_removal_fails(megan, fake_microsoft):
    cfo = "cfo@contoso.com"
    fake_microsoft.add_user(cfo)
    fake_microsoft.mailbox_permissions.append({"Identity": cfo, "User": UPN, "AccessRights": ["FullAccess"]})
    fake_microsoft.ignored_writes.add(("exchange", "Remove-MailboxPermission"))

    with pytest.raises(VerificationFailed, match="still holds FullAccess"):
        MsGraphConnector().run(
            make_action(Action.Kind.REMOVE_MAILBOX_PERMISSION, parameters={"mailbox": cfo, "delegate": UPN})
        )


# --- read_state --------------------------------------------------------------------------------------


def test_read_state_sees_what_an_intruder_left_hidden_rules_included(megan, fake_microsoft):
    fake_microsoft.add_rule(UPN, "Newsletters", MoveToFolder="Archive")
    fake_microsoft.add_rule(UPN, ".", hidden=True, ForwardTo=["attacker@evil.example"])
    fake_microsoft.mailboxes[UPN].update(ForwardingSmtpAddress="smtp:attacker@evil.example",
                                         GrantSendOnBehalfTo=["x@contoso.com"])  # fmt: skip
    fake_microsoft.mailbox_permissions.append(
        {"Identity": UPN, "User": "x@contoso.com", "AccessRights": ["FullAccess"]}
    )
    fake_microsoft.mailbox_permissions.append(
        {"Identity": UPN, "User": "NT AUTHORITY\\SELF", "AccessRights": ["FullAccess"]}
    )
    fake_microsoft.add_grant(megan, APP, "Mail.Read")
    fake_microsoft.add_auth_method(megan, "microsoftAuthenticatorAuthenticationMethod", fake_microsoft.days_ago(0.1))
    fake_microsoft.add_mobile_device(UPN, fake_microsoft.days_ago(0.1))
    fake_microsoft.registered_devices[megan["id"]] = [
        {"id": "d1", "displayName": "DESKTOP-EVIL", "trustType": "Workplace"}
    ]

    state = MsGraphConnector().read_state(UPN)

    kinds = sorted(item.kind for item in state.items)
    assert kinds == sorted([
        StateKind.INBOX_RULE, StateKind.INBOX_RULE, StateKind.FORWARDING, StateKind.SEND_ON_BEHALF,
        StateKind.MAILBOX_PERMISSION, StateKind.OAUTH_GRANT, StateKind.AUTH_METHOD, StateKind.MOBILE_DEVICE,
        StateKind.REGISTERED_DEVICE,
    ])  # fmt: skip
    assert {(r.name, r.hidden) for r in state.of_kind(StateKind.INBOX_RULE)} == {("Newsletters", False), (".", True)}
    assert state.unread == {} and state.account.enabled is True and state.source == "msgraph"
    assert state.from_json(state.as_json()) == state


def test_a_part_the_app_may_not_read_is_named_unread_never_empty(megan, fake_microsoft):
    fake_microsoft.roles["graph"].discard("UserAuthenticationMethod.ReadWrite.All")
    fake_microsoft.roles["graph"].discard("Device.Read.All")

    state = MsGraphConnector().read_state(UPN)

    assert set(state.unread) == {StateKind.AUTH_METHOD, StateKind.REGISTERED_DEVICE}
    assert "UserAuthenticationMethod.ReadWrite.All" in state.unread[StateKind.AUTH_METHOD]


def test_a_folder_grant_named_by_the_folders_identity_is_removed_from_that_folder(megan, fake_microsoft):
    cfo = "cfo@contoso.com"
    fake_microsoft.add_user(cfo)
    fake_microsoft.folder_permissions.append(
        {"Identity": f"{cfo}:\\Inbox", "FolderName": "Inbox", "User": UPN, "AccessRights": ["Reviewer"]}
    )
    fake_microsoft.mailbox_permissions.append({"Identity": cfo, "User": UPN, "AccessRights": ["FullAccess"]})
    params = {"mailbox": f"{cfo}:\\inbox", "delegate": UPN, "access_rights": ["Reviewer"]}

    result = MsGraphConnector().run(make_action(Action.Kind.REMOVE_MAILBOX_PERMISSION, parameters=params))

    assert fake_microsoft.folder_permissions == [] and len(fake_microsoft.mailbox_permissions) == 1
    assert result.undo_state["folder_rights"] == ["Reviewer"] and result.undo_state["mailbox"] == cfo
