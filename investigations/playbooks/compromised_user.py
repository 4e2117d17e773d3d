"""The compromised-user playbook: checks → findings → verdict, risk score, summary → proposals.

``run`` only reads (``context_load``: a constant number of queries) and computes; the service
``investigation_run_playbook`` stores what it returns. A check that raises becomes a finding
with verdict ``error`` and the run is marked failed, but every other finding is kept.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime

from alerts.models import AutomationLevel
from investigations.connectors.state import LiveState
from investigations.models import Action, Finding, Investigation
from investigations.playbooks.checks import CHECKS
from investigations.playbooks.context import CheckResult, PlaybookContext, context_load
from investigations.playbooks.proposal import Proposal
from investigations.playbooks.text import plural, stamp
from investigations.playbooks.verdict import Verdict, verdict_of

logger = logging.getLogger(__name__)

NAME = "compromised_user"
V = Finding.Verdict
IV = Investigation.Verdict
# Proposed only when the account is compromised: they lock the user out or destroy mail.
HIGH_IMPACT = frozenset(
    {
        Action.Kind.DISABLE_ACCOUNT,
        Action.Kind.RESET_PASSWORD,
        Action.Kind.SOFT_DELETE_MESSAGES,
        Action.Kind.REMOVE_MFA_METHOD,
    }
)
LEVEL_ORDER = [AutomationLevel.MANUAL, AutomationLevel.SEMI, AutomationLevel.FULL]


@dataclass
class PlaybookResult:
    results: list[CheckResult]
    verdict: str
    verdict_rule: str
    risk_score: int
    summary: str
    proposals: list[tuple[Proposal, str]]  # (proposal, key of the finding it follows from)
    automation_level: str
    window_start: datetime
    window_end: datetime
    events_read: int
    live_state: LiveState  # the snapshot the checks judged with the logs
    failed_checks: list[str] = field(default_factory=list)


def run(investigation: Investigation, *, now: datetime | None = None) -> PlaybookResult:
    ctx = context_load(investigation, now=now)
    for declared in CHECKS:
        result = CheckResult(key=declared.key, title=declared.title)
        try:
            declared(ctx, result)
        except Exception as exc:  # one broken check must not hide what the others found
            logger.exception("Check %s failed on investigation %s", declared.key, investigation.pk)
            result = CheckResult(
                key=declared.key,
                title=declared.title,
                verdict=V.ERROR,
                explanation=f"This check could not run ({type(exc).__name__}: {exc}); the others are unaffected.",
            )
        ctx.results.append(result)
    judged = verdict_of(ctx.results)
    proposals = proposals_of(ctx, judged.verdict)
    return PlaybookResult(
        results=ctx.results,
        verdict=judged.verdict,
        verdict_rule=judged.rule,
        risk_score=judged.risk_score,
        summary=summary_of(ctx, judged, len(proposals)),
        proposals=proposals,
        automation_level=automation_level_of(ctx),
        window_start=ctx.window_start,
        window_end=ctx.window_end,
        events_read=len(ctx.events),
        live_state=ctx.live.state,
        failed_checks=[r.title for r in ctx.results if r.verdict == V.ERROR],
    )


def proposals_of(ctx: PlaybookContext, verdict: str) -> list[tuple[Proposal, str]]:
    """The account-wide actions the verdict calls for, then each finding's own; each (kind, target) once."""
    if verdict == IV.CLEAN:
        return []
    signin_results = [r for r in ctx.results if r.key.startswith("signins.") and r.flagged]
    anchor = (signin_results or [r for r in ctx.results if r.flagged] or [None])[0]
    anchor_key = anchor.key if anchor else ""
    upn = ctx.upn
    wanted: list[tuple[Proposal, str]] = [
        (
            Proposal(
                kind=Action.Kind.REVOKE_SESSIONS,
                target=upn,
                reason="Sign the attacker out everywhere: every session and refresh token is revoked.",
                parameters={"upn": upn},
            ),
            anchor_key,
        )
    ]
    if verdict == IV.COMPROMISED:
        account_actions = [
            (Action.Kind.RESET_PASSWORD, "The password is known to whoever signed in: reset it."),
            (Action.Kind.DISABLE_ACCOUNT, "The account is compromised: block sign-in until the user is reached."),
        ]
        for kind, reason in account_actions:
            wanted.append((Proposal(kind=kind, target=upn, reason=reason, parameters={"upn": upn}), anchor_key))
    for result in ctx.results:
        if result.flagged:
            wanted.extend(
                (proposal, result.key)
                for proposal in result.proposals
                if verdict == IV.COMPROMISED or proposal.kind not in HIGH_IMPACT
            )
    seen: set[tuple[str, str]] = set()
    unique = []
    for proposal, key in wanted:
        identity_key = (proposal.kind, proposal.target[:512])
        if identity_key not in seen:
            seen.add(identity_key)
            unique.append((proposal, key))
    return unique


def summary_of(ctx: PlaybookContext, judged: Verdict, proposed: int) -> str:
    """One paragraph in plain words, written from the findings' headlines, naming the verdict's rule."""
    verdict, score = judged.verdict, judged.risk_score
    flagged = sorted((r for r in ctx.results if r.flagged), key=lambda r: -r.score)
    failed = [r.title.lower() for r in ctx.results if r.verdict == V.ERROR]
    period = f"between {stamp(ctx.window_start)} and {stamp(ctx.window_end)}"
    if verdict == IV.CLEAN:
        signins = len(ctx.of_kind("signin"))
        text = (
            f"No sign of compromise for {ctx.upn} {period}: {plural(signins, 'sign-in')} and "
            f"{plural(len(ctx.sent_messages()), 'sent message')} were read, and no check found anything suspicious."
        )
    else:
        clauses = [r.headline for r in flagged if r.headline][:5]
        activity = ", ".join(clauses[:-1]) + (f" and {clauses[-1]}" if len(clauses) > 1 else clauses[0])
        opening = "appears compromised" if verdict == IV.COMPROMISED else "shows suspicious activity"
        text = f"{ctx.upn} {opening} (risk {score}/100; rule: {judged.rule_text.lower()}): it {activity}."
        text += (
            f" {plural(proposed, 'action is', 'actions are')} proposed to undo what was found."
            if proposed
            else " Review the findings."
        )
    if failed:
        text += f" The {', '.join(failed)} check{'s' if len(failed) > 1 else ''} failed; the verdict rests on the rest."
    return text


def automation_level_of(ctx: PlaybookContext) -> str:
    """The most automated level among the policies of the investigation's alerts (manual when none).

    Each policy's admin chose how far its alerts may act alone; semi only ever runs
    low-impact actions, and four-eyes actions always wait for people.
    """
    levels = [alert.policy.automation_level for alert in ctx.alerts if alert.policy is not None]
    return max(levels, key=LEVEL_ORDER.index, default=AutomationLevel.MANUAL)
