"""How `alerts` announces what it found without importing `investigations`.

``alert_raised`` is sent inside the transaction that created or folded the alert, with
``alert`` (the Alert row) and ``created`` (False when a repeat folded into it). It is sent only
when something new arrived: a redelivered detection task that finds nothing new stays silent.
Receivers must only schedule work for after the commit (``airportal.dispatch``).
"""

from django.dispatch import Signal

alert_raised = Signal()
