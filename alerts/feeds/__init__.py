"""Pull from Microsoft 365: the audit log, Entra sign-ins, security alerts and message trace.

``client`` speaks HTTP (TLS verified, MSAL tokens), one module per feed turns pages into records for
``alerts.ingest.ingest_records``, ``cycle`` runs them all from their checkpoints.
"""
