"""Exchange transport (mail flow) rules: ``New-TransportRule`` / ``Set-TransportRule``.

A transport rule acts on the whole organisation's mail, so it belongs to the admin who ran the
cmdlet. The actions that send mail somewhere else are the ones an intruder with an admin
account uses to read a company's mail: ``BlindCopyTo``, ``RedirectMessageTo``, ``CopyTo``,
``AddToRecipients``. Disclaimers, header stamps and internal journaling copies are the everyday
rest; the detector decides, the adapter only reads.
"""

from typing import Any

from alerts.adapters.fields import email_addresses, parse_bool, text, words
from alerts.models import Event

TRANSPORT_RULE_CMDLETS = frozenset({"new-transportrule", "set-transportrule"})
# Parameter (lower-cased, as ``name_values`` gives it) -> the key detection reads.
COPY_ACTIONS = {
    "blindcopyto": "blind_copy_to",
    "redirectmessageto": "redirect_message_to",
    "copyto": "copy_to",
    "addtorecipients": "add_to_recipients",
}
_CONDITIONS = ("subjectcontainswords", "subjectorbodycontainswords", "fromaddresscontainswords", "sentto", "from")


def transport_rule_event(params: dict[str, Any], actor: str) -> tuple[str, str, dict]:
    """``(kind, upn, fields)`` of a transport rule change (``params``: the cmdlet's, names lower-cased),
    filed under the admin who made it."""
    name = text(params.get("name")) or text(params.get("identity"))
    rule: dict[str, Any] = {"name": name}
    targets: list[str] = []
    for parameter, key in COPY_ACTIONS.items():
        if parameter in params:
            rule[key] = email_addresses(params.get(parameter))
            targets.extend(rule[key])
    for parameter in _CONDITIONS:
        if parameter in params:
            rule[parameter] = words(params.get(parameter))
    for parameter in ("mode", "fromscope", "senttoscope", "priority"):
        if text(params.get(parameter)):
            rule[parameter] = text(params.get(parameter))
    if "enabled" in params:
        rule["enabled"] = parse_bool(params.get("enabled"))
    attributes = {"transport_rule": rule, "forward_to": list(dict.fromkeys(targets)), "actor": actor}
    return Event.Kind.TRANSPORT_RULE_CHANGED, actor, {"attributes": attributes, "target": name}
