"""What a stored sign-in granted: whether Conditional Access let it in, and whether a person was
there (interactive) or a client redeemed a token. Read by the baselines (what teaches a user's
habits) and by ``alerts.activity.signins`` (what the detectors and playbooks count as access)."""

from typing import Any

from django.db.models import Q

# ``conditionalAccessStatus`` of a sign-in Conditional Access blocked: no access was granted.
CA_BLOCKED = "failure"


def blocked_by_conditional_access(status: Any) -> bool:
    """``conditionalAccessStatus`` ``failure``: a policy blocked the sign-in (or its grant controls
    were not met), so whoever it was did not get in."""
    return str(status or "").lower() == CA_BLOCKED


def granted_access_q() -> Q:
    """``granted_access`` in SQL, for queries over many sign-ins (the back-test). A sign-in without
    ``conditionalAccessStatus`` (the audit log's copy) counts as granted, as in Python."""
    status = "attributes__conditional_access_status"
    return ~Q(succeeded=False) & (Q(**{f"{status}__isnull": True}) | ~Q(**{status: CA_BLOCKED}))


def attributes_of(event) -> dict:
    return event.attributes if isinstance(event.attributes, dict) else {}


def granted_access(event) -> bool:
    """Not failed and not blocked by Conditional Access (the kind is the caller's to check)."""
    return event.succeeded is not False and not blocked_by_conditional_access(
        attributes_of(event).get("conditional_access_status")
    )


def non_interactive(event) -> bool:
    """The source says no person signed in: a client redeemed a refresh token (``isInteractive`` false)."""
    return attributes_of(event).get("is_interactive") is False
