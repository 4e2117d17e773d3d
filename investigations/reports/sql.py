"""Durations and their percentiles, computed by the database.

The ORM builds the filtered row set (group columns + durations in seconds); this module wraps
it in one aggregate query. PostgreSQL computes every grouping in a single pass with
``GROUPING SETS`` and ``percentile_cont``; SQLite, which has neither, ranks the rows with
window functions (one query per grouping) and only the two rows around each percentile come
back to Python for the linear interpolation that ``percentile_cont`` does.
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
    """One read transaction for a report's queries, tuned for them on PostgreSQL.

    - JIT off: the correlated sub-queries make the planner's cost estimates large enough to
      trigger JIT, whose compilation (0.5–1.5 s, measured at 200,000 alerts) costs more than
      the queries themselves.
    - More sort memory for this transaction only: each percentile sorts its group's durations,
      and with the default 4 MB the sorts of 100,000s of rows spill to disk.
    """
    with transaction.atomic():
        if connection.vendor == "postgresql":
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
    return {grouping: _ranked(sql, params, grouping, values) for grouping in groupings}


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


def _ranked(inner: str, params, grouping: tuple[str, ...], values) -> dict[tuple, dict[str, Percentiles]]:
    """Portable percentile_cont: rank each value within its group, keep the rows around each rank."""
    partition = f"PARTITION BY {', '.join(map(_q, grouping))}" if grouping else ""
    ranks, select = [], [_q(column) for column in grouping]
    for i, value in enumerate(values):
        v = _q(value)
        ranks.append(f"ROW_NUMBER() OVER ({partition} ORDER BY {v} IS NULL, {v}) AS rn{i}")
        ranks.append(f"COUNT({v}) OVER ({partition}) AS n{i}")
        select.append(f"MAX(n{i})")
        for fraction in FRACTIONS:
            position = f"(1 + {fraction} * (n{i} - 1))"
            low = f"CAST({position} AS INTEGER)"
            select.append(f"MAX(CASE WHEN rn{i} = {low} THEN {v} END)")
            select.append(f"MAX(CASE WHEN rn{i} = {low} + 1 THEN {v} END)")
            select.append(f"MAX({position} - {low})")
    group_by = f"GROUP BY {', '.join(map(_q, grouping))}" if grouping else ""
    sql = f"SELECT {', '.join(select)} FROM (SELECT d.*, {', '.join(ranks)} FROM ({inner}) AS d) AS r {group_by}"  # noqa: S608
    result: dict[tuple, dict[str, Percentiles]] = {}
    per_value = 1 + 3 * len(FRACTIONS)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for row in cursor.fetchall():
            key, rest = tuple(row[: len(grouping)]), row[len(grouping) :]
            stats = {}
            for i, value in enumerate(values):
                chunk = rest[i * per_value : (i + 1) * per_value]
                count = chunk[0] or 0
                if not count:
                    stats[value] = EMPTY
                    continue
                points = [_interpolate(*chunk[1 + 3 * j : 4 + 3 * j]) for j in range(len(FRACTIONS))]
                stats[value] = Percentiles(n=count, p50=points[0], p90=points[1])
            if not grouping and all(s.n == 0 for s in stats.values()):
                continue  # an empty input still yields one row without GROUP BY
            result[key] = stats
    return result


def _interpolate(low: float | None, high: float | None, weight: float | None) -> float | None:
    if low is None:
        return None
    if high is None or not weight:
        return float(low)
    return float(low) + float(weight) * (float(high) - float(low))
