"""The fake behaves as Microsoft documents for what remediation reads: pages of messages, hidden rules."""

import pytest

pytestmark = pytest.mark.django_db
UPN = "megan.bowen@contoso.com"


def test_messages_come_ten_to_a_page_by_default_with_a_next_link(fake_microsoft, m365_client):
    fake_microsoft.add_user(UPN)
    for n in range(25):
        fake_microsoft.add_message(UPN, internet_message_id=f"<{n}@x>", subject="s")

    first = m365_client.graph("GET", f"users/{UPN}/messages", permission="Mail.Read").json()
    pages = list(m365_client.graph_pages(f"users/{UPN}/messages", params={}, permission="Mail.Read"))
    big = m365_client.graph("GET", f"users/{UPN}/messages", permission="Mail.Read", params={"$top": "1000"}).json()

    assert len(first["value"]) == 10 and "@odata.nextLink" in first
    assert [len(page) for page in pages] == [10, 10, 5]
    assert len(big["value"]) == 25 and "@odata.nextLink" not in big


def test_recoverable_items_are_outside_the_mailboxs_messages(fake_microsoft, m365_client):
    fake_microsoft.add_user(UPN)
    fake_microsoft.add_message(UPN, internet_message_id="<a@x>", subject="s", folder="recoverableitemsdeletions")

    visible = m365_client.graph("GET", f"users/{UPN}/messages", permission="Mail.Read").json()["value"]
    recoverable = m365_client.graph(
        "GET", f"users/{UPN}/mailFolders/recoverableitemsdeletions/messages", permission="Mail.Read"
    ).json()["value"]

    assert visible == [] and [m["internetMessageId"] for m in recoverable] == ["<a@x>"]


def test_get_inboxrule_hides_hidden_rules_unless_asked(fake_microsoft, m365_client):
    fake_microsoft.add_user(UPN)
    fake_microsoft.add_rule(UPN, ".", hidden=True)

    def names(**switch):
        rows = m365_client.invoke_cmdlet("Get-InboxRule", anchor=UPN, permission="", Mailbox=UPN, **switch)
        return [row["Name"] for row in rows]

    assert names() == [] and names(IncludeHidden=True) == ["."]
    assert (
        "hidden"
        not in m365_client.invoke_cmdlet("Get-InboxRule", anchor=UPN, permission="", Mailbox=UPN, IncludeHidden=True)[0]
    )
