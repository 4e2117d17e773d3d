"""Offline IP geolocation: no network, ever.

The country comes from ``geoip2fast``, which ships its IPv4+IPv6 country data inside the
package. Set ``GEOIP_CITY_DB`` to a MaxMind GeoLite2/GeoIP2 City ``.mmdb`` file for city and
coordinates. Private, reserved and unknown addresses have no location. Lookups are cached.
"""

import logging
from dataclasses import dataclass
from functools import cache, lru_cache

from django.conf import settings

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Location:
    country: str
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None


@cache
def _country_database():
    from geoip2fast import GeoIP2Fast

    return GeoIP2Fast(geoip2fast_data_file="geoip2fast-ipv6.dat.gz")


@cache
def _city_database(path: str):
    """The MaxMind reader for ``path``, or ``None`` (logged once) when it cannot be opened."""
    if not path:
        return None
    import geoip2.database

    try:
        return geoip2.database.Reader(path)
    except (OSError, ValueError) as exc:
        logger.warning("GEOIP_CITY_DB %s cannot be read (%s); using country-level geolocation", path, exc)
        return None


@lru_cache(maxsize=65536)
def _lookup(ip: str, city_db_path: str) -> Location | None:
    reader = _city_database(city_db_path)
    if reader is not None:
        location = _city_lookup(reader, ip)
        if location is not None:
            return location
    result = _country_database().lookup(ip)
    country = getattr(result, "country_code", "") or ""
    if len(country) != 2 or not country.isalpha() or getattr(result, "is_private", False):
        return None
    return Location(country=country.upper())


def _city_lookup(reader, ip: str) -> Location | None:
    import geoip2.errors

    try:
        response = reader.city(ip)
    except (geoip2.errors.AddressNotFoundError, ValueError):
        return None
    country = response.country.iso_code or ""
    if not country:
        return None
    return Location(
        country=country,
        city=response.city.name or "",
        latitude=response.location.latitude,
        longitude=response.location.longitude,
    )


def ip_location(ip: str) -> Location | None:
    """Where ``ip`` is, as far as the offline databases know; ``None`` when they do not."""
    return _lookup(ip, settings.GEOIP_CITY_DB or "")
