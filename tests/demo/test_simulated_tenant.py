"""The simulated tenant: mirrored from events, shown and made to misbehave from the command line."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from airportal.errors import DomainError
from demo.models import SimulatedAccount, SimulatedFault
from demo.services import simulated_fault_add, simulated_tenant_sync
from tests.investigations.support import T0, bec_attack, identity, permission_event, rule_event

pytestmark = pytest.mark.django_db


def test_sync_mirrors_rules_forwarding_delegations_sessions_and_mail_once():
    megan, debra = identity(), identity("debra.berger")
    bec_attack(megan)
    permission_event(debra, T0, delegate=megan.upn, actor=megan.upn)

    first = simulated_tenant_sync()
    again = simulated_tenant_sync()

    account = SimulatedAccount.objects.get(identity=megan)
    assert first > 0 and again == 0
    assert account.forwarding_address == "megan.finance@gmail.com"
    assert list(account.inbox_rules.values_list("name", flat=True)) == [".."]
    assert account.sessions.count() == 2
    assert list(SimulatedAccount.objects.get(identity=debra).permissions.values_list("delegate", flat=True)) == [
        megan.upn
    ]


def test_a_removed_rule_disappears_from_the_tenant():
    megan = identity()
    rule_event(megan, T0, {"name": "Archive invoices", "move_to_folder": "Archive"})
    simulated_tenant_sync(identity_ids=[megan.pk])
    rule_event(megan, T0, {"name": "Archive invoices"}, kind="inbox_rule_removed")
    simulated_tenant_sync(identity_ids=[megan.pk])
    assert not SimulatedAccount.objects.get(identity=megan).inbox_rules.exists()


def test_fault_command_adds_and_clears_faults():
    out = StringIO()
    call_command("simulatedtenant", "fault", "throttle", "--times", "2", "--retry-after", "5", stdout=out)
    fault = SimulatedFault.objects.get()
    assert (fault.mode, fault.remaining, fault.retry_after, fault.kind) == ("throttle", 2, 5, "")
    assert "The next 2 call(s) of any kind" in out.getvalue()
    call_command("simulatedtenant", "clear-faults", stdout=StringIO())
    assert not SimulatedFault.objects.exists()


def test_fault_for_an_unknown_kind_is_refused():
    with pytest.raises(DomainError, match="Unknown action kind"):
        simulated_fault_add(mode="refuse", kind="format_disk")
    with pytest.raises(CommandError, match="Unknown action kind"):
        call_command("simulatedtenant", "fault", "refuse", "--kind", "format_disk")
    assert not SimulatedFault.objects.exists()


def test_show_command_prints_the_state():
    megan = identity()
    bec_attack(megan)
    out = StringIO()
    call_command("simulatedtenant", "show", megan.upn, stdout=out)
    assert "forwarding_address: megan.finance@gmail.com" in out.getvalue()
    with pytest.raises(CommandError, match="not a monitored identity"):
        call_command("simulatedtenant", "show", "ghost@contoso.com")
