"""mailbox_permission_added on real Exchange record shapes: mailboxes and delegates named by display
name, alias, distinguished name or DOMAIN\\user, resolved to identities at ingest; folder sharing;
Send As / Send on Behalf; failed cmdlets."""

import csv

import pytest

from alerts.models import Alert, Event, Identity
from tests.alerts.support.ingest import dataset_path
from tests.factories import IdentityFactory
from tests.pipeline import ingest_judged

pytestmark = pytest.mark.django_db
DN_TAIL = (
    "OU=contoso.onmicrosoft.com,OU=Microsoft Exchange Hosted Organizations,DC=EURPR02A007,DC=PROD,DC=OUTLOOK,DC=COM"
)


def cmdlet(operation: str, user: str = "allan.deyoung@contoso.com", *, status: str = "True", **parameters) -> dict:
    return {
        "CreationTime": "2026-03-02T10:00:00",
        "Id": f"{operation}-{len(parameters)}-{sorted(parameters.items())!s:.60}-{status}",
        "Operation": operation,
        "RecordType": 1,
        "ResultStatus": status,
        "UserKey": "10032001D0E1EC3A",
        "UserType": 2,
        "Workload": "Exchange",
        "UserId": user,
        "ClientIP": "20.190.151.10:51000",
        "ObjectId": parameters.get("Identity", ""),
        "Parameters": [{"Name": name, "Value": value} for name, value in parameters.items()],
    }


def folder_audit(operation: str, owner: str, member: str, rights: str, folder: str = "Inbox") -> dict:
    """``AddFolderPermissions`` / ``ModifyFolderPermissions`` as the mailbox audit log writes them."""
    return {
        "CreationTime": "2026-03-02T10:05:00",
        "Id": f"{operation}-{member}-{folder}",
        "Operation": operation,
        "RecordType": 2,
        "ResultStatus": "Succeeded",
        "Workload": "Exchange",
        "UserId": owner,
        "MailboxOwnerUPN": owner,
        "ClientIPAddress": "20.190.151.10",
        "LogonType": 0,
        "Item": {
            "Id": "LgAAAAB",
            "ParentFolder": {"Name": folder, "Path": f"\\{folder}", "MemberUpn": member, "MemberRights": rights},
        },
    }


@pytest.fixture
def tenant():
    people = {
        "megan": IdentityFactory(upn="megan.bowen@contoso.com", display_name="Megan Bowen"),
        "allan": IdentityFactory(upn="allan.deyoung@contoso.com", display_name="Allan Deyoung"),
        "joni": IdentityFactory(upn="joni.sherman@contoso.com", display_name="Joni Sherman"),
        "finance": IdentityFactory(upn="finance@contoso.com", display_name="Finance"),
    }
    return people


def stored(operation: str) -> Event:
    return Event.objects.get(operation=operation)


def alerts() -> list[Alert]:
    return list(Alert.objects.filter(detector="mailbox_permission_added").order_by("id"))


def test_admin_naming_both_by_display_name_files_the_grant_on_the_mailbox_and_stays_quiet(tenant):
    ingest_judged(
        source="o365-audit",
        records=[
            cmdlet("Add-MailboxPermission", Identity="Megan Bowen", User="Joni Sherman", AccessRights="FullAccess")
        ],
    )
    event = stored("Add-MailboxPermission")
    assert event.identity == tenant["megan"]  # the mailbox's identity, not the admin's
    assert event.attributes["delegate"] == "joni.sherman@contoso.com"
    assert event.attributes["actor"] == "allan.deyoung@contoso.com"
    assert event.attributes["mailbox_named"] == "Megan Bowen"
    assert alerts() == []


def test_distinguished_name_and_domain_user_resolve_for_a_shared_mailbox(tenant):
    ingest_judged(
        source="o365-audit",
        records=[
            cmdlet(
                "Add-MailboxPermission",
                Identity=f"CN=finance,{DN_TAIL}",
                User="EURPR02A007\\joni.sherman",
                AccessRights="FullAccess",
            )
        ],
    )
    event = stored("Add-MailboxPermission")
    assert (event.identity, event.attributes["delegate"]) == (tenant["finance"], "joni.sherman@contoso.com")
    assert alerts() == []


def test_an_account_granting_itself_the_ceos_mailbox_by_alias_alerts_on_the_account(tenant):
    ingest_judged(
        source="o365-audit",
        records=[
            cmdlet(
                "Add-MailboxPermission", "joni.sherman@contoso.com", Identity="megan.bowen", User="Joni Sherman",
                AccessRights="FullAccess",
            )
        ],
    )  # fmt: skip
    [alert] = alerts()
    assert alert.identity == tenant["joni"]
    assert "the account granted itself access to another mailbox" in alert.description


def test_guest_delegate_by_canonical_path_is_an_outsider(tenant):
    guest = "dmercer_protonmail.com#EXT#@contoso.onmicrosoft.com"
    ingest_judged(
        source="o365-audit",
        records=[
            cmdlet(
                "Add-RecipientPermission",
                Identity="EURPR02A007.PROD.OUTLOOK.COM/Microsoft Exchange Hosted Organizations/contoso.onmicrosoft.com/"
                "Megan Bowen",
                Trustee=guest,
                AccessRights="SendAs",
            )
        ],
    )
    event = stored("Add-RecipientPermission")
    assert (event.kind, event.identity) == (Event.Kind.SEND_AS_PERMISSION_ADDED, tenant["megan"])
    assert event.attributes["delegate_scope"] == "guest"
    [alert] = alerts()
    assert alert.identity == tenant["allan"]
    assert "the delegate is outside the tenant's domains" in alert.description


def test_send_on_behalf_added_with_the_add_syntax_is_a_grant(tenant):
    ingest_judged(
        source="o365-audit",
        records=[cmdlet("Set-Mailbox", Identity="Megan Bowen", GrantSendOnBehalfTo='@{Add="someone@gmail.com"}')],
    )
    event = stored("Set-Mailbox")
    assert event.kind == Event.Kind.SEND_AS_PERMISSION_ADDED
    assert event.attributes["delegate"] == "someone@gmail.com"
    assert event.attributes["access_rights"] == ["SendOnBehalf"]
    assert len(alerts()) == 1


def test_inbox_shared_with_default_by_the_owner_alerts_and_the_calendar_does_not(tenant):
    ingest_judged(
        source="o365-audit",
        records=[
            cmdlet(
                "Add-MailboxFolderPermission", "megan.bowen@contoso.com", Identity="megan.bowen:\\Calendar",
                User="Default", AccessRights="Reviewer",
            ),
            cmdlet(
                "Set-MailboxFolderPermission", "megan.bowen@contoso.com", Identity="Megan Bowen:\\Inbox",
                User="Default", AccessRights="Reviewer",
            ),
        ],
    )  # fmt: skip
    inbox = stored("Set-MailboxFolderPermission")
    assert (inbox.identity, inbox.attributes["folder"], inbox.attributes["delegate_scope"]) == (
        tenant["megan"],
        "\\Inbox",
        "everyone",
    )
    [alert] = alerts()
    assert alert.identity == tenant["megan"]
    assert "shared with everyone in the organisation (Default)" in alert.description
    assert [grant["folder"] for grant in alert.evidence["grants"]] == ["\\Inbox"]


def test_outlook_folder_sharing_to_an_outsider_alerts_and_to_a_colleague_does_not(tenant):
    ingest_judged(
        source="o365-audit",
        records=[
            folder_audit("AddFolderPermissions", "megan.bowen@contoso.com", "joni.sherman@contoso.com", "ReadAny"),
            folder_audit("ModifyFolderPermissions", "megan.bowen@contoso.com", "inbox.copy@tutanota.com", "ReadAny"),
            folder_audit("AddFolderPermissions", "megan.bowen@contoso.com", "x@gmail.com", "FolderVisible", "Notes"),
        ],
    )
    [alert] = alerts()
    assert [grant["delegate"] for grant in alert.evidence["grants"]] == ["inbox.copy@tutanota.com"]
    assert "shared with someone outside the tenant" in alert.description


def test_a_failed_cmdlet_is_stored_but_judged_as_no_change(tenant):
    ingest_judged(
        source="o365-audit",
        records=[
            cmdlet(
                "Add-MailboxPermission", "joni.sherman@contoso.com", status="False", Identity="Megan Bowen",
                User="joni.sherman@contoso.com", AccessRights="FullAccess",
            )
        ],
    )  # fmt: skip
    assert stored("Add-MailboxPermission").succeeded is False
    assert alerts() == []


def test_msticpy_real_grant_names_the_mailbox_by_display_name_and_lands_on_it():
    """The demo tenant's ``Add-MailboxPermission``: ``Identity`` "Julian Isla", ``User`` a SAM-style name."""
    with dataset_path("msticpy/demo_exchange_data_subset.csv").open(newline="") as handle:
        row = next(
            r
            for r in csv.DictReader(handle)
            if r["Operation"] == "Add-MailboxPermission" and "Julian" in r["Parameters"]
        )
    julian = IdentityFactory(upn="julian.isla@seccxpninja.onmicrosoft.com", display_name="Julian Isla")
    result = ingest_judged(source="o365-audit", records=[row])
    assert (result.created, result.skipped) == (1, [])
    event = Event.objects.get(kind=Event.Kind.MAILBOX_PERMISSION_ADDED)
    assert event.identity == julian
    assert event.attributes["delegate"] == "NAMPR06A007\\Mega54612-1308911214"  # no identity answers to it
    assert alerts() == []  # an admin delegating inside the tenant


def test_a_name_two_identities_share_resolves_to_neither(tenant):
    IdentityFactory(upn="megan.bowen@fabrikam.com", display_name="Megan Bowen")
    ingest_judged(
        source="o365-audit",
        records=[
            cmdlet("Add-MailboxPermission", Identity="Megan Bowen", User="Joni Sherman", AccessRights="FullAccess")
        ],
    )
    event = stored("Add-MailboxPermission")
    assert event.identity == tenant["allan"]  # unresolved: it stays with who ran it, the name kept
    assert event.attributes["mailbox"] == "Megan Bowen"
    assert Identity.objects.filter(upn="megan bowen").exists() is False
