"""Two alerts of one identity raised at the same moment on PostgreSQL: one investigation, both alerts in it."""

import threading

import pytest
from django.db import connection

from investigations.models import Investigation
from investigations.services.investigations import investigation_attach_alert
from tests.investigations.support import alert, identity

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_racing_alerts_open_a_single_investigation(transactional_db, require_postgres):
    megan = identity()
    alerts = [alert(megan, detector=detector) for detector in ("suspicious_signin", "external_forwarding")]
    barrier = threading.Barrier(len(alerts))
    opened: list[int] = []

    def attach(alert_id):
        try:
            barrier.wait()
            opened.append(investigation_attach_alert(alert_id=alert_id).pk)
        finally:
            connection.close()

    threads = [threading.Thread(target=attach, args=(a.pk,)) for a in alerts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(opened) == 2 and len(set(opened)) == 1
    assert Investigation.objects.filter(identity=megan).count() == 1
    assert set(Investigation.objects.get().alerts.values_list("pk", flat=True)) == {a.pk for a in alerts}
