"""Alert policies: defaults after migrate, versioning with before/after, audit, conflicts, validation."""

import pytest

from airportal.errors import Conflict, DomainError
from airportal.models import AuditEntry
from alerts.detectors.registry import DETECTORS
from alerts.models import AlertPolicy, AlertPolicyVersion
from alerts.services import policy_update

pytestmark = pytest.mark.django_db

DESIGN_KEYS = {
    "suspicious_email_sending",
    "sending_limit_exceeded",
    "external_forwarding",
    "suspicious_inbox_rule",
    "suspicious_signin",
    "mailbox_permission_added",
    "mfa_method_changed",
    "oauth_app_consent",
    "external_alert",
}


def test_nine_default_policies_exist_after_migrate_with_public_practice_defaults():
    policies = {policy.detector: policy for policy in AlertPolicy.objects.all()}
    assert set(policies) == DESIGN_KEYS == set(DETECTORS)
    limits = policies["sending_limit_exceeded"].parameters
    assert (limits["external_per_hour"], limits["internal_per_hour"], limits["recipients_per_day"]) == (500, 1000, 1000)
    signin = policies["suspicious_signin"].parameters
    assert (signin["travel_min_km"], signin["travel_max_kmh"], signin["spray_window_minutes"]) == (500, 800, 20)
    assert all(policy.version == 1 and policy.versions.count() == 1 for policy in policies.values())


def test_update_saves_a_version_with_before_and_after_and_audits_it(admin_user):
    policy = AlertPolicy.objects.get(detector="suspicious_signin")
    policy = policy_update(
        policy=policy,
        actor=admin_user,
        severity="high",
        parameters={"travel_max_kmh": 900},
        comment="Fewer false positives from VPN hops",
    )
    assert (policy.version, policy.severity, policy.parameters["travel_max_kmh"]) == (2, "high", 900)
    assert policy.updated_by == admin_user
    version = AlertPolicyVersion.objects.get(policy=policy, version=2)
    assert version.changes == {
        "severity": {"before": "medium", "after": "high"},
        "parameters.travel_max_kmh": {"before": 800, "after": 900.0},
    }
    assert version.comment == "Fewer false positives from VPN hops" and version.changed_by == admin_user
    assert version.parameters == policy.parameters
    entry = AuditEntry.objects.get(verb="policy.updated")
    assert entry.actor == admin_user
    assert entry.changes == {
        "before": {"severity": "medium", "parameters.travel_max_kmh": 800},
        "after": {"severity": "high", "parameters.travel_max_kmh": 900.0},
    }


def test_saving_nothing_new_creates_no_version(admin_user):
    policy = AlertPolicy.objects.get(detector="suspicious_signin")
    same = policy_update(policy=policy, actor=admin_user, severity=policy.severity, parameters={"travel_min_km": 500})
    assert same.version == 1 and not AuditEntry.objects.filter(verb="policy.updated").exists()


def test_saving_a_stale_version_is_a_conflict(admin_user):
    policy = AlertPolicy.objects.get(detector="external_forwarding")
    stale = AlertPolicy.objects.get(pk=policy.pk)
    policy_update(policy=policy, actor=admin_user, enabled=False)
    with pytest.raises(Conflict, match="Someone else saved this policy"):
        policy_update(policy=stale, actor=admin_user, severity="low")
    policy.refresh_from_db()
    assert (policy.version, policy.severity) == (2, "high")
    assert policy.versions.count() == 2


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"travel_max_kmh": "fast"}, "expected a number"),
        ({"travel_max_kmh": 10}, "must be at least 50"),
        ({"spray_min_accounts": 2.5}, "expected a whole number"),
        ({"no_such_thing": 1}, "Unknown parameter 'no_such_thing'"),
        ({"check_legacy_protocols": "perhaps"}, "expected true or false"),
    ],
)
def test_invalid_parameters_are_refused_and_nothing_is_saved(admin_user, parameters, message):
    policy = AlertPolicy.objects.get(detector="suspicious_signin")
    with pytest.raises(DomainError, match=message):
        policy_update(policy=policy, actor=admin_user, severity="high", parameters=parameters)
    policy.refresh_from_db()
    assert (policy.version, policy.severity) == (1, "medium")


def test_severity_and_automation_level_are_validated(admin_user):
    policy = AlertPolicy.objects.get(detector="suspicious_signin")
    with pytest.raises(DomainError, match="Severity must be one of"):
        policy_update(policy=policy, actor=admin_user, severity="critical")
    with pytest.raises(DomainError, match="Automation level must be one of"):
        policy_update(policy=policy, actor=admin_user, automation_level="auto")


def test_list_parameters_accept_lines_and_commas(admin_user):
    policy = AlertPolicy.objects.get(detector="external_forwarding")
    policy = policy_update(
        policy=policy, actor=admin_user, parameters={"allowed_domains": "a.example\nb.example, a.example"}
    )
    assert policy.parameters["allowed_domains"] == ["a.example", "b.example"]
