"""The read layer's contract: one ``AlertFilters`` means the same alerts on the queue and in the
API, a missing row is ``NotFound``, input a read cannot answer is a ``DomainError``."""

import pytest

from airportal.errors import DomainError, NotFound
from alerts.models import Alert, Severity
from alerts.selectors.alerts import OPEN_STATUSES, AlertFilters, alert_count, alert_get, alert_list, alert_page
from alerts.selectors.policies import policy_get, suppression_get
from alerts.selectors.search import search_resolve
from alerts.selectors.timeline import event_get, identity_get
from tests.factories import AlertFactory, AlertPolicyFactory, EventFactory, IdentityFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alerts():
    megan = IdentityFactory(upn="megan.bowen@contoso.com")
    alex = IdentityFactory(upn="alex.wilber@contoso.com")
    return [
        AlertFactory(identity=megan, severity=Severity.HIGH, title="Inbox rule hides invoices"),
        AlertFactory(identity=megan, severity=Severity.LOW, status=Alert.Status.RESOLVED, title="Forwarding"),
        AlertFactory(identity=alex, severity=Severity.HIGH, detector="suspicious_signin", title="Sign-in"),
        AlertFactory(
            identity=alex,
            severity=Severity.MEDIUM,
            status=Alert.Status.DISMISSED,
            detector="suspicious_signin",
            title="Sign-in",
        ),
    ]


@pytest.mark.parametrize(
    "filters, expected",
    [
        (AlertFilters(), [0, 1, 2, 3]),
        (AlertFilters(statuses=OPEN_STATUSES), [0, 2]),
        (AlertFilters(severities=(Severity.HIGH,)), [0, 2]),
        (AlertFilters(user=" Megan.Bowen@CONTOSO.com "), [0, 1]),
        (AlertFilters(detector="suspicious_signin"), [2, 3]),
        (AlertFilters(text="invoices"), [0]),
        (AlertFilters(text="alex.wil"), [2, 3]),
        (AlertFilters(statuses=(Alert.Status.RESOLVED, Alert.Status.DISMISSED), severities=(Severity.LOW,)), [1]),
    ],
)
def test_the_queue_and_the_api_list_read_one_filter_alike(alerts, filters, expected):
    wanted = {alerts[i].pk for i in expected}
    assert {alert.pk for alert in alert_list(filters=filters)} == wanted
    assert {alert.pk for alert in alert_page(filters=filters, limit=10)} == wanted
    assert alert_count(filters=filters) == len(wanted)


def test_the_api_list_is_newest_first_by_id(alerts):
    assert [alert.pk for alert in alert_list(filters=AlertFilters())] == sorted((a.pk for a in alerts), reverse=True)


def test_a_missing_row_is_not_found_everywhere():
    policy = AlertPolicyFactory()
    for read in (
        lambda: alert_get(alert_id=999_999),
        lambda: event_get(event_id=999_999),
        lambda: identity_get(upn="nobody@contoso.com"),
        lambda: policy_get(policy_id=999_999),
        lambda: suppression_get(policy_id=policy.pk, suppression_id=999_999),
    ):
        with pytest.raises(NotFound):
            read()


def test_reads_of_rows_that_exist_return_them():
    event = EventFactory(identity=IdentityFactory(upn="megan.bowen@contoso.com"))
    assert identity_get(upn="MEGAN.BOWEN@contoso.com ") == event.identity
    assert event_get(event_id=event.pk) == event
    alert = AlertFactory()
    assert alert_get(alert_id=alert.pk) == alert


def test_a_search_too_short_is_a_domain_error_with_the_message_to_show():
    with pytest.raises(DomainError, match="at least 3 characters"):
        search_resolve(" ab ")
    assert search_resolve("198.51.100.7").ip == "198.51.100.7"
