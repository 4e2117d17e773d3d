"""How `alerts` announces what it found without importing `investigations`.

``alert_raised`` is sent inside the transaction that created or folded the alert, with
``alert`` (the Alert row), ``created`` (False when a repeat folded into it) and ``inline``
(True when detection runs inside ``manage.py ingest``, which expects the playbook to have run
before it returns). It is sent only when something new arrived: a redelivered detection
task that finds nothing new stays silent. Receivers must only schedule work with
``transaction.on_commit`` (or, when ``inline``, run it after commit themselves).
"""

from django.dispatch import Signal

alert_raised = Signal()
