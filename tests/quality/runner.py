"""Load the labelled corpus through the real pipeline and score the verdicts.

``deliver`` hands the records over as the feeds would: in polls of ``POLL`` hours, each poll
one ingest call per source, records in the order they arrive (a late Graph sign-in lands in a
later poll than the MFA change it explains). ``ingest`` is the one call into the pipeline, the
same as ``manage.py ingest``: detection, correlation and the playbook run before it returns.
``score`` reads every identity's investigations and alerts back and compares them to the labels.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import groupby

from airportal.dispatch import PIPELINE_QUEUES, tasks_run_inline
from alerts.ingest import ingest_records
from alerts.ingest.service import IngestResult
from alerts.models import Alert, Identity, Severity
from investigations.models import Finding, Investigation
from tests.quality.corpus import Corpus
from tests.quality.corpus.emit import START
from tests.quality.corpus.labels import BENIGN, COMPROMISED, IMPACTED, ODD

POLL = timedelta(hours=4)
SOURCE_ORDER = ("entra-signins", "o365-audit", "message-trace", "graph-alerts")
VERDICT_ORDER = {"": 0, Investigation.Verdict.CLEAN: 1, Investigation.Verdict.SUSPICIOUS: 2}
VERDICT_ORDER[Investigation.Verdict.COMPROMISED] = 3
LOUD = (Severity.MEDIUM, Severity.HIGH)
FLAGGED = (Finding.Verdict.MALICIOUS, Finding.Verdict.SUSPICIOUS)
UNFINISHED = (Investigation.Status.QUEUED, Investigation.Status.RUNNING)


def ingest(source: str, records: list[dict]) -> IngestResult:
    """The pipeline exactly as ``manage.py ingest`` runs it: stored, detected, investigated on return."""
    with tasks_run_inline(queues=PIPELINE_QUEUES):
        return ingest_records(source=source, records=records)


@dataclass
class Delivery:
    received: int = 0
    created: int = 0
    rejected: list[tuple[str, dict]] = field(default_factory=list)  # (source, {"index", "error"})


def deliver(corpus: Corpus) -> Delivery:
    delivery = Delivery()

    def slot(record):
        return (record.arrives_at - START) // POLL

    for _, polled in groupby(corpus.records, key=slot):
        polled = list(polled)
        for source in SOURCE_ORDER:
            records = [r.payload for r in polled if r.source == source]
            if not records:
                continue
            result = ingest(source, records)
            delivery.received += result.received
            delivery.created += result.created
            delivery.rejected.extend((source, rejected) for rejected in result.rejected)
    return delivery


@dataclass
class Outcome:
    """What the product concluded about one account."""

    upn: str
    truth: str
    story: str
    verdict: str = ""
    actions: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)  # "detector (severity): title"
    findings: list[str] = field(default_factory=list)  # "check (verdict)" of the playbook's flagged checks
    loud_alerts: int = 0
    summaries: list[str] = field(default_factory=list)


@dataclass
class Score:
    outcomes: list[Outcome]
    precision: float
    recall: float
    benign_alerts_per_100: float
    benign_users: int
    unfinished: int

    def line(self) -> str:
        return (
            f"quality: precision {self.precision:.2f}, recall {self.recall:.2f}, "
            f"benign alerts per 100 users {self.benign_alerts_per_100:.1f}"
        )


def score(corpus: Corpus) -> Score:
    identities = dict(Identity.objects.values_list("pk", "upn"))
    outcomes: dict[str, Outcome] = {}
    for upn in identities.values():
        label = corpus.labels.get(upn)
        outcomes[upn] = Outcome(upn, label.truth if label else BENIGN, label.story if label else "unlabelled identity")
    for upn, label in corpus.labels.items():
        outcomes.setdefault(upn, Outcome(upn, label.truth, label.story))
    actions = defaultdict(set)
    investigations = Investigation.objects.prefetch_related("actions", "findings").order_by("pk")
    for investigation in investigations:
        outcome = outcomes[identities[investigation.identity_id]]
        if VERDICT_ORDER.get(investigation.verdict, 0) > VERDICT_ORDER.get(outcome.verdict, 0):
            outcome.verdict = investigation.verdict
        actions[outcome.upn].update(action.kind for action in investigation.actions.all())
        for finding in investigation.findings.all():
            flagged = f"{finding.check_key} ({finding.verdict})"
            if finding.verdict in FLAGGED and flagged not in outcome.findings:
                outcome.findings.append(flagged)
        if investigation.summary:
            outcome.summaries.append(investigation.summary)
    for alert in Alert.objects.order_by("pk"):
        outcome = outcomes[identities[alert.identity_id]]
        outcome.alerts.append(f"{alert.detector} ({alert.severity}): {alert.title}")
        outcome.loud_alerts += alert.severity in LOUD
    for upn, kinds in actions.items():
        outcomes[upn].actions = sorted(kinds)
    judged = [o for o in outcomes.values() if o.truth != IMPACTED]
    called = [o for o in judged if o.verdict == Investigation.Verdict.COMPROMISED]
    true_positives = sum(1 for o in called if o.truth == COMPROMISED)
    attacks = [o for o in judged if o.truth == COMPROMISED]
    benign = [o for o in outcomes.values() if o.truth == BENIGN]
    return Score(
        outcomes=sorted(outcomes.values(), key=lambda o: (o.truth, o.story, o.upn)),
        precision=true_positives / len(called) if called else 1.0,
        recall=true_positives / len(attacks) if attacks else 1.0,
        benign_alerts_per_100=100 * sum(o.loud_alerts for o in benign) / len(benign) if benign else 0.0,
        benign_users=len(benign),
        unfinished=Investigation.objects.filter(status__in=UNFINISHED).count(),
    )


def report(score: Score) -> list[str]:
    """Per scenario the verdict and actions, then every benign account the product got wrong, then the figures."""
    lines = []
    for truth in (COMPROMISED, ODD, IMPACTED):
        for o in (o for o in score.outcomes if o.truth == truth):
            lines.append(f"{truth:11} {o.story:28} {o.verdict or 'no investigation':17} {', '.join(o.actions) or '-'}")
            lines.extend(f"{'':41}alert {alert}" for alert in o.alerts)
            if o.findings:
                lines.append(f"{'':41}findings {', '.join(o.findings)}")
    noisy = [o for o in score.outcomes if o.truth == BENIGN and (o.loud_alerts or o.verdict not in ("", "clean"))]
    lines.append(
        f"benign accounts with a medium/high alert or a verdict above clean: {len(noisy)} of {score.benign_users}"
    )
    for o in noisy:
        lines.append(f"  {o.upn} [{o.story}] {o.verdict or 'no investigation'}; {', '.join(o.actions) or '-'}")
        lines.extend(f"      alert {alert}" for alert in o.alerts)
        if o.findings:
            lines.append(f"      findings {', '.join(o.findings)}")
    if score.unfinished:
        lines.append(f"investigations still queued or running: {score.unfinished}")
    lines.append(score.line())
    return lines
