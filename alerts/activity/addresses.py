"""Where mail goes and where a user signs in from: address domains and IP networks."""

import functools
import ipaddress
from collections.abc import Iterable


def address_domain(address: str) -> str:
    """The lower-cased domain of an e-mail address (``smtp:`` prefixes and display names tolerated)."""
    address = (address or "").strip().strip("<>").lower()
    if address.startswith(("smtp:", "sip:")):
        address = address.split(":", 1)[1]
    return address.rpartition("@")[2].strip().rstrip(">").strip(".")


def domain_is_internal(domain: str, accepted: Iterable[str]) -> bool:
    if not domain:
        return False
    return any(domain == own or domain.endswith("." + own) for own in accepted)


@functools.lru_cache(maxsize=65536)
def ip_range(ip: str | None) -> str | None:
    """The /24 (IPv4) or /48 (IPv6) network of an address: how baselines remember where a user works."""
    if not ip:
        return None
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    prefix = 24 if address.version == 4 else 48
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
