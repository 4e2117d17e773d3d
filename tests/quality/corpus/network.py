"""Where sign-ins come from: the networks of a synthetic tenant and of its attackers.

Each network is a real public address block whose offline geolocation (``alerts.geo``) agrees
with the country written here, so a record that carries no location (an audit log copy, an
Exchange cmdlet) is placed where its Graph twin says it is. ASNs are the operators' real ones.
"""

from dataclasses import dataclass
from random import Random


@dataclass(frozen=True)
class Network:
    key: str
    prefix: str  # the first three octets of a /24
    country: str
    city: str
    state: str
    latitude: float
    longitude: float
    asn: int
    kind: str  # office, home, mobile, hotel, vpn, relay, hosting, residential

    def ip(self, rng: Random) -> str:
        """A random address of the block (a /16 block for ISPs and carriers, a /24 otherwise)."""
        if self.prefix.count(".") == 1:
            return f"{self.prefix}.{rng.randint(0, 255)}.{rng.randint(2, 250)}"
        return f"{self.prefix}.{rng.randint(2, 120)}"


def _n(key, prefix, country, city, state, lat, lon, asn, kind):
    return Network(key, prefix, country, city, state, lat, lon, asn, kind)


# The company's one office NAT egress: every office sign-in of every user comes from OFFICE_IP.
OFFICE = _n("office", "81.2.69", "GB", "London", "England", 51.5136, -0.0890, 20712, "office")
OFFICE_IP = "81.2.69.142"
VPN = _n("vpn", "185.107.56", "NL", "Amsterdam", "North Holland", 52.3740, 4.8897, 43350, "vpn")
VPN_IPS = ("185.107.56.20", "185.107.56.21")
# Where the CRM's sync job runs (Azure, Virginia): the service account signs in from there only.
AZURE = _n("azure", "20.190.151", "US", "Boydton", "Virginia", 36.6676, -78.3875, 8075, "hosting")
AZURE_IP = "20.190.151.68"

HOME = (
    _n("bt", "86.128", "GB", "Croydon", "England", 51.3762, -0.0982, 2856, "home"),
    _n("virgin", "62.30", "GB", "Reading", "England", 51.4543, -0.9781, 5089, "home"),
    _n("sky", "90.200", "GB", "Guildford", "England", 51.2362, -0.5704, 5607, "home"),
    _n("talktalk", "2.24", "GB", "Watford", "England", 51.6565, -0.3903, 13285, "home"),
)
MOBILE = (
    _n("ee", "31.94", "GB", "London", "England", 51.5072, -0.1276, 12576, "mobile"),
    _n("o2", "94.197", "GB", "London", "England", 51.5072, -0.1276, 35228, "mobile"),
    _n("three", "92.40", "GB", "London", "England", 51.5072, -0.1276, 206067, "mobile"),
    _n("vodafone", "151.224", "GB", "Slough", "England", 51.5105, -0.5950, 25135, "mobile"),
)
# iCloud Private Relay egress (Akamai): Entra flags it anonymizedIPAddress at low risk.
RELAY = _n("icloud_relay", "172.224.227", "GB", "London", "England", 51.5072, -0.1276, 36183, "relay")

HOTELS = (
    _n("hotel_nyc", "64.124.10", "US", "New York", "New York", 40.7128, -74.0060, 6461, "hotel"),
    _n("hotel_berlin", "217.110.10", "DE", "Berlin", "Berlin", 52.5200, 13.4050, 8220, "hotel"),
    _n("hotel_paris", "80.12.10", "FR", "Paris", "Ile-de-France", 48.8566, 2.3522, 3215, "hotel"),
    _n("hotel_toronto", "24.48.10", "CA", "Toronto", "Ontario", 43.6532, -79.3832, 5769, "hotel"),
    _n("hotel_milan", "213.205.10", "IT", "Milan", "Lombardy", 45.4642, 9.1900, 30722, "hotel"),
)
DUBLIN = _n("dublin_home", "193.1.10", "IE", "Dublin", "Leinster", 53.3498, -6.2603, 1213, "residential")

# Attackers: residential proxies, hosting providers, Tor.
LAGOS = _n("lagos", "102.89.32", "NG", "Lagos", "Lagos", 6.5244, 3.3792, 29465, "residential")
LAGOS_MOBILE = _n("lagos_mobile", "105.112.10", "NG", "Lagos", "Lagos", 6.5244, 3.3792, 36873, "mobile")
MOSCOW = _n("moscow", "95.173.136", "RU", "Moscow", "Moscow", 55.7558, 37.6173, 8342, "hosting")
DIGITALOCEAN_US = _n("do_nyc", "167.99.10", "US", "Clifton", "New Jersey", 40.8584, -74.1638, 14061, "hosting")
DIGITALOCEAN_IN = _n("do_blr", "139.59.10", "IN", "Bengaluru", "Karnataka", 12.9716, 77.5946, 14061, "hosting")
VULTR_JP = _n("vultr_tokyo", "45.77.10", "JP", "Tokyo", "Tokyo", 35.6762, 139.6503, 20473, "hosting")
MOLDOVA = _n("md_hosting", "5.181.157", "MD", "Chisinau", "Chisinau", 47.0105, 28.8638, 200019, "hosting")
TOR_DE = _n("tor_de", "185.220.101", "DE", "Frankfurt am Main", "Hesse", 50.1109, 8.6821, 60729, "hosting")
BRAZIL = _n("br_hosting", "185.153.176", "BR", "Sao Paulo", "Sao Paulo", -23.5505, -46.6333, 262287, "hosting")

ATTACKERS = (LAGOS, LAGOS_MOBILE, MOSCOW, DIGITALOCEAN_US, DIGITALOCEAN_IN, VULTR_JP, MOLDOVA, TOR_DE, BRAZIL)
ALL = (OFFICE, VPN, AZURE, *HOME, *MOBILE, RELAY, *HOTELS, DUBLIN, *ATTACKERS)
