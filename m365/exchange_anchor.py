"""Which mailbox an Exchange Online admin API call is anchored on, and the headers that say so.

The Exchange Online PowerShell module v3 runs cmdlets through
``POST /adminapi/beta/{tenant}/InvokeCommand``; ``X-AnchorMailbox`` routes each call to the servers
of one mailbox. Public implementations of that endpoint agree on one convention (docs/m365.md
names them):

* a cmdlet about a mailbox is anchored on that mailbox's UPN: ``UPN:megan@contoso.com``;
* an organisation-level cmdlet (transport rules, organisation configuration, or a mailbox cmdlet
  run without a mailbox) on the organisation's system mailbox at the tenant's initial domain:
  ``UPN:SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}@contoso.onmicrosoft.com``. A domain
  belongs after the ``@``, never the tenant's GUID.

``X-CmdletName`` names the cmdlet and ``X-ResponseFormat: json`` asks for JSON instead of CLIXML.
The initial domain is ``M365_ORGANIZATION`` when set (what the module's ``-Organization`` takes),
else read once per process from Graph ``/domains`` (``M365Client.organization``).
"""

from collections.abc import Callable

# The arbitration mailbox every Exchange Online organisation has.
SYSTEM_MAILBOX = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"
ORGANIZATION_NOUNS = frozenset(
    {"TransportRule", "OrganizationConfig", "AcceptedDomain", "AdminAuditLogConfig", "RemoteDomain"}
)
# What reads the initial domain from Graph, named in the refusal when it is missing.
READ_DOMAINS = "Domain.Read.All (or set M365_ORGANIZATION to the tenant's initial domain)"


def is_organization_level(cmdlet: str) -> bool:
    return cmdlet.split("-", 1)[-1] in ORGANIZATION_NOUNS


def anchor(cmdlet: str, *, mailbox: str | None, organization: Callable[[], str]) -> str:
    """The ``X-AnchorMailbox`` value of one call; ``organization()`` gives the tenant's initial
    domain, asked for only by an organisation-level call."""
    if mailbox and not is_organization_level(cmdlet):
        return f"UPN:{mailbox}"
    return f"UPN:{SYSTEM_MAILBOX}@{organization()}"


def cmdlet_headers(cmdlet: str, *, mailbox: str | None, organization: Callable[[], str]) -> dict[str, str]:
    return {
        "X-AnchorMailbox": anchor(cmdlet, mailbox=mailbox, organization=organization),
        "X-CmdletName": cmdlet,
        "X-ResponseFormat": "json",
        "Prefer": "odata.maxpagesize=1000",
    }


def initial_domain_of(domains: list[dict]) -> str:
    """The initial domain in a Graph ``/domains`` listing, '' when none is marked initial."""
    return next((str(d["id"]) for d in domains if d.get("isInitial") is True and d.get("id")), "")
