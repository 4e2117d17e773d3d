"""mailbox_permission_added, mfa_method_changed, oauth_app_consent and external_alert."""

from datetime import timedelta

import pytest

from alerts.models import AlertPolicy, Event
from alerts.services.policies import policy_update
from tests.alerts.support.detection import LAGOS, SEATTLE, T0, alerts_of, detect, identity, signin, signin_history
from tests.factories import EventFactory

pytestmark = pytest.mark.django_db


def _permission(mailbox_owner, actor, delegate, rights=("FullAccess",), kind=Event.Kind.MAILBOX_PERMISSION_ADDED):
    """As the o365-audit adapter stores Add-MailboxPermission: on the mailbox, naming the actor."""
    return EventFactory(
        identity=mailbox_owner,
        occurred_at=T0,
        kind=kind,
        source="o365-audit",
        operation="Add-MailboxPermission",
        target=mailbox_owner.upn,
        attributes={"mailbox": mailbox_owner.upn, "delegate": delegate, "access_rights": list(rights), "actor": actor},
    )


def test_admin_granting_an_assistant_access_stays_quiet():
    patti, allan = identity("patti.fernandez"), identity("allan.deyoung")
    detect([_permission(patti, allan.upn, "joni.sherman@contoso.com")])
    assert alerts_of("mailbox_permission_added") == []


def test_owner_granting_access_to_their_own_mailbox_fires():
    megan = identity()
    detect([_permission(megan, megan.upn, "helper@contoso.com")])
    [alert] = alerts_of("mailbox_permission_added")
    assert alert.identity == megan
    assert "granted from the mailbox owner's own account" in alert.description


def test_account_granting_itself_access_to_another_mailbox_alerts_on_the_actor():
    debra, diego = identity("debra.berger"), identity("diego.siciliani")
    detect([_permission(debra, diego.upn, diego.upn)])
    [alert] = alerts_of("mailbox_permission_added")
    assert alert.identity == diego
    assert alert.evidence["grants"] == [
        {"mailbox": debra.upn, "delegate": diego.upn, "rights": ["FullAccess"], "actor": diego.upn}
    ]


def test_admin_delegating_to_an_outside_address_fires():
    patti, allan = identity("patti.fernandez"), identity("allan.deyoung")
    detect(
        [
            _permission(
                patti, allan.upn, "someone@gmail.com", rights=["SendAs"], kind=Event.Kind.SEND_AS_PERMISSION_ADDED
            )
        ]
    )
    [alert] = alerts_of("mailbox_permission_added")
    assert "the delegate is outside the tenant's domains" in alert.description


def test_rights_not_listed_in_the_policy_stay_quiet():
    megan = identity()
    detect([_permission(megan, megan.upn, "helper@contoso.com", rights=["ReadPermission"])])
    assert alerts_of("mailbox_permission_added") == []


def _mfa_change(who, at, *, ip="20.190.151.10", **attributes):
    """A registration, by default from the network ``signin_history`` signs in from."""
    return EventFactory(
        identity=who,
        occurred_at=at,
        ip=ip,
        kind=Event.Kind.MFA_METHOD_CHANGED,
        source="o365-audit",
        operation="User registered security info.",
        target=who.upn,
        attributes=attributes,
    )


def test_mfa_method_registered_soon_after_a_risky_signin_fires():
    lee = identity("lee.gu")
    signin_history(lee)
    risky = signin(lee, T0, LAGOS, ip="102.89.32.18", risk_level="medium", risk_state="atRisk")
    change = _mfa_change(lee, T0 + timedelta(minutes=6))
    detect([risky, change])
    [alert] = alerts_of("mfa_method_changed")
    assert set(alert.events.all()) == {risky, change}
    assert "6 minutes after a sign-in from Lagos, NG (102.89.32.18)" in alert.description


def test_mfa_method_after_a_signin_from_a_new_country_fires():
    lee = identity("lee.gu")
    signin_history(lee)
    detect([signin(lee, T0, LAGOS, ip="102.89.32.18"), _mfa_change(lee, T0 + timedelta(hours=2))])
    [alert] = alerts_of("mfa_method_changed")
    assert "the country was new for this user" in alert.description


def test_new_phone_after_an_ordinary_signin_stays_quiet():
    lee = identity("lee.gu")
    signin_history(lee)
    detect([signin(lee, T0, SEATTLE), _mfa_change(lee, T0 + timedelta(minutes=5))])
    assert alerts_of("mfa_method_changed") == []


def test_mfa_change_long_after_the_risky_signin_stays_quiet():
    lee = identity("lee.gu")
    signin_history(lee)
    risky = signin(lee, T0, SEATTLE, risk_level="high", risk_state="atRisk")
    detect([risky, _mfa_change(lee, T0 + timedelta(hours=30))])
    assert alerts_of("mfa_method_changed") == []


def test_removing_every_strong_method_fires_and_adding_one_does_not():
    lee = identity("lee.gu")
    detect([_mfa_change(lee, T0, methods_before=[], methods_after=[7])])
    assert alerts_of("mfa_method_changed") == []
    detect([_mfa_change(lee, T0 + timedelta(hours=1), methods_before=[6, 7], methods_after=[])])
    [alert] = alerts_of("mfa_method_changed")
    assert alert.title == "MFA removed"


def _consent(who, scopes, *, app="Mail Sync Pro", client_id="5d8c1a47-0000-4000-8000-000000000001", admin=False):
    return EventFactory(
        identity=who,
        occurred_at=T0,
        kind=Event.Kind.OAUTH_CONSENT,
        source="o365-audit",
        operation="Consent to application.",
        target=app,
        attributes={"scopes": scopes, "is_admin_consent": admin, "client_id": client_id, "app_display_name": app},
    )


def test_consent_to_an_app_reading_mail_fires():
    lee = identity("lee.gu")
    detect([_consent(lee, ["Mail.Read", "Mail.Send", "offline_access", "User.Read"])])
    [alert] = alerts_of("oauth_app_consent")
    assert alert.evidence["consents"][0]["mail_scopes"] == ["Mail.Read", "Mail.Send"]
    assert "“Mail Sync Pro”, which asked for Mail.Read, Mail.Send" in alert.description


def test_consent_without_mail_scopes_or_to_a_trusted_app_stays_quiet():
    lee = identity("lee.gu")
    policy = AlertPolicy.objects.get(detector="oauth_app_consent")
    policy_update(policy=policy, actor=None, parameters={"trusted_apps": ["Contoso CRM"]})
    detect([_consent(lee, ["User.Read", "openid"]), _consent(lee, ["Mail.Read"], app="Contoso CRM", client_id="c")])
    assert alerts_of("oauth_app_consent") == []


def _external(who, *, alert_id="da637", severity="medium", status="new", title="Anonymous IP address"):
    return EventFactory(
        identity=who,
        occurred_at=T0,
        kind=Event.Kind.EXTERNAL_ALERT,
        source="graph-alerts",
        subject=title,
        target=alert_id,
        attributes={
            "title": title,
            "severity": severity,
            "status": status,
            "alert_id": alert_id,
            "service_source": "microsoftDefenderForIdentity",
            "product_name": "Microsoft Defender for Identity",
        },
    )


def test_graph_alert_becomes_an_alert_with_the_sources_severity():
    alex = identity("alex.wilber")
    detect([_external(alex, severity="high")])
    [alert] = alerts_of("external_alert")
    assert alert.title == "Anonymous IP address"
    assert alert.severity == "high"
    assert alert.dedup_key == "external:da637"
    assert "Microsoft Defender for Identity raised “Anonymous IP address”" in alert.description


def test_resolved_or_informational_graph_alerts_are_left_out():
    alex = identity("alex.wilber")
    detect([_external(alex, alert_id="a", status="resolved"), _external(alex, alert_id="b", severity="informational")])
    assert alerts_of("external_alert") == []


def test_an_update_of_the_same_source_alert_folds_and_distinct_alerts_do_not():
    alex = identity("alex.wilber")
    detect([_external(alex, alert_id="a")])
    detect([_external(alex, alert_id="a", status="inProgress")])
    detect([_external(alex, alert_id="b", title="Password spray")])
    alerts = alerts_of("external_alert")
    assert [(a.dedup_key, a.event_count) for a in alerts] == [("external:a", 2), ("external:b", 1)]


def test_policy_severity_applies_when_the_source_severity_is_not_kept():
    alex = identity("alex.wilber")
    policy = AlertPolicy.objects.get(detector="external_alert")
    policy_update(policy=policy, actor=None, severity="low", parameters={"use_source_severity": False})
    detect([_external(alex, severity="high")])
    assert alerts_of("external_alert")[0].severity == "low"
