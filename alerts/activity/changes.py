"""Changes that did not happen: a cmdlet, consent or MFA change the source reports as failed.

The record is stored (an attempt is worth seeing on the timeline) with ``succeeded=False``;
detectors and playbook checks leave it out, since it changed nothing. Sign-ins are different:
a failed sign-in is its own kind and the spray and brute-force checks count it.
"""

from django.db.models import Q

from alerts.models import Event

SIGNIN_KINDS = frozenset({Event.Kind.SIGNIN, Event.Kind.SIGNIN_FAILED})


def is_failed_change(event: Event) -> bool:
    return event.succeeded is False and event.kind not in SIGNIN_KINDS


def failed_changes() -> Q:
    """``is_failed_change`` as a filter: ``queryset.exclude(failed_changes())``."""
    return Q(succeeded=False) & ~Q(kind__in=sorted(SIGNIN_KINDS))
