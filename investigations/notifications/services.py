"""Notification services: rules (audited), dispatch (once per event per rule), delivery with retries.

Dispatch writes one ``NotificationDelivery`` per (rule, event key); the unique constraint makes a
second dispatch of the same event a no-op, whoever sends it (a redelivered task, the sweep, two
workers). Each delivery is then attempted by a task that claims it by conditional UPDATE, so a
message is sent by one worker; failures are retried with exponential backoff up to
``NOTIFICATION_MAX_ATTEMPTS`` and end ``failed`` with the error kept for the delivery log.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from airportal.audit import audit_record
from airportal.dispatch import task_send_on_commit
from airportal.errors import DomainError
from airportal.services import portal_settings_get
from investigations.models import Action, NotificationDelivery, NotificationEvent, NotificationRule
from investigations.notifications.notices import email_message, notice_for, webhook_body
from investigations.notifications.webhook import WebhookURLRefused, url_masked, webhook_post, webhook_url_check

logger = logging.getLogger(__name__)
D = NotificationDelivery.Status
MAX_BACKOFF_SECONDS = 3600
STUCK_SENDING = timedelta(minutes=10)  # far above the webhook timeout: the worker died mid-send
LOST_MESSAGE = timedelta(minutes=5)  # a pending or due delivery nobody picked up


# --- Rules ---------------------------------------------------------------------------------------

RULE_FIELDS = (
    "name",
    "enabled",
    "channel",
    "format",
    "url",
    "recipients",
    "secret_headers",
    "allow_private",
    "events",
    "daily_cap",
)


def _rule_validate(rule: NotificationRule) -> None:
    if rule.channel == NotificationRule.Channel.WEBHOOK:
        if not rule.url:
            raise DomainError("A webhook rule needs a URL.")
        webhook_url_check(rule.url, allow_private=rule.allow_private)
    elif not rule.recipients:
        raise DomainError("An e-mail rule needs at least one recipient.")
    unknown = set(rule.events) - set(NotificationEvent.values)
    if not rule.events or unknown:
        raise DomainError("Choose at least one known event.")


def _audit_view(rule: NotificationRule, fields) -> dict:
    """The fields for the audit row, secrets masked (the audit log is readable by analysts)."""
    view = {}
    for name in fields:
        value = getattr(rule, name)
        if name == "secret_headers":
            value = sorted(value)  # header names only
        elif name == "url" and value:
            value = url_masked(value)
        view[name] = value
    return view


@transaction.atomic
def notification_rule_create(*, actor, **fields) -> NotificationRule:
    rule = NotificationRule(**{name: value for name, value in fields.items() if name in RULE_FIELDS})
    _rule_validate(rule)
    rule.updated_by = actor
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise DomainError(f"A rule named {rule.name!r} already exists.")
    audit_record(
        actor=actor, verb="notification_rule.created", target=rule, changes={"after": _audit_view(rule, fields)}
    )
    return rule


@transaction.atomic
def notification_rule_update(*, rule: NotificationRule, actor, **changes) -> NotificationRule:
    """Change ``rule``; fields not given keep their value (so secrets need not be sent back)."""
    changed = [name for name in RULE_FIELDS if name in changes and changes[name] != getattr(rule, name)]
    if not changed:
        return rule
    before = _audit_view(rule, changed)
    for name in changed:
        setattr(rule, name, changes[name])
    _rule_validate(rule)
    rule.updated_by = actor
    try:
        with transaction.atomic():
            rule.save()
    except IntegrityError:
        raise DomainError(f"A rule named {rule.name!r} already exists.")
    audit_record(
        actor=actor,
        verb="notification_rule.changed",
        target=rule,
        changes={"before": before, "after": _audit_view(rule, changed)},
    )
    return rule


# --- Dispatch ------------------------------------------------------------------------------------


def event_key(event: str, object_id: int, occurrence: str = "") -> str:
    return f"{event}:{object_id}" + (f":{occurrence}" if occurrence else "")


def _today_start():
    return timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)


def _queue(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        task_send_on_commit("investigations.notifications.deliver", delivery_id)


def notification_event_dispatch(
    *, event: str, object_id: int, occurrence: str = "", rules: list[NotificationRule] | None = None
) -> list[NotificationDelivery]:
    """Record the event once for every enabled rule that wants it, and queue the sends after commit.

    Over a rule's daily cap the delivery is recorded as ``capped`` (visible in the log, not sent).
    Returns the deliveries this call created.
    """
    if rules is None:
        rules = [rule for rule in NotificationRule.objects.filter(enabled=True) if event in rule.events]
    if not rules:
        return []
    notice = notice_for(event, object_id)
    if notice is None:
        logger.info("notification %s about #%s skipped: the row is gone", event, object_id)
        return []
    key = event_key(event, object_id, occurrence)
    created = []
    for rule in rules:
        with transaction.atomic():
            # Serialises dispatches per rule, so the daily cap holds under concurrency (PostgreSQL).
            locked = NotificationRule.objects.select_for_update().filter(pk=rule.pk, enabled=True).first()
            if locked is None or NotificationDelivery.objects.filter(rule=rule, event_key=key).exists():
                continue
            sent_today = (
                NotificationDelivery.objects.filter(rule=rule, created_at__gte=_today_start())
                .exclude(status=D.CAPPED)
                .count()
            )
            status = D.CAPPED if sent_today >= locked.daily_cap else D.PENDING
            try:
                with transaction.atomic():
                    delivery = NotificationDelivery.objects.create(
                        rule=rule, event=event, event_key=key, payload=notice.as_payload(), status=status
                    )
            except IntegrityError:  # another dispatch of the same event won
                continue
            created.append(delivery)
            if status == D.PENDING:
                _queue([delivery.pk])
    return created


def notification_rule_test(*, rule: NotificationRule, actor) -> NotificationDelivery:
    """Send a test message through ``rule`` now (whatever its events), audited."""
    with transaction.atomic():
        audit_record(actor=actor, verb="notification_rule.tested", target=rule)
        delivery = NotificationDelivery.objects.create(
            rule=rule,
            event=NotificationEvent.TEST,
            event_key=event_key(NotificationEvent.TEST, rule.pk, timezone.now().strftime("%Y%m%dT%H%M%S%f")),
            payload=notice_for(NotificationEvent.TEST, rule.pk).as_payload(),
        )
        _queue([delivery.pk])
    return delivery


# --- Delivery ------------------------------------------------------------------------------------


class _Transient(Exception):
    def __init__(self, message: str, *, code: int | None = None, retry_after: int | None = None):
        super().__init__(message)
        self.code = code
        self.retry_after = retry_after


class _Permanent(Exception):
    def __init__(self, message: str, *, code: int | None = None):
        super().__init__(message)
        self.code = code


def _send(rule: NotificationRule, payload: dict) -> int | None:
    """Send once; the receiver's HTTP status (None for e-mail). Raises _Transient or _Permanent."""
    if rule.channel == NotificationRule.Channel.EMAIL:
        subject, body = email_message(payload)
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, list(rule.recipients), fail_silently=False)
        except Exception as error:  # SMTP and socket errors alike: the mail server may come back
            raise _Transient(f"Mail server: {error}")
        return None
    body = webhook_body(rule.format, payload)
    try:
        response = webhook_post(
            rule.url, body=body, headers=dict(rule.secret_headers), allow_private=rule.allow_private
        )
    except WebhookURLRefused as error:
        raise _Permanent(error.message)
    except OSError as error:
        raise _Transient(f"Network: {error}")
    if 200 <= response.status < 300:
        return response.status
    detail = f"HTTP {response.status}: {response.body}".strip()
    if response.status == 429 or response.status >= 500 or response.status == 408:
        raise _Transient(detail, code=response.status, retry_after=response.retry_after)
    raise _Permanent(detail, code=response.status)


def _backoff(attempts: int, retry_after: int | None) -> int:
    delay = settings.NOTIFICATION_RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0)
    if retry_after:
        delay = max(delay, retry_after)
    return min(delay, MAX_BACKOFF_SECONDS)


def notification_delivery_attempt(*, delivery_id: int) -> int | None:
    """Attempt one send of a due delivery; the seconds until a retry, or None when settled.

    The claim (pending/retrying → sending, attempts + 1) is a conditional UPDATE: a second
    task for the same delivery finds nothing to claim and returns.
    """
    now = timezone.now()
    claimed = NotificationDelivery.objects.filter(pk=delivery_id, status__in=[D.PENDING, D.RETRYING]).update(
        status=D.SENDING, attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=None
    )
    if claimed != 1:
        logger.info("notification delivery %s: nothing to send (gone, sent or taken)", delivery_id)
        return None
    delivery = NotificationDelivery.objects.select_related("rule").get(pk=delivery_id)
    try:
        code = _send(delivery.rule, delivery.payload)
    except _Transient as error:
        if delivery.attempts >= settings.NOTIFICATION_MAX_ATTEMPTS:
            _settle(delivery, D.FAILED, code=error.code, error=f"{error} (gave up after {delivery.attempts} attempts)")
            return None
        delay = _backoff(delivery.attempts, error.retry_after)
        _settle(delivery, D.RETRYING, code=error.code, error=str(error), next_attempt_at=now + timedelta(seconds=delay))
        return delay
    except _Permanent as error:
        _settle(delivery, D.FAILED, code=error.code, error=str(error))
        return None
    _settle(delivery, D.SENT, code=code, error="", sent_at=timezone.now())
    return None


def _settle(delivery: NotificationDelivery, status: str, *, code: int | None, error: str, **fields) -> None:
    NotificationDelivery.objects.filter(pk=delivery.pk, status=D.SENDING).update(
        status=status, response_code=code, error=error[:2000], **fields
    )
    if status == D.FAILED:
        logger.warning("notification delivery %s failed: %s", delivery.pk, error)


# --- Sweep ---------------------------------------------------------------------------------------


def notifications_sweep() -> dict:
    """The beat's periodic work: actions past SLA (each notified once), and lost deliveries re-queued."""
    rules = [
        rule
        for rule in NotificationRule.objects.filter(enabled=True)
        if NotificationEvent.ACTION_PAST_SLA in rule.events
    ]
    notified = 0
    if rules:
        deadline = timezone.now() - timedelta(minutes=portal_settings_get().action_sla_minutes)
        overdue = list(
            Action.objects.filter(status=Action.Status.PENDING_APPROVAL, created_at__lt=deadline)
            .order_by("-created_at")
            .values_list("pk", flat=True)[:1000]
        )
        keys = {event_key(NotificationEvent.ACTION_PAST_SLA, pk): pk for pk in overdue}
        done = set(
            NotificationDelivery.objects.filter(rule__in=rules, event_key__in=keys).values_list("rule_id", "event_key")
        )
        for key, action_id in keys.items():
            missing = [rule for rule in rules if (rule.pk, key) not in done]
            if missing:
                notified += len(
                    notification_event_dispatch(
                        event=NotificationEvent.ACTION_PAST_SLA, object_id=action_id, rules=missing
                    )
                )
    return {"past_sla": notified, "requeued": _requeue_lost()}


def _requeue_lost() -> int:
    """Deliveries whose task message was lost (broker down) or whose worker died while sending."""
    now = timezone.now()
    lost = Q(status=D.PENDING, created_at__lt=now - LOST_MESSAGE) | Q(
        status=D.RETRYING, next_attempt_at__lt=now - LOST_MESSAGE
    )
    stuck = Q(status=D.SENDING, last_attempt_at__lt=now - STUCK_SENDING)
    with transaction.atomic():
        ids = list(NotificationDelivery.objects.filter(lost | stuck).values_list("pk", flat=True)[:1000])
        NotificationDelivery.objects.filter(stuck, pk__in=ids).update(
            status=D.RETRYING, error="The worker stopped while sending; retrying.", next_attempt_at=now
        )
        _queue(ids)
    return len(ids)
