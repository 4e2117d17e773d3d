"""Durations and their percentiles, computed by the database.

The ORM builds the filtered row set (group columns + durations in seconds). PostgreSQL
computes every grouping in a single aggregate query with ``GROUPING SETS`` and
``percentile_cont``. SQLite has neither: it returns the rows once and Python does the same
linear interpolation ``percentile_cont`` does, for every grouping in one pass.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import FloatField, Func, QuerySet

FRACTIONS = (0.5, 0.9)


class SecondsBetween(Func):
    """``end - start`` in seconds (NULL when either is NULL)."""

    output_field = FloatField()
    arity = 2

    def __init__(self, end, start, **extra):
        super().__init__(end, start, **extra)

    def as_sql(self, compiler, connection, **extra):
        raise NotImplementedError(f"SecondsBetween is not implemented for {connection.vendor}")

    def as_postgresql(self, compiler, connection, **extra):
        return super().as_sql(
            compiler, connection, template="EXTRACT(EPOCH FROM (%(expressions)s))::double precision", arg_joiner=" - "
        )

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(
            compiler, connection, template="((julianday(%(expressions)s)) * 86400.0)", arg_joiner=") - julianday("
        )


@contextmanager
def report_queries() -> Iterator[None]:
    """On PostgreSQL, one read transaction for a report's queries, tuned for them.

    - JIT off: the correlated sub-queries make the planner's cost estimates large enough to
      trigger JIT, whose compilation (0.5–1.5 s, measured at 200,000 alerts) costs more than
      the queries themselves.
    - More sort memory for this transaction only: each percentile sorts its group's durations,
      and with the default 4 MB the sorts of 100,000s of rows spill to disk.
    """
    if connection.vendor != "postgresql":
        # SQLite: no transaction (the embedded default opens them IMMEDIATE, which would hold the
        # write lock, and so block the worker, for as long as the report reads).
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '32MB'")
        yield


@dataclass(frozen=True)
class Percentiles:
    """How many durations there were, and their median and 90th percentile (seconds)."""

    n: int
    p50: float | None
    p90: float | None


EMPTY = Percentiles(n=0, p50=None, p90=None)

# {grouping: {group key: {value column: Percentiles}}}
Grouped = dict[tuple[str, ...], dict[tuple, dict[str, Percentiles]]]


def duration_percentiles(rows: QuerySet, *, groupings: Sequence[tuple[str, ...]], values: Sequence[str]) -> Grouped:
    """Median and p90 of each ``values`` column of ``rows`` for every grouping.

    ``rows`` is a ``.values(alias=expression, ...)`` queryset selecting the group columns and
    the duration columns; a grouping is a tuple of group column aliases (``()`` = all rows).
    NULL durations are ignored, as ``percentile_cont`` ignores them.
    """
    sql, params = rows.order_by().query.sql_with_params()
    if connection.vendor == "postgresql":
        return _postgres(sql, params, groupings, values)
    return _in_python(sql, params, groupings, values)


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _postgres(inner: str, params, groupings, values) -> Grouped:
    columns = list(dict.fromkeys(column for grouping in groupings for column in grouping))
    fractions = ", ".join(str(f) for f in FRACTIONS)
    select = [f"GROUPING({', '.join(map(_q, columns))})" if columns else "0"]
    select += [_q(column) for column in columns]
    for value in values:
        select.append(f"COUNT({_q(value)})")
        select.append(f"percentile_cont(ARRAY[{fractions}]) WITHIN GROUP (ORDER BY {_q(value)})")
    sets = ", ".join("(" + ", ".join(map(_q, grouping)) + ")" for grouping in groupings)
    sql = f"SELECT {', '.join(select)} FROM ({inner}) AS d GROUP BY GROUPING SETS ({sets})"  # noqa: S608
    # GROUPING() sets a bit for each column *not* in the row's grouping (first column = highest bit).
    masks = {}
    for grouping in groupings:
        mask = 0
        for index, column in enumerate(columns):
            if column not in grouping:
                mask |= 1 << (len(columns) - 1 - index)
        masks[mask] = grouping
    result: Grouped = {grouping: {} for grouping in groupings}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            grouping = masks[row[0]]
            by_column = dict(zip(columns, row[1 : 1 + len(columns)], strict=True))
            key = tuple(by_column[column] for column in grouping)
            stats = {}
            for index, value in enumerate(values):
                count, pct = row[1 + len(columns) + 2 * index : 3 + len(columns) + 2 * index]
                stats[value] = Percentiles(n=count, p50=pct[0], p90=pct[1]) if count else EMPTY
            result[grouping][key] = stats
    return result


def _in_python(inner: str, params, groupings, values) -> Grouped:
    """SQLite: one query reads the durations; Python computes percentile_cont's interpolation.

    (Ranking with window functions in SQLite took about 2 s per grouping at 70,000 alerts;
    reading the rows once and sorting them in Python takes a fraction of that.)
    """
    columns = list(dict.fromkeys(column for grouping in groupings for column in grouping))
    select = ", ".join(map(_q, columns + list(values)))
    samples: dict[tuple, dict[tuple, dict[str, list[float]]]] = {grouping: {} for grouping in groupings}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM ({inner}) AS d", params)  # noqa: S608
        for row in cursor.fetchall():
            by_column = dict(zip(columns, row, strict=False))
            durations = row[len(columns) :]
            for grouping in groupings:
                key = tuple(by_column[column] for column in grouping)
                bucket = samples[grouping].setdefault(key, {value: [] for value in values})
                for value, duration in zip(values, durations, strict=True):
                    if duration is not None:
                        bucket[value].append(duration)
    result: Grouped = {grouping: {} for grouping in groupings}
    for grouping, groups in samples.items():
        for key, by_value in groups.items():
            result[grouping][key] = {value: _percentiles(sorted(by_value[value])) for value in values}
    return result


def _percentiles(ordered: list[float]) -> Percentiles:
    if not ordered:
        return EMPTY
    points = [_interpolate(ordered, fraction) for fraction in FRACTIONS]
    return Percentiles(n=len(ordered), p50=points[0], p90=points[1])


def _interpolate(ordered: list[float], fraction: float) -> float:
    """percentile_cont: linear interpolation between the two closest ranks."""
    position = fraction * (len(ordered) - 1)
    low = int(position)
    if low + 1 >= len(ordered):
        return float(ordered[low])
    return float(ordered[low]) + (position - low) * (float(ordered[low + 1]) - float(ordered[low]))
