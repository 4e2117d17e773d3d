"""Small SQL expressions the back-test needs on both PostgreSQL and SQLite."""

from django.db.models import Func, IntegerField


class RecipientCount(Func):
    """Recipients of a mail event: the length of ``attributes.recipients`` (at least 1)."""

    output_field = IntegerField()

    def as_sql(self, compiler, connection, **extra):  # pragma: no cover - only the two backends we run
        raise NotImplementedError(f"RecipientCount is not written for {connection.vendor}")

    def as_postgresql(self, compiler, connection, **extra):
        template = (
            "GREATEST(1, CASE WHEN jsonb_typeof(%(expressions)s -> 'recipients') = 'array' "
            "THEN jsonb_array_length(%(expressions)s -> 'recipients') ELSE 0 END)"
        )
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = "MAX(1, COALESCE(json_array_length(%(expressions)s, '$.recipients'), 0))"
        return super().as_sql(compiler, connection, template=template, **extra)


class EpochBucket(Func):
    """The number of the ``seconds``-long bucket a timestamp falls in (since 1970, UTC)."""

    output_field = IntegerField()

    def __init__(self, expression, seconds: int, **extra):
        super().__init__(expression, **extra)
        self.seconds = int(seconds)

    def as_sql(self, compiler, connection, **extra):  # pragma: no cover - only the two backends we run
        raise NotImplementedError(f"EpochBucket is not written for {connection.vendor}")

    def as_postgresql(self, compiler, connection, **extra):
        template = f"FLOOR(EXTRACT(EPOCH FROM %(expressions)s) / {self.seconds})::bigint"
        return super().as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler, connection, **extra):
        template = f"(CAST(strftime('%%%%s', %(expressions)s) AS INTEGER) / {self.seconds})"
        return super().as_sql(compiler, connection, template=template, **extra)
