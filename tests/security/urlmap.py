"""Every URL name of the URLconf: which row of the DESIGN.md role table guards it, the methods it
answers, and how to fill its path and body from a small world of real rows.

``tests/security/test_url_roles.py`` requests each of them as every persona; ``test_csrf.py`` posts
to every state-changing one without a CSRF token. A URL name missing here fails both.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from airportal.roles import Role
from airportal.services import user_set_role
from airportal.tasks import heartbeat
from airportal.tokens import api_token_create
from alerts.models import AlertPolicy
from alerts.services import suppression_create
from investigations.models import Action, Investigation, NotificationEvent
from investigations.notifications.services import notification_rule_create
from tests.factories import (
    ActionFactory,
    AlertFactory,
    EventFactory,
    IdentityFactory,
    InvestigationFactory,
    UserFactory,
)

ANONYMOUS = "anonymous"
PERSONAS = ("outsider", "ingest", "analyst", "manager", "admin")

# DESIGN.md § Roles, written out by hand (not read from airportal/roles.py, which is what is tested):
# the personas each row of the table lets in.
DESIGN_ROLES: dict[str, frozenset[str]] = {
    "public": frozenset({ANONYMOUS, *PERSONAS}),
    "signed_in": frozenset(PERSONAS),
    "ingest": frozenset({"ingest", "admin"}),  # post to the ingest API
    "see": frozenset({"analyst", "manager", "admin"}),  # see alerts, timelines, investigations
    "triage": frozenset({"analyst", "manager", "admin"}),  # triage alerts, approve / reject actions
    "reports_read": frozenset({"analyst", "manager", "admin"}),  # history, metrics, audit log: read
    "reports_manage": frozenset({"manager", "admin"}),  # bulk exports (a CSV leaves access control)
    "configure": frozenset({"admin"}),  # policies, connectors, users, tokens, notifications
}


@dataclass
class World:
    """One of each row a URL can name, created through factories and services."""

    admin: object
    identity: object
    event: object
    alert: object
    investigation: object
    action: object
    policy: object
    suppression: object
    rule: object
    token: object
    victim: object


def world_build(admin) -> World:
    heartbeat(origin="worker@urlmap")  # a running system: /healthz answers 200
    identity = IdentityFactory(upn="megan@contoso.com")
    event = EventFactory(identity=identity, subject="Quarterly numbers")
    alert = AlertFactory(identity=identity)
    alert.events.add(event)
    investigation = InvestigationFactory(identity=identity, status=Investigation.Status.PENDING_ACTION)
    investigation.alerts.add(alert)
    action = ActionFactory(investigation=investigation, kind=Action.Kind.REVOKE_SESSIONS)
    policy = AlertPolicy.objects.get(detector="suspicious_inbox_rule")
    suppression = suppression_create(
        policy=policy,
        kind="identity",
        value="someone@contoso.com",
        reason="known noisy",
        expires_at=timezone.now() + timedelta(days=2),
        actor=admin,
    )
    rule = notification_rule_create(
        actor=admin,
        name="SOC mail",
        channel="email",
        recipients=["soc@contoso.com"],
        events=[NotificationEvent.INVESTIGATION_PENDING_ACTION],
        daily_cap=10,
    )
    victim = UserFactory(username="victor")
    user_set_role(user=victim, role=Role.ANALYST)
    token, _ = api_token_create(user=victim, name="victim token", created_by=admin)
    return World(admin, identity, event, alert, investigation, action, policy, suppression, rule, token, victim)


def _none(world: World) -> dict:
    return {}


@dataclass(frozen=True)
class Route:
    """How one URL name is guarded and called. ``methods``: those it answers; the others get 405."""

    right: str
    methods: tuple[str, ...] = ("GET",)
    post_right: str = ""  # when POST needs another row of the table than GET
    kwargs: Callable[[World], dict] = _none
    data: Callable[[World], object] = _none
    note: str = field(default="", compare=False)

    def right_for(self, method: str) -> str:
        return self.post_right if method != "GET" and self.post_right else self.right

    @property
    def writes(self) -> bool:
        return any(method != "GET" for method in self.methods)


def _alert(w):
    return {"alert_id": w.alert.pk}


def _investigation(w):
    return {"investigation_id": w.investigation.pk}


def _action(w):
    return {"action_id": w.action.pk}


def _policy(w):
    return {"policy_id": w.policy.pk}


def _victim(w):
    return {"pk": w.victim.pk}


def _rule(w):
    return {"rule_id": w.rule.pk}


GET, POST = ("GET",), ("POST",)
GET_POST = ("GET", "POST")
EVENTS_RECORD = {"id": "r-1", "user": "megan@contoso.com", "occurred_at": "2024-05-01T08:30:00Z", "kind": "signin"}

ROUTES: dict[str, Route] = {
    # The shell: public by nature, or for anyone signed in.
    "healthz": Route("public", note="load balancer probe"),
    "login": Route(
        "public",
        ("GET", "POST", "PUT"),
        data=lambda w: {"username": "nobody", "password": "not-it"},
        note="Django's LoginView answers PUT like POST (its form then sees no data)",
    ),
    "logout": Route("public", POST),
    "password_set": Route(
        "public",
        ("GET", "POST", "PUT", "PATCH", "DELETE"),
        kwargs=lambda w: {"uidb64": "MQ", "token": "set-password"},
        note="the one-time link of an invitation: the token in the path is the credential; Django's view "
        "answers a forged link with its 'invalid link' page whatever the method",
    ),
    "schema": Route("signed_in", note="the OpenAPI schema: any signed-in user or token"),
    "api_docs": Route("signed_in"),
    "dashboard": Route("see"),
    # Alerts console.
    "alerts:alert_list": Route("see"),
    "alerts:alert_new_count": Route("see"),
    "alerts:alert_triage": Route(
        "triage", POST, data=lambda w: {"alert": [w.alert.pk], "operation": "assign", "next": "/alerts/"}
    ),
    "alerts:alert_detail": Route("see", kwargs=_alert),
    "alerts:event_raw": Route("see", kwargs=lambda w: {"event_id": w.event.pk}),
    "alerts:search": Route("see"),
    "identity_timeline": Route("see", kwargs=lambda w: {"upn": w.identity.upn}),
    # Policies and connectors: admins.
    "alerts:policy_list": Route("configure"),
    "alerts:policy_edit": Route("configure", GET_POST, kwargs=_policy, data=lambda w: {"version": w.policy.version}),
    "alerts:policy_toggle": Route("configure", POST, kwargs=_policy, data=lambda w: {"version": w.policy.version}),
    "alerts:policy_backtest": Route("configure", POST, kwargs=_policy, data=lambda w: {"days": 7}),
    "alerts:suppression_add": Route(
        "configure",
        POST,
        kwargs=_policy,
        data=lambda w: {
            "kind": "identity",
            "value": "other@contoso.com",
            "reason": "test",
            "expires_at": (timezone.now() + timedelta(days=1)).strftime("%Y-%m-%d %H:%M"),
        },
    ),
    "alerts:suppression_end": Route(
        "configure", POST, kwargs=lambda w: {"policy_id": w.policy.pk, "suppression_id": w.suppression.pk}
    ),
    "alerts:connector_settings": Route("configure", GET_POST),
    "alerts:connector_test": Route("configure", POST),
    "alerts:connector_pull": Route("configure", POST),
    "alerts:connector_status": Route("configure"),
    # Investigations and the action center.
    "investigations:investigation_list": Route("see"),
    "investigations:investigation_start": Route(
        "triage", POST, data=lambda w: {"user": w.identity.upn, "reason": "by hand"}
    ),
    "investigations:investigation_detail": Route("see", kwargs=_investigation),
    "investigations:investigation_terminate": Route(
        "triage", POST, kwargs=_investigation, data=lambda w: {"reason": "done"}
    ),
    "investigations:investigation_summary": Route("see", kwargs=_investigation),
    "investigations:investigation_progress": Route("see", kwargs=_investigation),
    "investigations:investigation_log_csv": Route(
        "reports_read", kwargs=_investigation, note="one investigation's step log, not a bulk export"
    ),
    "investigations:action_center": Route("see"),
    "investigations:action_counts": Route("see"),
    "investigations:action_history_csv": Route("reports_manage"),
    "investigations:actions_bulk_approve": Route("triage", POST, data=lambda w: {"action": [w.action.pk]}),
    "investigations:action_row": Route("see", kwargs=_action),
    "investigations:action_approve": Route("triage", POST, kwargs=_action),
    "investigations:action_reject": Route("triage", POST, kwargs=_action, data=lambda w: {"comment": "no"}),
    "investigations:action_undo": Route("triage", POST, kwargs=_action),
    # Reports, audit log.
    "investigations:reports": Route("reports_read"),
    "investigations:report_history": Route("reports_read"),
    "investigations:report_record": Route("reports_read", kwargs=lambda w: {"pk": w.investigation.pk}),
    "investigations:report_print": Route("reports_read", kwargs=lambda w: {"pk": w.investigation.pk}),
    "investigations:report_metrics": Route("reports_read"),
    "investigations:report_export": Route("reports_manage", kwargs=lambda w: {"dataset": "alerts"}),
    "audit_list": Route("reports_read"),
    "audit_export": Route("reports_manage"),
    # Administration.
    "investigations:notification_rule_list": Route("configure"),
    "investigations:notification_rule_create": Route(
        "configure",
        GET_POST,
        data=lambda w: {
            "name": "Second rule",
            "channel": "email",
            "recipients": "soc2@contoso.com",
            "events": [NotificationEvent.INVESTIGATION_PENDING_ACTION],
            "daily_cap": 5,
        },
    ),
    "investigations:notification_rule_edit": Route("configure", GET_POST, kwargs=_rule),
    "investigations:notification_rule_test": Route("configure", POST, kwargs=_rule),
    "investigations:notification_delivery_list": Route("configure"),
    "admin_home": Route("configure"),
    "admin_users": Route("configure", GET_POST, data=lambda w: {"username": "invitee", "role": "analyst"}),
    "admin_user_role": Route("configure", POST, kwargs=_victim, data=lambda w: {"role": "manager"}),
    "admin_user_deactivate": Route("configure", POST, kwargs=_victim),
    "admin_user_reactivate": Route("configure", POST, kwargs=_victim),
    "admin_user_password_link": Route("configure", POST, kwargs=_victim),
    "admin_tokens": Route("configure", GET_POST, data=lambda w: {"username": "svc-siem", "role": "ingest"}),
    "admin_token_revoke": Route("configure", POST, kwargs=lambda w: {"pk": w.token.pk}),
    "admin_settings": Route("configure", GET_POST, data=lambda w: {"action_sla_minutes": 60, "alert_sla_minutes": 60}),
    # REST API (Bearer tokens).
    "ingest": Route("ingest", POST, kwargs=lambda w: {"source": "events"}, data=lambda w: [EVENTS_RECORD]),
    "api_alert_list": Route("see"),
    "api_alert_bulk": Route("triage", POST, data=lambda w: {"ids": [w.alert.pk], "action": "start"}),
    "api_alert_detail": Route("see", kwargs=_alert),
    "api_alert_assign": Route("triage", POST, kwargs=_alert, data=lambda w: {"assignee": None}),
    "api_alert_start": Route("triage", POST, kwargs=_alert),
    "api_alert_resolve": Route("triage", POST, kwargs=_alert, data=lambda w: {"classification": "true_positive"}),
    "api_alert_dismiss": Route("triage", POST, kwargs=_alert, data=lambda w: {"classification": "false_positive"}),
    "api_alert_reopen": Route("triage", POST, kwargs=_alert),
    "api_investigation_list": Route(
        "see", GET_POST, post_right="triage", data=lambda w: {"user": w.identity.upn, "reason": "by hand"}
    ),
    "api_investigation_detail": Route("see", kwargs=_investigation),
    "api_investigation_terminate": Route("triage", POST, kwargs=_investigation, data=lambda w: {"reason": "done"}),
    "api_action_detail": Route("see", kwargs=_action),
    "api_action_approve": Route("triage", POST, kwargs=_action, data=lambda w: {"comment": ""}),
    "api_action_reject": Route("triage", POST, kwargs=_action, data=lambda w: {"comment": "no"}),
    "api_action_undo": Route("triage", POST, kwargs=_action, data=lambda w: {"comment": ""}),
}


def url_names() -> Iterator[tuple[str, str]]:
    """(name, route) of every pattern in the URLconf, namespaces included; unnamed patterns as ''."""

    def walk(patterns, prefix: str, namespace: str):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = ":".join(filter(None, [namespace, pattern.namespace]))
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
            elif isinstance(pattern, URLPattern):
                name = ":".join(filter(None, [namespace, pattern.name])) if pattern.name else ""
                yield name, prefix + str(pattern.pattern)

    yield from walk(get_resolver().url_patterns, "", "")
