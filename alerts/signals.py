"""How `alerts` announces what it found without importing `investigations`.

``alert_raised`` is sent inside the transaction that created or folded the alert, with
``alert`` (the Alert row) and ``created`` (False when a repeat folded into it). It is sent only
when something new arrived: a redelivered detection task that finds nothing new stays silent.
A detection batch sends it once per alert it brought news to, after all its findings are
raised (``created`` when the batch opened the alert), whatever the number of its findings there.
Receivers must only schedule work for after the commit (``airportal.dispatch``).

``events_judged`` is sent inside the transaction that judged a batch of stored events, with
``spans``: ``{identity_id: (earliest, latest)}`` event times of the batch, so evidence that
arrives late (an audit record hours after the sign-in that opened an investigation) reaches the
investigation whose window it falls in.
"""

from django.dispatch import Signal

alert_raised = Signal()
events_judged = Signal()
