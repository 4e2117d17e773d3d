"""Benign activity that belongs to a role: trips, bulk and all-staff mail, users' own inbox rules,
helpdesk MFA resets, new phones, app consents, delegations on shared mailboxes, stale risk.
"""

from datetime import timedelta

from tests.quality.corpus.emit import DAYS, START, Emitter
from tests.quality.corpus.network import HOTELS, OFFICE, OFFICE_IP
from tests.quality.corpus.records.directory import consent, methods, security_info, update_user
from tests.quality.corpus.records.exchange import cmdlet, new_inbox_rule, update_inbox_rules
from tests.quality.corpus.records.mail import message
from tests.quality.corpus.records.signins import Risk, browser_agent, signin
from tests.quality.corpus.tenant import ORGANIZATION, Tenant, Trip

# Hours from the last sign-in at home to the first one abroad: flight plus transfers.
TRAVEL_HOURS = {"hotel_nyc": 11.5, "hotel_toronto": 12.0, "hotel_berlin": 5.0, "hotel_paris": 4.5, "hotel_milan": 5.5}
EXCHANGE_DN_TAIL = "DC=GBRP265A001,DC=PROD,DC=OUTLOOK,DC=COM"
CONSUMER_DOMAINS = ("gmail.com", "outlook.com", "btinternet.com", "hotmail.co.uk")
LOW_SCOPE_APPS = (
    ("Zoom", "3a2a1c3e-0d7b-4c8e-9b5f-2c1d0e9f8a71", "openid profile email offline_access User.Read"),
    ("Calendly", "8b4f7e2d-5c1a-4f3e-9d2b-7a6c5e4d3b21", "openid profile email User.Read Calendars.ReadWrite"),
    ("Miro", "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f", "openid profile email User.Read"),
)


def plan_trips(em: Emitter, tenant: Tenant) -> dict[str, Trip]:
    """One trip per traveller: the flight day, then two to four days at a hotel abroad."""
    trips = {}
    for person in tenant.by_role("traveller"):
        hotel = em.rng.choice(HOTELS)
        depart = em.rng.randint(4, 9)
        last = min(DAYS - 1, depart + em.rng.randint(2, 4))
        trips[person.upn] = Trip(depart=depart, last=last, hotel=hotel, ip=hotel.ip(em.rng))
    return trips


def travel_arrivals(em: Emitter, tenant: Tenant, trips: dict[str, Trip]) -> None:
    """The flight day: a sign-in at home before leaving, the first one abroad at a plausible speed
    (its risk remediated by MFA), nothing in between."""
    for person in tenant.by_role("traveller"):
        trip = trips[person.upn]
        day = START + timedelta(days=trip.depart)
        signin(em, person, day + timedelta(hours=5, minutes=30), net=person.home, ip=person.home_ip)
        arrival = day + timedelta(hours=5.5 + TRAVEL_HOURS[trip.hotel.key] + em.rng.uniform(0.5, 2))
        stale = Risk(
            level="medium",
            state="remediated",
            detail="userPassedMFADrivenByRiskBasedPolicy",
            types=("unfamiliarFeatures",),
            aggregated="none",
        )
        signin(em, person, arrival, net=trip.hotel, ip=trip.ip, risk=stale, requirement="multiFactorAuthentication")


def dismissed_risk(em: Emitter, tenant: Tenant) -> None:
    """A sign-in Identity Protection flagged and an admin later dismissed (or the user remediated)."""
    for number, person in enumerate(tenant.by_role("dismissed_risk")):
        at = START + timedelta(days=em.rng.randint(3, 12), hours=em.rng.uniform(18, 21))
        state, detail = (
            ("dismissed", "adminDismissedAllRiskForUser")
            if number % 2
            else ("remediated", "userPerformedSecuredPasswordReset")
        )
        risk = Risk(level="medium", state=state, detail=detail, types=("unfamiliarFeatures",), aggregated="none")
        signin(
            em,
            person,
            at,
            net=person.home,
            ip=person.home.ip(em.rng),
            risk=risk,
            requirement="multiFactorAuthentication",
        )


def bulk_senders(em: Emitter, tenant: Tenant) -> None:
    """Marketing mail-merges: 450–750 external one-recipient messages every day for two weeks, about
    700 an hour: over the recommended outbound preset, well within what Exchange Online allows."""
    for person in tenant.by_role("marketing"):
        audience = [f"{('lead', 'client')[n % 2]}{n}@{CONSUMER_DOMAINS[n % 4]}" for n in range(1500)]
        for index in range(DAYS):
            day = START + timedelta(days=index)
            subject = (
                f"Northwind Traders — {('Spring catalogue', 'Trade show invite', 'Customer newsletter')[index % 3]}"
            )
            start = day + timedelta(hours=em.rng.uniform(9, 11))
            for n, recipient in enumerate(em.rng.sample(audience, em.rng.randint(450, 750))):
                message(
                    em,
                    start + timedelta(seconds=n * 5),
                    sender=person.upn,
                    recipients=[recipient],
                    subject=subject,
                    from_ip=OFFICE_IP,
                )


def all_staff(em: Emitter, tenant: Tenant) -> None:
    """HR and IT notices: one subject to the whole company through the all-staff distribution list."""
    hr, it = tenant.by_role("hr"), tenant.by_role("admin")
    notices = [
        (hr[0], 2, "Updated holiday policy 2026 — please read"),
        (it[0], 5, "Scheduled maintenance: VPN upgrade on Saturday"),
        (hr[1], 8, "Reminder: March payroll date and expense deadline"),
        (hr[0], 11, "Invitation: all-hands meeting on Friday"),
    ]
    members = [person.upn for person in tenant.people]
    for sender, index, subject in notices:
        at = START + timedelta(days=index, hours=10, minutes=em.rng.randint(0, 59))
        message(
            em,
            at,
            sender=sender.upn,
            recipients=members,
            subject=subject,
            from_ip=OFFICE_IP,
            expanded_from=tenant.all_staff_list,
        )


def own_rules(em: Emitter, tenant: Tenant) -> None:
    """The rules people make: newsletters archived and read, [SPAM] to Junk, the boss to a folder."""
    boss = tenant.people[0]
    for number, person in enumerate(tenant.by_role("own_rules")):
        at = START + timedelta(days=em.rng.randint(1, 12), hours=em.rng.uniform(9, 17))
        ip = OFFICE_IP
        kind = number % 5
        if kind == 0:
            new_inbox_rule(
                em,
                person,
                at,
                "Newsletters",
                [
                    ("FromAddressContainsWords", "newsletter;noreply"),
                    ("MoveToFolder", "Archive"),
                    ("MarkAsRead", "True"),
                    ("StopProcessingRules", "True"),
                ],
                ip=ip,
            )
        elif kind == 1:
            new_inbox_rule(
                em,
                person,
                at,
                "[SPAM] to Junk",
                [("SubjectContainsWords", "[SPAM]"), ("MoveToFolder", "Junk Email"), ("StopProcessingRules", "True")],
                ip=ip,
            )
        elif kind == 2:
            new_inbox_rule(
                em,
                person,
                at,
                f"From {boss.first_name}",
                [("From", boss.upn), ("MoveToFolder", boss.first_name), ("MarkImportance", "High")],
                ip=ip,
            )
        elif kind == 3:
            update_inbox_rules(
                em,
                person,
                at,
                name="Receipts",
                ip=ip,
                condition="{(SubString(SubjectProperty)=receipt)}",
                actions=[{"ActionType": "MoveToFolder", "Folder": "Receipts"}],
            )
        else:
            update_inbox_rules(
                em,
                person,
                at,
                name="LinkedIn notifications",
                ip=ip,
                condition="{(SubString(SenderEmailAddress)=linkedin.com)}",
                actions=[{"ActionType": "MoveToFolder", "Folder": "Social"}, {"ActionType": "MarkAsRead"}],
            )


def helpdesk_resets(em: Emitter, tenant: Tenant) -> None:
    """A lost or new phone: the helpdesk requires re-registration, the user registers from the office."""
    helpdesk = tenant.by_role("helpdesk")
    for number, person in enumerate(tenant.by_role("new_phone")):
        agent = helpdesk[number % len(helpdesk)]
        at = START + timedelta(days=em.rng.randint(1, 12), hours=em.rng.uniform(9, 15))
        update_user(em, agent, person, at, [("StrongAuthenticationMethod", methods(6, 7), "[]")], ip=OFFICE_IP)
        later = at + timedelta(minutes=em.rng.randint(20, 150))
        signin(
            em,
            person,
            later - timedelta(minutes=2),
            net=OFFICE,
            ip=OFFICE_IP,
            app="My Signins",
            requirement="multiFactorAuthentication",
        )
        security_info(em, person, later, "User registered security info.", ip=OFFICE_IP, agent=browser_agent(person))
        if number % 2:
            # The native iOS Mail app on the new phone: Exchange ActiveSync with modern auth.
            signin(
                em,
                person,
                later + timedelta(hours=1),
                net=person.mobile,
                ip=person.mobile.ip(em.rng),
                app="Office 365 Exchange Online",
                client="Exchange ActiveSync",
                agent="iPhone15C3/2104.139",
                interactive=False,
                os_name="Ios",
                browser="",
            )


def app_consents(em: Emitter, tenant: Tenant) -> None:
    for number, person in enumerate(tenant.by_role("app_consent")):
        name, client_id, scopes = LOW_SCOPE_APPS[number % len(LOW_SCOPE_APPS)]
        at = START + timedelta(days=em.rng.randint(1, 12), hours=em.rng.uniform(9, 17))
        consent(em, person, at, app_name=name, client_id=client_id, scopes=scopes, ip=OFFICE_IP)


def delegations(em: Emitter, tenant: Tenant) -> None:
    """Admins give colleagues access to shared mailboxes, naming both as the admin centre does."""
    admins = tenant.by_role("admin")
    for number, person in enumerate(tenant.by_role("delegate")):
        admin = admins[number % len(admins)]
        mailbox = tenant.shared_mailboxes[number % len(tenant.shared_mailboxes)].split("@")[0]
        at = START + timedelta(days=em.rng.randint(1, 12), hours=em.rng.uniform(9, 17))
        identity = (
            mailbox
            if number % 2
            else f"CN={mailbox},OU={ORGANIZATION},OU=Microsoft Exchange Hosted Organizations,{EXCHANGE_DN_TAIL}"
        )
        user = person.display_name if number % 2 else person.alias
        cmdlet(
            em,
            admin,
            at,
            "Add-MailboxPermission",
            [
                ("Identity", identity),
                ("User", user),
                ("AccessRights", "FullAccess"),
                ("InheritanceType", "All"),
                ("AutoMapping", "True"),
            ],
            ip=OFFICE_IP,
            object_id=identity,
            admin=True,
        )
        cmdlet(
            em,
            admin,
            at + timedelta(minutes=2),
            "Add-RecipientPermission",
            [("Identity", mailbox), ("Trustee", person.upn), ("AccessRights", "SendAs"), ("Confirm", "False")],
            ip=OFFICE_IP,
            object_id=mailbox,
            admin=True,
        )


def generate_roles(em: Emitter, tenant: Tenant, trips: dict[str, Trip]) -> None:
    travel_arrivals(em, tenant, trips)
    dismissed_risk(em, tenant)
    bulk_senders(em, tenant)
    all_staff(em, tenant)
    own_rules(em, tenant)
    helpdesk_resets(em, tenant)
    app_consents(em, tenant)
    delegations(em, tenant)
