"""Which monitored identity a recipient name means (for ``alerts.adapters.principals``).

One query per distinct name; ingest memoises the answers per call. A name that fits several
identities (two "Alex Wilber", the alias ``info`` in two domains) resolves to none: guessing
would put one person's activity on another's timeline.
"""

from django.db.models import Q

from alerts.adapters.principals import PrincipalName
from alerts.models import Identity


def identity_upn_named(name: PrincipalName) -> str:
    """The UPN of the one identity ``name`` designates, or ``""``."""
    if name.address:
        return name.address
    if name.object_id:
        match = Q(external_id__iexact=name.object_id)
    elif name.name and "@" not in name.name:
        match = Q(upn__startswith=name.name.lower() + "@") | Q(display_name__iexact=name.name)
    else:
        return ""
    upns = list(Identity.objects.filter(match).order_by("upn").values_list("upn", flat=True)[:2])
    return upns[0] if len(upns) == 1 else ""
