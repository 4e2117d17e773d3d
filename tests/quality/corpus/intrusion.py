"""How intruders get in: the sign-ins the attack stories start with."""

from datetime import datetime, timedelta

from tests.quality.corpus.emit import Emitter
from tests.quality.corpus.network import Network
from tests.quality.corpus.records.signins import Risk, signin
from tests.quality.corpus.tenant import Person

PHISHKIT_AGENT = "axios/1.6.8"
ATTACKER_BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36"
)


def risky(level: str, *types: str, state: str = "atRisk") -> Risk:
    return Risk(level=level, state=state, detail="none", types=types, aggregated=level)


def intrusion(
    em: Emitter,
    victim: Person,
    at: datetime,
    net: Network,
    *,
    risk: Risk,
    app: str = "OfficeHome",
    agent: str = ATTACKER_BROWSER,
    delay: timedelta = timedelta(minutes=4),
    **kwargs,
) -> tuple[str, str]:
    """The attacker's successful sign-in; returns (ip, session id)."""
    ip = net.ip(em.rng)
    session = signin(
        em,
        victim,
        at,
        net=net,
        ip=ip,
        app=app,
        agent=agent,
        risk=risk,
        delay=delay,
        os_name="Windows10",
        browser="Chrome 121.0.0",
        **kwargs,
    )
    return ip, session
