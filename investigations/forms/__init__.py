"""Input of the investigation pages, the action center and the tenant settings, one module per page family."""
