"""Conformance with Panther's labelled detection tests (../shared/datasets/panther-analysis/).

Each labelled case whose rule maps to one of our detectors is ingested through our own adapter
into an empty database and judged by our detector; its verdict (alert or not) is compared with
Panther's expected result. The agreement rate is printed; disagreements are listed with why.
Cases our adapters refuse (a service principal's sign-in names no user) are not applicable.
Panther's per-user exception list (the ``KNOWN_EXCEPTIONS`` mock) is our suppression of that
identity on the policy, so it is applied as one.
"""

import json
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from alerts.models import Alert, AlertPolicy
from alerts.services import suppression_create
from tests.alerts.support.ingest import DATASETS
from tests.pipeline import ingest_judged

DATASET = DATASETS / "panther-analysis"
MAPPING = {  # Panther rule → (our ingest source, our detector)
    "Microsoft365.Exchange.External.Forwarding": ("o365-audit", "external_forwarding"),
    "Microsoft365.MFA.Disabled": ("o365-audit", "mfa_method_changed"),
    "Azure.Audit.HighRiskSignIn": ("entra-signins", "suspicious_signin"),
    "Azure.Audit.RiskLevelPassthrough": ("entra-signins", "suspicious_signin"),
    "Azure.Audit.LegacyAuth": ("entra-signins", "suspicious_signin"),
    "Azure.Audit.ROPCLoginNoMFA": ("entra-signins", "suspicious_signin"),
    "Microsoft.Graph.Passthrough": ("graph-alerts", "external_alert"),
}
MIN_AGREEMENT = 0.8


def _cases():
    if not DATASET.is_dir():
        return []
    cases = []
    for path in sorted(DATASET.glob("tests_*.jsonl")):
        for line in path.read_text().splitlines():
            case = json.loads(line)
            if case["rule_id"] in MAPPING:
                cases.append(case)
    return cases


def _verdict(case) -> bool | None:
    """True/False: our detector raised an alert or not; None: our adapter refused or skipped the record."""
    source, detector = MAPPING[case["rule_id"]]
    with transaction.atomic():
        for upn in _known_exceptions(case):
            suppression_create(
                policy=AlertPolicy.objects.get(detector=detector),
                kind="identity",
                value=upn,
                reason="Panther KNOWN_EXCEPTIONS",
                expires_at=timezone.now() + timedelta(days=1),
                actor=None,
            )
        result = ingest_judged(source=source, records=[case["log"]])
        verdict = None if result.rejected or result.skipped else Alert.objects.filter(detector=detector).exists()
        transaction.set_rollback(True)
    return verdict


def _known_exceptions(case) -> list[str]:
    for mock in case.get("mocks") or []:
        if mock.get("objectName") == "KNOWN_EXCEPTIONS":
            return json.loads(mock["returnValue"])
    return []


@pytest.mark.django_db
def test_agreement_with_panthers_labelled_cases():
    cases = _cases()
    if not cases:
        pytest.skip(f"Panther's labelled cases are not at {DATASET} (the shared datasets folder is absent)")
    agreed, disagreed, not_applicable = [], [], []
    for case in cases:
        verdict = _verdict(case)
        label = f"{case['rule_id']} / {case['test_name']}: expected {case['expected_result']}, ours {verdict}"
        if verdict is None:
            not_applicable.append(label)
        elif verdict == case["expected_result"]:
            agreed.append(label)
        else:
            disagreed.append(label)
    applicable = len(agreed) + len(disagreed)
    rate = len(agreed) / applicable
    print(f"\npanther-analysis conformance: {len(agreed)}/{applicable} agree ({rate:.0%}), {len(not_applicable)} n/a")
    for label in disagreed:
        print("  disagree:", label)
    for label in not_applicable:
        print("  n/a:", label)
    assert applicable >= 20
    assert rate >= MIN_AGREEMENT
