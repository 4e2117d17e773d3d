"""Microsoft 365: the HTTP client, the connection's configuration and its encrypted credential.

Shared by the feeds (``alerts.feeds``, what pulls records into ingest) and the ``msgraph``
remediation connector (``investigations.connectors.msgraph``). It imports only the kernel
(``airportal``); both apps import it, never the other way round.

* ``client``: HTTPS with verified TLS, MSAL app-only tokens, error mapping, Graph paging, Exchange cmdlets.
* ``config``: the effective configuration (``M365_*`` settings first, then the Connectors page).
* ``crypto``: encryption at rest of the stored credential.
* ``connection``: the service that changes the stored connection.
* ``permissions``: the application permissions each feed and action needs.
* ``check``: the connection test (``manage.py m365 check`` and the Connectors page).
* ``times``: timestamps as Microsoft's APIs write them.
* ``endpoints``: the API base URLs (a bare host gets its version path).
* ``throttling``: ``Patience``, waiting out 429 / AF429 within a deadline (the pull cycle's client).
* ``exchange_anchor``: the ``X-AnchorMailbox`` convention of Exchange admin calls.
* ``expiry``: when the app's secret or certificate expires (the connection test warns ahead).
"""
