"""The verdict model: when an account is compromised, suspicious or clean, and which rule said so.

``compromised`` needs evidence that someone other than the user controls the account:
- ``microsoft_confirmed``: Microsoft says so (an admin confirmed the user compromised in Entra ID
  Protection, or a high-severity Defender / Microsoft 365 alert names the user);
- ``access_and_intruder_action``: an anomalous or risky successful sign-in (a ``signins.*``
  finding) **and** an action only an intruder takes, rated malicious (a hiding or forwarding
  rule, external forwarding, a delegation to an outsider, an MFA method registered after the
  risky sign-in, a mail-scope consent after it, a phishing wave to colleagues).
``suspicious`` is one strong signal alone (``strong_signal``: a malicious finding without the
other half) or weak ones that add up to 20 points (``several_signals``); ``clean``
otherwise (``no_strong_signal``). High-impact actions are proposed only for ``compromised``.

The intruder-action checks judge the log window and the live read together: a malicious
persistence item that exists now (external forwarding, a hiding or hidden rule, a delegation to
an outsider, a mail consent with a refresh token, an MFA method registered after the risky
sign-in) counts as the intruder's action whether or not its creation is in the logs. A
disagreement between logs and live read (``live_state``) is suspicious, not an intruder action.
"""

from dataclasses import dataclass

from investigations.models import Finding, Investigation
from investigations.playbooks.context import CheckResult

V = Finding.Verdict
IV = Investigation.Verdict
R = Investigation.VerdictRule
ACCESS_PREFIX = "signins."
# Checks whose malicious finding is something only an intruder does with the account.
INTRUDER_ACTIONS = frozenset(
    {
        "inbox_rules",
        "forwarding",
        "permissions",
        "mfa",
        "consents",
        "data_theft",
        "sending.one_subject_to_many",
        "blast_radius",
    }
)
CONFIRMATIONS = frozenset({"microsoft"})
SUSPICIOUS_SCORE = 20  # weak signals (a suspicious finding counts half its weight) that add up to suspicious


@dataclass(frozen=True)
class Verdict:
    verdict: str
    risk_score: int
    rule: str  # an ``Investigation.VerdictRule``

    @property
    def rule_text(self) -> str:
        return Investigation.VerdictRule(self.rule).label


def verdict_of(results: list[CheckResult]) -> Verdict:
    """The verdict of the model above, the risk score (the findings' weights, at most 100) and its rule."""
    score = min(100, sum(result.score for result in results))
    malicious = [r for r in results if r.verdict == V.MALICIOUS]
    flagged = [r for r in results if r.flagged]
    if any(r.key in CONFIRMATIONS for r in malicious):
        return Verdict(IV.COMPROMISED, max(score, 90), R.MICROSOFT_CONFIRMED)
    access = any(r.key.startswith(ACCESS_PREFIX) for r in flagged)
    if access and any(r.key in INTRUDER_ACTIONS for r in malicious):
        return Verdict(IV.COMPROMISED, score, R.ACCESS_AND_INTRUDER_ACTION)
    if malicious:
        return Verdict(IV.SUSPICIOUS, score, R.STRONG_SIGNAL)
    if score >= SUSPICIOUS_SCORE:
        return Verdict(IV.SUSPICIOUS, score, R.SEVERAL_SIGNALS)
    return Verdict(IV.CLEAN, score, R.NO_STRONG_SIGNAL)
