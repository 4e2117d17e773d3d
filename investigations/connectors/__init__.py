"""Connectors: how approved actions reach the tenant. ``get_connector()`` returns the configured one.

``settings.REMEDIATION_CONNECTOR`` names it (environment variable of the same name):
``simulated`` (the tenant kept in the database), ``msgraph`` (Microsoft Graph and Exchange Online)
or any name registered in ``CONNECTORS``. Left empty, it is ``msgraph`` when a Microsoft 365
tenant is configured (Connectors page or ``M365_*`` settings) and ``simulated`` otherwise.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from alerts.feeds.config import is_configured
from investigations.connectors.base import Connector

CONNECTORS: dict[str, str] = {
    "simulated": "investigations.connectors.simulated.SimulatedConnector",
    "msgraph": "investigations.connectors.msgraph.MsGraphConnector",
}


def _default_name() -> str:
    return "msgraph" if is_configured() else "simulated"


def get_connector(name: str | None = None) -> Connector:
    name = name or getattr(settings, "REMEDIATION_CONNECTOR", "") or _default_name()
    try:
        path = CONNECTORS[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"REMEDIATION_CONNECTOR={name!r} is not a known connector; choose one of {', '.join(sorted(CONNECTORS))}."
        )
    return import_string(path)()
