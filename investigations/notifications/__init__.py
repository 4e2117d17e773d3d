"""Notifications: e-mail and webhooks (generic JSON, Slack, Teams) when something needs a person.

Flows announce events with ``hooks.notify_on_commit``; ``services`` records one delivery per
rule and event and sends it with retries; ``tasks`` are the Celery wrappers; the admin pages
are in ``views``.
"""
