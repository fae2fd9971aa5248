"""Reading DuckDB results the same way under duckdb 1.5 and 2.x: always consumed whole.

duckdb 2 refuses other work on a connection (``register``, a new statement) while a result
of ``execute()`` is only partly read, so a single row is read with :func:`first`, and frames and bulk data through relations
(``cursor.sql(query, params=...).pl()`` or ``.to_arrow_table()``, which also avoids the extra
copy that Arrow output of an ``execute()`` result makes under duckdb 2).
"""

from __future__ import annotations

from typing import Any


def first(cur: Any) -> tuple | None:
    """The first row of the pending result of ``cur`` (``None`` when empty), the result consumed
    whole: duckdb 2 refuses other work on a connection whose result was left half-read."""
    rows = cur.fetchall()
    return rows[0] if rows else None
