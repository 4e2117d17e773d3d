"""Triage services: legal, illegal, duplicate and bulk moves of alerts."""

import pytest

from airportal.errors import Conflict, DomainError
from airportal.models import AuditEntry
from alerts.models import Alert
from alerts.services import alert_assign, alert_bulk_set_status, alert_set_status
from tests.factories import AlertFactory

pytestmark = pytest.mark.django_db


def test_resolving_records_classification_timestamps_and_audit(analyst):
    alert = AlertFactory()
    alert = alert_set_status(
        alert=alert, status="resolved", classification="true_positive", actor=analyst, comment="ok"
    )
    assert (alert.status, alert.classification) == ("resolved", "true_positive")
    assert alert.acknowledged_at is not None and alert.closed_at is not None
    entry = AuditEntry.objects.get(verb="alert.resolved")
    assert entry.actor == analyst and entry.changes["before"]["status"] == "new"


def test_resolving_needs_a_classification_and_dismissing_cannot_be_a_true_positive(analyst):
    alert = AlertFactory()
    with pytest.raises(DomainError, match="needs a classification"):
        alert_set_status(alert=alert, status="resolved", actor=analyst)
    with pytest.raises(DomainError, match="needs a classification"):
        alert_set_status(alert=alert, status="dismissed", classification="true_positive", actor=analyst)
    alert.refresh_from_db()
    assert alert.status == "new" and not AuditEntry.objects.filter(object_type="alerts.alert").exists()


def test_second_resolve_is_a_conflict(analyst, analyst2):
    alert = AlertFactory()
    stale = Alert.objects.get(pk=alert.pk)
    alert_set_status(alert=alert, status="resolved", classification="false_positive", actor=analyst)
    with pytest.raises(Conflict, match="already resolved"):
        alert_set_status(alert=alert, status="resolved", classification="false_positive", actor=analyst)
    with pytest.raises(Conflict, match="now resolved"):
        alert_set_status(alert=stale, status="dismissed", classification="false_positive", actor=analyst2)
    assert AuditEntry.objects.filter(object_type="alerts.alert").count() == 1


def test_reopening_clears_the_closure_but_keeps_the_first_acknowledgement(analyst):
    alert = AlertFactory()
    alert = alert_set_status(alert=alert, status="in_progress", actor=analyst)
    acknowledged = alert.acknowledged_at
    alert = alert_set_status(alert=alert, status="dismissed", classification="benign_positive", actor=analyst)
    with pytest.raises(Conflict, match="reopen it first"):
        alert_set_status(alert=alert, status="new", actor=analyst)
    alert = alert_set_status(alert=alert, status="in_progress", actor=analyst)
    assert (alert.closed_at, alert.classification, alert.acknowledged_at) == (None, "", acknowledged)


def test_assigning_starts_a_new_alert_and_only_triagers_can_be_assigned(analyst, analyst2, manager, ingest_user):
    alert = AlertFactory()
    with pytest.raises(DomainError, match="cannot triage"):
        alert_assign(alert=alert, assignee=ingest_user, actor=manager)
    alert = alert_assign(alert=alert, assignee=analyst2, actor=manager)
    assert (alert.assignee, alert.status) == (analyst2, "in_progress") and alert.acknowledged_at
    assert alert_assign(alert=alert, assignee=analyst2, actor=manager) == alert  # no-op
    assert AuditEntry.objects.filter(verb="alert.assigned").count() == 1
    alert = alert_assign(alert=alert, assignee=None, actor=analyst)
    assert alert.assignee is None and alert.status == "in_progress"


def test_bulk_resolve_reports_what_it_skipped(analyst):
    open_alert, closed = AlertFactory(), AlertFactory(status="dismissed", classification="false_positive")
    result = alert_bulk_set_status(
        alert_ids=[open_alert.pk, closed.pk, 999999], status="resolved", classification="true_positive", actor=analyst
    )
    assert result.changed == [open_alert.pk]
    assert set(result.skipped) == {closed.pk, 999999}
    assert "reopen it first" in result.skipped[closed.pk]
