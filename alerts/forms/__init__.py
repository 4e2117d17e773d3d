"""Input of the alerts pages, one module per page family (as ``alerts/views/``)."""
