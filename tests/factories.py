"""factory_boy factories for the domain; tests build rows with these, never by hand-written SQL."""

import uuid
from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from alerts.models import Alert, AlertPolicy, Event, Identity, Severity
from investigations.models import Action, Investigation


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("correct-horse-battery")


class IdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identity
        django_get_or_create = ("upn",)

    upn = factory.Sequence(lambda n: f"user{n}@contoso.com")
    display_name = factory.Sequence(lambda n: f"User {n}")
    department = "Finance"


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    identity = factory.SubFactory(IdentityFactory)
    occurred_at = factory.LazyFunction(timezone.now)
    kind = Event.Kind.SIGNIN
    source = "events"
    source_record_id = factory.LazyFunction(lambda: str(uuid.uuid4()))
    ip = "203.0.113.10"
    country = "US"


class AlertPolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AlertPolicy
        django_get_or_create = ("detector",)

    detector = "suspicious_inbox_rule"
    name = factory.LazyAttribute(lambda o: o.detector.replace("_", " ").capitalize())
    severity = Severity.MEDIUM


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alert

    identity = factory.SubFactory(IdentityFactory)
    detector = "suspicious_inbox_rule"
    title = "Suspicious inbox rule"
    severity = Severity.HIGH
    dedup_key = factory.Sequence(lambda n: f"k{n}")
    first_activity_at = factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=5))
    last_activity_at = factory.LazyFunction(timezone.now)
    event_count = 1


class InvestigationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Investigation

    identity = factory.SubFactory(IdentityFactory)


class ActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Action

    investigation = factory.SubFactory(InvestigationFactory)
    identity = factory.SelfAttribute("investigation.identity")
    kind = Action.Kind.REVOKE_SESSIONS
    target = factory.SelfAttribute("identity.upn")
    idempotency_key = factory.LazyFunction(lambda: uuid.uuid4().hex)
