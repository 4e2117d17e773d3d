"""Console sign-ins: audited, and throttled after repeated failures.

Failures are counted from the audit log itself (per username and per client IP), so the
limit holds across any number of web processes without another store.
"""

from datetime import timedelta

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Q
from django.utils import timezone

from airportal.audit import audit_record
from airportal.models import AuditEntry

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def audit_sign_in(sender, request, user, **kwargs):
    audit_record(actor=user, verb="user.signed_in", target=user, ip=client_ip(request))


def audit_sign_in_failure(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        actor=None,
        verb="user.sign_in_failed",
        summary=f"Failed sign-in as {username!r}",
        changes={"username": username.lower()},
        ip=client_ip(request),
    )


def sign_in_blocked(*, username: str, ip: str | None) -> bool:
    """True when the username or the client IP has failed MAX_FAILURES times within the window."""
    recent = AuditEntry.objects.filter(verb="user.sign_in_failed", occurred_at__gte=timezone.now() - FAILURE_WINDOW)
    who = Q(changes__username=username.lower())
    if ip:
        who |= Q(ip=ip)
    return recent.filter(who).count() >= MAX_FAILURES


class SignInForm(AuthenticationForm):
    def clean(self):
        username = self.cleaned_data.get("username") or ""
        if sign_in_blocked(username=username, ip=client_ip(self.request)):
            minutes = int(FAILURE_WINDOW.total_seconds() // 60)
            raise forms.ValidationError(f"Too many failed sign-ins. Try again in {minutes} minutes.", code="throttled")
        return super().clean()
