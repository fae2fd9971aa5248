"""The DuckDB connection of one process: opening, locks, transactions and compaction.

One :class:`Database` per process owns the single DuckDB connection; each thread works on
its own ``cursor()``. Every write happens in one transaction, so a failure leaves no
half-written rows. ``path=":memory:"`` (classroom mode) keeps everything in memory and
writes nothing to disk.

Privacy: DuckDB keeps deleted rows' bytes in freed blocks of the file, so every deletion is
followed by :meth:`Database.compact`, which rewrites the file and removes the files derived
from it (:mod:`workbench.store.derived`).
"""

from __future__ import annotations

import functools
import os
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import polars as pl

from workbench.errors import DatabaseError, GalleryError
from workbench.store import derived, schema
from workbench.store.results import first, query_frame

#: The path that means "keep the gallery in memory, write nothing to disk" (classroom mode).
MEMORY = ":memory:"


def first_line(err: Exception) -> str:
    """The first line of an error's text (DuckDB's messages run over several lines)."""
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def _locked_message(path: Path, err: Exception) -> str:
    pid = re.search(r"PID (\d+)", str(err))
    who = f" (process {pid.group(1)})" if pid else ""
    return (
        f"{path}: the database is locked by another process{who}; "
        "close the other workbench (app or CLI) and retry"
    )


class _SharedLock:
    """Many readers at once, or one exclusive holder (compaction, which swaps the connection).

    Re-entrant for readers, so a read method may call another. Hand-written (30 lines): the
    reader/writer lock packages on PyPI are not re-entrant per thread, which nested reads need.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._exclusive = False
        self._local = threading.local()

    @contextmanager
    def shared(self) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            with self._cond:
                self._cond.wait_for(lambda: not self._exclusive)
                self._readers += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                with self._cond:
                    self._readers -= 1
                    self._cond.notify_all()

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._cond.wait_for(lambda: not self._exclusive)
            self._exclusive = True
            self._cond.wait_for(lambda: self._readers == 0)
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


def reads(method):
    """A read method of a part of the store (an object whose ``db`` is its :class:`Database`):
    runs while no compaction is swapping the connection underneath it."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self.db.reading():
            return method(self, *args, **kwargs)
    return wrapper


class Database:
    """The workbench database file at ``path``: its connection, locks, transactions and compaction.

    It knows no model: a file holds vectors of one size (``dim``), in galleries that each state
    their own model (:class:`~workbench.store.galleries.Galleries`); every read and write of
    vectors names its model.

    Args:
        path: the DuckDB file; created (with its folder) when missing unless ``create`` is false.
        dim: the vector size of a file created here (default :data:`schema.DEFAULT_DIM`, the size
            of Dlib's and SFace's vectors); an existing file keeps its own, and with ``dim`` given,
            one of another size is refused (a model of that size needs a file of its own).
        create: create a missing file; when false, a missing file is a :class:`DatabaseError`.
        read_only: open without write access (several readers may share the file).
    """

    def __init__(self, path: str | os.PathLike, *, dim: int | None = None, create: bool = True,
                 read_only: bool = False) -> None:
        import duckdb

        self.path = Path(path)
        #: the file's vector size
        self.dim = int(dim or schema.DEFAULT_DIM)
        self.in_memory = str(path) == MEMORY
        self.read_only = read_only
        self._local = threading.local()
        self._generation = 0  # bumped when compact() reconnects: cursors of the old connection are stale
        self._rw = _SharedLock()  # read methods share it; compact() takes it alone
        # DuckDB allows one writer per process at a time anyway; serialising our own
        # transactions turns write-write conflicts between threads into a short wait.
        self._write_lock = threading.RLock()
        #: the model a file of an older version was made for, and whether its galleries state their
        #: own (a file of an older version opened read-only cannot be migrated: its galleries are all
        #: ``file_model``'s); a file of this version states a model per gallery
        self.file_model: str | None = None
        self.gallery_models = True
        if self.in_memory:
            self._con = duckdb.connect(MEMORY)
            self._create_schema()
            return
        exists = self.path.exists()
        if exists and self.path.is_dir():
            raise DatabaseError(f"{self.path}: is a folder, not a database file")
        if exists and self.path.stat().st_size == 0:
            _refuse_empty(self.path)
        if not exists and (not create or read_only):
            raise DatabaseError(f"{self.path}: no database here yet (enrol some faces first)")
        if not exists:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = _connect(self.path, read_only)
        if not read_only:  # a compaction killed before its swap leaves a stale copy; the old file is intact
            for leftover in (".compact", ".compact.wal"):
                self.path.with_name(self.path.name + leftover).unlink(missing_ok=True)
        try:
            if exists and schema.blank(self.cursor()):  # a creation killed before its schema was committed
                if read_only:
                    raise DatabaseError(f"{self.path}: an empty database (its creation was interrupted); "
                                        "enrol some faces first")
                self._create_schema()
            elif exists:
                self.file_model, self.dim = schema.check_meta(self.cursor(), self.path, dim)
                if not read_only:
                    with self._write_lock:
                        schema.migrate(self.cursor(), self.file_model)
                self.gallery_models = schema.galleries_state_models(self.cursor())
            else:
                self._create_schema()
        except Exception:
            self._con.close()
            if not exists:  # a half-created file must not be left behind
                for leftover in (self.path, self.path.with_name(self.path.name + ".wal")):
                    leftover.unlink(missing_ok=True)
            raise

    def _create_schema(self) -> None:
        with self.transaction() as cur:
            schema.create(cur, self.dim)

    # -- connection plumbing ------------------------------------------------------------

    def cursor(self):
        """This thread's cursor on the shared connection.

        Only the storage layer runs SQL; it reads through the cursor inside :meth:`reading`
        (or a ``@reads`` method), so a compaction in another thread does not close the
        connection under the query.
        """
        cur = getattr(self._local, "cur", None)
        if cur is None or getattr(self._local, "generation", -1) != self._generation:
            cur = self._con.cursor()
            self._local.cur = cur
            self._local.generation = self._generation
        return cur

    def close(self) -> None:
        self._con.close()

    def frame(self, sql: str, params: list | None = None) -> pl.DataFrame:
        """Run a query on this thread's cursor and return the whole result as polars."""
        return query_frame(self.cursor(), sql, params)

    def reading(self):
        """``with db.reading(): ...``: a read that compaction waits for."""
        return self._rw.shared()

    def next_ids(self, sequence: str, n: int) -> list[int]:
        """``n`` fresh values of ``sequence`` (outside any transaction: a crash only skips some)."""
        with self._write_lock:
            rows = self.cursor().execute(f"SELECT nextval('{sequence}') FROM range(?)", [int(n)]).fetchall()
        return [int(r[0]) for r in rows]

    def checkpoint(self) -> None:
        """Write the WAL into the file now (after an ``ALTER TABLE``, see :mod:`workbench.store.schema`)."""
        with self._write_lock:
            self.cursor().execute("CHECKPOINT")

    def set_memory_limit(self, limit: str) -> None:
        """Cap DuckDB's own cache (``"4GB"``), leaving memory to vectors held in numpy."""
        self.cursor().execute(f"SET memory_limit = '{limit.replace(chr(39), '')}'")

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor inside ``BEGIN ... COMMIT``; any exception rolls everything back."""
        import duckdb

        cur = self.cursor()
        with self._write_lock:
            cur.execute("BEGIN TRANSACTION")
            try:
                yield cur
                cur.execute("COMMIT")
            except BaseException as err:
                cur.execute("ROLLBACK")
                if isinstance(err, duckdb.Error) and not isinstance(err, GalleryError):
                    raise DatabaseError(
                        f"{self.path}: write failed, nothing was changed ({first_line(err)})") from err
                raise

    # -- privacy: compaction -------------------------------------------------------------

    def data_tables(self) -> list[str]:
        """Every table of this database except ``meta``: all that may hold face data."""
        with self.reading():
            return schema.data_tables(self.cursor())

    def compact(self) -> int:
        """Rewrite the database into a fresh file and swap it in atomically; returns its size.

        DuckDB reuses freed blocks but never clears them, and neither ``CHECKPOINT`` nor
        ``VACUUM`` removes a deleted row's bytes from the file. Copying the live rows into a new
        file (``COPY FROM DATABASE``) and replacing the old one leaves nothing deleted in it.
        Holds the write lock; other threads' cursors are renewed on their next use.
        """
        import duckdb

        if self.in_memory:
            with self._write_lock, self._rw.exclusive():
                self.cursor().execute("CHECKPOINT")  # vacuums deleted rows of in-memory tables
            return 0
        if self.read_only:
            raise DatabaseError(f"{self.path}: opened read-only, cannot compact")
        tmp = self.path.with_name(self.path.name + ".compact")
        with self._write_lock, self._rw.exclusive():
            derived.remove_all(self.path)  # derived copies (indexes) would keep deleted vectors
            for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                leftover.unlink(missing_ok=True)
            con = self._con
            try:
                con.execute("CHECKPOINT")
                source = first(con.execute("SELECT current_database()"))[0]
                target = str(tmp).replace("'", "''")
                con.execute(f"ATTACH '{target}' AS workbench_compact")
                try:
                    con.execute(f'COPY FROM DATABASE "{source}" TO workbench_compact')
                finally:
                    con.execute("DETACH workbench_compact")
            except duckdb.Error as err:  # e.g. a full disk: the copy and its WAL hold face data, remove both
                for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
                    leftover.unlink(missing_ok=True)
                raise DatabaseError(f"{self.path}: could not compact the file, so deleted data may still be "
                                    f"in it; retry with `workbench gallery compact` ({first_line(err)})") from None
            con.close()  # checkpoints: the old file's WAL is merged and gone before the swap
            self.path.with_name(self.path.name + ".wal").unlink(missing_ok=True)
            os.replace(tmp, self.path)  # atomic: a crash leaves the old file or the new one
            _fsync_dir(self.path.parent)
            self._con = _connect(self.path, False)
            self._generation += 1
        return self.path.stat().st_size


def _connect(path: Path, read_only: bool):  # -> duckdb.DuckDBPyConnection
    """Open the DuckDB file, turning lock, permission and corruption errors into one line."""
    import duckdb

    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as err:
        msg = str(err).lower()
        if "could not set lock" in msg or "conflicting lock" in msg:
            raise DatabaseError(_locked_message(path, err)) from None
        if "permission denied" in msg or "read-only file system" in msg:
            raise DatabaseError(f"{path}: the database file is read-only here (permission denied); "
                                "use a copy, or a command that only reads") from None
        raise DatabaseError(f"{path}: not a readable DuckDB database ({first_line(err)})") from None
    except duckdb.Error as err:
        raise DatabaseError(f"{path}: not a readable DuckDB database ({first_line(err)})") from None


def _refuse_empty(path: Path) -> None:
    """An empty file is not a database, unless another process is creating it right now (two
    enrolments into a new file at once): then that process's lock is the message."""
    try:
        _connect(path, True).close()
    except DatabaseError as err:
        if "locked by another process" in str(err):
            raise
    raise DatabaseError(f"{path}: empty file, not a DuckDB database")


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
