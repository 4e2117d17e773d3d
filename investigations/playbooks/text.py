"""Small helpers for the plain sentences findings and summaries are written in."""

from datetime import datetime

from alerts.detectors.base import quote


def plural(count: int, noun: str, plural_noun: str | None = None) -> str:
    return f"{count:,} {noun if count == 1 else plural_noun or noun + 's'}"


def when(moment: datetime) -> str:
    """``on 2026-03-11 at 22:24 UTC``"""
    return f"on {moment:%Y-%m-%d at %H:%M} UTC"


def stamp(moment: datetime) -> str:
    """``2026-03-11 22:24 UTC`` (after "since", "between"…)."""
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def sentence(text: str) -> str:
    """Upper-case the first letter only (``str.capitalize`` would lower-case quoted names)."""
    return text[:1].upper() + text[1:]


__all__ = ["plural", "quote", "sentence", "stamp", "when"]
