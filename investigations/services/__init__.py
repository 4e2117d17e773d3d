"""Every write of the investigations app: investigations, actions and remediation.

Import from the sub-modules (``investigations.services.actions`` …); each module's docstring
says what it guarantees.
"""
