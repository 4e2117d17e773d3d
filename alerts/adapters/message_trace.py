"""``message-trace``: Exchange Online message trace rows (one row per message and recipient).

Fields: ``Received``, ``SenderAddress``, ``RecipientAddress``, ``Subject``, ``Status``, ``FromIP``,
``ToIP``, ``MessageId``, ``MessageTraceId``, ``Size`` (the Reporting web service adds
``Organization``). A row whose sender is in the tenant becomes ``mail_sent`` on the sender; one
addressed to the tenant from outside becomes ``mail_received`` on the recipient. Whether a
recipient is external is left to detection (it knows the accepted domains at detection time).
"""

from typing import Any

from alerts.adapters.base import AdapterContext, NormalisedEvent, RecordError
from alerts.adapters.fields import (
    domain_of,
    lower_keys,
    normalise_ip,
    parse_int,
    parse_time,
    pick,
    require_object,
    text,
    upn,
)
from alerts.models import Event


def normalise(record: Any, ctx: AdapterContext) -> list[NormalisedEvent]:
    rec = lower_keys(require_object(record))
    sender = upn(pick(rec, "senderaddress", "sender"))
    recipient = upn(pick(rec, "recipientaddress", "recipient"))
    if not sender and not recipient:
        raise RecordError("the row has neither SenderAddress nor RecipientAddress")
    organization = text(rec.get("organization")).lower()
    tenant = ctx.tenant_domains | ({organization} if organization else set())
    if sender and domain_of(sender) in tenant:
        kind, owner, direction = Event.Kind.MAIL_SENT, sender, "outbound"
    elif recipient and domain_of(recipient) in tenant:
        kind, owner, direction = Event.Kind.MAIL_RECEIVED, recipient, "inbound"
    else:
        # Neither side is a known tenant domain (no accepted domains configured yet): a trace
        # only holds the tenant's own mail flow, and detection cares about what users send.
        kind, owner, direction = Event.Kind.MAIL_SENT, sender or recipient, "unknown"
    trace_id = text(rec.get("messagetraceid"))
    return [
        NormalisedEvent(
            upn=owner,
            occurred_at=parse_time(pick(rec, "received", "date", "timestamp")),
            kind=kind,
            operation="MessageTrace",
            source_record_id=f"{trace_id}:{recipient}" if trace_id else "",
            ip=normalise_ip(rec.get("fromip")),
            subject=text(rec.get("subject")),
            target=recipient,
            succeeded=None,
            attributes={
                "sender": sender,
                "recipients": [recipient] if recipient else [],
                "recipient_count": 1 if recipient else 0,
                "direction": direction,
                "status": text(rec.get("status")),
                "message_id": text(rec.get("messageid")),
                "message_trace_id": trace_id,
                "size_bytes": parse_int(rec.get("size")),
                "from_ip": normalise_ip(rec.get("fromip")),
                "to_ip": normalise_ip(rec.get("toip")),
            },
            raw=record,
        )
    ]
