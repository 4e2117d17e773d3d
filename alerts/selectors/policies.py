"""The Policies page: the policies, one policy, its versions and its suppressions."""

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from airportal.errors import NotFound
from alerts.models import AlertPolicy, AlertPolicyVersion, AlertSuppression


def policy_list() -> QuerySet:
    """Every policy with its count of active suppressions and who saved it last (one query)."""
    now = timezone.now()
    active = Q(suppressions__ended_at__isnull=True, suppressions__expires_at__gt=now)
    return (
        AlertPolicy.objects.select_related("updated_by")
        .annotate(active_suppressions=Count("suppressions", filter=active))
        .order_by("name")
    )


def policy_get(*, policy_id: int) -> AlertPolicy:
    """The policy with who saved it last; ``NotFound`` when there is none."""
    policy = AlertPolicy.objects.select_related("updated_by").filter(pk=policy_id).first()
    if policy is None:
        raise NotFound(f"No policy {policy_id}.")
    return policy


def policy_versions(*, policy: AlertPolicy, limit: int = 50) -> list[AlertPolicyVersion]:
    return list(policy.versions.select_related("changed_by").order_by("-version")[:limit])


def policy_suppressions(*, policy: AlertPolicy) -> tuple[list[AlertSuppression], list[AlertSuppression]]:
    """(active, past) suppressions of the policy, newest first."""
    now = timezone.now()
    rows = list(policy.suppressions.select_related("created_by", "ended_by").order_by("-created_at", "-id")[:200])
    active = [s for s in rows if s.ended_at is None and s.expires_at > now]
    return active, [s for s in rows if s not in active]


def suppression_get(*, policy_id: int, suppression_id: int) -> AlertSuppression:
    """A suppression of the policy; ``NotFound`` when there is none (or it belongs to another)."""
    suppression = (
        AlertSuppression.objects.select_related("policy").filter(pk=suppression_id, policy_id=policy_id).first()
    )
    if suppression is None:
        raise NotFound(f"No suppression {suppression_id} on policy {policy_id}.")
    return suppression
