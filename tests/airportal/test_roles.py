import pytest
from django.contrib.auth.models import Group

from airportal.roles import ROLE_CAPABILITIES, Capability, Role, has_capability, user_role

pytestmark = pytest.mark.django_db


def test_migration_creates_the_four_roles_with_the_design_capabilities():
    for role, capabilities in ROLE_CAPABILITIES.items():
        group = Group.objects.get(name=role.value)
        assert set(group.permissions.values_list("codename", flat=True)) == {c.value for c in capabilities}


@pytest.mark.parametrize(
    ("persona", "allowed"),
    [
        ("analyst", {Capability.VIEW, Capability.TRIAGE, Capability.SECOND_APPROVAL, Capability.READ_REPORTS}),
        (
            "manager",
            {
                Capability.VIEW,
                Capability.TRIAGE,
                Capability.SECOND_APPROVAL,
                Capability.READ_REPORTS,
                Capability.MANAGE_REPORTS,
            },
        ),
        ("admin", set(Capability)),
        ("ingest", {Capability.INGEST}),
        ("outsider", set()),
    ],
)
def test_each_role_has_exactly_its_capabilities(personas, persona, allowed):
    user = personas[persona]
    assert {c for c in Capability if has_capability(user, c)} == allowed


def test_user_role_names_the_role(personas):
    assert user_role(personas["manager"]) == Role.MANAGER
    assert user_role(personas["outsider"]) is None


def test_inactive_user_has_no_capability(analyst):
    analyst.is_active = False
    analyst.save()
    assert not has_capability(analyst, Capability.VIEW)
