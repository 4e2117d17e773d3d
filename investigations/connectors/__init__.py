"""Connectors: how approved actions reach the tenant. ``get_connector()`` returns the configured one.

``settings.REMEDIATION_CONNECTOR`` names it (environment variable of the same name):
``simulated`` (default, the tenant kept in the database) or any name registered in ``CONNECTORS``.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from investigations.connectors.base import Connector

CONNECTORS: dict[str, str] = {
    "simulated": "investigations.connectors.simulated.SimulatedConnector",
}


def get_connector(name: str | None = None) -> Connector:
    name = name or getattr(settings, "REMEDIATION_CONNECTOR", "simulated")
    try:
        path = CONNECTORS[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"REMEDIATION_CONNECTOR={name!r} is not a known connector; choose one of {', '.join(sorted(CONNECTORS))}."
        )
    return import_string(path)()
