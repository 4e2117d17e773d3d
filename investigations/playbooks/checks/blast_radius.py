"""The blast radius: who received what this user sent during the suspicious period.

Internal recipients of a phishing wave are the next accounts at risk; they are listed as
related identities on the investigation.
"""

from investigations.models import Finding
from investigations.playbooks.context import CheckResult, PlaybookContext, check
from investigations.playbooks.text import plural, stamp

V = Finding.Verdict
MAX_LISTED = 500


@check("blast_radius", "Recipients of mail sent in the suspicious period")
def blast_radius(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    flagged = [r for r in ctx.results if r.flagged]
    if not flagged:
        result.explanation = "Nothing suspicious was found, so there is no suspicious period to measure."
        return result
    since = ctx.suspicious_since
    messages = [m for m in ctx.sent_messages() if m.at >= since]
    recipients = {address for m in messages for address in m.recipients}
    if not recipients:
        result.explanation = f"No mail was sent since the suspicious period began {stamp(since)}."
        return result
    identities = ctx.identities_by_upn(a for a in recipients if ctx.is_internal(a))
    internal = sorted(identities)
    external = len(recipients) - sum(1 for a in recipients if ctx.is_internal(a))
    waves = next((r for r in ctx.results if r.key == "sending.one_subject_to_many" and r.flagged), None)
    phished = (
        sorted({a for s in waves.data.get("subjects", []) for a in s["internal"] if a in identities}) if waves else []
    )
    # Colleagues reached by a wave are its victims only when the wave is phishing (after a risky sign-in).
    result.verdict = V.MALICIOUS if phished and waves.verdict == V.MALICIOUS else V.SUSPICIOUS
    result.weight = 15
    result.events = [m.events[0] for m in messages][:50]
    result.headline = (
        f"reached {plural(len(phished), 'colleague')} with its phishing mail"
        if phished
        else f"mailed {plural(len(recipients), 'recipient')} while under suspicion"
    )
    result.explanation = (
        f"Since {stamp(since)} this user sent {plural(len(messages), 'message')} "
        f"to {plural(len(recipients), 'recipient')}: "
        f"{len(internal)} monitored colleague(s) and {external:,} outside the organisation."
        + (f" {len(phished)} colleague(s) received the phishing wave; check their accounts next." if phished else "")
    )
    result.data = {
        "since": since.isoformat(),
        "internal_recipients": internal[:MAX_LISTED],
        "phishing_recipients": phished[:MAX_LISTED],
        "external_recipients": external,
    }
    return result


CHECKS = [blast_radius]
