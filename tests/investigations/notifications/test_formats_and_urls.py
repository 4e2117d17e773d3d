"""Message formats escape attacker text for their receiver; webhook URLs cannot reach inside."""

import json
import socket

import pytest
from django.core import mail

from investigations.models import Action, NotificationDelivery, NotificationEvent
from investigations.notifications.notices import email_message, webhook_body
from investigations.notifications.webhook import WebhookURLRefused, webhook_url_check
from investigations.services.actions import action_fail
from tests.factories import ActionFactory

PAYLOAD = {
    "event": "alert_high",
    "title": "High-severity alert: <!channel> rule *invoice* [click](https://evil.example) & more",
    "text": "bob@contoso.com: <https://evil.example|your bank>",
    "url": "https://air.example.com/alerts/1/",
    "severity": "high",
    "details": {"alert": 1},
}


def test_slack_format_escapes_mentions_and_links():
    body = json.loads(webhook_body("slack", PAYLOAD))
    text = body["blocks"][0]["text"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert "<https://evil.example|your bank>" not in text
    assert "&amp; more" in text
    assert text.startswith("*<https://air.example.com/alerts/1/|")  # our own link stays a link


def test_teams_format_is_an_adaptive_card_with_markdown_escaped():
    body = json.loads(webhook_body("teams", PAYLOAD))
    card = body["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard"
    assert r"\[click\]\(https://evil\.example\)" in card["body"][0]["text"]
    assert card["actions"][0]["url"] == "https://air.example.com/alerts/1/"


def test_generic_format_is_the_notice_as_json():
    body = json.loads(webhook_body("generic", PAYLOAD))
    assert body == {"source": "air-portal", **PAYLOAD}


def test_email_is_plain_text_with_the_link():
    subject, text = email_message({**PAYLOAD, "title": "Line\nbreak"})
    assert subject == "[AIR Portal] Line break"
    assert PAYLOAD["url"] in text and "alert: 1" in text


@pytest.mark.django_db
def test_email_rule_sends_through_django_mail(webhook_rule, django_capture_on_commit_callbacks):
    webhook_rule(
        name="mail",
        channel="email",
        url="",
        recipients=["soc@contoso.com", "lead@contoso.com"],
        events=[NotificationEvent.ACTION_FAILED],
    )
    with django_capture_on_commit_callbacks(execute=True):
        action_fail(action=ActionFactory(kind=Action.Kind.RESET_PASSWORD, status=Action.Status.RUNNING), error="x")
    [message] = mail.outbox
    assert message.to == ["soc@contoso.com", "lead@contoso.com"]
    assert message.subject.startswith("[AIR Portal] Action failed: Reset password")
    assert NotificationDelivery.objects.get().status == NotificationDelivery.Status.SENT


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/x", "https"),
        ("ftp://example.com/x", "https"),
        ("https://user:pass@93.184.216.34/x", "credentials"),
        ("https://127.0.0.1/x", "loopback, private or link-local"),
        ("https://localhost/x", "loopback, private or link-local"),
        ("https://10.1.2.3/x", "loopback, private or link-local"),
        ("https://192.168.0.10/x", "loopback, private or link-local"),
        ("https://169.254.169.254/latest/meta-data", "loopback, private or link-local"),
        ("https://[::1]/x", "loopback, private or link-local"),
        ("https://[::ffff:127.0.0.1]/x", "loopback, private or link-local"),
        ("https://[fe80::1]/x", "loopback, private or link-local"),
        ("https://100.64.0.1/x", "loopback, private or link-local"),
        ("https://0.0.0.0/x", "loopback, private or link-local"),
        ("https://no-such-host.invalid/x", "does not resolve"),
        ("https:///x", "no host"),
    ],
)
def test_webhook_urls_that_could_reach_inside_are_refused(url, reason):
    with pytest.raises(WebhookURLRefused, match=reason):
        webhook_url_check(url, allow_private=False)


def test_public_https_address_is_accepted():
    assert webhook_url_check("https://93.184.216.34/hook", allow_private=False) == ["93.184.216.34"]


def test_allow_private_admits_an_internal_receiver_but_never_clear_text_to_the_internet():
    assert webhook_url_check("http://127.0.0.1:8080/hook", allow_private=True) == ["127.0.0.1"]
    assert webhook_url_check("https://10.0.0.5/hook", allow_private=True) == ["10.0.0.5"]
    with pytest.raises(WebhookURLRefused, match="https"):
        webhook_url_check("http://93.184.216.34/hook", allow_private=True)


def test_a_name_resolving_to_a_private_address_is_refused(monkeypatch):
    """DNS is the attacker's: what counts is the address a name resolves to, not the name."""

    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.168.1.1", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    with pytest.raises(WebhookURLRefused, match="192.168.1.1"):
        webhook_url_check("https://hooks.attacker.example/x", allow_private=False)
