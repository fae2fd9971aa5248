"""Reading DuckDB results the same way under duckdb 1.5 and 2.x: always consumed whole.

duckdb 2 refuses other work on a connection (``register``, a new statement) while a result
of ``execute()`` is only partly read, so a single row is read with :func:`first`, and frames
and bulk data with :func:`query_arrow` / :func:`query_frame`, which take the fast path of each
version: duckdb 2's relations (``cursor.sql(query, params=...)``; an ``execute()`` result's
Arrow output costs an extra copy there), duckdb 1.5's ``execute()`` (its relations with
parameters scanned 200,000 vectors 30x slower: 30 s against 1 s, measured 2026-12-01).
"""

from __future__ import annotations

from typing import Any

import polars as pl


def first(cur: Any) -> tuple | None:
    """The first row of the pending result of ``cur`` (``None`` when empty), the result consumed
    whole: duckdb 2 refuses other work on a connection whose result was left half-read."""
    rows = cur.fetchall()
    return rows[0] if rows else None


def _duckdb_2() -> bool:
    import duckdb

    return int(duckdb.__version__.split(".")[0]) >= 2


def query_arrow(cur: Any, sql: str, params: list | None = None) -> Any:
    """The whole result of ``sql`` as a pyarrow Table."""
    if _duckdb_2():
        return cur.sql(sql, params=params or None).to_arrow_table()
    result = cur.execute(sql, params or [])
    return (getattr(result, "to_arrow_table", None) or result.fetch_arrow_table)()


def query_frame(cur: Any, sql: str, params: list | None = None) -> pl.DataFrame:
    """The whole result of ``sql`` as a polars DataFrame."""
    if _duckdb_2():
        return cur.sql(sql, params=params or None).pl()
    return cur.execute(sql, params or []).pl()
