"""The tenant's own mail domains ("accepted domains"): what "internal" means to every detector.

They are stored in the portal settings: read from the tenant (Graph ``GET /domains``, its verified
mail domains) once a day when a Microsoft 365 connection is configured, and listed by an admin on
the settings page otherwise. When that list is empty, they are the domains of the identities seen
in the data (identities are the tenant's monitored accounts).
"""

from dataclasses import dataclass

from django.db.models import F, Value
from django.db.models.functions import Lower, StrIndex, Substr

from airportal.services import portal_settings_get, portal_settings_update
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


DOMAINS_PERMISSION = "Domain.Read.All"


def tenant_mail_domains(client) -> list[str]:
    """The tenant's verified domains that carry mail, lower-cased, from Graph ``GET /domains``."""
    found: list[str] = []
    for page in client.graph_pages("domains", params={}, permission=DOMAINS_PERMISSION):
        for domain in page:
            name = str(domain.get("id") or "").strip().lower()
            services = domain.get("supportedServices")
            if name and domain.get("isVerified") is True and (not services or "Email" in services):
                found.append(name)
    return sorted(set(found))


def accepted_domains_refresh(*, client) -> list[str]:
    """Add the tenant's verified mail domains to the stored accepted domains; the domains added.

    Domains an admin listed stay (a domain the tenant dropped may still have mail in flight to
    judge), so nothing is lost; the change is audited like an admin's edit, with no actor.
    """
    stored = list(portal_settings_get().accepted_domains or [])
    added = [domain for domain in tenant_mail_domains(client) if domain not in stored]
    if added:
        portal_settings_update(actor=None, accepted_domains=stored + added)
    return added
