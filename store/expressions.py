"""SQL expressions whose best form differs by database.

:func:`unindexed`: SQLite keeps no statistics unless ``ANALYZE`` has run, so for
``id IN (...) AND status = 'scheduled'`` its planner may search the status index (every
scheduled task of the queue) instead of the hundred ids by primary key; a claim then costs
more the longer the queue. ``+status`` is SQLite's documented way to rule an index out for one
term. PostgreSQL's planner has statistics: there the column stays as it is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal


class _Unindexed(ColumnElement[Any]):
    inherit_cache = True
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement)]

    def __init__(self, column: ColumnElement[Any]) -> None:
        self.column = column
        self.type = column.type


def unindexed(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``column`` in a condition that SQLite must not answer from an index on it."""
    return _Unindexed(column)


@compiles(_Unindexed)
def _plain(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return compiler.process(element.column, **kw)


@compiles(_Unindexed, "sqlite")
def _no_index(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.column, **kw)
