"""Small helpers for the plain sentences findings and summaries are written in."""

from datetime import datetime

from alerts.detectors.base import quote


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else plural_noun or noun + 's'}"


def when(moment: datetime) -> str:
    return f"on {moment:%Y-%m-%d at %H:%M} UTC"


__all__ = ["plural", "quote", "when"]
