"""Connectors are found by name in ``settings.REMEDIATION_CONNECTORS`` (dotted paths)."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from demo.connector import SimulatedConnector
from investigations.connectors import get_connector
from investigations.connectors.msgraph import MsGraphConnector


def test_the_default_registry_offers_simulated_and_msgraph(settings):
    assert type(get_connector("simulated")) is SimulatedConnector
    assert type(get_connector("msgraph")) is MsGraphConnector


def test_a_connector_registered_in_settings_is_found_by_its_name(settings):
    settings.REMEDIATION_CONNECTORS = {"rehearsal": "demo.connector.SimulatedConnector"}
    settings.REMEDIATION_CONNECTOR = "rehearsal"
    assert type(get_connector()) is SimulatedConnector


def test_an_unknown_name_is_refused_with_the_known_ones(settings):
    settings.REMEDIATION_CONNECTOR = "smtp"
    with pytest.raises(
        ImproperlyConfigured, match=r"'smtp' is not a known connector; choose one of msgraph, simulated"
    ):
        get_connector()
