"""The simulated tenant follows ``investigations.signals.playbook_starting``."""

import pytest

from demo.models import SimulatedAccount
from investigations.models import Investigation
from investigations.signals import playbook_starting
from tests.investigations.support import bec_attack, identity, investigate

pytestmark = pytest.mark.django_db


def test_a_playbook_run_mirrors_its_identity_when_remediation_uses_the_simulated_tenant(
    settings, django_capture_on_commit_callbacks
):
    settings.REMEDIATION_CONNECTOR = "simulated"
    megan = identity()
    bec_attack(megan)

    investigate(megan, django_capture_on_commit_callbacks)

    account = SimulatedAccount.objects.get(identity=megan)
    assert account.forwarding_address == "megan.finance@gmail.com"
    assert list(account.inbox_rules.values_list("name", flat=True)) == [".."]


def test_a_playbook_run_leaves_the_simulated_tenant_alone_when_remediation_uses_graph(
    settings, django_capture_on_commit_callbacks
):
    settings.REMEDIATION_CONNECTOR = "msgraph"
    megan = identity()
    bec_attack(megan)

    investigation = investigate(megan, django_capture_on_commit_callbacks)

    assert investigation.status != Investigation.Status.FAILED
    assert not SimulatedAccount.objects.exists()


def test_a_receiver_that_fails_fails_the_run_with_its_message(settings, django_capture_on_commit_callbacks):
    def broken(sender, **kwargs):
        raise RuntimeError("mirror unavailable")

    playbook_starting.connect(broken, dispatch_uid="test.broken")
    try:
        investigation = investigate(identity(), django_capture_on_commit_callbacks)
    finally:
        playbook_starting.disconnect(dispatch_uid="test.broken")

    assert investigation.status == Investigation.Status.FAILED
    assert investigation.steps.filter(message__contains="RuntimeError: mirror unavailable").exists()
