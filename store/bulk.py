"""Many rows in one driver call: a Core INSERT or UPDATE compiled once per dialect, its rows
bound as plain tuples.

SQLAlchemy's ``execute(statement, rows)`` builds every row's parameters in Python (a dict per
row through the compiled statement, each value through its type's bind processor): some
10 µs a row, more than SQLite's own work for the row. The dispatcher writes a few hundred rows
a batch, several batches a second, so :class:`Bulk` compiles its statement once per dialect,
looks each parameter's bind processor up once, processes the values every row shares (a
batch's ``now``) once, and hands the rows to the DBAPI's ``executemany`` through
``exec_driver_sql``: the same connection, transaction and engine events as any statement.

Python-side column defaults (an INSERT's ``created_at``, an UPDATE's ``onupdate``
``updated_at``) are evaluated once per call, not per row: the rows of one call are written in
the same instant. They are called without an execution context (the store's take none).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from operator import itemgetter
from typing import Any

from sqlalchemy import Column, Connection, Dialect, Insert, Update
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any] | None


class Bulk:
    """``statement`` run with many rows: each row gives the values of ``row`` (bind parameter
    names, or for an INSERT column names) in that order; ``shared`` names the parameters every
    row of a call has in common.

    >>> marks = Bulk(update(tasks).where(tasks.c.id == bindparam("b_id"))
    ...              .values(sent_at=bindparam("b_now")), row=("b_id",), shared=("b_now",))
    >>> marks.run(connection, [(1,), (2,)], b_now=now)  # doctest: +SKIP
    """

    def __init__(self, statement: Insert | Update, *, row: Sequence[str],
                 shared: Sequence[str] = ()) -> None:
        self.statement = statement
        self.row = tuple(row)
        self.shared = tuple(shared)
        self._compiled: dict[str, _Compiled] = {}

    def run(self, connection: Connection, rows: Sequence[Sequence[object]],
            **shared: object) -> None:
        """Write ``rows`` in one ``executemany``; nothing when there are none.

        Raises:
            ValueError: a row of the wrong length, or ``shared`` values missing or unknown.
        """
        if not rows:
            return
        if set(shared) != set(self.shared):
            raise ValueError(f"shared values: expected {sorted(self.shared)}, "
                             f"got {sorted(shared)}")
        compiled = self._for(connection.dialect)
        parameters = compiled.parameters(rows, shared, len(self.row))
        connection.exec_driver_sql(compiled.sql, parameters)

    def _for(self, dialect: Dialect) -> _Compiled:
        found = self._compiled.get(dialect.name)
        if found is None:
            found = self._compiled[dialect.name] = _Compiled(self, dialect)
        return found


class _Compiled:
    """The statement's SQL for one dialect, and how a row becomes the driver's parameters."""

    def __init__(self, bulk: Bulk, dialect: Dialect) -> None:
        insert = isinstance(bulk.statement, Insert)
        keys = [*bulk.row, *bulk.shared] if insert else None
        compiled = bulk.statement.compile(dialect=dialect, column_keys=keys,
                                          for_executemany=True)  # no RETURNING
        assert isinstance(compiled, SQLCompiler)
        self.sql = compiled.string
        # columns the statement fills from a Python default (insert) or onupdate (update)
        self.prefetch = list(compiled.insert_prefetch if insert else compiled.update_prefetch)
        self.insert = insert
        names = list(compiled.positiontup or compiled.bind_names.values())
        binds = compiled.binds
        given = {*bulk.row, *bulk.shared, *(column.key for column in self.prefetch)}
        # the statement's own values (literals, a CASE's constants) are bound parameters too
        self.literals = {n: binds[n].effective_value for n in names
                         if n not in given and not binds[n].required}
        unknown = [n for n in names if n not in given and n not in self.literals]
        unknown += [n for n in self.literals if binds[n].callable is not None]  # not frozen
        if unknown:
            raise ValueError(f"{self.sql!r}: parameters {unknown} are neither row nor shared")
        self.positional = compiled.positional
        self.names = names
        place = {name: i for i, name in enumerate(bulk.row)}
        self.from_row = [place.get(name) for name in names]
        # the dialect's own processors, as SQLAlchemy applies them (SQLite: timestamps as text)
        self.processors: list[Processor] = [
            binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names]

    def parameters(self, rows: Sequence[Sequence[object]], shared: Mapping[str, object],
                   width: int) -> list[tuple[object, ...]] | list[dict[str, object]]:
        """The driver's parameters: each row's values (processed where the column's type has
        a processor) and the values all rows share, in the statement's order."""
        common = {**self.literals, **_defaults(self.prefetch, self.insert), **shared}
        fixed = tuple(_processed(processor, common[name]) for name, slot, processor
                      in zip(self.names, self.from_row, self.processors, strict=True)
                      if slot is None)
        # the statement's values are picked from the row followed by the fixed values
        places, extra = [], width
        for slot in self.from_row:
            places.append(extra if slot is None else slot)
            extra += slot is None
        pick = itemgetter(*places) if len(places) > 1 else lambda values: (values[places[0]],)
        # a value repeated in a call (a batch's due time) is processed once
        convert = [(slot, _Memo(processor)) for slot, processor
                   in dict(zip(self.from_row, self.processors, strict=True)).items()
                   if slot is not None and processor is not None]
        out: list[tuple[object, ...]] = []
        for row in rows:
            if len(row) != width:
                raise ValueError(f"a row of {len(row)} values; expected {width}")
            if convert:
                row = list(row)
                for slot, memo in convert:
                    if row[slot] is not None:
                        row[slot] = memo(row[slot])
            out.append(pick((*row, *fixed)))
        if self.positional:
            return out
        return [dict(zip(self.names, values, strict=True)) for values in out]


class _Memo:
    """A bind processor that remembers what it made of each (hashable) value."""

    def __init__(self, processor: Callable[[Any], Any]) -> None:
        self.processor = processor
        self.seen: dict[object, object] = {}

    def __call__(self, value: object) -> object:
        try:
            return self.seen[value]
        except KeyError:
            made = self.seen[value] = self.processor(value)
            return made
        except TypeError:  # unhashable (a JSON value): processed every time
            return self.processor(value)


def _processed(processor: Processor, value: object) -> object:
    return value if processor is None or value is None else processor(value)


def _defaults(columns: Sequence[Column[Any]], insert: bool) -> dict[str, object]:
    """The Python-side defaults (``insert``) or ``onupdate`` values of the columns rows do not
    give, evaluated now (a column with neither is left to the database, which refuses it if it
    is NOT NULL)."""
    values: dict[str, object] = {}
    for column in columns:
        default = column.default if insert else column.onupdate
        if default is not None and default.is_scalar:
            values[column.key] = default.arg  # type: ignore[attr-defined]
        elif default is not None and default.is_callable:
            values[column.key] = default.arg(None)  # type: ignore[attr-defined]
    return values
