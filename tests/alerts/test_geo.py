"""Offline geolocation: country from the shipped database, city database optional."""

import logging

from alerts.geo import ip_location


def test_public_addresses_get_a_country_offline():
    assert ip_location("8.8.8.8").country == "US"
    assert ip_location("2a00:1450:4001:800::200e").country == "DE"  # IPv6 is covered too


def test_private_and_reserved_addresses_have_no_location():
    assert ip_location("10.1.2.3") is None
    assert ip_location("192.168.0.1") is None
    assert ip_location("::1") is None


def test_an_unreadable_city_database_falls_back_to_countries(settings, caplog, tmp_path):
    settings.GEOIP_CITY_DB = str(tmp_path / "missing-GeoLite2-City.mmdb")
    with caplog.at_level(logging.WARNING, logger="alerts.geo"):
        location = ip_location("8.8.4.4")
    assert (location.country, location.city) == ("US", "")
    assert "cannot be read" in caplog.text
