"""Benign but odd: users whose activity looks unusual and is innocent. At most suspicious."""

from datetime import timedelta

from tests.quality.corpus.emit import START, Emitter
from tests.quality.corpus.network import DUBLIN, VPN, VPN_IPS
from tests.quality.corpus.records.exchange import new_inbox_rule
from tests.quality.corpus.records.signins import Risk, signin
from tests.quality.corpus.tenant import Person, Tenant


def weekend_in_dublin(em: Emitter, tenant: Tenant, person: Person) -> None:
    """A weekend at a friend's in Dublin: a new country, nothing else."""
    ip = DUBLIN.ip(em.rng)
    for hours in (5 * 24 + 10, 5 * 24 + 19, 6 * 24 + 11):
        signin(em, person, START + timedelta(hours=hours), net=DUBLIN, ip=ip, requirement="multiFactorAuthentication")


def first_vpn_hop(em: Emitter, tenant: Tenant, person: Person) -> None:
    """The first time this user connects through the corporate VPN (egress in Amsterdam)."""
    signin(em, person, START + timedelta(days=9, hours=20), net=VPN, ip=VPN_IPS[0])


def open_risk_alone(em: Emitter, tenant: Tenant, person: Person) -> None:
    """An unfamiliar-features detection that nobody closed, from another UK ISP, and nothing after it."""
    net = next(n for n in (person.mobile, person.home) if n is not person.home)
    risk = Risk(level="medium", state="atRisk", types=("unfamiliarFeatures",), aggregated="medium")
    signin(
        em,
        person,
        START + timedelta(days=10, hours=19),
        net=net,
        ip=net.ip(em.rng),
        risk=risk,
        requirement="multiFactorAuthentication",
    )


def invoice_folder_rule(em: Emitter, tenant: Tenant, person: Person) -> None:
    """A finance clerk files invoices into their own folder, from the office."""
    from tests.quality.corpus.network import OFFICE_IP

    new_inbox_rule(
        em,
        person,
        START + timedelta(days=4, hours=11),
        "Invoices",
        [("SubjectContainsWords", "invoice"), ("MoveToFolder", "Invoices")],
        ip=OFFICE_IP,
    )
