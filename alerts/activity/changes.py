"""Who made a change, and changes that did not happen.

A failed change (a cmdlet, consent or MFA change the source reports as failed) is stored (an
attempt is worth seeing on the timeline) with ``succeeded=False``; detectors and playbook checks
leave it out, since it changed nothing. Sign-ins are different: a failed sign-in is its own kind
and the spray and brute-force checks count it.
"""

from django.db.models import Q

from alerts.activity.fields import attr
from alerts.adapters.base import is_phantom
from alerts.models import Event

SIGNIN_KINDS = frozenset({Event.Kind.SIGNIN, Event.Kind.SIGNIN_FAILED})


def is_failed_change(event: Event) -> bool:
    return event.succeeded is False and event.kind not in SIGNIN_KINDS


def failed_changes() -> Q:
    """``is_failed_change`` as a filter: ``queryset.exclude(failed_changes())``."""
    return Q(succeeded=False) & ~Q(kind__in=sorted(SIGNIN_KINDS))


def made_by_another_person(event: Event, upn: str) -> bool:
    """True when a person other than ``upn`` made the change (an administrator's helpdesk reset).

    A change without an actor, or whose actor is a service (``ServicePrincipal_…``: the Azure MFA
    StrongAuthenticationService records the security info a user registers for themselves), is
    the user's own.
    """
    actor = str(attr(event, "actor", default="") or "").lower()
    return not is_phantom(actor) and actor != upn.lower()
