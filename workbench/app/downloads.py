"""Download buttons for tables and reports: CSV beside Parquet, strict JSON (Streamlit glue)."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from workbench.app.ui import literal


def audit_json(report) -> bytes:
    """The audit's figures as strict JSON bytes (no NaN), for a download button."""
    from workbench.evaluation.reports import audit_report

    return json.dumps(audit_report.as_dict(report), indent=2, allow_nan=False, default=str).encode()


def table_downloads(tables: dict[str, Any], prefix: str) -> None:
    """A CSV button (a spreadsheet opens it) beside a Parquet button for each table, built in memory."""
    import io

    for name, df in tables.items():
        cols = st.columns([2, 1, 1])
        cols[0].caption(f"{literal(name)}: {df.height} rows")
        cols[1].download_button("CSV", df.write_csv().encode("utf-8"), file_name=f"{prefix}-{name}.csv",
                                mime="text/csv", key=f"{prefix}_{name}_csv")
        buf = io.BytesIO()
        df.write_parquet(buf)
        cols[2].download_button("Parquet", buf.getvalue(), file_name=f"{prefix}-{name}.parquet",
                                mime="application/octet-stream", key=f"{prefix}_{name}_parquet")


def spreadsheet_csv(parquet: bytes) -> bytes:
    """The CSV twin of a Parquet download: lists and records become JSON text, raw bytes (face
    thumbnails) are left out, so a spreadsheet opens it."""
    import io

    import polars as pl

    df = pl.read_parquet(io.BytesIO(parquet))
    keep = [c for c, t in df.schema.items() if t != pl.Binary]
    out = df.select(keep).with_columns(
        [pl.col(c).map_elements(lambda v: json.dumps(v.to_list() if hasattr(v, "to_list") else v),
                                return_dtype=pl.String)
         for c, t in df.schema.items() if c in keep and isinstance(t, (pl.List, pl.Array, pl.Struct))])
    return out.write_csv().encode("utf-8")
