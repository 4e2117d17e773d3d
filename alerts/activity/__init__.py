"""Reading stored events: attributes, sign-ins, sent mail, inbox rules, addresses.

Shared by the detectors, the baselines, the back-tests and the investigation playbooks; pure
functions over ``Event`` rows (or objects shaped like them), no queries.
"""
