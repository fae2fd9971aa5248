"""The gallery schema: tables, the ``meta`` rows (the file's vector size), and migrations.

A file holds vectors of one size (``meta.dim``, the ``FLOAT[dim]`` column: fixed-size arrays
read straight into numpy, which the million-face search relies on), and galleries of any models
of that size side by side: each gallery states its model (``galleries.model``), and its vectors
are only ever compared with vectors of that model. Dlib and SFace (both 128-d) share a file;
a 512-d model needs a file of its own. ``meta.model`` is the model of the older one-model layout:
a file made then is migrated with it (its galleries take that model); a new file names a model
of its size there, for older versions of the workbench that read it.

Change the schema here: new tables go in :func:`create`, and a file made before the change
gets them in :func:`migrate`. DuckDB 1.5 cannot replay an ``ALTER TABLE ... ADD COLUMN``
from its write-ahead log on a table whose defaults call ``nextval`` (the file no longer
opens after a crash), so a migration is always followed by a ``CHECKPOINT``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.errors import DatabaseError
from workbench.store.results import first

SCHEMA_VERSION = "1"
#: The vector size of a new file unless asked otherwise: Dlib's and SFace's (both 128-d).
DEFAULT_DIM = 128

#: Search-log columns an auditor needs beyond the original ones (who/when is out of scope:
#: there are no accounts; ``searched_at`` says when).
AUDIT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("workbench_version", "VARCHAR"), ("client", "VARCHAR"), ("probe_sha256", "VARCHAR"),
    ("probe_width", "INTEGER"), ("probe_height", "INTEGER"), ("probe_boxes", "INTEGER[][]"),
    ("upsample", "INTEGER"), ("max_side", "INTEGER"), ("per_person", "BOOLEAN"),
    ("similarity_base", "DOUBLE"), ("gallery_faces", "INTEGER"), ("result_people", "VARCHAR[][]"),
    ("result_match", "BOOLEAN[][]"), ("probe_image", "BLOB"),
    ("probe_quality", "VARCHAR[]"),  # per face found: "ok" or the quality gate's reason (not searched)
    # a search of the sightings log by photo: the sightings it returned and how many it compared
    ("result_sighting_ids", "BIGINT[][]"), ("sightings_searched", "BIGINT"),
)


#: Columns added to ``people`` after the first release: the stated reason when a person is
#: enrolled without consent (a public figure, a research exception), and when the choice was made.
PEOPLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("consent_reason", "VARCHAR"), ("consent_at", "TIMESTAMP"),
)


#: The city-cameras tables (issue 13): watch runs, the sightings log, anonymous identities,
#: watchlists and where each camera's file got to. Vectors are ``FLOAT[]`` with their model
#: beside them, so the tables do not depend on one model's dimension.
WATCH_SEQUENCES = ("watch_run_ids", "sighting_ids", "identity_ids")
#: Columns added to the watch's tables after they first shipped (issue 21): why a sighting stayed
#: unknown, in words (the quality gate's rule, or how far under the threshold its best candidate was).
SIGHTING_COLUMNS: tuple[tuple[str, str], ...] = (("why_unknown", "VARCHAR"),)
WATCH_TABLES: dict[str, str] = {
    "watch_runs": (
        "CREATE TABLE IF NOT EXISTS watch_runs (id INTEGER PRIMARY KEY DEFAULT nextval('watch_run_ids'), "
        "started_at TIMESTAMP DEFAULT current_timestamp, ended_at TIMESTAMP, gallery VARCHAR NOT NULL, "
        "model VARCHAR, detector VARCHAR, metric VARCHAR, threshold DOUBLE, alert_threshold DOUBLE, "
        "identity_threshold DOUBLE, sources VARCHAR[], mode VARCHAR, keep_chips BOOLEAN, status VARCHAR, "
        "sightings INTEGER DEFAULT 0, alerts INTEGER DEFAULT 0, notes VARCHAR)"),
    "sightings": (
        "CREATE TABLE IF NOT EXISTS sightings (id BIGINT PRIMARY KEY DEFAULT nextval('sighting_ids'), "
        "run_id INTEGER NOT NULL, gallery_id INTEGER NOT NULL, camera VARCHAR NOT NULL, source VARCHAR, "
        "track INTEGER, decision INTEGER, first_frame BIGINT, last_frame BIGINT, first_video_s DOUBLE, "
        "last_video_s DOUBLE, first_seen TIMESTAMP, last_seen TIMESTAMP, person_id INTEGER, "
        "candidate_id INTEGER, identity_id INTEGER, distance DOUBLE, similarity DOUBLE, threshold DOUBLE, "
        "model VARCHAR, box INTEGER[4], checks INTEGER DEFAULT 1, alert BOOLEAN DEFAULT false, "
        "watchlists VARCHAR[], embedding FLOAT[], chip BLOB, "
        + ", ".join(f"{name} {sql_type}" for name, sql_type in SIGHTING_COLUMNS) + ")"),
    "identities": (
        "CREATE TABLE IF NOT EXISTS identities (id INTEGER PRIMARY KEY DEFAULT nextval('identity_ids'), "
        "gallery_id INTEGER NOT NULL, model VARCHAR NOT NULL, label VARCHAR NOT NULL, centroid FLOAT[], "
        "members INTEGER DEFAULT 0, created_at TIMESTAMP DEFAULT current_timestamp)"),
    "watchlist": (
        "CREATE TABLE IF NOT EXISTS watchlist (gallery_id INTEGER NOT NULL, person_id INTEGER NOT NULL, "
        "list VARCHAR NOT NULL, added_at TIMESTAMP DEFAULT current_timestamp)"),
    # one row per camera of a run: its camera-quality setting, and the conditions it made in words
    "watch_cameras": (
        "CREATE TABLE IF NOT EXISTS watch_cameras (run_id INTEGER NOT NULL, camera VARCHAR NOT NULL, "
        "source VARCHAR, quality VARCHAR, conditions VARCHAR)"),
    "watch_progress": (
        "CREATE TABLE IF NOT EXISTS watch_progress (gallery_id INTEGER NOT NULL, camera VARCHAR NOT NULL, "
        "source VARCHAR NOT NULL, frame BIGINT, video_s DOUBLE, run_id INTEGER, "
        "updated_at TIMESTAMP DEFAULT current_timestamp)"),
}


def _create_watch_tables(cur: Any) -> None:
    for seq in WATCH_SEQUENCES:
        cur.execute(f"CREATE SEQUENCE IF NOT EXISTS {seq}")
    for ddl in WATCH_TABLES.values():
        cur.execute(ddl)


def create(cur: Any, dim: int) -> None:
    """Every table of a new database (inside the caller's transaction)."""
    for seq in ("gallery_ids", "person_ids", "face_ids", "search_ids"):
        cur.execute(f"CREATE SEQUENCE {seq}")
    cur.execute("CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR)")
    cur.execute(
        "CREATE TABLE galleries (id INTEGER PRIMARY KEY DEFAULT nextval('gallery_ids'), "
        "name VARCHAR NOT NULL UNIQUE, created_at TIMESTAMP DEFAULT current_timestamp, model VARCHAR)"
    )
    cur.execute(
        "CREATE TABLE people (id INTEGER PRIMARY KEY DEFAULT nextval('person_ids'), "
        "gallery_id INTEGER NOT NULL, name VARCHAR NOT NULL, notes VARCHAR DEFAULT '', "
        "consent BOOLEAN, created_at TIMESTAMP DEFAULT current_timestamp, "
        + ", ".join(f"{name} {sql_type}" for name, sql_type in PEOPLE_COLUMNS) + ")"
    )
    cur.execute(
        "CREATE TABLE faces (id BIGINT PRIMARY KEY DEFAULT nextval('face_ids'), "
        "gallery_id INTEGER NOT NULL, person_id INTEGER NOT NULL, "
        "image_sha256 VARCHAR NOT NULL, source_path VARCHAR, box INTEGER[4], "
        "landmarks FLOAT[10], quality STRUCT(size INTEGER, sharpness DOUBLE, "
        "brightness DOUBLE, yaw DOUBLE), det_score DOUBLE, model VARCHAR NOT NULL, "
        f"detector VARCHAR, embedding FLOAT[{dim}] NOT NULL, thumbnail BLOB, "
        "enrolled_at TIMESTAMP DEFAULT current_timestamp)"
    )
    cur.execute(
        "CREATE TABLE searches (id BIGINT PRIMARY KEY DEFAULT nextval('search_ids'), "
        "searched_at TIMESTAMP DEFAULT current_timestamp, gallery VARCHAR, model VARCHAR, "
        "detector VARCHAR, metric VARCHAR, threshold DOUBLE, top_k INTEGER, "
        "n_faces INTEGER, result_face_ids BIGINT[][], result_distances FLOAT[][], "
        "detect_ms DOUBLE, embed_ms DOUBLE, search_ms DOUBLE, source VARCHAR, "
        + ", ".join(f"{name} {sql_type}" for name, sql_type in AUDIT_COLUMNS) + ")"
    )
    _create_watch_tables(cur)
    cur.executemany(
        "INSERT INTO meta VALUES (?, ?)",
        [["schema_version", SCHEMA_VERSION], ["model", _legacy_model(dim)], ["dim", str(dim)]],
    )


#: The model of the versions that read ``meta.model`` as the whole file's: their default (Dlib).
OLDER_VERSIONS_MODEL = "Dlib"


def _legacy_model(dim: int) -> str:
    """``meta.model`` of a new file: unused by this version (each gallery states its model), it is
    what an older version of the workbench takes for the file's model, so it names a model of the
    file's vector size, the older versions' own default where it fits (Dlib for 128-d)."""
    from workbench.pipeline import zoo

    sized = [name for name in zoo.embedder_names() if zoo.embedder(name).dim == dim]
    return OLDER_VERSIONS_MODEL if OLDER_VERSIONS_MODEL in sized else (sized[0] if sized else "")


def blank(cur: Any) -> bool:
    """No table at all: DuckDB made the file, and the process died before our schema landed."""
    return first(cur.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database()"))[0] == 0


def check_meta(cur: Any, path: Path, dim: int | None) -> tuple[str | None, int]:
    """Refuse a file that is not a workbench database, or (with ``dim``) whose vectors are not
    ``dim``-d; returns the model a file of an older version was made for (``None`` for a file of
    this version) and the file's vector size."""
    import duckdb

    from workbench.pipeline import zoo

    try:
        meta = dict(cur.execute("SELECT key, value FROM meta").fetchall())
    except duckdb.Error:
        raise DatabaseError(f"{path}: not a workbench database (no meta table)") from None
    have = int(meta.get("dim") or 0)
    if dim is not None and have != dim:
        fits = ", ".join(n for n in zoo.embedder_names() if zoo.embedder(n).dim == have) or "none of the known models"
        raise DatabaseError(f"{path}: holds {have}-d vectors (models: {fits}); {dim}-d vectors need a file "
                            "of their own: use --db for another file")
    return meta.get("model"), have


def migrate(cur: Any, file_model: str | None) -> None:
    """Bring a file made by an older version up to date, and checkpoint at once.

    Additive only: missing columns are added (galleries made before models were per gallery get
    the model of their faces, else the file's). Nothing is written when nothing is missing (a
    read-only file can still be opened).
    """
    missing = []
    tables = set(data_tables(cur))
    for table, columns in (("searches", AUDIT_COLUMNS), ("people", PEOPLE_COLUMNS), ("sightings", SIGHTING_COLUMNS)):
        if table not in tables:
            continue  # made whole below
        have = {r[0] for r in cur.execute(f"DESCRIBE {table}").fetchall()}
        missing += [(table, n, t) for n, t in columns if n not in have]
    missing_tables = [t for t in WATCH_TABLES if t not in tables]
    gallery_model = not galleries_state_models(cur)
    if not missing and not missing_tables and not gallery_model:
        return
    for table, name, sql_type in missing:
        cur.execute(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}")
    if missing_tables:  # a file from before the sightings log
        _create_watch_tables(cur)
    if gallery_model:
        cur.execute("ALTER TABLE galleries ADD COLUMN model VARCHAR")
        cur.execute("UPDATE galleries SET model = coalesce((SELECT any_value(f.model) FROM faces f "
                    "WHERE f.gallery_id = galleries.id), ?)", [file_model])
    cur.execute("CHECKPOINT")


def galleries_state_models(cur: Any) -> bool:
    """Whether the ``galleries`` table has its ``model`` column (every file from this version on)."""
    return "model" in {r[0] for r in cur.execute("DESCRIBE galleries").fetchall()}


def data_tables(cur: Any) -> list[str]:
    """Every table of the database except ``meta``: all that may hold face data."""
    rows = cur.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND table_name <> 'meta' ORDER BY table_name").fetchall()
    return [r[0] for r in rows]
