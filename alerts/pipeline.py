"""The seam between ingestion and detection.

Ingest calls ``events_ingested`` once per committed batch; detection decides what to run.
"""


def events_ingested(*, event_ids: list[int], inline: bool) -> None:
    """Hand newly stored events to detection.

    ``inline=True`` (``manage.py ingest``) runs detection, correlation and the playbook before
    returning; otherwise a Celery task is dispatched after commit.
    """
