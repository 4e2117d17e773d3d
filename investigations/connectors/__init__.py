"""Connectors: how approved actions reach the tenant. ``get_connector()`` returns the configured one.

``settings.REMEDIATION_CONNECTOR`` names it (environment variable of the same name):
``simulated`` (the tenant kept in the database), ``msgraph`` (Microsoft Graph and Exchange Online)
or any name registered in ``CONNECTORS``. Left empty, it is ``msgraph`` when a Microsoft 365
tenant is configured (Connectors page or ``M365_*`` settings) and ``simulated`` otherwise.
"""

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from investigations.connectors.base import Connector
from m365.config import remediation_connector_name

CONNECTORS: dict[str, str] = {
    "simulated": "investigations.connectors.simulated.SimulatedConnector",
    "msgraph": "investigations.connectors.msgraph.MsGraphConnector",
}


def get_connector(name: str | None = None) -> Connector:
    name = name or remediation_connector_name()
    try:
        path = CONNECTORS[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"REMEDIATION_CONNECTOR={name!r} is not a known connector; choose one of {', '.join(sorted(CONNECTORS))}."
        )
    return import_string(path)()
