"""Pull from Microsoft 365: the audit log, Entra sign-ins, security alerts and message trace.

The HTTP client, configuration and credential are ``m365``'s; here one module per feed turns pages
into records for ``alerts.ingest.ingest_records``, ``checkpoints`` keeps where each stream stands and
``cycle`` runs them all from their checkpoints.
"""
