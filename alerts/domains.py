"""The tenant's own mail domains ("accepted domains"): what "internal" means to every detector.

An admin may list them in the portal settings; when that list is empty, they are the domains
of the identities seen in the data (identities are the tenant's monitored accounts).
"""

from dataclasses import dataclass

from django.db.models import F, Value
from django.db.models.functions import Lower, StrIndex, Substr

from airportal.services import portal_settings_get
from alerts.models import Identity


@dataclass(frozen=True)
class TenantDomains:
    domains: frozenset[str]
    configured: bool  # False: learnt from the identities, so possibly incomplete


def tenant_domains() -> TenantDomains:
    """The accepted domains, lower-cased. Two small queries: the setting, then identities' domains."""
    configured = [domain.strip().lower().lstrip("@") for domain in portal_settings_get().accepted_domains or []]
    configured = [domain for domain in configured if domain]
    if configured:
        return TenantDomains(frozenset(configured), configured=True)
    domains = (
        Identity.objects.annotate(domain=Lower(Substr(F("upn"), StrIndex(F("upn"), Value("@")) + 1)))
        .filter(upn__contains="@")
        .order_by()
        .values_list("domain", flat=True)
        .distinct()
    )
    return TenantDomains(frozenset(domain for domain in domains if domain), configured=False)


def accepted_domains() -> frozenset[str]:
    return tenant_domains().domains
