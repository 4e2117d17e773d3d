"""external_forwarding and suspicious_inbox_rule."""

from datetime import timedelta

import pytest

from airportal.services import portal_settings_update
from alerts.models import AlertPolicy, Event
from alerts.services.policies import policy_update
from tests.alerts.support.detection import T0, alerts_of, detect, forwarding_event, identity, rule_event

pytestmark = pytest.mark.django_db

BEC_RULE = {
    "name": "..",
    "subject_or_body_contains_words": ["invoice", "payment", "wire"],
    "move_to_folder": "RSS Feeds",
    "mark_as_read": True,
    "stop_processing_rules": True,
}


def test_rule_forwarding_outside_the_tenant_fires():
    megan = identity()
    event = rule_event(megan, T0, {"name": "fwd", "forward_to": ["megan.finance@gmail.com"]})
    detect([event])
    [alert] = alerts_of("external_forwarding")
    assert alert.title == "Mail forwarded outside the tenant to megan.finance@gmail.com"
    assert alert.evidence["external_targets"] == ["megan.finance@gmail.com"]
    assert "Inbox rule 'fwd' forwards mail to megan.finance@gmail.com" in alert.description


def test_rule_forwarding_to_a_colleague_inside_the_tenant_stays_quiet():
    johanna = identity("johanna.lorenz")
    identity("lidia.holloway")
    detect([rule_event(johanna, T0, {"name": "Build failures", "forward_to": ["lidia.holloway@contoso.com"]})])
    assert alerts_of("external_forwarding") == []


def test_subdomains_of_accepted_domains_are_internal_and_lookalikes_are_not():
    megan = identity()
    detect([forwarding_event(megan, T0, ["bart@springfield.contoso.com"])])
    assert alerts_of("external_forwarding") == []
    detect([forwarding_event(megan, T0 + timedelta(minutes=1), ["evil@contoso2.com"])])
    assert len(alerts_of("external_forwarding")) == 1


def test_accepted_domains_setting_replaces_the_identities_domains():
    megan = identity()  # contoso.com
    portal_settings_update(actor=None, accepted_domains=["fabrikam.com"])
    detect([forwarding_event(megan, T0, ["someone@contoso.com"])])
    assert len(alerts_of("external_forwarding")) == 1


def test_mailbox_forwarding_and_redirect_rules_to_several_outsiders():
    megan = identity()
    rule = {
        "name": "x",
        "redirect_to": ["a@example.com", "b@example.net"],
        "forward_as_attachment_to": ["c@example.org"],
    }
    detect([rule_event(megan, T0, rule), forwarding_event(megan, T0 + timedelta(minutes=2), ["smtp:d@gmail.com"])])
    [alert] = alerts_of("external_forwarding")
    assert sorted(alert.evidence["external_targets"]) == [
        "a@example.com",
        "b@example.net",
        "c@example.org",
        "d@gmail.com",
    ]
    assert alert.event_count == 2
    assert alert.title.endswith("and 3 more")


def test_cleared_forwarding_and_allowed_partners_stay_quiet():
    megan = identity()
    policy = AlertPolicy.objects.get(detector="external_forwarding")
    policy_update(policy=policy, actor=None, parameters={"allowed_domains": ["partner.example"]})
    detect([forwarding_event(megan, T0, []), forwarding_event(megan, T0, ["ap@eu.partner.example"])])
    assert alerts_of("external_forwarding") == []


def test_rule_hiding_invoice_mail_in_rss_feeds_fires():
    megan = identity()
    detect([rule_event(megan, T0, BEC_RULE)])
    [alert] = alerts_of("suspicious_inbox_rule")
    assert alert.evidence["rules"][0]["score"] == 6  # rare folder 2 + words 2 + marks read 1 + odd name 1
    assert "moves mail to “RSS Feeds”" in alert.description
    assert "“invoice”, “payment”, “wire”" in alert.description


def test_rule_filing_newsletters_stays_quiet():
    megan = identity()
    rule = {"name": "Newsletters", "from_address_contains_words": ["news@"], "move_to_folder": "Newsletters"}
    detect([rule_event(megan, T0, rule)])
    assert alerts_of("suspicious_inbox_rule") == []


def test_deleting_spam_alone_is_below_the_score():
    megan = identity()
    detect([rule_event(megan, T0, {"name": "Junk sender", "from": ["spam@example.com"], "delete_message": True})])
    assert alerts_of("suspicious_inbox_rule") == []


def test_deleting_mail_about_payments_fires():
    megan = identity()
    detect([rule_event(megan, T0, {"name": "cleanup", "subject_contains_words": ["Payment"], "delete_message": True})])
    assert len(alerts_of("suspicious_inbox_rule")) == 1


def test_the_score_threshold_is_a_policy_parameter():
    megan = identity()
    policy = AlertPolicy.objects.get(detector="suspicious_inbox_rule")
    policy_update(policy=policy, actor=None, parameters={"min_score": 7})
    detect([rule_event(megan, T0, BEC_RULE)])
    assert alerts_of("suspicious_inbox_rule") == []


def test_outlook_client_rules_with_folder_paths_are_read():
    megan = identity()
    rule = {"name": "Move", "move_to_folder": ":\\Inbox\\Conversation History", "delete_message": True}
    detect([rule_event(megan, T0, rule, kind=Event.Kind.INBOX_RULE_CHANGED)])
    assert len(alerts_of("suspicious_inbox_rule")) == 1


def test_exchange_parameter_names_in_our_own_schema_work_too():
    megan = identity()
    rule = {"Name": "x", "ForwardTo": "a@example.com;b@example.com", "DeleteMessage": "True"}
    detect([rule_event(megan, T0, rule)])
    assert alerts_of("external_forwarding")[0].evidence["external_targets"] == ["a@example.com", "b@example.com"]


def test_the_actors_own_domain_is_internal_until_accepted_domains_are_configured():
    """homer@simpsons.com sets forwarding on the simpsons.onmicrosoft.com mailbox to marge@simpsons.com."""
    mailbox = identity("homer", "simpsons.onmicrosoft.com")
    detect([forwarding_event(mailbox, T0, ["marge@simpsons.com"], actor="homer@simpsons.com")])
    assert alerts_of("external_forwarding") == []
    portal_settings_update(actor=None, accepted_domains=["simpsons.onmicrosoft.com"])
    detect([forwarding_event(mailbox, T0, ["marge@simpsons.com"], actor="homer@simpsons.com")])
    assert len(alerts_of("external_forwarding")) == 1
