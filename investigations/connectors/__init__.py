"""Connectors: how approved actions reach the tenant. ``get_connector()`` returns the configured one.

``settings.REMEDIATION_CONNECTORS`` maps each connector's name to its class (dotted path):
``simulated`` (the demo app's tenant kept in the database) and ``msgraph`` (Microsoft Graph and
Exchange Online) by default. ``settings.REMEDIATION_CONNECTOR`` (environment variable of the same
name) chooses one; left empty, it is ``msgraph`` when a Microsoft 365 tenant is configured
(Connectors page or ``M365_*`` settings) and ``simulated`` otherwise.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from investigations.connectors.base import Connector
from m365.config import remediation_connector_name


def connector_class(name: str | None = None) -> type[Connector]:
    """The class of connector ``name`` (default: the configured one), without building it."""
    name = name or remediation_connector_name()
    connectors = settings.REMEDIATION_CONNECTORS
    try:
        path = connectors[name]
    except KeyError:
        raise ImproperlyConfigured(
            f"REMEDIATION_CONNECTOR={name!r} is not a known connector; choose one of {', '.join(sorted(connectors))}."
        )
    return import_string(path)


def get_connector(name: str | None = None) -> Connector:
    return connector_class(name)()
