"""Template filters of the report pages: durations and rates in a manager's words."""

from django import template

from airportal.templatetags.console import minutes

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """Seconds written like the console's ages (``5400`` → ``1h 30m``); ``None`` → ``—``."""
    if seconds is None or seconds == "":
        return "—"
    return minutes(max(0, round(float(seconds) / 60)))


@register.filter
def percent(rate) -> str:
    """``0.256`` → ``26%``; ``None`` → ``—``."""
    return "—" if rate is None else f"{round(float(rate) * 100)}%"
