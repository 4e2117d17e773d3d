"""The compromised-user playbook's checks, one module per family, run in this order.

A check is a function ``check(ctx) -> CheckResult`` with a stable ``key``. Sign-in checks run
first: they fill ``ctx.risky_signins``, which the MFA, consent and blast-radius checks read;
``live_state`` runs last, on the disagreements the rule, forwarding and permission checks noted.
"""

from investigations.playbooks.checks import (
    blast_radius,
    consents,
    data_theft,
    devices,
    forwarding,
    inbox_rules,
    live_state,
    mfa,
    microsoft,
    permissions,
    sending,
    signins,
)

CHECKS = [
    *microsoft.CHECKS,
    *signins.CHECKS,
    *inbox_rules.CHECKS,
    *forwarding.CHECKS,
    *permissions.CHECKS,
    *mfa.CHECKS,
    *consents.CHECKS,
    *devices.CHECKS,
    *data_theft.CHECKS,
    *sending.CHECKS,
    *blast_radius.CHECKS,
    *live_state.CHECKS,
]
