"""What the investigations app announces, so other apps can follow it without being imported.

``playbook_starting`` is sent when a claimed investigation's playbook is about to run, with
``identity_ids`` (the identities it will look at), outside any transaction. A receiver that
raises makes the run fail with its message, like the playbook itself raising would.
"""

from django.dispatch import Signal

playbook_starting = Signal()
