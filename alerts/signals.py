"""How `alerts` announces what it found without importing `investigations`.

``alert_raised`` is sent inside the transaction that created or folded the alert, with
``alert`` (the Alert row) and ``created`` (False when a repeat folded into it). Receivers
must only schedule work with ``transaction.on_commit``.
"""

from django.dispatch import Signal

alert_raised = Signal()
