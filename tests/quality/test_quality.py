"""Verdict quality on the labelled corpus, through the real pipeline (``bench/quality.py`` prints the detail).

Marked ``quality``: it loads about 55,000 records (about 40 s on SQLite).
"""

import pytest

from tests.quality.runner import deliver, report, score

pytestmark = [pytest.mark.quality, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_verdicts_on_the_labelled_tenant(corpus):
    delivery = deliver(corpus)
    assert delivery.rejected == []
    result = score(corpus)
    detail = "\n".join(report(result))
    assert result.unfinished == 0, detail
    assert result.precision == 1.0, detail
    assert result.recall >= 0.9, detail
    assert result.benign_alerts_per_100 <= 1, detail
