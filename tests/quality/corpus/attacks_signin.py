"""Attack stories that only the sign-in log's own shapes give away: no Identity Protection risk,
the sign-in log arriving after the audit log, a session replayed without a risk flag; and the
other way round, a takeover only an offline risk detection gives away (and a dismissed one that
is no risk)."""

from datetime import timedelta

from tests.quality.corpus.attacks import at
from tests.quality.corpus.emit import START, Emitter
from tests.quality.corpus.intrusion import ATTACKER_BROWSER, intrusion, risky
from tests.quality.corpus.network import DIGITALOCEAN_US, MOLDOVA
from tests.quality.corpus.records.directory import security_info
from tests.quality.corpus.records.exchange import new_inbox_rule
from tests.quality.corpus.records.risk import risk_detection, signin_ids
from tests.quality.corpus.records.signins import browser_agent, signin
from tests.quality.corpus.tenant import Person, Tenant

SIGNIN_LOG_LATE = timedelta(hours=5)  # Graph's sign-in log delivered after the audit log's copy


def mfa_fatigue(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """The password is known: prompts pushed from a VPS until the user approves one at night, then
    the attacker's own authenticator. Identity Protection rates none of it; the sign-in log comes
    hours after the audit log (its copies and the registration arrive first)."""
    start = at(9, 23.0)
    ip = DIGITALOCEAN_US.ip(em.rng)
    for attempt in range(4):
        signin(
            em,
            victim,
            start + timedelta(minutes=2 * attempt),
            net=DIGITALOCEAN_US,
            ip=ip,
            error=500121,
            agent=ATTACKER_BROWSER,
            requirement="multiFactorAuthentication",
            delay=SIGNIN_LOG_LATE,
        )
    got_in, _ = intrusion(
        em,
        victim,
        start + timedelta(minutes=9),
        DIGITALOCEAN_US,
        risk=risky("none", state="none"),
        requirement="multiFactorAuthentication",
        delay=SIGNIN_LOG_LATE,
    )
    security_info(
        em, victim, start + timedelta(minutes=21), "User registered security info.", ip=got_in, agent=ATTACKER_BROWSER
    )


def quiet_session_replay(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """An infostealer's session cookie replayed from a Moldovan VPS an hour after the user's own
    sign-in, with no risk flag; the intruder hides the replies of a thread it is hijacking."""
    session = signin(
        em, victim, at(10, 8.1), net=victim.home, ip=victim.home_ip, requirement="multiFactorAuthentication"
    )
    ip = MOLDOVA.ip(em.rng)
    signin(
        em,
        victim,
        at(10, 9.2),
        net=MOLDOVA,
        ip=ip,
        app="Office 365 Exchange Online",
        session_id=session,
        interactive=False,
        agent=browser_agent(victim),
    )
    new_inbox_rule(
        em,
        victim,
        at(10, 9.4),
        "..",
        [("FromAddressContainsWords", "accounts@fabrikam.com"), ("MoveToFolder", "RSS Feeds"), ("MarkAsRead", "True")],
        ip=ip,
    )


def offline_risk_mfa(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """An adversary-in-the-middle kit relays the user's own sign-in through a residential proxy on
    the user's own ISP (same country, same network operator, a browser's agent, MFA passed): the
    sign-in log shows nothing odd. The kit registers its authenticator 14 minutes later. Identity
    Protection flags the sign-in attackerinTheMiddle five hours later (offline): the only risk."""
    start = at(8, 14.0)
    ip = victim.home.ip(em.rng)
    signin(
        em,
        victim,
        start,
        net=victim.home,
        ip=ip,
        agent=ATTACKER_BROWSER,
        requirement="multiFactorAuthentication",
        os_name="Windows10",
        browser="Chrome 121.0.0",
    )
    ids = signin_ids(em, victim)
    security_info(
        em, victim, start + timedelta(minutes=14), "User registered security info.", ip=ip, agent=ATTACKER_BROWSER
    )
    detected = start + timedelta(hours=5, minutes=12)
    risk_detection(
        em,
        victim,
        start,
        detected=detected,
        net=victim.home,
        ip=ip,
        risk_type="attackerinTheMiddle",
        level="high",
        agent=ATTACKER_BROWSER,
        ids=ids,
    )


def dismissed_travel_risk(em: Emitter, person: Person, trip) -> None:
    """A traveller's first morning at the hotel: Identity Protection flags unlikely travel offline,
    an admin who knows about the trip dismisses it an hour later. Benign."""
    start = START + timedelta(days=trip.depart + 1, hours=8.5)
    signin(em, person, start, net=trip.hotel, ip=trip.ip, requirement="multiFactorAuthentication")
    detected = start + timedelta(hours=3)
    risk_detection(
        em,
        person,
        start,
        detected=detected,
        updated=detected + timedelta(hours=1),
        net=trip.hotel,
        ip=trip.ip,
        risk_type="unlikelyTravel",
        level="medium",
        state="dismissed",
        detail="adminDismissedAllRiskForUser",
        ids=signin_ids(em, person),
    )
