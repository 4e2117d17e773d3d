"""Outbound sending compared with the user's own baseline: volume, one subject to many, and the
share of external recipients. A mail-heavy role is judged against its own normal day, so a
newsletter mailbox is not an anomaly; a spraying account gets ``restrict_sending`` and a
``soft_delete_messages`` proposal per phishing subject."""

from collections import defaultdict
from datetime import UTC

from alerts.activity.mail import Message
from alerts.baselines import sending_baseline
from investigations.models import Action, Finding
from investigations.playbooks.context import CheckResult, PlaybookContext, check
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import plural, quote

V = Finding.Verdict
BASELINE_DAYS = 30
VOLUME_FLOOR = 100  # recipients in a day below which volume is never an anomaly
VOLUME_FACTOR = 4  # times the user's median day
SPRAY_FLOOR = 50  # distinct recipients of one subject
SPRAY_FACTOR = 2  # times the user's median day
EXTERNAL_RATIO = 0.7
EXTERNAL_FLOOR = 50
USUAL_EXTERNAL_RATIO = 0.35


def _baseline(ctx: PlaybookContext):
    return sending_baseline(ctx.baseline, before=ctx.window_start.astimezone(UTC).date(), days=BASELINE_DAYS)


def _restrict(ctx: PlaybookContext, why: str) -> Proposal:
    return Proposal(kind=Action.Kind.RESTRICT_SENDING, target=ctx.upn, reason=why, parameters={"upn": ctx.upn})


@check("sending.volume", "Sending volume against the user's baseline")
def volume(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    messages = ctx.sent_messages()
    if not messages:
        result.explanation = "No mail sent in the window."
        return result
    per_day: dict = defaultdict(list)
    for message in messages:
        per_day[message.at.astimezone(UTC).date()].append(message)
    day, busiest = max(per_day.items(), key=lambda item: sum(m.recipient_count for m in item[1]))
    recipients = sum(m.recipient_count for m in busiest)
    usual = _baseline(ctx).median_recipients
    limit = max(VOLUME_FLOOR, VOLUME_FACTOR * usual)
    result.data = {"busiest_day": day.isoformat(), "recipients": recipients, "usual_per_day": usual}
    if recipients < limit:
        result.explanation = (
            f"Busiest day {day}: {plural(recipients, 'recipient')}, within this user's normal "
            f"(a usual day reaches {usual:.0f})."
        )
        return result
    after_risk = bool(ctx.risky_signins) and busiest[-1].at >= ctx.suspicious_since
    result.verdict = V.MALICIOUS if after_risk else V.SUSPICIOUS
    result.weight = 35
    result.events = [m.events[0] for m in busiest][:50]
    result.headline = f"mailed {plural(recipients, 'recipient')} in a day (usually {usual:.0f})"
    result.explanation = (
        f"On {day} this user sent mail to {plural(recipients, 'recipient')}; a usual day reaches {usual:.0f}"
        + (", and it happened after the risky sign-in." if after_risk else ".")
    )
    result.proposals.append(_restrict(ctx, f"Sent mail to {recipients:,} recipients in a day (usually {usual:.0f})."))
    return result


@check("sending.one_subject_to_many", "One subject sent to many recipients")
def one_subject_to_many(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    by_subject: dict[str, list[Message]] = defaultdict(list)
    for message in ctx.sent_messages():
        if message.subject.strip():
            by_subject[message.subject].append(message)
    usual = _baseline(ctx).median_recipients
    limit = max(SPRAY_FLOOR, SPRAY_FACTOR * usual)
    waves = []
    for subject, messages in by_subject.items():
        recipients = {address for m in messages for address in m.recipients}
        if len(recipients) >= limit:
            waves.append((subject, messages, recipients))
    if not waves:
        result.explanation = f"No subject reached {limit:.0f} recipients or more."
        return result
    waves.sort(key=lambda wave: -len(wave[2]))
    subject, messages, recipients = waves[0]
    # An all-staff notice looks the same: a wave is phishing only after a risky sign-in.
    after_risk = bool(ctx.risky_signins) and messages[-1].at >= ctx.suspicious_since
    result.verdict = V.MALICIOUS if after_risk else V.SUSPICIOUS
    result.weight = 45
    result.events = [m.events[0] for _, ms, _ in waves for m in ms][:50]
    result.headline = f"sent {quote(subject, 50)} to {plural(len(recipients), 'recipient')}"
    result.explanation = (
        f"{quote(subject, 80)} went to {plural(len(recipients), 'recipient')} in {plural(len(messages), 'message')}, "
        f"far beyond this user's usual day ({usual:.0f} recipients): the pattern of a phishing wave."
    )
    result.data = {
        "subjects": [
            {"subject": s, "recipients": len(r), "internal": sorted(a for a in r if ctx.is_internal(a))[:500]}
            for s, _, r in waves
        ]
    }
    result.proposals.append(_restrict(ctx, f"Sent {quote(subject, 60)} to {len(recipients):,} recipients."))
    for subject, messages, recipients in waves:
        internal = sorted(a for a in recipients if ctx.is_internal(a))
        if not internal:
            continue
        result.proposals.append(
            Proposal(
                kind=Action.Kind.SOFT_DELETE_MESSAGES,
                target=f"{subject[:400]} ({len(internal)} internal recipients)",
                reason=f"Phishing wave {quote(subject, 60)} reached {len(internal)} colleagues' mailboxes.",
                parameters={
                    "sender": ctx.upn,
                    "subject": subject,
                    "internet_message_ids": [m.key.removeprefix("id:") for m in messages if m.key.startswith("id:")],
                    "recipients": internal[:500],
                },
            )
        )
    return result


@check("sending.external_ratio", "Share of external recipients")
def external_ratio(ctx: PlaybookContext, result: CheckResult) -> CheckResult:
    messages = ctx.sent_messages()
    total = sum(len(m.recipients) for m in messages)
    external = sum(m.external_count(ctx.is_internal) for m in messages)
    baseline = _baseline(ctx)
    usual_ratio = baseline.median_external / baseline.median_recipients if baseline.median_recipients else None
    ratio = external / total if total else 0.0
    result.data = {"recipients": total, "external": external, "usual_ratio": usual_ratio}
    unusual = usual_ratio is None or usual_ratio < USUAL_EXTERNAL_RATIO
    if external < EXTERNAL_FLOOR or ratio < EXTERNAL_RATIO or not unusual:
        result.explanation = f"{external:,} of {total:,} recipients were external ({ratio:.0%})" + (
            f"; usually {usual_ratio:.0%}." if usual_ratio is not None else "."
        )
        return result
    result.verdict = V.SUSPICIOUS
    result.weight = 25
    result.events = [m.events[0] for m in messages if m.external_count(ctx.is_internal)][:50]
    result.headline = f"mailed mostly outside the organisation ({ratio:.0%} external)"
    result.explanation = f"{external:,} of {total:,} recipients ({ratio:.0%}) were outside the organisation" + (
        f", against {usual_ratio:.0%} on a usual day." if usual_ratio is not None else ", with no history to compare."
    )
    return result


CHECKS = [volume, one_subject_to_many, external_ratio]
