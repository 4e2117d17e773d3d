"""The O365 audit adapter against real samples (Sekoia, Panther, Wazuh, msticpy, OTRF) and edge cases."""

import csv

import pytest

from alerts.adapters.base import RecordSkipped, is_phantom
from alerts.models import Event
from tests.alerts.support.ingest import dataset_lines, dataset_path, error_of, normalise, one

SEKOIA = "sekoia-intake-formats/o365_management_activity.jsonl"


def sekoia(line: int) -> dict:
    return dataset_lines(SEKOIA)[line - 1]


def test_every_sekoia_record_is_an_event_or_a_no_user_error():
    kinds = set()
    for record in dataset_lines(SEKOIA):
        try:
            kinds.update(event.kind for event in normalise("o365-audit", record))
        except RecordSkipped as exc:  # valid, out of scope: counted as skipped
            assert "names no user" in str(exc)
    assert {
        Event.Kind.SIGNIN,
        Event.Kind.SIGNIN_FAILED,
        Event.Kind.INBOX_RULE_CREATED,
        Event.Kind.OAUTH_CONSENT,
    } <= kinds
    assert {Event.Kind.MAIL_ITEMS_ACCESSED, Event.Kind.SENDING_RESTRICTED, Event.Kind.EXTERNAL_ALERT} <= kinds


def test_new_inbox_rule_keeps_its_conditions_and_actions():
    event = one("o365-audit", sekoia(38))
    assert event.kind == Event.Kind.INBOX_RULE_CREATED
    assert event.target == "RULE_NAME"
    assert event.ip == "1.2.3.4"  # "1.2.3.4:63070" without its port
    rule = event.attributes["rule"]
    assert rule["forward_to"] == ["bob@example.org"]
    assert rule["redirect_to"] == ["joe@example.org"]
    assert rule["delete_message"] is True and rule["mark_as_read"] is True
    assert rule["stop_processing_rules"] is True
    assert rule["move_to_folder"] == "Historique des conversations"
    assert rule["subject_or_body_contains_words"] == ["keyword"]
    assert event.attributes["forward_to"] == ["bob@example.org", "joe@example.org"]
    assert "force" not in rule and "always_delete_outlook_rules_blob" not in rule


def test_outlook_client_rules_read_their_actions_and_subject_words():
    forward = one("o365-audit", sekoia(45))
    assert forward.kind == Event.Kind.INBOX_RULE_CHANGED
    assert (forward.upn, forward.attributes["actor"]) == ("owner@mail.fr", "user1")
    assert len(forward.attributes["rule"]["forward_to"]) == 4
    keyed = one("o365-audit", sekoia(46))
    assert keyed.attributes["rule"]["subject_contains_words"] == ["WHAM"]
    deferred = one("o365-audit", sekoia(47))
    assert deferred.target == "MyRule"
    assert deferred.attributes["rule"]["client_only"] is True
    assert deferred.attributes["rule"]["stop_processing_rules"] is True


def test_user_restricted_from_sending_lands_on_the_restricted_user():
    event = one("o365-audit", sekoia(56))
    assert event.kind == Event.Kind.SENDING_RESTRICTED
    assert event.upn == "test@example.com"
    assert event.attributes["severity"] == "high"
    assert event.dedup_key.startswith("alert:sending_restricted:b69ac1d6")


def test_other_compliance_alerts_become_external_alerts_on_the_named_user():
    event = one("o365-audit", sekoia(54))
    assert event.kind == Event.Kind.EXTERNAL_ALERT
    assert event.upn == "jdoe@example.org"
    assert event.attributes["title"] == "Email reported by user as malware or phish"
    assert event.attributes["status"] == "Investigating"


def test_a_compliance_alert_written_by_the_alerting_service_about_no_user_is_kept_about_no_user():
    event = one("o365-audit", sekoia(51))  # a DLP rule match: UserId SecurityComplianceAlerts, no user named
    assert (event.kind, event.upn) == (Event.Kind.EXTERNAL_ALERT, None)
    assert event.attributes["actor"] == "securitycompliancealerts"
    assert event.dedup_key == "alert:external_alert:cf0708c6-e2c5-4962-ae99-9af4799175f4"
    assert is_phantom("SecurityComplianceAlerts")


def test_consent_to_application_lists_the_granted_scopes():
    event = one("o365-audit", sekoia(3))
    assert event.kind == Event.Kind.OAUTH_CONSENT
    assert event.upn == "john.doe@example.com"
    assert event.target == "APPNAME"
    assert event.attributes["scopes"] == ["openid", "profile", "email", "offline_access"]
    assert event.attributes["is_admin_consent"] is False
    assert event.attributes["client_id"] == "33333333-3333-3333-3333-333333333333"


def test_failed_logon_keeps_error_number_user_agent_and_request_id():
    event = one("o365-audit", sekoia(73))
    assert (event.kind, event.succeeded) == (Event.Kind.SIGNIN_FAILED, False)
    assert event.attributes["error_code"] == 500121
    assert event.attributes["logon_error"] == "AuthenticationFailedSasError"
    assert "Firefox/105.0" in event.user_agent
    assert event.dedup_key == "signin:4af0b443-42dd-4dc6-9bd1-751a55441000"


def test_logon_ip_with_a_port_and_true_strings():
    event = one("o365-audit", sekoia(71))
    assert (event.kind, event.ip) == (Event.Kind.SIGNIN, "1.2.3.4")
    assert event.attributes["keep_me_signed_in"] is True
    assert event.dedup_key == "signin:99f54f6a-ddfe-4916-b89b-edd9fcac4500"


def test_mail_items_accessed_counts_items_and_reads_ipv6():
    event = one("o365-audit", sekoia(12))
    assert event.kind == Event.Kind.MAIL_ITEMS_ACCESSED
    assert event.ip == "fe80::"
    assert event.attributes["item_count"] == 2
    assert event.attributes["access_type"] == "Bind"
    assert event.attributes["is_throttled"] is False


def test_panther_lowercase_exchange_records_map_forwarding_and_rules():
    records = [case["log"] for case in dataset_lines("panther-analysis/tests_Microsoft365_Audit_Exchange.jsonl")]
    events = [one("o365-audit", record) for record in records]
    assert [e.kind for e in events].count(Event.Kind.MAILBOX_FORWARDING_SET) == 7
    external = events[0]
    assert external.attributes["forward_to"] == ["peter.griffin@familyguy.com"]
    assert external.attributes["deliver_to_mailbox_and_forward"] is False
    assert events[1].upn == "marge.simpson@simpsons.onmicrosoft.com"  # the mailbox changed, not the admin
    assert events[1].attributes["actor"] == "homer.simpson@simpsons.com"
    assert events[3].attributes["forward_to"] == [
        "external1@example.com",
        "external2@example.com",
        "external3@example.com",
    ]
    assert events[9].ip == "1.2.3.4"
    assert events[9].target == "Move emails to another folder"


def test_panther_mfa_method_removed_is_an_mfa_change_of_the_target_user():
    records = [
        case["log"] for case in dataset_lines("panther-analysis/tests_Microsoft365_Audit_AzureActiveDirectory.jsonl")
    ]
    added, removed = one("o365-audit", records[2]), one("o365-audit", records[3])
    assert added.kind == removed.kind == Event.Kind.MFA_METHOD_CHANGED
    assert removed.upn == "sample.user@yourorg.onmicrosoft.com"
    assert removed.attributes["methods_removed"] == [7]
    assert added.attributes["methods_after"] == [7]


@pytest.mark.parametrize(
    ("new_value", "required_after"),
    [("[]", False), ('[{"RelyingParty":"*","State":0}]', False), ('[{"RelyingParty":"*","State":2}]', True)],
)
def test_per_user_mfa_requirement_changes_are_read_from_the_panther_record_shape(new_value, required_after):
    """The panther "Update user." record, its modified property swapped for the per-user MFA one."""
    record = [
        case["log"] for case in dataset_lines("panther-analysis/tests_Microsoft365_Audit_AzureActiveDirectory.jsonl")
    ][3]
    old_value = '[{"RelyingParty":"*","State":1,"RememberDevicesNotIssuedBefore":"2025-11-03T09:12:44Z"}]'
    record["ModifiedProperties"] = [
        {"Name": "StrongAuthenticationRequirement", "NewValue": new_value, "OldValue": old_value},
        {"Name": "Included Updated Properties", "NewValue": "StrongAuthenticationRequirement", "OldValue": ""},
    ]
    event = one("o365-audit", record)
    assert event.kind == Event.Kind.MFA_METHOD_CHANGED
    assert (event.attributes["mfa_required_before"], event.attributes["mfa_required_after"]) == (True, required_after)


def test_wazuh_operations_route_to_their_kinds():
    routed = {}
    for case in dataset_lines("wazuh/office365_operation_rule_tests.jsonl"):
        event = one("o365-audit", case["log"]["office365"])
        routed[case["log"]["office365"]["Operation"]] = event.kind
        assert event.ip is None  # "sanitized" is no address
    assert routed["Add-MailboxPermission"] == Event.Kind.MAILBOX_PERMISSION_ADDED
    assert routed["Send"] == routed["SendAs"] == routed["SendOnBehalf"] == Event.Kind.MAIL_SENT
    assert routed["FileMalwareDetected"] == Event.Kind.OTHER


def test_sentinel_office_activity_rows_are_read():
    event = one("o365-audit", dataset_lines("otrf-security-datasets/goldensaml_OfficeActivity.jsonl")[0])
    assert event.kind == Event.Kind.MAIL_ITEMS_ACCESSED
    assert event.ip == "1.2.3.4"
    assert event.attributes["item_count"] == 7
    assert event.attributes["folders"] == ["\\Inbox"]
    assert event.attributes["client_app_id"] == "5a95e683-08ad-424e-a441-1d1aec52c02c"


def test_msticpy_rows_with_a_user_are_stored_and_the_rest_say_why_not():
    with dataset_path("msticpy/demo_exchange_data_subset.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    stored = 0
    for row in rows:
        if row["UserId"] and not is_phantom(row["UserId"]):
            assert one("o365-audit", row).upn == row["UserId"].lower()
            stored += 1
        else:
            assert "names no user" in error_of("o365-audit", row)
    # The subset is mostly Exchange's own service operations: NT AUTHORITY\SYSTEM is no person.
    assert stored >= 1 and sum(1 for row in rows if is_phantom(row["UserId"])) >= 100


# --- hand-written edge cases -----------------------------------------------------------------------


def logon(**overrides) -> dict:
    record = {
        "CreationTime": "2024-03-01T10:00:00",
        "Id": "0a1b",
        "Operation": "UserLoggedIn",
        "RecordType": 15,
        "Workload": "AzureActiveDirectory",
        "UserId": "Megan@Contoso.com",
        "ClientIP": "203.0.113.9",
        "IntraSystemId": "REQ-1",
        "ExtendedProperties": [{"Name": "UserAgent", "Value": "BAV2ROPC"}],
    }
    record.update(overrides)
    return record


@pytest.mark.parametrize(
    ("client_ip", "expected"),
    [
        ("[::1]:443", "::1"),
        ("[2001:db8::1]:8443", "2001:db8::1"),
        ("1.2.3.4:5678", "1.2.3.4"),
        ("::ffff:10.0.0.1", "10.0.0.1"),
        ("2001:0DB8:0000::0001", "2001:db8::1"),
        ("fe80::1%eth0", "fe80::1"),
        ("<null>", None),
        ("not an ip", None),
        ("", None),
    ],
)
def test_client_ip_forms_are_normalised(client_ip, expected):
    assert one("o365-audit", logon(ClientIP=client_ip, ActorIpAddress=None)).ip == expected


def test_upn_is_lower_cased_and_odd_key_casing_is_read():
    record = {key.upper(): value for key, value in logon().items()}
    event = one("o365-audit", record)
    assert (event.upn, event.kind) == ("megan@contoso.com", Event.Kind.SIGNIN)
    assert event.attributes["legacy_protocol"] is True
    assert event.dedup_key == "signin:req-1"


def test_missing_fields_give_clear_errors():
    assert error_of("o365-audit", logon(CreationTime=None)) == "missing timestamp"
    assert "unreadable timestamp" in error_of("o365-audit", logon(CreationTime="yesterday"))
    assert error_of("o365-audit", logon(UserId="")) == "the record names no user (UserId is empty)"
    assert error_of("o365-audit", logon(Operation=None)) == "missing Operation"
    assert error_of("o365-audit", ["not", "an", "object"]) == "a record must be a JSON object, not an array"


@pytest.mark.parametrize(
    "timestamp",
    ["2024-03-01T10:00:00", "2024-03-01 10:00:00", "2024-03-01T10:00:00.0000000Z", "3/1/2024 10:00:00 AM"],
)
def test_timestamp_formats_of_the_exports(timestamp):
    occurred = one("o365-audit", logon(CreationTime=timestamp)).occurred_at
    assert (occurred.isoformat(), occurred.utcoffset().total_seconds()) == ("2024-03-01T10:00:00+00:00", 0)


def test_unknown_operation_is_kept_as_other_with_its_raw_record():
    record = logon(Operation="Set-SomethingNew", Workload="Exchange", RecordType=1)
    event = one("o365-audit", record)
    assert (event.kind, event.operation, event.raw) == (Event.Kind.OTHER, "Set-SomethingNew", record)


def test_purview_export_row_reads_the_record_in_audit_data():
    import json

    row = {"CreationDate": "3/1/2024", "Operations": "UserLoggedIn", "AuditData": json.dumps(logon())}
    assert one("o365-audit", row).upn == "megan@contoso.com"
    assert error_of("o365-audit", {"AuditData": "[1]"}) == "AuditData is not a JSON object"


def cmdlet(operation: str, user: str = "admin@contoso.com", **parameters) -> dict:
    return {
        "CreationTime": "2024-03-01T10:00:00",
        "Id": f"{operation}-1",
        "Operation": operation,
        "RecordType": 1,
        "Workload": "Exchange",
        "UserId": user,
        "ClientIP": "[2001:db8::5]:1234",
        "Parameters": [{"Name": name, "Value": value} for name, value in parameters.items()],
    }


def test_mailbox_permission_tells_the_admin_from_the_owner():
    event = one(
        "o365-audit",
        cmdlet(
            "Add-MailboxPermission", Identity="CEO@contoso.com", User="attacker@evil.example", AccessRights="FullAccess"
        ),
    )
    assert event.kind == Event.Kind.MAILBOX_PERMISSION_ADDED
    assert event.upn == "ceo@contoso.com"
    assert event.attributes["delegate"] == "attacker@evil.example"
    assert event.attributes["access_rights"] == ["FullAccess"]
    assert (event.attributes["mailbox"], event.attributes["actor"]) == ("ceo@contoso.com", "admin@contoso.com")
    assert event.attributes["mailbox_named"] == "CEO@contoso.com"
    assert event.ip == "2001:db8::5"


def test_recipient_permission_is_a_send_as_grant():
    event = one("o365-audit", cmdlet("Add-RecipientPermission", Identity="ceo@contoso.com", Trustee="x@evil.example"))
    assert (event.kind, event.attributes["delegate"]) == (Event.Kind.SEND_AS_PERMISSION_ADDED, "x@evil.example")
    assert event.attributes["access_rights"] == ["SendAs"]


def test_removing_or_disabling_a_rule_names_it():
    removed = one("o365-audit", cmdlet("Remove-InboxRule", Identity="contoso.com/Users/megan\\Invoices"))
    disabled = one("o365-audit", cmdlet("disable-inboxrule", Identity="Invoices"))
    assert removed.kind == disabled.kind == Event.Kind.INBOX_RULE_REMOVED
    assert removed.target == disabled.target == "Invoices"


def test_set_inbox_rule_is_a_change_and_false_strings_are_false():
    event = one(
        "o365-audit", cmdlet("Set-InboxRule", Name="x", MarkAsRead="False", SubjectContainsWords="wire;invoice")
    )
    assert event.kind == Event.Kind.INBOX_RULE_CHANGED
    assert event.attributes["rule"]["mark_as_read"] is False
    assert event.attributes["rule"]["subject_contains_words"] == ["wire", "invoice"]


def test_forwarding_cleared_is_reported_as_such():
    event = one("o365-audit", cmdlet("Set-Mailbox", Identity="megan@contoso.com", ForwardingSmtpAddress=None))
    assert event.kind == Event.Kind.MAILBOX_FORWARDING_SET
    assert event.attributes["forward_to"] == []
    assert event.attributes["forwarding_cleared"] is True


def test_set_mailbox_without_forwarding_is_other():
    assert (
        one("o365-audit", cmdlet("Set-Mailbox", Identity="m@contoso.com", RetainDeletedItemsFor="14")).kind == "other"
    )


def test_send_keeps_subject_and_recipients():
    record = {
        "CreationTime": "2024-03-01T10:00:00",
        "Id": "send-1",
        "Operation": "Send",
        "RecordType": 2,
        "Workload": "Exchange",
        "UserId": "megan@contoso.com",
        "MailboxOwnerUPN": "megan@contoso.com",
        "ClientIPAddress": "198.51.100.2",
        "Item": {"Subject": "<script>alert(1)</script> Invoice", "InternetMessageId": "<m1@x>", "SizeInBytes": 1234},
    }
    event = one("o365-audit", record)
    assert (event.kind, event.subject, event.ip) == (
        Event.Kind.MAIL_SENT,
        "<script>alert(1)</script> Invoice",
        "198.51.100.2",
    )
    assert event.attributes["internet_message_id"] == "<m1@x>"
    assert event.attributes["send_as"] is False


def test_security_info_registration_and_strong_auth_changes_are_mfa_changes():
    registered = {
        "CreationTime": "2024-03-01T10:00:00",
        "Id": "sec-1",
        "Operation": "User registered security info.",
        "RecordType": 8,
        "Workload": "AzureActiveDirectory",
        "UserId": "megan@contoso.com",
        "ObjectId": "megan@contoso.com",
    }
    assert one("o365-audit", registered).kind == Event.Kind.MFA_METHOD_CHANGED
    phone = dict(
        registered,
        Operation="Update user.",
        ModifiedProperties=[{"Name": "StrongAuthenticationUserDetails", "NewValue": "[]", "OldValue": "[]"}],
    )
    event = one("o365-audit", phone)
    assert event.kind == Event.Kind.MFA_METHOD_CHANGED
    assert event.attributes["mfa_properties"] == ["strongauthenticationuserdetails"]
    assert one("o365-audit", dict(registered, Operation="Update user.")).kind == Event.Kind.OTHER


@pytest.mark.parametrize("user", ["NT AUTHORITY\\SYSTEM (Microsoft.Exchange.ServiceHost)", "Not Available", ""])
def test_system_and_placeholder_accounts_are_skipped_not_monitored(user):
    assert "names no user" in error_of("o365-audit", logon(UserId=user))


def test_sharepoint_downloads_are_other_events_the_data_theft_check_counts():
    synced = one("o365-audit", sekoia(35))
    assert (synced.kind, synced.operation, synced.upn) == (Event.Kind.OTHER, "FileSyncDownloadedFull", "user1")
    assert synced.attributes["file"] == "logo.png"
    assert synced.attributes["site_url"] == "https://company.sharepoint.com/sites/shared"
    assert synced.attributes["size_bytes"] == 1344200
    assert synced.user_agent.startswith("Microsoft SkyDriveSync")
    guest = one("o365-audit", sekoia(27))  # a guest's FileDownloaded of a 26 MB zip from OneDrive
    assert (guest.operation, guest.upn) == ("FileDownloaded", "john.doe@example.com")
    assert guest.attributes["size_bytes"] == 26860827 and guest.attributes["managed_device"] is False


def test_sharing_link_used_anonymously_names_no_user():
    record = dict(sekoia(27), UserId="urn:spo:anon#3f2e1d", Operation="AnonymousLinkUsed")
    assert "names no user" in error_of("o365-audit", record)


@pytest.mark.parametrize(
    "user", ["ServicePrincipal_8a5e2b1c-0000-4000-8000-00000000a1b2", "SHAREPOINT\\system", "app@sharepoint"]
)
def test_service_principals_and_sharepoint_system_accounts_are_skipped(user):
    assert "names no user" in error_of("o365-audit", logon(UserId=user))


def test_a_cmdlet_whose_user_id_is_no_address_is_resolved_through_user_key():
    from alerts.adapters.base import AdapterContext
    from alerts.adapters.o365_audit import normalise as o365

    directory = {"3f0c6a8e-1d2b-4c5d-9e8f-0a1b2c3d4e5f": "allan.deyoung@contoso.com"}
    context = AdapterContext(
        tenant_domains_loader=frozenset, principal_loader=lambda name: directory.get(name.object_id, "")
    )
    record = cmdlet("Set-Mailbox", user="EURPR02A007\\Allan54612-1308911214", Identity="m@contoso.com",
                    ForwardingSmtpAddress="smtp:x@evil.example")  # fmt: skip
    record["UserKey"] = "3F0C6A8E-1D2B-4C5D-9E8F-0A1B2C3D4E5F"
    [event] = o365(record, context)
    assert (event.upn, event.attributes["actor"]) == ("m@contoso.com", "allan.deyoung@contoso.com")


def test_send_on_behalf_removed_or_cleared_is_no_grant():
    removed = one("o365-audit", cmdlet("Set-Mailbox", Identity="m@contoso.com", GrantSendOnBehalfTo='@{Remove="x"}'))
    cleared = one("o365-audit", cmdlet("Set-Mailbox", Identity="m@contoso.com", GrantSendOnBehalfTo=None))
    assert removed.kind == cleared.kind == Event.Kind.OTHER
