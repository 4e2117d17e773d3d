"""Every write of the investigations app: investigations, actions, remediation and the simulated tenant.

Import from the sub-modules (``investigations.services.actions`` …); each module's docstring
says what it guarantees.
"""
