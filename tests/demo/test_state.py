"""The simulated connector's read side: the tenant's state of one user, as the msgraph connector shapes it."""

from datetime import timedelta

import pytest

from demo.connector import SimulatedConnector
from demo.models import SimulatedAppConsent, SimulatedAuthMethod, SimulatedInboxRule, SimulatedMobileDevice
from demo.services import simulated_accounts_ensure, simulated_tenant_sync
from investigations.connectors.state import LiveState, StateKind
from tests.investigations.support import T0, forwarding_event, identity, permission_event, rule_event

pytestmark = pytest.mark.django_db


def test_read_state_returns_every_part_the_tenant_keeps_and_names_the_parts_it_does_not():
    megan = identity()
    rule_event(megan, T0, {"name": "Invoices", "move_to_folder": "RSS Feeds", "mark_as_read": True})
    forwarding_event(megan, T0, ["megan.finance@gmail.com"])
    permission_event(megan, T0, delegate="adele.vance@contoso.com", actor=megan.upn, rights=("FullAccess", "SendAs"))
    account = simulated_accounts_ensure([megan.pk])[megan.pk]
    SimulatedInboxRule.objects.create(account=account, name="Sync", hidden=True, created_at=T0 - timedelta(days=9))
    SimulatedAppConsent.objects.create(
        account=account, app_name="Mail Sync Pro", client_id="c1", scopes="Mail.Read offline_access", granted_at=T0
    )
    SimulatedAuthMethod.objects.create(
        account=account, method_type="phoneAuthenticationMethod", name="+234 801 555 0199", registered_at=T0
    )
    SimulatedMobileDevice.objects.create(account=account, device_id="ANDROID1", model="Pixel", first_sync_at=T0)

    simulated_tenant_sync(identity_ids=[megan.pk])

    state = SimulatedConnector().read_state(megan.upn.upper())

    assert state.source == "simulated" and state.upn == megan.upn and state.account.enabled is True
    rules = {item.name: item for item in state.of_kind(StateKind.INBOX_RULE)}
    assert set(rules) == {"Invoices", "Sync"} and rules["Sync"].hidden and not rules["Invoices"].hidden
    assert rules["Invoices"].details["move_to_folder"] == "RSS Feeds" and rules["Invoices"].created_at == T0
    [forwarding] = state.of_kind(StateKind.FORWARDING)
    assert forwarding.details["ForwardingSmtpAddress"] == "smtp:megan.finance@gmail.com"
    [full_access] = state.of_kind(StateKind.MAILBOX_PERMISSION)
    [send_as] = state.of_kind(StateKind.SEND_AS)
    assert (full_access.key, full_access.details["AccessRights"]) == ("adele.vance@contoso.com", ["FullAccess"])
    assert send_as.key == "adele.vance@contoso.com"
    [grant] = state.of_kind(StateKind.OAUTH_GRANT)
    assert (
        grant.details["scope"] == "Mail.Read offline_access" and grant.details["clientDisplayName"] == "Mail Sync Pro"
    )
    [method] = state.of_kind(StateKind.AUTH_METHOD)
    assert method.name == "phone +234 801 555 0199"
    [device] = state.of_kind(StateKind.MOBILE_DEVICE)
    assert device.key == "ANDROID1"
    assert set(state.unread) == {StateKind.FOLDER_PERMISSION, StateKind.REGISTERED_DEVICE}
    assert LiveState.from_json(state.as_json()) == state


def test_read_state_of_an_unknown_user_reads_nothing_and_says_why():
    state = SimulatedConnector().read_state("nobody@contoso.com")
    assert state.items == []
    assert set(state.unread) == {*StateKind.ALL, "account"}
    assert all("no user or mailbox nobody@contoso.com" in why for why in state.unread.values())
