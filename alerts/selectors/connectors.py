"""The Connectors page: the Microsoft 365 connection row as the page shows it."""

from m365.config import connection_get
from m365.models import M365Connection


def connection_with_editor() -> M365Connection:
    """The connection with who saved it last (one query when it exists)."""
    return M365Connection.objects.select_related("updated_by").filter(pk=1).first() or connection_get()
