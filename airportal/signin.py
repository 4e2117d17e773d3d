"""Sign-ins to the console go to the audit log (Django only tells us through its auth signals)."""

from airportal.audit import audit_record


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") if request is not None else None


def audit_sign_in(sender, request, user, **kwargs):
    audit_record(actor=user, verb="user.signed_in", target=user, ip=_client_ip(request))


def audit_sign_in_failure(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    audit_record(
        actor=None, verb="user.sign_in_failed", summary=f"Failed sign-in as {username!r}", ip=_client_ip(request)
    )
