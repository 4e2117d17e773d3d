"""Sent mail as messages with recipients, and recipient counts over rolling windows.

The same message can reach us twice: a mailbox audit ``Send`` record (one per message, usually
without recipients) and message trace rows (one per recipient). Events are grouped by their
message id, so a message counts its distinct recipients once, whatever the sources; a message
whose recipients no source reported counts as one recipient.
"""

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alerts.activity.fields import attr, attribute_list
from alerts.models import Event


@dataclass
class Message:
    key: str
    at: datetime
    subject: str
    recipients: set[str] = field(default_factory=set)
    events: list[Event] = field(default_factory=list)
    _external: int | None = field(default=None, repr=False)

    @property
    def recipient_count(self) -> int:
        return max(1, len(self.recipients))

    def external_count(self, is_internal: Callable[[str], bool]) -> int:
        """Recipients outside the tenant (computed once per message: windows ask again and again)."""
        if self._external is None:
            self._external = sum(1 for address in self.recipients if not is_internal(address))
        return self._external


def event_recipients(event: Event) -> list[str]:
    """The event's recipients, lower-cased (parsed once per event instance)."""
    cached = getattr(event, "_recipients", None)
    if cached is None:
        recipients = attribute_list(attr(event, "recipients"))
        if not recipients and "@" in (event.target or ""):
            recipients = attribute_list(event.target)
        cached = event._recipients = [address.lower() for address in recipients]
    return cached


def message_key(event: Event) -> str:
    message_id = attr(event, "message_id", "internet_message_id")
    return f"id:{str(message_id).strip().lower()}" if message_id else f"event:{event.pk}"


def messages_of(events: Iterable[Event]) -> list[Message]:
    """Mail events grouped into messages, sorted by time (a message's time is its first event's)."""
    by_key: dict[str, Message] = {}
    for event in events:
        key = message_key(event)
        message = by_key.get(key)
        if message is None:
            message = by_key[key] = Message(key=key, at=event.occurred_at, subject=event.subject)
        message.at = min(message.at, event.occurred_at)
        message.subject = message.subject or event.subject
        message.recipients.update(event_recipients(event))
        message.events.append(event)
    return sorted(by_key.values(), key=lambda message: (message.at, message.key))


@dataclass
class Window:
    """The messages of one rolling window and their recipient counts."""

    messages: list[Message]
    recipients: int
    external: int

    @property
    def start(self) -> datetime:
        return self.messages[0].at

    @property
    def end(self) -> datetime:
        return self.messages[-1].at

    def top_subject(self) -> tuple[str, int]:
        counts: dict[str, int] = {}
        for message in self.messages:
            counts[message.subject] = counts.get(message.subject, 0) + message.recipient_count
        if not counts:
            return "", 0
        subject = max(counts, key=counts.get)
        return subject, counts[subject]

    def events(self, limit: int) -> list[Event]:
        return [event for message in self.messages for event in message.events][:limit]


def rolling_windows(
    messages: list[Message], *, span: timedelta, weight: Callable[[Message], int], touches: Callable[[Message], bool]
) -> Iterator[tuple[int, int, int]]:
    """``(first, last, total)`` message indexes and weight of each window of length ``span`` that
    ends at a message and contains a message ``touches`` accepts.

    Two pointers over the time-sorted messages, O(n): every busiest window ends at a message.
    """
    start = 0
    total = 0
    touched_in_window = 0
    weights = [weight(message) for message in messages]
    touched = [touches(message) for message in messages]
    for end, message in enumerate(messages):
        total += weights[end]
        touched_in_window += touched[end]
        while message.at - messages[start].at >= span:
            total -= weights[start]
            touched_in_window -= touched[start]
            start += 1
        if touched_in_window:
            yield start, end, total


def window_of(messages: list[Message], first: int, last: int, is_internal: Callable[[str], bool]) -> Window:
    chosen = messages[first : last + 1]
    return Window(
        messages=chosen,
        recipients=sum(m.recipient_count for m in chosen),
        external=sum(m.external_count(is_internal) for m in chosen),
    )


def busiest_window(
    messages: list[Message],
    *,
    span: timedelta,
    touches: Callable[[Message], bool],
    weight: Callable[[Message], int],
    is_internal: Callable[[str], bool],
) -> Window | None:
    """The window of length ``span`` with the most ``weight`` that contains a message ``touches`` accepts."""
    best = max(rolling_windows(messages, span=span, weight=weight, touches=touches), key=lambda w: w[2], default=None)
    return None if best is None else window_of(messages, best[0], best[1], is_internal)
