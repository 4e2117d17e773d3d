"""Attack stories that only the sign-in log's own shapes give away: no Identity Protection risk,
the sign-in log arriving after the audit log, a session replayed without a risk flag."""

from datetime import timedelta

from tests.quality.corpus.attacks import at
from tests.quality.corpus.emit import Emitter
from tests.quality.corpus.intrusion import ATTACKER_BROWSER, intrusion, risky
from tests.quality.corpus.network import DIGITALOCEAN_US, MOLDOVA
from tests.quality.corpus.records.directory import security_info
from tests.quality.corpus.records.exchange import new_inbox_rule
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
