"""External forwarding: an inbox rule, mailbox forwarding or transport rule that sends mail outside
the tenant. A transport rule copying mail out (``BlindCopyTo``) is a compromised admin reading
everyone's mail; one that adds a disclaimer or blind-copies compliance inside the tenant is not.

"Outside" means to a domain that is neither an accepted domain nor a subdomain of one (see
``alerts.domains``), nor a partner domain the admin allowed. A forwarding target without an
address (a recipient object named in the directory) is internal by construction. While the
accepted domains are only learnt from the identities seen (none configured), the domains of
the account that made the change and of the mailbox it changed count as the tenant's too:
both are accounts of this tenant, perhaps under a domain not seen on an identity yet.
"""

from datetime import timedelta

from airportal.text import short_list
from alerts.activity.addresses import address_domain, domain_is_internal
from alerts.activity.fields import attr
from alerts.activity.rules import TRANSPORT_ACTIONS, inbox_rule, mailbox_forwarding, transport_rule_targets
from alerts.detectors.base import Detection, Detector, quote
from alerts.detectors.params import Param, ParamSchema
from alerts.models import Event, Severity

RULE_KINDS = frozenset({Event.Kind.INBOX_RULE_CREATED, Event.Kind.INBOX_RULE_CHANGED})
ACTION_WORDS = {"ForwardTo": "forwards", "ForwardAsAttachmentTo": "forwards as attachment", "RedirectTo": "redirects"}


class ExternalForwarding(Detector):
    key = "external_forwarding"
    name = "External forwarding"
    description = (
        "An inbox rule (ForwardTo, ForwardAsAttachmentTo, RedirectTo), mailbox forwarding "
        "(ForwardingSmtpAddress) or a transport rule (BlindCopyTo, RedirectMessageTo, CopyTo, AddToRecipients) "
        "sending mail to a domain outside the tenant's accepted domains."
    )
    severity = Severity.HIGH
    schema = ParamSchema(
        (
            Param(
                "allowed_domains",
                "list",
                [],
                "Allowed partner domains",
                "Forwarding to these domains (and their subdomains) is not reported.",
            ),
            Param("include_inbox_rules", "bool", True, "Inbox rules", "Check inbox rules."),
            Param("include_mailbox_forwarding", "bool", True, "Mailbox forwarding", "Check mailbox forwarding."),
            Param(
                "include_transport_rules",
                "bool",
                True,
                "Transport rules",
                "Check mail flow rules an admin account creates or changes (they act on everyone's mail).",
            ),
        )
    )
    trigger_kinds = RULE_KINDS | {Event.Kind.MAILBOX_FORWARDING_SET, Event.Kind.TRANSPORT_RULE_CHANGED}

    def context_span(self, params):
        return timedelta(0)

    def detect(self, ctx, identity_id, triggers, params):
        allowed = {domain.lower().lstrip("@") for domain in params["allowed_domains"]}
        owner = ctx.identities[identity_id].upn
        reasons: dict[str, str] = {}
        events: list[Event] = []
        targets: list[str] = []
        for event in triggers:
            own = set(allowed)
            if not ctx.domains_configured:
                own |= {address_domain(owner), address_domain(str(attr(event, "actor", default="")))} - {""}
            if event.kind in RULE_KINDS and params["include_inbox_rules"]:
                rule = inbox_rule(event)
                for action, addresses in rule.forwards.items():
                    outside = _outside(ctx, addresses, own)
                    if outside:
                        events.append(event)
                        targets.extend(outside)
                        reasons[f"rule:{rule.name}:{action}"] = (
                            f"Inbox rule {rule.name!r} {ACTION_WORDS[action]} mail to {', '.join(outside)}, "
                            "outside the tenant's domains."
                        )
            elif event.kind == Event.Kind.MAILBOX_FORWARDING_SET and params["include_mailbox_forwarding"]:
                outside = _outside(ctx, mailbox_forwarding(event), own)
                if outside:
                    events.append(event)
                    targets.extend(outside)
                    reasons[f"mailbox:{','.join(outside)}"] = (
                        f"Mailbox forwarding was set to {', '.join(outside)}, outside the tenant's domains."
                    )
            elif event.kind == Event.Kind.TRANSPORT_RULE_CHANGED and params["include_transport_rules"]:
                for action, addresses in transport_rule_targets(event).items():
                    outside = _outside(ctx, addresses, own)
                    if outside:
                        events.append(event)
                        targets.extend(outside)
                        reasons[f"transport:{event.target}:{action}"] = (
                            f"Transport rule {quote(event.target or '(unnamed)')} {TRANSPORT_ACTIONS[action]} the "
                            "organisation's mail "
                            f"to {', '.join(outside)}, outside the tenant's domains."
                        )
        if not reasons:
            return []
        targets = list(dict.fromkeys(targets))
        return [
            Detection(
                identity_id=identity_id,
                title=f"Mail forwarded outside the tenant to {short_list(targets, 1)}",
                reasons=reasons,
                events=list(dict.fromkeys(events)),
                evidence={
                    "external_targets": targets,
                    "target_domains": sorted({address_domain(address) for address in targets}),
                    "accepted_domains": sorted(ctx.accepted_domains)[:50],
                    "allowed_domains": sorted(allowed),
                },
            )
        ]


def _outside(ctx, addresses: list[str], own: set[str]) -> list[str]:
    """The addresses outside the accepted domains and ``own`` (names without an address are internal)."""
    return [
        address
        for address in addresses
        if "@" in address and not ctx.is_internal(address) and not domain_is_internal(address_domain(address), own)
    ]
