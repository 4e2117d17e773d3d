"""The alert side of the analyst's console: queue, alert page, identity timeline, search."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from alerts.models import Event
from tests.factories import AlertFactory, EventFactory, IdentityFactory

pytestmark = pytest.mark.django_db


def test_queue_renders_alerts(analyst_client):
    alert = AlertFactory(title="Forwarding to <b>evil</b>")
    response = analyst_client.get(reverse("alerts:alert_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Forwarding to &lt;b&gt;evil&lt;/b&gt;" in html
    assert reverse("alerts:alert_detail", args=[alert.id]) in html


def test_timeline_renders(analyst_client):
    identity = IdentityFactory(upn="bob@contoso.com")
    now = timezone.now()
    for i in range(5):
        EventFactory(
            identity=identity,
            occurred_at=now - timedelta(hours=i),
            latitude=40.0 + i * 10,
            longitude=-70.0 + i * 30,
            city="X",
        )
    EventFactory(identity=identity, kind=Event.Kind.MAIL_SENT, subject="<script>alert(1)</script>")
    response = analyst_client.get(reverse("identity_timeline", args=["Bob@contoso.com"]))
    assert response.status_code == 200, response.content[:2000]
    html = response.content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_search_renders(analyst_client):
    EventFactory(ip="198.51.100.7")
    response = analyst_client.get(reverse("alerts:search"), {"q": "198.51.100.7"})
    assert response.status_code == 200
    assert "198.51.100.7" in response.content.decode()


def test_alert_detail_renders(analyst_client):
    alert = AlertFactory(evidence={"count": 5, "threshold": 3, "ips": ["1.2.3.4"]})
    event = EventFactory(identity=alert.identity)
    alert.events.add(event)
    response = analyst_client.get(reverse("alerts:alert_detail", args=[alert.id]))
    assert response.status_code == 200
