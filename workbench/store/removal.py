"""Removing data: what a deletion would remove, counted before anything is removed, then the
deletion itself, followed by a compaction so the deleted bytes are gone from the file.

Every destructive command and the Gallery page say first what they will remove (people, faces,
search-log rows, and rows of any other table tied to those faces or people, such as
sightings), and deleting a whole gallery asks for a confirmation that names those counts. The
counts and the deletions use the same rows (:func:`workbench.store.audit.forget_in_log`,
:func:`workbench.store.sightings.forget_sightings`).

A table added later joins the preview when it names the faces, people or galleries it refers
to in a ``face_id``, ``person_id`` or ``gallery_id`` column.
"""

from __future__ import annotations

from typing import Any

from workbench.errors import GalleryError
from workbench.store import schema
from workbench.store.audit import forget_in_log
from workbench.store.db import Database, reads
from workbench.store.galleries import Galleries
from workbench.store.results import first
from workbench.store.sightings import WATCH_TABLES, count_sightings, forget_sightings
from workbench.store.vectors import FaceVersions

#: The tables whose rows a gallery deletion removes directly; any other data table is counted
#: through its ``face_id`` / ``person_id`` / ``gallery_id`` column (see :func:`_linked_tables`).
_CORE = ("galleries", "people", "faces", "searches")
_LINKS = ("face_id", "person_id", "gallery_id")


def _linked_tables(cur: Any) -> dict[str, str]:
    """Data tables other than the core ones that refer to faces, people or galleries: table ->
    the most specific link column it has."""
    rows = cur.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = current_database() "
        "AND schema_name = current_schema() AND column_name IN ('face_id', 'person_id', 'gallery_id')"
    ).fetchall()
    found: dict[str, str] = {}
    for table, column in rows:
        if table in _CORE or table in WATCH_TABLES or table == "meta":  # counted by their own rules
            continue
        if table not in found or _LINKS.index(column) < _LINKS.index(found[table]):
            found[table] = column
    return found


def _count_in_log(cur: Any, face_ids: list[int]) -> int:
    if not face_ids:
        return 0
    row = first(cur.execute("SELECT count(*) FROM searches "
                            "WHERE list_has_any(flatten(result_face_ids), ?::BIGINT[])", [face_ids]))
    return int(row[0])


class Removal:
    """Deletions from ``db``, and what each would remove (faces changed are told to ``versions``)."""

    def __init__(self, db: Database, galleries: Galleries, versions: FaceVersions) -> None:
        self.db, self.galleries, self.versions = db, galleries, versions

    @reads
    def counts(self, gallery: str, *, person: str | None = None,
                        face_id: int | None = None) -> dict[str, int]:
        """Rows that deleting gallery ``gallery`` (or one ``person`` or one ``face_id`` of it)
        would remove, per table: ``{"people": n, "faces": n, "searches": n, ...}``, plus any
        linked table (``sightings``). Raises :class:`GalleryError` for an unknown gallery,
        person or face, as the deletion itself would; changes nothing."""
        cur = self.db.cursor()
        gid = self.galleries.id(gallery, cur=cur)
        if face_id is not None:
            row = first(cur.execute("SELECT g.name FROM faces f JOIN galleries g ON g.id = f.gallery_id "
                                    "WHERE f.id = ?", [int(face_id)]))
            if not row:
                raise GalleryError(f"no face with id {face_id}")
            if row[0] != gallery:
                raise GalleryError(f"face {face_id} is in gallery {row[0]!r}, not in {gallery!r}; nothing was deleted")
            faces, people = [int(face_id)], []
        elif person is not None:
            row = first(cur.execute("SELECT id FROM people WHERE gallery_id = ? AND name = ?", [gid, person]))
            if not row:
                raise GalleryError(f"no person {person!r} in gallery {gallery!r}")
            people = [int(row[0])]
            faces = [r[0] for r in cur.execute("SELECT id FROM faces WHERE person_id = ?", people).fetchall()]
        else:
            people = [r[0] for r in cur.execute("SELECT id FROM people WHERE gallery_id = ?", [gid]).fetchall()]
            faces = [r[0] for r in cur.execute("SELECT id FROM faces WHERE gallery_id = ?", [gid]).fetchall()]
        if face_id is None and person is None:  # the whole gallery: its own log rows go too
            searches = int(first(cur.execute("SELECT count(*) FROM searches WHERE gallery = ?", [gallery]))[0])
        else:
            searches = _count_in_log(cur, faces)
        counts = {"people": len(people), "faces": len(faces), "searches": searches}
        if face_id is None:  # a face's deletion leaves its person's sightings; a person's or a gallery's takes them
            counts.update(count_sightings(cur, gid, gallery, None if person is None else people))
        ids = {"face_id": faces, "person_id": people, "gallery_id": [gid] if face_id is None and person is None else []}
        for table, column in _linked_tables(cur).items():
            if column == "gallery_id" and not ids["gallery_id"]:  # rows tied only to the gallery stay
                continue
            counts[table] = int(first(cur.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}" IN (SELECT unnest(?::BIGINT[]))',
                [[int(i) for i in ids[column]]]))[0])
        return counts

    @reads
    def purge_counts(self) -> dict[str, int]:
        """Rows that purging everything would remove, per data table (every table but ``meta``)."""
        cur = self.db.cursor()
        return {t: int(first(cur.execute(f'SELECT count(*) FROM "{t}"'))[0]) for t in self.db.data_tables()}

    # -- the deletions ----------------------------------------------------------------------

    def _empty(self, name: str, *, drop: bool) -> int:
        with self.db.transaction() as cur:
            gid = self.galleries.id(name, cur=cur)
            n = first(cur.execute("SELECT count(*) FROM faces WHERE gallery_id = ?", [gid]))[0]
            cur.execute("DELETE FROM searches WHERE gallery = ?", [name])
            forget_sightings(cur, gid, name)
            cur.execute("DELETE FROM faces WHERE gallery_id = ?", [gid])
            cur.execute("DELETE FROM people WHERE gallery_id = ?", [gid])
            if drop:
                cur.execute("DELETE FROM galleries WHERE id = ?", [gid])
        self.versions.changed(gid)
        self.db.compact()
        return int(n)

    def delete_gallery(self, name: str) -> int:
        """Remove a gallery with its people, faces, search-log rows and everything the watch stored
        for it, and compact the file; returns the number of faces removed."""
        return self._empty(name, drop=True)

    def purge_gallery(self, name: str) -> int:
        """Empty a gallery (faces, people, its search-log rows, its sightings) but keep it, with its
        model, and compact the file; returns faces removed."""
        return self._empty(name, drop=False)

    def delete_face(self, gallery: str, face_id: int) -> None:
        """Remove one face of ``gallery``, the search-log rows that returned it, and compact
        the file. A face id of another gallery is refused (naming where it is), not deleted."""
        with self.db.transaction() as cur:
            gid = self.galleries.id(gallery, cur=cur)
            row = first(cur.execute("SELECT g.name FROM faces f JOIN galleries g ON g.id = f.gallery_id "
                                    "WHERE f.id = ?", [face_id]))
            if not row:
                raise GalleryError(f"no face with id {face_id}")
            if row[0] != gallery:
                raise GalleryError(f"face {face_id} is in gallery {row[0]!r}, not in {gallery!r}; "
                                   "nothing was deleted")
            forget_in_log(cur, [face_id])
            cur.execute("DELETE FROM faces WHERE id = ?", [face_id])
        self.versions.changed(gid)
        self.db.compact()

    def delete_person(self, gallery: str, name: str) -> int:
        """Remove a person, all their faces and the search-log rows that returned them; returns
        faces removed. The file is compacted so the deleted bytes are gone from it."""
        with self.db.transaction() as cur:
            gid = self.galleries.id(gallery, cur=cur)
            row = first(cur.execute("SELECT id FROM people WHERE gallery_id = ? AND name = ?", [gid, name]))
            if not row:
                raise GalleryError(f"no person {name!r} in gallery {gallery!r}")
            ids = [r[0] for r in cur.execute("SELECT id FROM faces WHERE person_id = ?", [row[0]]).fetchall()]
            forget_in_log(cur, ids)
            forget_sightings(cur, gid, gallery, [row[0]])
            cur.execute("DELETE FROM faces WHERE person_id = ?", [row[0]])
            cur.execute("DELETE FROM people WHERE id = ?", [row[0]])
        self.versions.changed(gid)
        self.db.compact()
        return len(ids)

    def purge_all(self) -> dict[str, int]:
        """Purge everything: empty every table but ``meta`` (galleries, people, faces, the search
        log and any table added later, such as caches), remove derived files, compact.

        Returns the number of rows removed per table.
        """
        removed: dict[str, int] = {}
        with self.db.transaction() as cur:
            for table in schema.data_tables(cur):
                removed[table] = int(first(cur.execute(f'SELECT count(*) FROM "{table}"'))[0])
                cur.execute(f'DELETE FROM "{table}"')
        self.versions.changed(None)
        self.db.compact()  # removes the derived files too
        return removed


#: How each table's rows are named in a sentence (any other table: by its own name).
_WORDS = {"galleries": ("gallery", "galleries"), "people": ("person", "people"), "faces": ("face", "faces"),
          "searches": ("search-log row", "search-log rows"), "sightings": ("sighting", "sightings"),
          "identities": ("anonymous identity", "anonymous identities"),
          "watchlist": ("watchlist entry", "watchlist entries"), "watch_runs": ("watch run", "watch runs"),
          "watch_progress": ("camera progress mark", "camera progress marks"),
          "embedding_cache": ("cached vector", "cached vectors")}


def describe(counts: dict[str, int]) -> str:
    """``{"people": 1, "faces": 2, "searches": 0}`` -> ``"1 person, 2 faces and 0 search-log rows"``."""
    parts = []
    for table, n in counts.items():
        one, many = _WORDS.get(table, (f"{table} row", f"{table} rows"))
        parts.append(f"{n} {one if n == 1 else many}")
    if len(parts) > 1:
        return ", ".join(parts[:-1]) + " and " + parts[-1]
    return parts[0] if parts else "nothing"
