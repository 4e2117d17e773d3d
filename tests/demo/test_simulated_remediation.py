"""The simulated connector reads back what it changed and runs the actions a taken-over account needs."""

from datetime import timedelta

import pytest

from demo.connector import SimulatedConnector
from demo.models import SimulatedAccount, SimulatedMailboxPermission
from demo.services import simulated_fault_add, simulated_tenant_sync
from investigations.connectors.base import PermanentError, VerificationFailed
from investigations.models import Action, Investigation
from investigations.services.remediation import action_execute
from m365.times import iso_z
from tests.factories import ActionFactory, EventFactory, InvestigationFactory
from tests.investigations.support import T0, bec_attack, identity

pytestmark = pytest.mark.django_db
K = Action.Kind


def act(megan, kind, *, target="", parameters=None, undo_of=None):
    investigation = Investigation.objects.filter(identity=megan).first() or InvestigationFactory(identity=megan)
    return ActionFactory(
        investigation=investigation, identity=megan, kind=kind, target=target or megan.upn,
        parameters=parameters or {}, undo_of=undo_of,
    )  # fmt: skip


def undo_of(action, result):
    action.result = {"undo_state": result.undo_state}
    action.save(update_fields=["result"])
    return act(action.identity, action.kind, target=action.target, parameters=action.parameters, undo_of=action)


def test_a_change_the_tenant_does_not_show_fails_the_action_through_the_remediation_task(settings):
    settings.REMEDIATION_CONNECTOR = "simulated"
    megan = identity()
    bec_attack(megan)
    simulated_fault_add(mode="ignore", kind=K.DISABLE_MAILBOX_FORWARDING)
    action = act(megan, K.DISABLE_MAILBOX_FORWARDING)
    Action.objects.filter(pk=action.pk).update(status=Action.Status.APPROVED)

    action_execute(action_id=action.pk)

    action.refresh_from_db()
    assert action.status == Action.Status.FAILED
    assert "still shows" in action.error and "Read back" in action.error
    assert SimulatedAccount.objects.get(identity=megan).forwarding_address == "megan.finance@gmail.com"


def test_a_confirmed_change_records_the_read_back():
    megan = identity()
    bec_attack(megan)

    result = SimulatedConnector().run(act(megan, K.REMOVE_INBOX_RULE, target="..", parameters={"rule": ".."}))

    assert result.read_back == {"still_there": []}
    assert not SimulatedAccount.objects.get(identity=megan).inbox_rules.exists()


def test_consent_from_the_audit_log_is_revoked_and_undo_restores_it():
    megan = identity()
    EventFactory(
        identity=megan, kind="oauth_consent", occurred_at=T0, target="Mail Sync Pro",
        operation="Consent to application.",
        attributes={"app_display_name": "Mail Sync Pro", "scopes": ["Mail.Read", "offline_access"], "client_id": "sp1"},
    )  # fmt: skip
    simulated_tenant_sync(identity_ids=[megan.pk])
    connector = SimulatedConnector()
    action = act(megan, K.REVOKE_APP_CONSENT, target="Mail Sync Pro", parameters={"client_id": "sp1"})

    result = connector.run(action)
    account = SimulatedAccount.objects.get(identity=megan)
    assert not account.app_consents.exists()
    assert "Mail.Read offline_access" in result.detail

    connector.run(undo_of(action, result))
    assert list(account.app_consents.values_list("app_name", "scopes")) == [
        ("Mail Sync Pro", "Mail.Read offline_access")
    ]


def test_the_mfa_method_registered_in_the_window_is_removed_and_cannot_come_back():
    megan = identity()
    for hours, operation in ((-500, "User registered security info."), (-1, "User registered security info.")):
        EventFactory(identity=megan, kind="mfa_method_changed", occurred_at=T0 + timedelta(hours=hours),
                     operation=operation, attributes={"actor": megan.upn})  # fmt: skip
    simulated_tenant_sync(identity_ids=[megan.pk])
    params = {"registered_after": iso_z(T0 - timedelta(hours=2)), "registered_before": iso_z(T0)}
    action = act(megan, K.REMOVE_MFA_METHOD, parameters=params)

    result = SimulatedConnector().run(action)

    methods = SimulatedAccount.objects.get(identity=megan).auth_methods.all()
    assert [m.registered_at for m in methods] == [T0 - timedelta(hours=500)]
    assert result.data == {"removed": ["microsoftAuthenticator User registered security info."]}
    with pytest.raises(PermanentError, match="cannot be undone"):
        SimulatedConnector().run(undo_of(action, result))


def test_a_phone_partnership_added_in_the_window_is_removed():
    megan = identity()
    EventFactory(identity=megan, kind="other", occurred_at=T0, operation="Add-MobileDevice", target="ABC123",
                 attributes={"device_model": "SM-A515F"})  # fmt: skip
    simulated_tenant_sync(identity_ids=[megan.pk])
    params = {"first_synced_after": iso_z(T0 - timedelta(hours=1))}

    result = SimulatedConnector().run(act(megan, K.REMOVE_MOBILE_DEVICE, parameters=params))

    assert not SimulatedAccount.objects.get(identity=megan).mobile_devices.exists()
    assert result.data == {"removed": ["SM-A515F ABC123"]}


def test_send_on_behalf_and_folder_permissions_are_removed_and_given_back():
    megan, cfo = identity(), identity("cfo")
    simulated_tenant_sync()
    account = SimulatedAccount.objects.get(identity=cfo)
    SimulatedMailboxPermission.objects.create(account=account, delegate=megan.upn, access_rights="SendOnBehalf",
                                              granted_at=T0)  # fmt: skip
    SimulatedMailboxPermission.objects.create(account=account, delegate=megan.upn, access_rights="Reviewer",
                                              folder="Inbox", granted_at=T0)  # fmt: skip
    connector = SimulatedConnector()
    action = act(megan, K.REMOVE_MAILBOX_PERMISSION, parameters={"mailbox": cfo.upn, "delegate": megan.upn})

    result = connector.run(action)
    assert not account.permissions.exists()
    assert "Reviewer on Inbox" in result.detail and "SendOnBehalf" in result.detail

    connector.run(undo_of(action, result))
    assert sorted(account.permissions.values_list("access_rights", "folder")) == [
        ("Reviewer", "Inbox"),
        ("SendOnBehalf", ""),
    ]


def test_an_undo_the_tenant_does_not_show_fails():
    megan = identity()
    bec_attack(megan)
    connector = SimulatedConnector()
    action = act(megan, K.REMOVE_INBOX_RULE, target="..", parameters={"rule": ".."})
    result = connector.run(action)
    simulated_fault_add(mode="ignore", kind=K.REMOVE_INBOX_RULE)

    with pytest.raises(VerificationFailed, match="undone"):
        connector.run(undo_of(action, result))


def test_a_folder_grant_from_the_audit_log_is_removed_from_that_folder_only():
    megan, cfo = identity(), identity("cfo")
    simulated_tenant_sync()
    EventFactory(
        identity=cfo, kind="mailbox_permission_added", occurred_at=T0, operation="Add-MailboxFolderPermission",
        attributes={"delegate": megan.upn, "access_rights": ["Reviewer"], "mailbox": f"{cfo.upn}:\\Inbox",
                    "actor": megan.upn},
    )  # fmt: skip
    simulated_tenant_sync()
    account = SimulatedAccount.objects.get(identity=cfo)
    SimulatedMailboxPermission.objects.create(account=account, delegate=megan.upn, access_rights="Reviewer",
                                              granted_at=T0)  # fmt: skip
    # As the permissions check proposes it: the folder's identity as the mailbox, lower-cased.
    params = {"mailbox": f"{cfo.upn}:\\inbox", "delegate": megan.upn, "access_rights": ["Reviewer"]}

    SimulatedConnector().run(act(megan, K.REMOVE_MAILBOX_PERMISSION, parameters=params))

    assert list(account.permissions.values_list("access_rights", "folder")) == [("Reviewer", "")]
