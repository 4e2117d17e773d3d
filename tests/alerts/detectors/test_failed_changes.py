"""A change the source reports as failed (``ResultStatus`` False / Failure) is stored but judged by no detector."""

from datetime import timedelta

import pytest

from alerts.models import Alert, Event
from tests.alerts.support.detection import T0, detect, identity
from tests.alerts.support.ingest import dataset_lines
from tests.factories import EventFactory
from tests.pipeline import ingest_judged

pytestmark = pytest.mark.django_db


def test_a_failed_consent_to_a_mail_app_raises_nothing_and_a_successful_one_does():
    lee = identity("lee.gu")

    def consent(succeeded):
        return EventFactory(
            identity=lee,
            occurred_at=T0,
            kind=Event.Kind.OAUTH_CONSENT,
            source="o365-audit",
            succeeded=succeeded,
            target="Mail Sync Pro",
            attributes={"scopes": ["Mail.Read"], "client_id": "5d8c1a47", "app_display_name": "Mail Sync Pro"},
        )

    detect([consent(False)])
    assert Alert.objects.count() == 0
    detect([consent(True)])
    assert list(Alert.objects.values_list("detector", flat=True)) == ["oauth_app_consent"]


def test_panther_mfa_removal_that_failed_is_stored_as_failed():
    records = [
        case["log"] for case in dataset_lines("panther-analysis/tests_Microsoft365_Audit_AzureActiveDirectory.jsonl")
    ]
    ingest_judged(source="o365-audit", records=[dict(records[3], ResultStatus="Failure", Id="failed-removal")])
    event = Event.objects.get(kind=Event.Kind.MFA_METHOD_CHANGED)
    assert (event.succeeded, event.attributes["methods_removed"]) == (False, [7])


def test_a_failed_removal_of_every_mfa_method_raises_nothing():
    lee = identity("lee.gu")

    def removal(succeeded, minutes):
        return EventFactory(
            identity=lee,
            occurred_at=T0 + timedelta(minutes=minutes),
            kind=Event.Kind.MFA_METHOD_CHANGED,
            source="o365-audit",
            succeeded=succeeded,
            attributes={"methods_before": [6, 7], "methods_after": []},
        )

    detect([removal(False, 0)])
    assert Alert.objects.count() == 0
    detect([removal(True, 5)])
    assert list(Alert.objects.values_list("detector", flat=True)) == ["mfa_method_changed"]
