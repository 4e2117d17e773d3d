"""The benign background: a fortnight of ordinary sign-ins and mail for every person of the tenant.

Traps real tenants hold and detection must not fall into: the office NAT that every office
worker signs in through (password typos and MFA interrupts before successes, dozens a
morning), changing mobile carrier addresses, the corporate VPN egress in the Netherlands,
iCloud Private Relay, dismissed/remediated Entra risk, and (``background_roles``) travel,
bulk senders, all-staff mail, users' own inbox rules, helpdesk MFA resets and delegations.
"""

from datetime import datetime, timedelta

from tests.quality.corpus.emit import DAYS, START, Emitter
from tests.quality.corpus.network import AZURE, AZURE_IP, OFFICE, OFFICE_IP, RELAY, VPN, VPN_IPS
from tests.quality.corpus.records.mail import message
from tests.quality.corpus.records.signins import OUTLOOK_MOBILE_AGENT, Risk, signin
from tests.quality.corpus.tenant import Person, Tenant, Trip

PARTNERS = ("fabrikam.com", "contoso.com", "adatum.com", "litwareinc.com", "wingtiptoys.com", "tailspintoys.com")
SUBJECTS = (
    "Re: Weekly sync",
    "Q1 forecast",
    "Lunch on Thursday?",
    "Design review notes",
    "Re: Purchase order 4471",
    "Updated slides",
    "Customer call follow-up",
    "Re: Contract renewal",
    "Timesheet reminder",
    "Minutes from today",
)
CUSTOMER_DOMAINS = ("gmail.com", "outlook.com", "yahoo.co.uk", "btinternet.com")
# Interactive sign-ins that require MFA log an interrupt first; some users mistype their password.
PRE_SUCCESS_FAILURES = ((50074, 0.30), (50126, 0.06), (50140, 0.04), (500121, 0.02), (50076, 0.03))


def where_today(person: Person, day: datetime) -> tuple:
    """(network, ip) of the person's working place on ``day``."""
    if day.weekday() in person.office_days:
        return OFFICE, OFFICE_IP
    if "vpn" in person.roles:
        return VPN, VPN_IPS[day.day % 2]
    return person.home, person.home_ip


def morning_signin(em: Emitter, person: Person, at: datetime, net, ip: str, **kwargs) -> str:
    """An interactive browser or desktop sign-in, with what precedes a success in real logs."""
    rng = em.rng
    app = rng.choice(("OfficeHome", "Microsoft Teams", "Microsoft Office", "Office 365 Exchange Online"))
    client = "Browser" if app in ("OfficeHome", "Office 365 Exchange Online") else "Mobile Apps and Desktop clients"
    for error, probability in PRE_SUCCESS_FAILURES:
        if rng.random() < probability:
            before = at - timedelta(seconds=rng.randint(15, 240))
            signin(em, person, before, net=net, ip=ip, app=app, client=client, error=error, **kwargs)
    requirement = "multiFactorAuthentication" if net is not OFFICE else "singleFactorAuthentication"
    return signin(em, person, at, net=net, ip=ip, app=app, client=client, requirement=requirement, **kwargs)


def person_day(em: Emitter, tenant: Tenant, person: Person, day: datetime, *, away=None) -> None:
    """One ordinary day; ``away`` = (network, ip) replaces the working place (a trip)."""
    rng = em.rng
    workday = day.weekday() < 5
    net, ip = away or where_today(person, day)
    if workday or away:
        at = day + timedelta(hours=7, minutes=45) + timedelta(seconds=rng.randint(0, 6300))
        session = morning_signin(em, person, at, net, ip)
        later = at + timedelta(hours=rng.uniform(3, 7))
        signin(
            em,
            person,
            later,
            net=net,
            ip=ip,
            app="Microsoft Teams",
            client="Mobile Apps and Desktop clients",
            session_id=session,
            interactive=False,
        )
        if workday:
            _mail(em, tenant, person, day, ip)
    if rng.random() < (0.7 if workday else 0.3):
        at = day + timedelta(hours=rng.uniform(7, 22))
        mobile_net = net if away else person.mobile
        signin(
            em,
            person,
            at,
            net=mobile_net,
            ip=ip if away else person.mobile.ip(rng),
            app="Outlook Mobile",
            client="Mobile Apps and Desktop clients",
            agent=OUTLOOK_MOBILE_AGENT,
            interactive=False,
            os_name="Ios",
            browser="",
        )
    if "relay" in person.roles and rng.random() < 0.4:
        at = day + timedelta(hours=rng.uniform(18, 22))
        relay = Risk(level="low", state="atRisk", detail="none", types=("anonymizedIPAddress",), aggregated="low")
        signin(
            em,
            person,
            at,
            net=RELAY,
            ip=RELAY.ip(rng),
            app="OfficeHome",
            os_name="Ios",
            browser="Mobile Safari",
            agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Version/17.3 Mobile/15E148 Safari/604.1",
            risk=relay,
            requirement="multiFactorAuthentication",
        )


def _mail(em: Emitter, tenant: Tenant, person: Person, day: datetime, ip: str) -> None:
    rng = em.rng
    for _ in range(rng.randint(1, 5)):
        at = day + timedelta(hours=rng.uniform(8.5, 17.5))
        recipients = [rng.choice(tenant.people).upn for _ in range(rng.randint(1, 3))]
        if rng.random() < 0.25:
            recipients.append(
                f"{rng.choice(('orders', 'accounts', 'j.doe', 'm.rossi', 'team'))}@{rng.choice(PARTNERS)}"
            )
        recipients = [r for r in dict.fromkeys(recipients) if r != person.upn]
        if recipients:
            message(em, at, sender=person.upn, recipients=recipients, subject=rng.choice(SUBJECTS), from_ip=ip)


def generate_background(em: Emitter, tenant: Tenant, trips: dict[str, Trip]) -> None:
    """Every person's every day; a traveller's flight day is left to the trip (``roles.travel_arrivals``)."""
    for index in range(DAYS):
        day = START + timedelta(days=index)
        for person in tenant.people:
            trip = trips.get(person.upn)
            if trip is None or not trip.depart <= index <= trip.last:
                person_day(em, tenant, person, day)
            elif index > trip.depart:
                person_day(em, tenant, person, day, away=(trip.hotel, trip.ip))
        _service_accounts(em, tenant, day)
        _shared_inbound(em, tenant, day)


def _service_accounts(em: Emitter, tenant: Tenant, day: datetime) -> None:
    """The scanner relays scans with SMTP AUTH from the office; the CRM sync mails order confirmations."""
    rng = em.rng
    scanner, crm = tenant.service_accounts
    if day.weekday() < 5:
        for _ in range(rng.randint(4, 12)):
            at = day + timedelta(hours=rng.uniform(8, 18))
            signin(
                em,
                scanner,
                at,
                net=OFFICE,
                ip=OFFICE_IP,
                app="Office 365 Exchange Online",
                client="Authenticated SMTP",
                agent="",
                interactive=True,
                audit_copy=False,
            )
            message(
                em,
                at,
                sender=scanner.upn,
                recipients=[rng.choice(tenant.people).upn],
                subject="Message from KM_C450i",
                from_ip=OFFICE_IP,
            )
    for hour in (2, 10, 18):
        signin(
            em,
            crm,
            day + timedelta(hours=hour),
            net=AZURE,
            ip=AZURE_IP,
            app="Office 365 Exchange Online",
            client="Mobile Apps and Desktop clients",
            agent="python-msal/1.26.0",
            interactive=False,
        )
    for _ in range(rng.randint(40, 90)):
        at = day + timedelta(hours=rng.uniform(0, 24))
        customer = f"customer{rng.randint(1, 5000)}@{rng.choice(CUSTOMER_DOMAINS)}"
        message(
            em,
            at,
            sender=crm.upn,
            recipients=[customer],
            subject=f"Your Northwind order #{rng.randint(100000, 999999)}",
            from_ip=AZURE_IP,
        )


def _shared_inbound(em: Emitter, tenant: Tenant, day: datetime) -> None:
    rng = em.rng
    for mailbox in tenant.shared_mailboxes[1:3]:
        for _ in range(rng.randint(5, 20)):
            at = day + timedelta(hours=rng.uniform(0, 24))
            sender = f"{rng.choice(('sales', 'hello', 'noreply', 'support'))}@{rng.choice(PARTNERS)}"
            message(
                em,
                at,
                sender=sender,
                recipients=[mailbox],
                subject="Enquiry about your products",
                from_ip=f"40.107.{rng.randint(1, 250)}.{rng.randint(2, 250)}",
            )
