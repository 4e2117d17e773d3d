"""Waiting out throttling inside a call, for callers that can afford to wait (the pull cycle).

Microsoft Graph answers 429 (sometimes 503) with ``Retry-After`` in seconds and asks clients to
wait that long and send the same request again; the Management Activity API answers ``AF429``
(status 429, or 403 from some front ends) without a header. ``Patience`` waits as the service says,
or backs off exponentially when it says nothing, and gives up when the wait would pass the
caller's deadline, when one wait alone would be too long, or after too many refusals in a row.

Remediation does not use it: a throttled action goes back to its Celery task, which retries it
after ``Retry-After`` without holding a worker.
"""

import time
from dataclasses import dataclass

FIRST_BACKOFF = 2.0  # seconds, when the service gives no Retry-After; doubles each time


@dataclass
class Patience:
    deadline: float | None = None  # a time.monotonic() value no wait may pass; None: no deadline
    max_wait: float = 300.0  # longer single waits are not worth holding the cycle for
    max_refusals: int = 8  # throttled answers in a row to one request before giving up
    waits: int = 0  # how often it waited, over its lifetime
    waited: float = 0.0  # seconds spent waiting, over its lifetime

    def wait(self, retry_after: float | None, *, refusals: int) -> bool:
        """Wait before sending a refused request again; False when the caller should give up instead.

        ``refusals`` counts the throttled answers this request has had so far (1 on the first).
        """
        if refusals > self.max_refusals:
            return False
        seconds = retry_after if retry_after is not None else FIRST_BACKOFF * 2 ** (refusals - 1)
        if seconds > self.max_wait:
            return False
        if self.deadline is not None and time.monotonic() + seconds > self.deadline:
            return False
        time.sleep(seconds)
        self.waits += 1
        self.waited += seconds
        return True
