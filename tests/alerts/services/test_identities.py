import pytest

from airportal.models import AuditEntry
from alerts.services.identities import identity_update
from tests.factories import IdentityFactory

pytestmark = pytest.mark.django_db


def test_identity_update_sets_fields_and_audits_before_and_after(analyst):
    identity = IdentityFactory(department="Finance")
    identity_update(identity=identity, actor=analyst, is_vip=True, department="Executive Management")
    identity.refresh_from_db()
    assert identity.is_vip and identity.department == "Executive Management"
    entry = AuditEntry.objects.get(verb="identity.updated")
    assert entry.changes == {
        "before": {"is_vip": False, "department": "Finance"},
        "after": {"is_vip": True, "department": "Executive Management"},
    }


def test_identity_update_without_change_writes_no_audit_row():
    identity = IdentityFactory(department="Finance")
    identity_update(identity=identity, department="Finance")
    assert not AuditEntry.objects.filter(verb="identity.updated").exists()


def test_identity_update_refuses_fields_that_come_from_the_logs():
    with pytest.raises(ValueError, match="upn"):
        identity_update(identity=IdentityFactory(), upn="attacker@evil.example")
