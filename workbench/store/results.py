"""Reading DuckDB results: always consumed whole.

duckdb 2 refuses other work on a connection (``register``, a new statement) while a result
of ``execute()`` is only partly read, so a single row is read with :func:`first`, and frames
and bulk data with :func:`query_arrow` / :func:`query_frame`, through duckdb 2's relations
(``cursor.sql(query, params=...)``; an ``execute()`` result's Arrow output costs an extra copy).
"""

from __future__ import annotations

from typing import Any

import polars as pl


def first(cur: Any) -> tuple | None:
    """The first row of the pending result of ``cur`` (``None`` when empty), the result consumed
    whole: duckdb 2 refuses other work on a connection whose result was left half-read."""
    rows = cur.fetchall()
    return rows[0] if rows else None


def query_arrow(cur: Any, sql: str, params: list | None = None) -> Any:
    """The whole result of ``sql`` as a pyarrow Table."""
    return cur.sql(sql, params=params or None).to_arrow_table()


def query_frame(cur: Any, sql: str, params: list | None = None) -> pl.DataFrame:
    """The whole result of ``sql`` as a polars DataFrame."""
    return cur.sql(sql, params=params or None).pl()
