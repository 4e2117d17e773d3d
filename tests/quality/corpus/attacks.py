"""Attack stories, each ending with a labelled compromised account (see ``STORIES``).

Every story starts the way today's takeovers do (a risky sign-in, an AiTM proxy, a device-code
grant, a replayed token, a consent, a spray) and goes on with what only an intruder does.
"""

from datetime import timedelta

from tests.quality.corpus.emit import START, Emitter
from tests.quality.corpus.intrusion import PHISHKIT_AGENT, intrusion, risky
from tests.quality.corpus.network import (
    BRAZIL,
    DIGITALOCEAN_US,
    LAGOS,
    LAGOS_MOBILE,
    MOLDOVA,
    MOSCOW,
    TOR_DE,
    VULTR_JP,
)
from tests.quality.corpus.records.directory import consent, security_info
from tests.quality.corpus.records.exchange import (
    cmdlet,
    compliance_cmdlet,
    file_downloaded,
    mail_items_accessed,
    new_inbox_rule,
    update_inbox_rules,
)
from tests.quality.corpus.records.mail import message, security_alert
from tests.quality.corpus.records.signins import browser_agent, signin
from tests.quality.corpus.tenant import Person, Tenant


def at(day: int, hour: float):
    return START + timedelta(days=day, hours=hour)


def bec_classic(em: Emitter, tenant: Tenant, victim: Person) -> None:
    ip, _ = intrusion(em, victim, at(5, 1.2), LAGOS, risk=risky("medium", "unfamiliarFeatures"))
    new_inbox_rule(
        em,
        victim,
        at(5, 1.6),
        ".",
        [
            ("SubjectOrBodyContainsWords", "invoice;payment;wire;remittance"),
            ("MoveToFolder", "RSS Feeds"),
            ("MarkAsRead", "True"),
            ("StopProcessingRules", "True"),
        ],
        ip=ip,
    )
    new_inbox_rule(
        em,
        victim,
        at(5, 1.7),
        "..",
        [("ForwardTo", "accounts.northwind@gmail.com"), ("SubjectOrBodyContainsWords", "invoice;payment")],
        ip=ip,
    )


def aitm(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """A phishing kit proxies the real sign-in (MFA passes), then registers its own authenticator."""
    signin(em, victim, at(6, 8.95), net=victim.home, ip=victim.home_ip, error=50074)
    ip, _ = intrusion(
        em,
        victim,
        at(6, 9.0),
        DIGITALOCEAN_US,
        risk=risky("none", state="none"),
        agent=PHISHKIT_AGENT,
        requirement="multiFactorAuthentication",
        delay=timedelta(hours=3),  # the sign-in log after the audit log's copy: the copies merge audit-first
    )
    security_info(em, victim, at(6, 9.2), "User registered security info.", ip=ip, agent=PHISHKIT_AGENT)
    new_inbox_rule(
        em,
        victim,
        at(6, 9.4),
        "...",
        [
            ("SubjectOrBodyContainsWords", "docusign;sign-in;unusual"),
            ("DeleteMessage", "True"),
            ("StopProcessingRules", "True"),
        ],
        ip=ip,
    )


def device_code(em: Emitter, tenant: Tenant, victim: Person) -> None:
    ip, _ = intrusion(
        em,
        victim,
        at(7, 14.1),
        VULTR_JP,
        risk=risky("none", state="none"),
        app="Microsoft Authentication Broker",
        protocol="deviceCode",
        client="Mobile Apps and Desktop clients",
        agent="python-requests/2.31.0",
        requirement="multiFactorAuthentication",
    )
    mail_items_accessed(em, victim, at(7, 14.3), ip=ip, count=2600, access="Sync", client="Client=REST;")
    new_inbox_rule(
        em,
        victim,
        at(7, 14.5),
        "Conversation",
        [
            ("FromAddressContainsWords", "@"),
            ("SubjectContainsWords", "RE:;FW:"),
            ("MoveToFolder", "Conversation History"),
            ("MarkAsRead", "True"),
        ],
        ip=ip,
    )


def token_replay(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """The user's own session cookie, stolen by an infostealer, replayed from Moscow 40 minutes later."""
    session = signin(
        em, victim, at(8, 18.0), net=victim.home, ip=victim.home_ip, requirement="multiFactorAuthentication"
    )
    ip = MOSCOW.ip(em.rng)
    signin(
        em,
        victim,
        at(8, 18.7),
        net=MOSCOW,
        ip=ip,
        session_id=session,
        interactive=False,
        risk=risky("medium", "anomalousToken"),
        agent=browser_agent(victim),
    )
    update_inbox_rules(
        em,
        victim,
        at(8, 19.0),
        name="",
        ip=ip,
        client="Client=REST;Client=RESTSystem;",
        condition="{(Exists(ItemClass))}",
        actions=[{"ActionType": "Forward", "Recipients": ["mbox.archive.2026@proton.me"], "ForwardFlags": "None"}],
    )


def consent_phishing(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """The user grants a lookalike app mail access; the app reads mail from a hosting network for days."""
    signin(em, victim, at(4, 10.0), net=victim.home, ip=victim.home_ip)
    client_id = "e9b4c7d2-3f1a-4b6e-8c5d-0a9f8e7d6c5b"
    consent(
        em,
        victim,
        at(4, 10.05),
        app_name="Secure PDF Viewer",
        client_id=client_id,
        scopes="Mail.Read Mail.ReadWrite Mail.Send offline_access User.Read",
        ip=victim.home_ip,
    )
    for day in (4, 5, 6):
        mail_items_accessed(
            em,
            victim,
            at(day, 11.0),
            ip=BRAZIL.ip(em.rng),
            count=900,
            access="Sync",
            app_id=client_id,
            client_app_id=client_id,
            client="Client=REST;Client=RESTSystem;",
        )


def password_spray(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """Wrong passwords for dozens of accounts from one hosting address, then one that works."""
    ip = MOLDOVA.ip(em.rng)
    targets = [p for p in tenant.people if p is not victim][::4][:45]
    for n, person in enumerate(targets):
        signin(
            em,
            person,
            at(3, 3.0) + timedelta(seconds=15 * n),
            net=MOLDOVA,
            ip=ip,
            error=50126,
            agent="Mozilla/5.0 (compatible; MSAL)",
            client="Mobile Apps and Desktop clients",
            app="Microsoft Office",
        )
    signin(
        em,
        victim,
        at(3, 3.2),
        net=MOLDOVA,
        ip=ip,
        agent="Mozilla/5.0 (compatible; MSAL)",
        app="Microsoft Office",
        client="Mobile Apps and Desktop clients",
        risk=risky("medium", "passwordSpray"),
    )
    new_inbox_rule(
        em,
        victim,
        at(3, 3.4),
        "Clean up",
        [
            ("FromAddressContainsWords", "microsoft;security;helpdesk"),
            ("MoveToFolder", "RSS Subscriptions"),
            ("MarkAsRead", "True"),
        ],
        ip=ip,
    )


def internal_phishing(em: Emitter, tenant: Tenant, victim: Person) -> None:
    ip, _ = intrusion(em, victim, at(9, 13.0), LAGOS_MOBILE, risk=risky("medium", "unfamiliarFeatures"))
    colleagues = [p.upn for p in tenant.people if p is not victim][:140]
    for n in range(0, len(colleagues), 20):
        message(
            em,
            at(9, 13.2) + timedelta(minutes=n // 10),
            sender=victim.upn,
            recipients=colleagues[n : n + 20],
            subject=f'{victim.display_name} shared "Q1 Bonus Review.pdf" with you',
            from_ip=ip,
        )


def folder_permission(em: Emitter, tenant: Tenant, victim: Person) -> None:
    ip, _ = intrusion(
        em, victim, at(6, 22.0), TOR_DE, risk=risky("medium", "anonymizedIPAddress", "unfamiliarFeatures")
    )
    cmdlet(
        em,
        victim,
        at(6, 22.2),
        "Add-MailboxFolderPermission",
        [("Identity", f"{victim.alias}:\\Inbox"), ("User", "Default"), ("AccessRights", "Reviewer")],
        ip=ip,
        object_id=f"{victim.alias}:\\Inbox",
    )
    cmdlet(
        em,
        victim,
        at(6, 22.3),
        "Add-MailboxFolderPermission",
        [("Identity", f"{victim.alias}:\\Inbox"), ("User", "inbox.mirror@tutanota.com"), ("AccessRights", "Reviewer")],
        ip=ip,
        object_id=f"{victim.alias}:\\Inbox",
    )


def mailbox_forwarding(em: Emitter, tenant: Tenant, victim: Person) -> None:
    ip, _ = intrusion(em, victim, at(7, 3.0), LAGOS, risk=risky("high", "unfamiliarFeatures"))
    cmdlet(
        em,
        victim,
        at(7, 3.2),
        "Set-Mailbox",
        [
            ("Identity", victim.alias),
            ("ForwardingSmtpAddress", "smtp:backup.mails.2026@gmail.com"),
            ("DeliverToMailboxAndForward", "True"),
        ],
        ip=ip,
        object_id=victim.alias,
    )


def data_theft(em: Emitter, tenant: Tenant, victim: Person) -> None:
    ip, _ = intrusion(em, victim, at(9, 23.0), DIGITALOCEAN_US, risk=risky("medium", "unfamiliarFeatures"))
    mail_items_accessed(
        em,
        victim,
        at(9, 23.2),
        ip=ip,
        count=4200,
        access="Sync",
        throttled=True,
        client="Client=REST;Client=RESTSystem;",
    )
    for n in range(300):
        file_downloaded(
            em,
            victim,
            at(9, 23.3) + timedelta(seconds=4 * n),
            ip=ip,
            agent="rclone/v1.65.2",
            site="Finance",
            file_name=f"Ledger-{2019 + n % 7}-{n:03d}.xlsx",
        )
    compliance_cmdlet(
        em,
        victim,
        at(10, 0.2),
        "New-ComplianceSearch",
        '-Name "q1" -ExchangeLocation "All" -ContentMatchQuery "password OR invoice OR wire"',
        ip=ip,
    )
    compliance_cmdlet(em, victim, at(10, 0.4), "New-ComplianceSearchAction", '-SearchName "q1" -Export', ip=ip)


def microsoft_confirmed(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """Defender XDR raises a high-severity BEC alert on the user."""
    ip, _ = intrusion(em, victim, at(10, 15.0), BRAZIL, risk=risky("medium", "unfamiliarFeatures"))
    security_alert(
        em,
        at(10, 15.5),
        title="BEC financial fraud",
        category="InitialAccess",
        severity="high",
        service_source="microsoft365Defender",
        product="Microsoft Defender XDR",
        upn=victim.upn,
        display_name=victim.display_name,
        object_id=victim.object_id,
        ip=ip,
        country=BRAZIL.country,
        description="A user account was compromised and used for business email compromise.",
        techniques=("T1114.003", "T1078"),
    )


def admin_confirmed(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """An admin confirmed the user compromised in Identity Protection; the sign-in says so."""
    risk = risky("high", "unfamiliarFeatures", state="confirmedCompromised")
    risk.detail = "adminConfirmedUserCompromised"
    intrusion(em, victim, at(12, 4.0), MOSCOW, risk=risk)


def late_signin_mfa(em: Emitter, tenant: Tenant, victim: Person) -> None:
    """An MFA method registered from the attacker's network; the sign-in log delivers the sign-in hours later."""
    ip, _ = intrusion(
        em, victim, at(11, 20.0), LAGOS, risk=risky("medium", "unfamiliarFeatures"), delay=timedelta(hours=6)
    )
    security_info(
        em,
        victim,
        at(11, 20.2),
        "User registered security info.",
        ip=ip,
        agent="Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/121.0.0.0 Safari/537.36",
    )
