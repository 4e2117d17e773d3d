"""Stories told in the shapes Exchange really writes: mailboxes named by display name or
distinguished name, people as ``DOMAIN\\alias``, folders shared from Outlook, mail flow rules.

Three attacks (each a labelled compromised account, see ``corpus.STORIES``) and, in
``background``, the benign cases that look like them: admins giving colleagues access to shared
mailboxes and assistants their boss's Inbox, calendars shared with everyone, users' own rules
into localised folders, and internal transport rules (disclaimers, a blind copy to compliance).
"""

from datetime import timedelta

from tests.quality.corpus.attacks import at
from tests.quality.corpus.emit import START, Emitter
from tests.quality.corpus.intrusion import intrusion, risky
from tests.quality.corpus.network import DIGITALOCEAN_US, MOLDOVA, OFFICE_IP, VULTR_JP
from tests.quality.corpus.records.exchange import cmdlet, folder_permission_audit, new_inbox_rule
from tests.quality.corpus.tenant import DOMAIN, ORGANIZATION, Person, Tenant

SAM_DOMAIN = "GBRP265A001"  # the forest prefix Exchange writes before a SAM account name
DN_TAIL = f"OU={ORGANIZATION},OU=Microsoft Exchange Hosted Organizations,DC=GBRP265A001,DC=PROD,DC=OUTLOOK,DC=COM"


def folder_share_outsider(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """The intruder opens the Inbox to Default (any account of the company can read it) with the
    mailbox named by display name, then shares it from Outlook with an outside address."""
    ip, _ = intrusion(em, victim, at(8, 21.5), VULTR_JP, risk=risky("medium", "unfamiliarFeatures"))
    inbox = f"{victim.display_name}:\\Inbox"
    cmdlet(
        em,
        victim,
        at(8, 21.7),
        "Set-MailboxFolderPermission",
        [("Identity", inbox), ("User", "Default"), ("AccessRights", "Reviewer")],
        ip=ip,
        object_id=inbox,
    )
    folder_permission_audit(
        em, victim, at(8, 21.8), member="inbox.copy.7731@proton.me", rights="ReadAny, FolderVisible", ip=ip
    )


def transport_rule_redirect(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """An account with Exchange admin rights, taken over, turns the company's disclaimer rule into a
    blind copy of every finance mail to an outside address (``Set-TransportRule`` on a rule by name)."""
    ip, _ = intrusion(
        em, victim, at(9, 3.0), MOLDOVA, risk=risky("high", "unfamiliarFeatures"), app="Office 365 Exchange Online"
    )
    cmdlet(
        em,
        victim,
        at(9, 3.3),
        "Set-TransportRule",
        [
            ("Identity", "Finance disclaimer"),
            ("SentToScope", "InOrganization"),
            ("SubjectOrBodyContainsWords", "invoice;remittance;wire"),
            ("BlindCopyTo", "ap-archive@ledger-backup.net"),
        ],
        ip=ip,
        object_id="Finance disclaimer",
        admin=True,
    )


def sendas_delegation(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """The intruder gives the account it holds Send As on the finance shared mailbox (named by its
    distinguished name, the trustee as ``DOMAIN\\alias``), to send payment requests as finance."""
    ip, _ = intrusion(em, victim, at(9, 22.4), DIGITALOCEAN_US, risk=risky("medium", "unfamiliarFeatures"))
    finance = f"CN=finance,{DN_TAIL}"
    cmdlet(
        em,
        victim,
        at(9, 22.6),
        "Add-RecipientPermission",
        [("Identity", finance), ("Trustee", f"{SAM_DOMAIN}\\{victim.alias}"), ("AccessRights", "SendAs")],
        ip=ip,
        object_id=finance,
        admin=True,
    )


def background(em: Emitter, tenant: Tenant) -> None:
    """The benign look-alikes of the stories above, by people with the matching roles."""
    admin, helpdesk = tenant.by_role("admin")[0], tenant.by_role("helpdesk")[0]
    boss, assistants = tenant.people[0], tenant.by_role("delegate")
    day = START + timedelta(days=3, hours=10)
    # An assistant gets the boss's Inbox (admin, by display names) and Send on Behalf.
    inbox = f"{boss.display_name}:\\Inbox"
    cmdlet(
        em,
        admin,
        day,
        "Add-MailboxFolderPermission",
        [("Identity", inbox), ("User", assistants[0].display_name), ("AccessRights", "Editor")],
        ip=OFFICE_IP,
        object_id=inbox,
        admin=True,
    )
    cmdlet(
        em,
        admin,
        day + timedelta(minutes=3),
        "Set-Mailbox",
        [("Identity", boss.alias), ("GrantSendOnBehalfTo", f'@{{Add="{assistants[0].alias}"}}')],
        ip=OFFICE_IP,
        object_id=boss.alias,
        admin=True,
    )
    # A team gets full access to the support mailbox, the mailbox by DN and the user as DOMAIN\alias.
    for number, person in enumerate(assistants[1:3]):
        cmdlet(
            em,
            admin,
            day + timedelta(days=1, minutes=number),
            "Add-MailboxPermission",
            [
                ("Identity", f"CN=support,{DN_TAIL}"),
                ("User", f"{SAM_DOMAIN}\\{person.alias}"),
                ("AccessRights", "FullAccess"),
                ("InheritanceType", "All"),
            ],
            ip=OFFICE_IP,
            object_id=f"CN=support,{DN_TAIL}",
            admin=True,
        )
    # Owners share their calendar with everyone (English and French mailboxes).
    for number, person in enumerate(tenant.by_role("own_rules")[:4]):
        folder = ("Calendar", "Calendrier")[number % 2]
        identity = f"{person.alias}:\\{folder}"
        cmdlet(
            em,
            person,
            day + timedelta(days=2, hours=number),
            "Add-MailboxFolderPermission",
            [("Identity", identity), ("User", "Default"), ("AccessRights", "Reviewer")],
            ip=OFFICE_IP,
            object_id=identity,
        )
    # Users' own rules into localised folders, one changed later with Set-InboxRule.
    localised = (
        ("Notifications", [("FromAddressContainsWords", "noreply"), ("MoveToFolder", "Archives")]),
        ("Spam", [("SubjectContainsWords", "[SPAM]"), ("MoveToFolder", "Courrier indésirable")]),
        ("Newsletter", [("FromAddressContainsWords", "newsletter"), ("MoveToFolder", "Archiv")]),
    )
    for number, person in enumerate(tenant.by_role("own_rules")[4:10]):
        name, parameters = localised[number % len(localised)]
        when = day + timedelta(days=3, hours=number)
        new_inbox_rule(em, person, when, name, parameters, ip=OFFICE_IP)
        if number % 3 == 0:
            cmdlet(
                em,
                person,
                when + timedelta(days=1),
                "Set-InboxRule",
                [("Identity", f"{person.alias}\\{name}"), ("MarkAsRead", "True")],
                ip=OFFICE_IP,
                object_id=f"{person.alias}\\{name}",
            )
    # Internal transport rules: a disclaimer, a blind copy to compliance, an external-sender tag.
    rules = (
        [
            ("Name", "Finance disclaimer"),
            ("FromScope", "InOrganization"),
            ("ApplyHtmlDisclaimerText", "<p>Confidential</p>"),
        ],
        [("Name", "Legal hold copy"), ("SentTo", f"legal@{DOMAIN}"), ("BlindCopyTo", f"compliance@{DOMAIN}")],
        [("Name", "External sender tag"), ("FromScope", "NotInOrganization"), ("PrependSubject", "[EXTERNAL] ")],
    )
    for number, parameters in enumerate(rules):
        actor = admin if number % 2 == 0 else helpdesk
        cmdlet(
            em,
            actor,
            day + timedelta(days=4, hours=number),
            "New-TransportRule",
            parameters,
            ip=OFFICE_IP,
            object_id=parameters[0][1],
            admin=True,
        )
