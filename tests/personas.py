"""The people and places of the test tenant, and their events as the adapters store them.

One place for the builders detector, playbook and console tests share. Attribute keys follow
``alerts/adapters/``: ``rule`` with snake_case keys, ``forward_to``, ``recipients``,
``message_id``, ``risk_level``, ``risk_state``, ``client_app``, ``authentication_requirement``,
``delegate``/``mailbox``/``actor``, ``scopes``.
"""

import uuid

from alerts.models import Event
from tests.factories import EventFactory, IdentityFactory

SEATTLE = {"city": "Seattle", "country": "US", "latitude": 47.61, "longitude": -122.33}
NEW_YORK = {"city": "New York", "country": "US", "latitude": 40.71, "longitude": -74.01}
LONDON = {"city": "London", "country": "GB", "latitude": 51.51, "longitude": -0.13}
MOSCOW = {"city": "Moscow", "country": "RU", "latitude": 55.76, "longitude": 37.62}
LAGOS = {"city": "Lagos", "country": "NG", "latitude": 6.52, "longitude": 3.38}
HOME_IP = "20.190.151.10"
ATTACKER_IP = "102.89.32.18"


def identity(name: str = "megan.bowen", domain: str = "contoso.com"):
    return IdentityFactory(upn=f"{name}@{domain}")


def signin(who, at, place=SEATTLE, *, ip=HOME_IP, succeeded=True, **attributes):
    return EventFactory(
        identity=who,
        occurred_at=at,
        kind=Event.Kind.SIGNIN if succeeded else Event.Kind.SIGNIN_FAILED,
        source="entra-signins",
        ip=ip,
        succeeded=succeeded,
        attributes={
            "client_app": "Browser",
            "risk_level": "none",
            "risk_state": "none",
            "authentication_requirement": "multiFactorAuthentication",
            **({} if succeeded else {"error_code": 50126}),  # a wrong password, as a spray produces
            **attributes,
        },
        **place,
    )


def mail(who, at, recipients, subject="Weekly sync", *, message_id=None, source="message-trace", **attributes):
    return EventFactory(
        identity=who,
        occurred_at=at,
        kind=Event.Kind.MAIL_SENT,
        source=source,
        ip=None,
        country="",
        subject=subject,
        target=recipients[0] if recipients else "",
        attributes={
            "recipients": list(recipients),
            "message_id": message_id or f"<{uuid.uuid4()}@contoso.com>",
            "sender": who.upn,
            **attributes,
        },
    )


def rule_event(who, at, rule, *, kind=Event.Kind.INBOX_RULE_CREATED, actor=None, ip=None):
    return EventFactory(
        identity=who,
        occurred_at=at,
        kind=kind,
        source="o365-audit",
        operation="New-InboxRule",
        target=rule.get("name", ""),
        ip=ip,
        attributes={"rule": rule, "mailbox": who.upn, "actor": actor or who.upn},
    )


def forwarding_event(who, at, forward_to, *, actor=None, ip=None):
    return EventFactory(
        identity=who,
        occurred_at=at,
        kind=Event.Kind.MAILBOX_FORWARDING_SET,
        source="o365-audit",
        operation="Set-Mailbox",
        target=who.upn,
        ip=ip,
        attributes={"forward_to": forward_to, "mailbox": who.upn, "actor": actor or who.upn},
    )


def permission_event(owner, at, *, delegate, actor, rights=("FullAccess",)):
    return EventFactory(
        identity=owner,
        occurred_at=at,
        kind=Event.Kind.MAILBOX_PERMISSION_ADDED,
        source="o365-audit",
        operation="Add-MailboxPermission",
        target=owner.upn,
        ip=None,
        attributes={"delegate": delegate, "access_rights": list(rights), "mailbox": owner.upn, "actor": actor},
    )


def mfa_registered(who, at, *, ip=HOME_IP, actor=None, **attributes):
    """An MFA method registered on ``who``, by ``actor`` (the user by default), as the audit log has it."""
    return EventFactory(
        identity=who,
        occurred_at=at,
        ip=ip,
        kind=Event.Kind.MFA_METHOD_CHANGED,
        source="o365-audit",
        operation="User registered security info.",
        target=who.upn,
        attributes={"actor": actor or who.upn, **attributes},
    )
