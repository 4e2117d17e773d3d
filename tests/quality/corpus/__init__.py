"""A labelled synthetic Microsoft 365 tenant: ``build_corpus(seed)`` → records per source and labels.

Seeded and deterministic: the same seed gives the same records, byte for byte.
"""

from dataclasses import dataclass
from random import Random

from tests.quality.corpus import attacks, attacks_admin, attacks_shapes, attacks_signin, odd
from tests.quality.corpus.background import generate_background
from tests.quality.corpus.emit import Emitter, Record
from tests.quality.corpus.labels import BENIGN, COMPROMISED, IMPACTED, ODD, Label
from tests.quality.corpus.roles import generate_roles, plan_trips
from tests.quality.corpus.tenant import Tenant, build_tenant

SEED = 20260302
# (story, function): each takes one ordinary victim; admin stories take an admin.
STORIES = (
    ("bec_classic", attacks.bec_classic),
    ("aitm", attacks.aitm),
    ("device_code", attacks.device_code),
    ("token_replay", attacks.token_replay),
    ("consent_phishing", attacks.consent_phishing),
    ("password_spray", attacks.password_spray),
    ("internal_phishing", attacks.internal_phishing),
    ("folder_permission", attacks.folder_permission),
    ("mailbox_forwarding", attacks.mailbox_forwarding),
    ("data_theft", attacks.data_theft),
    ("microsoft_confirmed", attacks.microsoft_confirmed),
    ("admin_confirmed", attacks.admin_confirmed),
    ("late_signin_mfa", attacks.late_signin_mfa),
    ("folder_share_outsider", attacks_shapes.folder_share_outsider),
    ("transport_rule_redirect", attacks_shapes.transport_rule_redirect),
    ("sendas_delegation", attacks_shapes.sendas_delegation),
    ("mfa_fatigue", attacks_signin.mfa_fatigue),
    ("quiet_session_replay", attacks_signin.quiet_session_replay),
)
ODD_STORIES = (
    ("odd_new_country", odd.weekend_in_dublin),
    ("odd_first_vpn", odd.first_vpn_hop),
    ("odd_open_risk", odd.open_risk_alone),
    ("odd_invoice_rule", odd.invoice_folder_rule),
)


@dataclass
class Corpus:
    tenant: Tenant
    records: list[Record]
    labels: dict[str, Label]  # by UPN

    def by_source(self) -> dict[str, list[dict]]:
        grouped: dict[str, list[dict]] = {}
        for record in self.records:
            grouped.setdefault(record.source, []).append(record.payload)
        return grouped


def build_corpus(seed: int = SEED) -> Corpus:
    rng = Random(seed)
    tenant = build_tenant(rng)
    em = Emitter(rng)
    labels = {
        p.upn: Label(p.upn, BENIGN, "background:" + (",".join(sorted(p.roles)) or "staff")) for p in tenant.people
    }
    labels.update((p.upn, Label(p.upn, BENIGN, "background:service")) for p in tenant.service_accounts)
    labels.update((upn, Label(upn, BENIGN, "background:shared mailbox")) for upn in tenant.shared_mailboxes)
    trips = plan_trips(em, tenant)
    generate_background(em, tenant, trips)
    generate_roles(em, tenant, trips)
    attacks_shapes.background(em, tenant)
    boss = tenant.people[0]  # the CEO: the mailbox the compromised Exchange admin exposes
    victims = [person for person in tenant.ordinary() if person is not boss]
    rng.shuffle(victims)
    for story, tell in STORIES:
        victim = victims.pop()
        tell(em, tenant, victim)
        labels[victim.upn] = Label(victim.upn, COMPROMISED, story)
    for story, tell in ODD_STORIES:
        person = victims.pop()
        tell(em, tenant, person)
        labels[person.upn] = Label(person.upn, ODD, story)
    admin = tenant.by_role("admin")[1]
    attacks_admin.delegation_outsider(em, tenant, admin, boss)
    labels[admin.upn] = Label(admin.upn, COMPROMISED, "delegation_outsider")
    labels[boss.upn] = Label(boss.upn, IMPACTED, "delegation_outsider (the exposed mailbox)")
    admin = tenant.by_role("admin")[2]
    attacks_admin.transport_rule(em, tenant, admin)
    labels[admin.upn] = Label(admin.upn, COMPROMISED, "transport_rule_bcc")
    helpdesk = tenant.by_role("helpdesk")[1]
    attacks_admin.mfa_disabled(em, tenant, helpdesk)
    labels[helpdesk.upn] = Label(helpdesk.upn, COMPROMISED, "mfa_disabled")
    # Told last, so the stories above keep their victims and records whatever is added here.
    victim = next(person for person in reversed(victims) if person.upn not in trips)
    victims.remove(victim)
    attacks_signin.offline_risk_mfa(em, tenant, victim)
    labels[victim.upn] = Label(victim.upn, COMPROMISED, "offline_risk_mfa")
    traveller = tenant.by_role("traveller")[0]
    attacks_signin.dismissed_travel_risk(em, traveller, trips[traveller.upn])
    labels[traveller.upn] = Label(traveller.upn, BENIGN, "dismissed_travel_risk")
    records = sorted(em.records, key=lambda r: (r.arrives_at, r.source))
    return Corpus(tenant=tenant, records=records, labels=labels)
