"""A small, hand-computable world for the report tests: alerts, investigations, actions at fixed times.

Period under test: 2025-03-01 00:00 → 2025-03-08 00:00 UTC (7 days). Every figure the tests
expect is worked out by hand in the comments of ``world`` below.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from alerts.models import Alert, Severity
from investigations.models import Action, Investigation
from investigations.reports.filters import ReportFilters
from tests.factories import ActionFactory, AlertFactory, AlertPolicyFactory, IdentityFactory, InvestigationFactory

START = datetime(2025, 3, 1, tzinfo=UTC)
END = datetime(2025, 3, 8, tzinfo=UTC)
T = datetime(2025, 3, 2, 10, 0, tzinfo=UTC)
MIN, HOUR, DAY = timedelta(minutes=1), timedelta(hours=1), timedelta(days=1)


def make_alert(*, created, ttd, detector="suspicious_inbox_rule", identity, tta=None, assignee=None, **fields):
    alert = AlertFactory(
        detector=detector,
        identity=identity,
        first_activity_at=created - ttd,
        last_activity_at=created,
        acknowledged_at=created + tta if tta is not None else None,
        assignee=assignee,
        **fields,
    )
    Alert.objects.filter(pk=alert.pk).update(created_at=created)
    alert.refresh_from_db()
    return alert


def make_action(*, investigation, kind, created, **fields):
    action = ActionFactory(investigation=investigation, kind=kind, **fields)
    Action.objects.filter(pk=action.pk).update(created_at=created)
    action.refresh_from_db()
    return action


def make_investigation(*, identity, created, alerts=(), **fields):
    investigation = InvestigationFactory(identity=identity, **fields)
    Investigation.objects.filter(pk=investigation.pk).update(created_at=created)
    investigation.refresh_from_db()
    investigation.alerts.set(alerts)
    return investigation


@dataclass
class World:
    filters: ReportFilters
    alerts: dict
    actions: dict
    investigations: dict


@pytest.fixture
def world(db, analyst, analyst2):
    AlertPolicyFactory(detector="suspicious_inbox_rule", name="Suspicious inbox rule")
    AlertPolicyFactory(detector="suspicious_signin", name="Suspicious sign-in")
    bob = IdentityFactory(upn="bob@contoso.com", department="Finance")
    carol = IdentityFactory(upn="carol@contoso.com", department="Sales")
    TP, BP, FP = (
        Alert.Classification.TRUE_POSITIVE,
        Alert.Classification.BENIGN_POSITIVE,
        Alert.Classification.FALSE_POSITIVE,
    )
    #        detector   sev     created      ttd      tta      assignee  class
    # a1     inbox      high    T            60 min   10 min   alice     TP
    # a2     inbox      medium  T+1d         30 min   30 min   alice     FP
    # a3     inbox      low     T+2d         10 min   —        —         —
    # a4     signin     high    T+3d         2 h      20 min   arthur    TP
    # a5     signin     info    T+3d+1h      5 min    50 min   arthur    BP
    # ttd all: 300 600 1800 3600 7200 → p50 1800, p90 3600 + .6·3600 = 5760
    # ttd inbox: 600 1800 3600 → p50 1800, p90 1800 + .8·1800 = 3240; signin: 300 7200 → 3750, 6510
    # tta all: 600 1200 1800 3000 → p50 1500, p90 1800 + .7·1200 = 2640
    # tta alice: 600 1800 → 1200, 1680; arthur: 1200 3000 → 2100, 2820
    alerts = {
        "a1": make_alert(
            created=T, ttd=HOUR, tta=10 * MIN, identity=bob, assignee=analyst, severity=Severity.HIGH, classification=TP
        ),
        "a2": make_alert(
            created=T + DAY,
            ttd=30 * MIN,
            tta=30 * MIN,
            identity=bob,
            assignee=analyst,
            severity=Severity.MEDIUM,
            classification=FP,
        ),
        "a3": make_alert(created=T + 2 * DAY, ttd=10 * MIN, identity=bob, severity=Severity.LOW),
        "a4": make_alert(
            created=T + 3 * DAY,
            ttd=2 * HOUR,
            tta=20 * MIN,
            identity=carol,
            assignee=analyst2,
            detector="suspicious_signin",
            severity=Severity.HIGH,
            classification=TP,
        ),
        "a5": make_alert(
            created=T + 3 * DAY + HOUR,
            ttd=5 * MIN,
            tta=50 * MIN,
            identity=carol,
            assignee=analyst2,
            detector="suspicious_signin",
            severity=Severity.INFORMATIONAL,
            classification=BP,
        ),
        # The previous period (2025-02-22 → 03-01): one alert, ttd 15 min.
        "previous": make_alert(
            created=datetime(2025, 2, 25, tzinfo=UTC), ttd=15 * MIN, identity=bob, severity=Severity.LOW
        ),
        # Outside both periods: counted nowhere.
        "old": make_alert(
            created=datetime(2025, 1, 5, tzinfo=UTC), ttd=DAY, identity=carol, severity=Severity.HIGH, classification=FP
        ),
    }
    done = Investigation.Status.REMEDIATED
    i1 = make_investigation(
        identity=bob,
        created=T + 5 * MIN,
        alerts=[alerts["a1"], alerts["a2"]],
        status=done,
        verdict=Investigation.Verdict.COMPROMISED,
        started_by=analyst,
    )
    i2 = make_investigation(
        identity=carol,
        created=T + 3 * DAY + 5 * MIN,
        alerts=[alerts["a4"]],
        status=done,
        verdict=Investigation.Verdict.SUSPICIOUS,
    )
    i_open = make_investigation(identity=carol, created=T + 4 * DAY, status=Investigation.Status.PENDING_ACTION)
    S = Action.Status
    # ttr: a1 → last success of i1 at T+1d+3h = 97200 s; a2 → 3 h = 10800; a4 → 2 h = 7200; a3, a5: none.
    # ttr all: 7200 10800 97200 → p50 10800, p90 10800 + .8·86400 = 79920
    actions = {
        "revoke": make_action(
            investigation=i1,
            kind=Action.Kind.REVOKE_SESSIONS,
            created=T + 10 * MIN,
            status=S.SUCCEEDED,
            approved_by=analyst,
            approved_at=T + 20 * MIN,
            finished_at=T + 2 * HOUR,
        ),
        "rule": make_action(
            investigation=i1,
            kind=Action.Kind.REMOVE_INBOX_RULE,
            created=T + 10 * MIN,
            status=S.SUCCEEDED,
            automated=True,
            approved_at=T + 10 * MIN,
            finished_at=T + DAY + 3 * HOUR,
        ),
        "disable": make_action(
            investigation=i1,
            kind=Action.Kind.DISABLE_ACCOUNT,
            created=T + 10 * MIN,
            status=S.FAILED,
            approved_by=analyst,
            approved_at=T + 30 * MIN,
            finished_at=T + 5 * DAY,
            error='=HYPERLINK("http://evil")',
        ),
        "reset": make_action(
            investigation=i1,
            kind=Action.Kind.RESET_PASSWORD,
            created=T + 10 * MIN,
            status=S.REJECTED,
            rejected_by=analyst2,
            rejected_at=T + HOUR,
            decision_comment="+1 not needed, user on leave",
        ),
        "carol_revoke": make_action(
            investigation=i2,
            kind=Action.Kind.REVOKE_SESSIONS,
            created=T + 3 * DAY + 10 * MIN,
            status=S.SUCCEEDED,
            approved_by=analyst2,
            approved_at=T + 3 * DAY + 15 * MIN,
            finished_at=T + 3 * DAY + 2 * HOUR,
        ),
    }
    # An undo that succeeded later must not count as the remediation, nor as a decision.
    actions["undo"] = make_action(
        investigation=i1,
        kind=Action.Kind.REMOVE_INBOX_RULE,
        created=T + 4 * DAY,
        status=S.SUCCEEDED,
        approved_by=analyst,
        approved_at=T + 4 * DAY,
        finished_at=T + 4 * DAY + HOUR,
        undo_of=actions["rule"],
    )
    return World(
        filters=ReportFilters(start=START, end=END),
        alerts=alerts,
        actions=actions,
        investigations={"i1": i1, "i2": i2, "open": i_open},
    )
