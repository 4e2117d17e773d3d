"""The people of the synthetic tenant: who they are, where they work from, what their job makes them do.

Roles drive the benign background: ``marketing`` senders mail hundreds of outsiders a day,
``hr``/``it`` mail all staff, ``traveller``\\s take one real trip, ``vpn`` users sign in through
the corporate VPN egress abroad, ``relay`` users browse through iCloud Private Relay, ``admin``
and ``helpdesk`` manage other people's mailboxes and MFA. Attack stories pick their victims
from the ordinary staff and label them.
"""

from dataclasses import dataclass, field
from random import Random

from tests.quality.corpus.network import HOME, MOBILE, Network

DOMAIN = "northwindtraders.com"
ORGANIZATION = "northwindtraders.onmicrosoft.com"
TENANT_ID = "6f1c2a9e-4b7d-4e0f-9a51-3c8d2b7e5a10"

_FIRST = tuple(
    [
        "Olivia",
        "Amelia",
        "Isla",
        "Ava",
        "Mia",
        "Ivy",
        "Lily",
        "Isabella",
        "Rosie",
        "Sophia",
        "Grace",
        "Freya",
        "Willow",
        "Emily",
        "Poppy",
        "Ella",
        "Evie",
        "Sienna",
        "Harper",
        "Daisy",
        "Oliver",
        "George",
        "Noah",
        "Arthur",
        "Muhammad",
        "Leo",
        "Harry",
        "Oscar",
        "Archie",
        "Henry",
        "Theodore",
        "Freddie",
        "Jack",
        "Charlie",
        "Thomas",
        "Jacob",
        "Alfie",
        "Finley",
        "Isaac",
        "Samuel",
        "Priya",
        "Ravi",
        "Ananya",
        "Chen",
        "Wei",
        "Fatima",
        "Omar",
        "Aisha",
        "Tomasz",
        "Agnieszka",
        "Kwame",
        "Ngozi",
        "Lucia",
        "Mateo",
        "Sofia",
        "Luca",
        "Hannah",
        "Daniel",
        "Chloe",
        "Ethan",
        "Zara",
        "Aaron",
        "Maya",
        "Ben",
        "Ruby",
        "Adam",
        "Nina",
        "Joseph",
        "Laura",
    ]
)
_LAST = tuple(
    [
        "Smith",
        "Jones",
        "Williams",
        "Taylor",
        "Brown",
        "Davies",
        "Evans",
        "Wilson",
        "Thomas",
        "Johnson",
        "Roberts",
        "Robinson",
        "Thompson",
        "Wright",
        "Walker",
        "White",
        "Edwards",
        "Hughes",
        "Green",
        "Hall",
        "Lewis",
        "Harris",
        "Clarke",
        "Patel",
        "Jackson",
        "Wood",
        "Turner",
        "Martin",
        "Cooper",
        "Hill",
        "Ward",
        "Morris",
        "Moore",
        "Clark",
        "Lee",
        "King",
        "Baker",
        "Harrison",
        "Morgan",
        "Allen",
        "James",
        "Scott",
        "Phillips",
        "Watson",
        "Davis",
        "Parker",
        "Price",
        "Bennett",
        "Young",
        "Griffiths",
        "Mitchell",
        "Kelly",
        "Cook",
        "Carter",
        "Richardson",
        "Bailey",
        "Collins",
        "Bell",
        "Shaw",
        "Murphy",
        "Miller",
        "Cox",
        "Richards",
        "Khan",
        "Marshall",
        "Anderson",
        "Simpson",
        "Ellis",
        "Adams",
        "Singh",
        "Begum",
        "Wilkinson",
        "Foster",
        "Chapman",
        "Powell",
        "Webb",
        "Rogers",
        "Gray",
        "Mason",
        "Ali",
        "Hunt",
        "Hussain",
        "Campbell",
        "Matthews",
        "Owen",
        "Palmer",
        "Holmes",
        "Mills",
        "Barnes",
        "Knight",
        "Lloyd",
        "Butler",
        "Russell",
        "Barker",
        "Fisher",
    ]
)
DEPARTMENTS = ("Sales", "Finance", "Engineering", "Operations", "Customer Service", "Legal", "Marketing", "HR", "IT")


@dataclass
class Person:
    upn: str
    display_name: str
    department: str
    object_id: str
    puid: str
    home: Network
    home_ip: str
    mobile: Network
    device_os: str
    browser: str
    roles: set[str] = field(default_factory=set)
    office_days: frozenset[int] = frozenset({0, 1, 2, 3})  # weekdays in the office; other workdays at home

    @property
    def alias(self) -> str:
        return self.upn.split("@")[0]

    @property
    def first_name(self) -> str:
        return self.display_name.split()[0]


@dataclass(frozen=True)
class Trip:
    """A traveller's trip: the flight on day ``depart``, then days up to ``last`` at ``hotel``."""

    depart: int
    last: int
    hotel: Network
    ip: str


@dataclass
class Tenant:
    people: list[Person]
    shared_mailboxes: list[str]
    service_accounts: list[Person]
    all_staff_list: str = f"allstaff@{DOMAIN}"

    def by_role(self, role: str) -> list[Person]:
        return [person for person in self.people if role in person.roles]

    def ordinary(self) -> list[Person]:
        """Staff with no special role: the attack stories' victims and the bulk of the background."""
        return [person for person in self.people if not person.roles]


def guid(rng: Random) -> str:
    value = f"{rng.getrandbits(128):032x}"
    return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-a{value[17:20]}-{value[20:]}"


def build_tenant(rng: Random, size: int = 220) -> Tenant:
    people: list[Person] = []
    taken: set[str] = set()
    while len(people) < size:
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        alias = f"{first}.{last}".lower()
        if alias in taken:
            continue
        taken.add(alias)
        home = rng.choice(HOME)
        os_name, browser = rng.choice(
            [("Windows10", "Edge 122.0.2365"), ("Windows10", "Chrome 122.0.6261"), ("MacOs", "Safari 17.3")]
        )
        people.append(
            Person(
                upn=f"{alias}@{DOMAIN}",
                display_name=f"{first} {last}",
                department=DEPARTMENTS[len(people) % len(DEPARTMENTS)],
                object_id=guid(rng),
                puid=f"10032{rng.getrandbits(44):011X}",
                home=home,
                home_ip=home.ip(rng),
                mobile=rng.choice(MOBILE),
                device_os=os_name,
                browser=browser,
                office_days=frozenset(rng.sample(range(5), rng.choice((2, 3, 4)))),
            )
        )
    _assign_roles(people, rng)
    service = [_service_account(name, rng) for name in ("svc-scanner", "svc-crm-sync")]
    shared = [f"{name}@{DOMAIN}" for name in ("finance", "info", "support", "payroll")]
    return Tenant(people=people, shared_mailboxes=shared, service_accounts=service)


def _assign_roles(people: list[Person], rng: Random) -> None:
    """Fixed quotas of each role, drawn from the people in order of a shuffled copy."""
    pool = people[:]
    rng.shuffle(pool)
    quotas = [
        ("admin", 3),
        ("helpdesk", 2),
        ("marketing", 3),
        ("hr", 2),
        ("traveller", 14),
        ("vpn", 10),
        ("relay", 10),
        ("dismissed_risk", 8),
        ("own_rules", 30),
        ("new_phone", 6),
        ("app_consent", 8),
        ("delegate", 6),
    ]
    for role, count in quotas:
        for _ in range(count):
            pool.pop().roles.add(role)


def _service_account(alias: str, rng: Random) -> Person:
    return Person(
        upn=f"{alias}@{DOMAIN}",
        display_name=alias,
        department="IT",
        object_id=guid(rng),
        puid=f"10032{rng.getrandbits(44):011X}",
        home=HOME[0],
        home_ip="",
        mobile=MOBILE[0],
        device_os="",
        browser="",
        roles={"service"},
        office_days=frozenset(range(7)),
    )
