"""The base URLs of Microsoft's APIs, from the ``M365_*`` settings.

``M365_GRAPH_URL`` and ``M365_MANAGEMENT_URL`` may name a bare host (``https://graph.microsoft.us``,
what Microsoft lists for each national cloud) or include the API version path
(``https://graph.microsoft.com/v1.0``, ``https://manage.office.com/api/v1.0``): the path is added
when the setting has none, so both forms reach the same URLs.
"""

from urllib.parse import urlsplit

from django.conf import settings

GRAPH_VERSION_PATH = "/v1.0"
GRAPH_BETA_PATH = "/beta"
MANAGEMENT_VERSION_PATH = "/api/v1.0"
MESSAGE_TRACE_PATH = "admin/exchange/tracing/messageTraces"  # under the Graph base URL
RISK_DETECTIONS_PATH = "identityProtection/riskDetections"  # under the Graph base URL


def with_path(url: str, path: str) -> str:
    """``url`` without a trailing slash, with ``path`` appended when it has no path of its own."""
    url = url.rstrip("/")
    return url if urlsplit(url).path else url + path


def graph_base() -> str:
    return with_path(settings.M365_GRAPH_URL, GRAPH_VERSION_PATH)


def graph_beta_base() -> str:
    """Graph's beta endpoint next to the configured version (``…/v1.0`` becomes ``…/beta``)."""
    return graph_base().rsplit("/", 1)[0] + GRAPH_BETA_PATH


def management_base() -> str:
    return with_path(settings.M365_MANAGEMENT_URL, MANAGEMENT_VERSION_PATH)
