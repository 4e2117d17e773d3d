"""Every write of the alerts app's detection side: raising, triage, policies and suppressions."""
