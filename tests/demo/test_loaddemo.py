import pytest
from django.core.management import call_command

from alerts.models import Alert, Event, Identity
from investigations.models import Action, Investigation

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def test_loaddemo_builds_a_tenant_with_investigated_attacks_and_is_idempotent(
    capsys, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("loaddemo", "--password", "demo-password-1")
    out = capsys.readouterr().out
    assert "Demo analyst: analyst / demo-password-1" in out
    assert Identity.objects.filter(is_vip=True).count() == 2
    events, alerts = Event.objects.count(), Alert.objects.count()
    assert alerts >= 8
    compromised = set(Investigation.objects.filter(verdict="compromised").values_list("identity__upn", flat=True))
    assert {"megan.bowen@contoso.com", "lee.gu@contoso.com", "diego.siciliani@contoso.com"} <= compromised, list(
        Investigation.objects.values_list("identity__upn", "status", "verdict")
    )
    assert Action.objects.filter(status=Action.Status.PENDING_APPROVAL).exists()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("loaddemo", "--password", "demo-password-1")
    assert "0 new" in capsys.readouterr().out
    assert (Event.objects.count(), Alert.objects.count()) == (events, alerts)
