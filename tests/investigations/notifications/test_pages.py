"""Notification admin pages: admin only, secrets write-only, the delivery log."""

import pytest
from django.urls import reverse

from airportal.models import AuditEntry
from investigations.models import NotificationDelivery, NotificationRule

pytestmark = pytest.mark.django_db


@pytest.fixture
def rule(webhook_rule):
    return webhook_rule()


def _pages(rule):
    return [
        reverse("investigations:notification_rule_list"),
        reverse("investigations:notification_rule_create"),
        reverse("investigations:notification_rule_edit", args=[rule.pk]),
        reverse("investigations:notification_delivery_list"),
    ]


@pytest.mark.parametrize(
    ("persona", "status"), [("analyst", 403), ("manager", 403), ("admin", 200), ("ingest", 403), ("outsider", 403)]
)
def test_notification_pages_by_role(client, personas, rule, persona, status):
    client.force_login(personas[persona])
    for url in _pages(rule):
        assert client.get(url).status_code == status, url
    test = client.post(reverse("investigations:notification_rule_test", args=[rule.pk]))
    assert test.status_code == (302 if persona == "admin" else 403)


def test_anonymous_is_sent_to_sign_in(client, rule):
    for url in _pages(rule):
        assert client.get(url).status_code == 302


def _form(**overrides):
    data = {
        "name": "Slack SOC",
        "enabled": "on",
        "channel": "webhook",
        "format": "slack",
        "url": "https://127.0.0.1/services/T000/B000/XXXXSECRET",
        "events": ["alert_high", "action_failed"],
        "daily_cap": "20",
        "secret_headers": "X-Api-Key: key-that-must-not-leak",
    }
    data.update(overrides)
    return data


def test_private_webhook_url_is_refused_unless_allowed(admin_client):
    response = admin_client.post(reverse("investigations:notification_rule_create"), _form())
    assert response.status_code == 400
    assert b"loopback, private or link-local" in response.content
    assert not NotificationRule.objects.exists()
    response = admin_client.post(reverse("investigations:notification_rule_create"), _form(allow_private="on"))
    assert response.status_code == 302
    rule = NotificationRule.objects.get()
    assert (rule.format, rule.allow_private, rule.daily_cap) == ("slack", True, 20)
    assert rule.secret_headers == {"X-Api-Key": "key-that-must-not-leak"}


def test_secrets_are_never_shown_back_nor_audited(admin_client, receiver):
    admin_client.post(reverse("investigations:notification_rule_create"), _form(allow_private="on"))
    rule = NotificationRule.objects.get()
    pages = [
        admin_client.get(reverse("investigations:notification_rule_list")).content.decode(),
        admin_client.get(reverse("investigations:notification_rule_edit", args=[rule.pk])).content.decode(),
    ]
    for html in pages:
        assert "XXXXSECRET" not in html
        assert "key-that-must-not-leak" not in html
    assert "https://127.0.0.1/…" in pages[0]
    assert "1 header(s) stored" in pages[1]
    entry = AuditEntry.objects.get(verb="notification_rule.created")
    assert "XXXXSECRET" not in str(entry.changes) and "key-that-must-not-leak" not in str(entry.changes)
    assert entry.changes["after"]["secret_headers"] == ["X-Api-Key"]


def test_editing_with_blank_secrets_keeps_them(admin_client, rule):
    url = reverse("investigations:notification_rule_edit", args=[rule.pk])
    data = _form(name="Renamed", url="", secret_headers="", allow_private="on", format="generic")
    assert admin_client.post(url, data).status_code == 302
    rule.refresh_from_db()
    assert rule.name == "Renamed"
    assert rule.url.endswith("/hook/secret-path")
    assert rule.secret_headers == {"Authorization": "Bearer hook-secret-123"}
    entry = AuditEntry.objects.get(verb="notification_rule.changed")
    assert entry.changes["before"]["name"] == "SOC webhook"
    assert "url" not in entry.changes["after"]
    admin_client.post(url, {**data, "clear_secret_headers": "on"})
    rule.refresh_from_db()
    assert rule.secret_headers == {}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"channel": "email", "url": "", "recipients": ""}, b"at least one recipient"),
        ({"channel": "email", "recipients": "not-an-address"}, b"is not an e-mail address"),
        ({"secret_headers": "no colon here"}, b"Name: value"),
        ({"events": []}, b"This field is required"),
        ({"daily_cap": "0"}, b"greater than or equal to 1"),
    ],
)
def test_bad_rules_are_refused_with_a_clear_message(admin_client, overrides, message):
    response = admin_client.post(reverse("investigations:notification_rule_create"), _form(**overrides))
    assert response.status_code == 400
    assert message in response.content
    assert not NotificationRule.objects.exists()


def test_send_test_delivers_through_the_rule(admin_client, rule, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("investigations:notification_rule_test", args=[rule.pk]))
    assert response.status_code == 302
    assert receiver.bodies()[0]["title"] == "AIR Portal test notification"
    assert NotificationDelivery.objects.get().status == NotificationDelivery.Status.SENT
    assert AuditEntry.objects.filter(verb="notification_rule.tested").exists()


def test_delivery_log_escapes_payloads_and_has_a_fixed_query_count(admin_client, rule, django_assert_num_queries):
    for index in range(3):
        NotificationDelivery.objects.create(
            rule=rule,
            event="alert_high",
            event_key=f"alert_high:{index}",
            payload={"title": "<img src=x onerror=alert(1)>", "text": "", "url": ""},
            status="failed",
            error="HTTP 500: <b>boom</b>",
        )
    url = reverse("investigations:notification_delivery_list")
    # session, user, permissions (x2), page, rule choices.
    with django_assert_num_queries(6):
        html = admin_client.get(url).content.decode()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<b>boom</b>" not in html
    for index in range(3, 10):
        NotificationDelivery.objects.create(rule=rule, event="alert_high", event_key=f"alert_high:{index}")
    with django_assert_num_queries(6):
        response = admin_client.get(url, {"status": "pending"})
    assert len(response.context["page"].rows) == 7


def test_rule_list_query_count_is_fixed(admin_client, webhook_rule, django_assert_num_queries):
    webhook_rule()
    with django_assert_num_queries(5):
        admin_client.get(reverse("investigations:notification_rule_list"))
    for index in range(4):
        webhook_rule(name=f"rule {index}")
    with django_assert_num_queries(5):
        admin_client.get(reverse("investigations:notification_rule_list"))
