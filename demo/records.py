"""A demo tenant in Microsoft's own log formats: a week of ordinary work with attacks in it.

The records are what the Office 365 Management Activity API, Graph ``signIns``, Exchange
message trace and Graph security ``alerts_v2`` would return, so the demo runs through the
same adapters, detectors and playbook as production data. Deterministic for a given seed.

Scenarios (all relative to "now"):
- BEC: ``megan.bowen`` signs in through an anonymiser from Nigeria, hides invoice mail in
  RSS Feeds, forwards it to Gmail and sends a phishing wave to 240 recipients.
- Password spray from one IP across 18 accounts, then a success for ``lee.gu``, who then
  registers a new MFA method and consents to an app with mail scopes.
- Impossible travel for ``diego.siciliani`` (Seattle, then Moscow 50 minutes later), who then
  grants himself full access to the CFO's mailbox.
- A Defender for Office 365 alert on ``alex.wilber``.
- Benign twins: a traveller with plausible flights, a marketing mailbox sending 800 mails a
  day, an admin granting an assistant access, a rule forwarding to a colleague.
"""

import random
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

DOMAIN = "contoso.com"
TENANT_ID = "4a1c6f9e-2d7b-4c51-9a43-8f3e0b6d2c10"

PEOPLE = [
    ("megan.bowen", "Megan Bowen", "Finance"),
    ("lee.gu", "Lee Gu", "Engineering"),
    ("diego.siciliani", "Diego Siciliani", "Sales"),
    ("alex.wilber", "Alex Wilber", "Marketing"),
    ("adele.vance", "Adele Vance", "Retail"),
    ("allan.deyoung", "Allan Deyoung", "IT"),
    ("christie.cline", "Christie Cline", "Sales"),
    ("debra.berger", "Debra Berger", "Executive Management"),
    ("grady.archie", "Grady Archie", "Engineering"),
    ("henrietta.mueller", "Henrietta Mueller", "Engineering"),
    ("irvin.sayers", "Irvin Sayers", "Engineering"),
    ("isaiah.langer", "Isaiah Langer", "Sales"),
    ("johanna.lorenz", "Johanna Lorenz", "Engineering"),
    ("joni.sherman", "Joni Sherman", "Legal"),
    ("lidia.holloway", "Lidia Holloway", "Engineering"),
    ("lynne.robbins", "Lynne Robbins", "Retail"),
    ("miriam.graham", "Miriam Graham", "Sales"),
    ("nestor.wilke", "Nestor Wilke", "Operations"),
    ("patti.fernandez", "Patti Fernandez", "Executive Management"),
    ("pradeep.gupta", "Pradeep Gupta", "Finance"),
    ("news", "Contoso Newsletter", "Marketing"),
    ("emily.braun", "Emily Braun", "Finance"),
]
VIP = {"debra.berger", "patti.fernandez"}

# (city, country, latitude, longitude, ip prefix)
HOME = ("Seattle", "US", 47.61, -122.33, "20.190.151.")
PLACES = {
    "new_york": ("New York", "US", 40.71, -74.01, "23.94.12."),
    "london": ("London", "GB", 51.51, -0.13, "81.2.69."),
    "lagos": ("Lagos", "NG", 6.52, 3.38, "102.89.32."),
    "moscow": ("Moscow", "RU", 55.76, 37.62, "95.173.136."),
    "frankfurt_tor": ("Frankfurt am Main", "DE", 50.11, 8.68, "185.220.101."),
}
UA_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0 Safari/537.36"
)
UA_PYTHON = "python-requests/2.31.0"
SUBJECTS = ["Weekly sync", "Q4 forecast", "Re: contract review", "Lunch?", "Design review notes", "Travel plans"]


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _upn(name: str) -> str:
    return f"{name}@{DOMAIN}"


class DemoTenant:
    """Builds the records; ``records`` maps each ingest source to its list of raw records."""

    def __init__(self, *, now: datetime | None = None, seed: int = 7, days: int = 7):
        self.now = (now or datetime.now(UTC)).replace(microsecond=0)
        self.rng = random.Random(seed)
        self.days = days
        self.records: dict[str, list[dict]] = defaultdict(list)
        self.user_ids = {name: str(uuid.UUID(int=self.rng.getrandbits(128))) for name, _, _ in PEOPLE}
        self.people = {name: (display, dept) for name, display, dept in PEOPLE}

    def build(self) -> dict[str, list[dict]]:
        self._ordinary_week()
        self._marketing_bulk_mailer()
        self._traveller()
        self._assistant_delegation()
        self._internal_forwarding_rule()
        self._bec()
        self._spray_then_mfa_and_consent()
        self._impossible_travel_and_delegation()
        self._defender_alert()
        self._device_alert()
        return dict(self.records)

    # --- record makers (Microsoft's shapes) -------------------------------------------------

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128)))

    def signin(
        self,
        name,
        at,
        place=HOME,
        *,
        ok=True,
        risk="none",
        risk_types=(),
        app="Office 365 Exchange Online",
        client="Browser",
        ua=UA_WINDOWS,
        ip=None,
        mfa=True,
    ):
        city, country, lat, lon, prefix = place
        display, _ = self.people.get(name, (name, ""))
        self.records["entra-signins"].append(
            {
                "id": self._uuid(),
                "createdDateTime": _iso_z(at),
                "userDisplayName": display,
                "userPrincipalName": _upn(name),
                "userId": self.user_ids.get(name, self._uuid()),
                "appId": "00000002-0000-0ff1-ce00-000000000000",
                "appDisplayName": app,
                "ipAddress": ip or f"{prefix}{self.rng.randint(2, 250)}",
                "clientAppUsed": client,
                "userAgent": ua,
                "correlationId": self._uuid(),
                "conditionalAccessStatus": "success" if ok else "notApplied",
                "isInteractive": True,
                "authenticationRequirement": "multiFactorAuthentication" if mfa else "singleFactorAuthentication",
                "riskDetail": "none",
                "riskLevelAggregated": risk,
                "riskLevelDuringSignIn": risk,
                "riskState": "atRisk" if risk in ("medium", "high") else "none",
                "riskEventTypes_v2": list(risk_types),
                "resourceDisplayName": "Office 365 Exchange Online",
                "status": {"errorCode": 0}
                if ok
                else {"errorCode": 50126, "failureReason": "Invalid username or password."},
                "deviceDetail": {"operatingSystem": "Windows10", "browser": "Chrome 129.0"},
                "location": {
                    "city": city,
                    "countryOrRegion": country,
                    "geoCoordinates": {"latitude": lat, "longitude": lon},
                },
            }
        )

    def audit(self, operation, name, at, *, workload="Exchange", record_type=1, ip="", **fields):
        self.records["o365-audit"].append(
            {
                "CreationTime": _iso(at),
                "Id": self._uuid(),
                "Operation": operation,
                "OrganizationId": TENANT_ID,
                "RecordType": record_type,
                "ResultStatus": "True" if workload == "Exchange" else "Success",
                "UserKey": self.user_ids.get(name, name),
                "UserType": 0,
                "Version": 1,
                "Workload": workload,
                "ClientIP": ip,
                "UserId": _upn(name) if "@" not in name else name,
                **fields,
            }
        )

    def cmdlet(self, operation, name, at, parameters, *, ip="", object_id=""):
        self.audit(
            operation,
            name,
            at,
            ip=ip,
            ObjectId=object_id,
            ExternalAccess=False,
            OrganizationName=f"{DOMAIN.split('.')[0]}.onmicrosoft.com",
            Parameters=[{"Name": key, "Value": value} for key, value in parameters],
        )

    def mail(self, name, at, recipients, subject, *, ip=None):
        """One sent message: a mailbox audit Send record and one message-trace row per recipient."""
        message_id = f"<{self._uuid()}@{DOMAIN}>"
        from_ip = ip or f"{HOME[4]}{self.rng.randint(2, 250)}"
        self.audit(
            "Send",
            name,
            at,
            record_type=2,
            ClientIPAddress=from_ip,
            LogonType=0,
            MailboxOwnerUPN=_upn(name),
            Item={"Id": self._uuid(), "Subject": subject, "InternetMessageId": message_id, "SizeInBytes": 24_000},
        )
        for index, recipient in enumerate(recipients):
            self.records["message-trace"].append(
                {
                    "Organization": f"{DOMAIN.split('.')[0]}.onmicrosoft.com",
                    "MessageId": message_id,
                    "Received": _iso(at) + ".000Z",
                    "SenderAddress": _upn(name),
                    "RecipientAddress": recipient,
                    "Subject": subject,
                    "Status": "Delivered",
                    "FromIP": from_ip,
                    "Size": 24_000,
                    "MessageTraceId": self._uuid(),
                    "Index": index,
                }
            )

    # --- ordinary activity ------------------------------------------------------------------

    def _workday_moments(self):
        for day in range(self.days, 0, -1):
            date = self.now - timedelta(days=day)
            if date.weekday() >= 5:
                continue
            yield date.replace(hour=15, minute=0, second=0)  # 07:00 in Seattle

    def _ordinary_week(self):
        colleagues = [_upn(name) for name, _, _ in PEOPLE if name != "news"]
        for start in self._workday_moments():
            for name, _, _ in PEOPLE:
                if name == "news":
                    continue
                self.signin(name, start + timedelta(minutes=self.rng.randint(0, 90)))
                for _ in range(self.rng.randint(4, 12)):
                    at = start + timedelta(minutes=self.rng.randint(30, 540))
                    recipients = self.rng.sample(colleagues, self.rng.randint(1, 3))
                    if self.rng.random() < 0.2:
                        recipients.append(f"partner{self.rng.randint(1, 40)}@fabrikam.com")
                    self.mail(name, at, recipients, self.rng.choice(SUBJECTS))

    def _marketing_bulk_mailer(self):
        for start in self._workday_moments():
            self.signin("news", start)
            for hour in range(8):
                self.mail(
                    "news",
                    start + timedelta(hours=hour, minutes=5),
                    [f"customer{hour * 100 + i}@example.org" for i in range(100)],
                    "Contoso weekly deals",
                )

    def _traveller(self):
        # Seattle in the morning, New York ten hours later: 3,900 km at under 400 km/h.
        day = self.now - timedelta(days=2)
        self.signin("christie.cline", day.replace(hour=14, minute=0))
        self.signin("christie.cline", day.replace(hour=23, minute=50), PLACES["new_york"])

    def _assistant_delegation(self):
        self.cmdlet(
            "Add-MailboxPermission",
            "allan.deyoung",
            self.now - timedelta(days=3),
            [
                ("Identity", _upn("patti.fernandez")),
                ("User", _upn("joni.sherman")),
                ("AccessRights", "FullAccess"),
                ("InheritanceType", "All"),
            ],
            ip="20.190.151.10:51234",
        )

    def _internal_forwarding_rule(self):
        self.cmdlet(
            "New-InboxRule",
            "johanna.lorenz",
            self.now - timedelta(days=4),
            [
                ("Mailbox", _upn("johanna.lorenz")),
                ("Name", "Build failures to Lidia"),
                ("SubjectContainsWords", "build failed"),
                ("ForwardTo", _upn("lidia.holloway")),
            ],
            ip="20.190.151.44:50001",
            object_id=f"{_upn('johanna.lorenz')}\\Build failures to Lidia",
        )

    # --- attacks ----------------------------------------------------------------------------

    def _bec(self):
        name, t0 = "megan.bowen", self.now - timedelta(hours=20)
        tor_ip = "185.220.101.47"
        self.signin(
            name, t0, PLACES["frankfurt_tor"], risk="high", risk_types=("anonymizedIPAddress",), ip=tor_ip, ua=UA_PYTHON
        )
        self.signin(
            name,
            t0 + timedelta(minutes=12),
            PLACES["lagos"],
            risk="medium",
            risk_types=("unfamiliarFeatures",),
            ip="102.89.32.18",
        )
        self.cmdlet(
            "New-InboxRule",
            name,
            t0 + timedelta(minutes=20),
            [
                ("Mailbox", _upn(name)),
                ("Name", ".."),
                ("SubjectOrBodyContainsWords", "invoice;payment;wire"),
                ("MoveToFolder", "RSS Feeds"),
                ("MarkAsRead", "True"),
                ("StopProcessingRules", "True"),
            ],
            ip="102.89.32.18:40112",
            object_id=f"{_upn(name)}\\..",
        )
        self.cmdlet(
            "Set-Mailbox",
            name,
            t0 + timedelta(minutes=24),
            [
                ("Identity", _upn(name)),
                ("ForwardingSmtpAddress", "smtp:megan.bowen.finance@gmail.com"),
                ("DeliverToMailboxAndForward", "False"),
            ],
            ip="102.89.32.18:40113",
        )
        recipients = [_upn(n) for n, _, _ in PEOPLE if n not in (name, "news")]
        recipients += [f"ap{i}@{domain}" for i in range(110) for domain in ("fabrikam.com", "northwind.net")]
        for batch in range(0, len(recipients), 40):
            self.mail(
                name,
                t0 + timedelta(minutes=40 + batch // 40),
                recipients[batch : batch + 40],
                "Updated remittance details - action required",
                ip="102.89.32.18",
            )

    def _spray_then_mfa_and_consent(self):
        spray_ip, t0 = "95.173.136.77", self.now - timedelta(hours=9)
        targets = [n for n, _, _ in PEOPLE if n not in ("news",)][:18]
        for offset, name in enumerate(targets):
            self.signin(
                name,
                t0 + timedelta(seconds=30 * offset),
                PLACES["moscow"],
                ok=False,
                ip=spray_ip,
                client="Other clients; IMAP",
                ua="",
                mfa=False,
            )
            self.audit(
                "UserLoginFailed",
                name,
                t0 + timedelta(seconds=30 * offset),
                workload="AzureActiveDirectory",
                record_type=15,
                ip=spray_ip,
                LogonError="InvalidUserNameOrPassword",
                ErrorNumber="50126",
                ExtendedProperties=[{"Name": "UserAgent", "Value": ""}],
            )
        victim, t1 = "lee.gu", t0 + timedelta(minutes=11)
        self.signin(
            victim,
            t1,
            PLACES["moscow"],
            ip=spray_ip,
            risk="medium",
            risk_types=("passwordSpray",),
            mfa=False,
            client="Browser",
        )
        self.audit(
            "User registered security info.",
            victim,
            t1 + timedelta(minutes=6),
            workload="AzureActiveDirectory",
            record_type=8,
            ip=spray_ip,
            ObjectId=_upn(victim),
            ModifiedProperties=[],
            Target=[{"ID": _upn(victim), "Type": 5}],
            ExtendedProperties=[{"Name": "additionalDetails", "Value": '{"Method":"Authenticator App"}'}],
        )
        self.audit(
            "Consent to application.",
            victim,
            t1 + timedelta(minutes=9),
            workload="AzureActiveDirectory",
            record_type=8,
            ip=spray_ip,
            ObjectId="5d8c1a47-mail-sync",
            Target=[{"ID": "ServicePrincipal_5d8c1a47", "Type": 2}, {"ID": "Mail Sync Pro", "Type": 1}],
            ModifiedProperties=[
                {"Name": "ConsentContext.IsAdminConsent", "NewValue": "False", "OldValue": ""},
                {
                    "Name": "ConsentAction.Permissions",
                    "OldValue": "",
                    "NewValue": "[] => [[Id: x, ConsentType: Principal, Scope: Mail.Read Mail.Send "
                    "offline_access User.Read]]",
                },
            ],
        )

    def _impossible_travel_and_delegation(self):
        name, t0 = "diego.siciliani", self.now - timedelta(hours=5)
        self.signin(name, t0)
        self.signin(name, t0 + timedelta(minutes=50), PLACES["moscow"], ip="95.173.136.12")
        self.cmdlet(
            "Add-MailboxPermission",
            name,
            t0 + timedelta(minutes=58),
            [
                ("Identity", _upn("debra.berger")),
                ("User", _upn(name)),
                ("AccessRights", "FullAccess"),
                ("InheritanceType", "All"),
            ],
            ip="95.173.136.12:33001",
        )

    def _defender_alert(self):
        name, at = "alex.wilber", self.now - timedelta(hours=3)
        self.records["graph-alerts"].append(
            {
                "id": "da637f1e2b3c4d5e6f708192a3b4c5d6e7",
                "providerAlertId": self._uuid(),
                "incidentId": "4711",
                "status": "new",
                "severity": "medium",
                "classification": None,
                "determination": None,
                "serviceSource": "microsoftDefenderForOffice365",
                "detectionSource": "microsoftDefenderForOffice365",
                "title": "A potentially malicious URL click was detected",
                "description": "A user clicked a URL that was later found to be malicious.",
                "category": "InitialAccess",
                "createdDateTime": _iso_z(at),
                "lastUpdateDateTime": _iso_z(at),
                "firstActivityDateTime": _iso_z(at - timedelta(minutes=4)),
                "lastActivityDateTime": _iso_z(at - timedelta(minutes=4)),
                "evidence": [
                    {
                        "@odata.type": "#microsoft.graph.security.userEvidence",
                        "createdDateTime": _iso_z(at),
                        "verdict": "suspicious",
                        "remediationStatus": "none",
                        "roles": [],
                        "userAccount": {
                            "accountName": name,
                            "userPrincipalName": _upn(name),
                            "azureAdUserId": self.user_ids[name],
                            "displayName": self.people[name][0],
                        },
                    },
                    {
                        "@odata.type": "#microsoft.graph.security.ipEvidence",
                        "createdDateTime": _iso_z(at),
                        "verdict": "suspicious",
                        "remediationStatus": "none",
                        "roles": [],
                        "ipAddress": "45.95.147.236",
                    },
                ],
            }
        )

    def _device_alert(self):
        """A Defender for Endpoint alert on a lobby kiosk nobody was signed in to: an alert about no user."""
        at = self.now - timedelta(hours=5)
        self.records["graph-alerts"].append(
            {
                "id": "da638a2c3d4e5f60718293a4b5c6d7e8f9",
                "providerAlertId": self._uuid(),
                "incidentId": "4712",
                "status": "new",
                "severity": "high",
                "serviceSource": "microsoftDefenderForEndpoint",
                "detectionSource": "microsoftDefenderForEndpoint",
                "productName": "Microsoft Defender for Endpoint",
                "title": "Suspicious PowerShell download cradle",
                "description": "PowerShell downloaded and ran a script from the internet.",
                "category": "Execution",
                "mitreTechniques": ["T1059.001", "T1105"],
                "createdDateTime": _iso_z(at),
                "lastUpdateDateTime": _iso_z(at),
                "firstActivityDateTime": _iso_z(at - timedelta(minutes=2)),
                "lastActivityDateTime": _iso_z(at - timedelta(minutes=2)),
                "evidence": [
                    {
                        "@odata.type": "#microsoft.graph.security.deviceEvidence",
                        "createdDateTime": _iso_z(at),
                        "verdict": "suspicious",
                        "remediationStatus": "none",
                        "roles": [],
                        "deviceDnsName": "kiosk-lobby-02.contoso.com",
                        "hostName": "kiosk-lobby-02",
                        "mdeDeviceId": "5d3f8c2a9b1e4f7a6c0d2e4f6a8b0c1d2e3f4a5b",
                        "osPlatform": "Windows11",
                        "healthStatus": "active",
                        "loggedOnUsers": [],
                    },
                    {
                        "@odata.type": "#microsoft.graph.security.ipEvidence",
                        "createdDateTime": _iso_z(at),
                        "verdict": "suspicious",
                        "remediationStatus": "none",
                        "roles": [],
                        "ipAddress": "185.225.73.14",
                    },
                ],
            }
        )


def demo_records(*, now: datetime | None = None, seed: int = 7) -> dict[str, list[dict]]:
    return DemoTenant(now=now, seed=seed).build()


def demo_identity_details() -> list[tuple[str, str, str, bool]]:
    """(upn, display name, department, VIP) for each demo user."""
    return [(_upn(name), display, dept, name in VIP) for name, display, dept in PEOPLE]
