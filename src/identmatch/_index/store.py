"""Opening index files: the one place an index's DuckDB file is connected to.

Every reader and writer of an index (the index itself, its audit trail, a build, a
compaction) opens the file here, so the rules hold everywhere: one-line errors instead of
DuckDB's messages, and encryption under the index key when one is set
(:mod:`identmatch._index.encryption`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

import duckdb

from identmatch._exceptions import ConfigError
from identmatch._sql import path_literal, quote_identifier

__all__ = [
    "compact_file",
    "connect_index",
    "create_index_file",
    "cursor",
    "new_cursor",
    "owner_only",
    "transaction",
]

_logger = logging.getLogger("identmatch")


def connect_index(path: Path, *, read_only: bool, plain: bool = False) -> duckdb.DuckDBPyConnection:
    """Open an index file, or fail with one line saying why (never DuckDB's own message).

    The file is opened with the index key when one is set (``identmatch._index.encryption``),
    unless ``plain``.

    Raises:
        ConfigError: another process holds the file (a running service), or it is not a
            DuckDB database, or not an identmatch index.
    """
    from identmatch._index.encryption import INDEX_KEY_FILE_ENV, index_key, open_encrypted

    key = None if plain else index_key()
    try:
        if key is None:
            connection = duckdb.connect(str(path), read_only=read_only)
        else:
            connection = open_encrypted(path, key, read_only=read_only)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            msg = (
                f"{path}: in use by another process (a running 'identmatch serve'?); "
                "stop it, or ask the service"
            )
        else:
            msg = f"{path}: not an identmatch index (not a DuckDB database file)"
        raise ConfigError(msg) from None
    except duckdb.Error as exc:
        if key is None and "encrypted" in str(exc):
            msg = f"{path}: encrypted; set {INDEX_KEY_FILE_ENV} to the file of its key"
        else:
            msg = f"{path}: cannot be opened as an index ({type(exc).__name__})"
        raise ConfigError(msg) from None
    try:
        connection.execute("SELECT key, value FROM meta LIMIT 1").fetchall()
    except duckdb.Error:
        connection.close()
        msg = f"{path}: not an identmatch index (a DuckDB file without its tables)"
        raise ConfigError(msg) from None
    return connection


def create_index_file(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection to a new index file at ``path``, encrypted when an index key is set."""
    from identmatch._index.encryption import index_key, open_encrypted

    key = index_key()
    if key is None:
        return duckdb.connect(str(path))
    return open_encrypted(path, key, read_only=False)


def new_cursor(connection: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
    """A cursor of ``connection``, in its index database (an encrypted index is an attached
    database, and a cursor starts in DuckDB's default one)."""
    from identmatch._index.encryption import use_index

    opened = connection.cursor()
    use_index(connection, opened)
    return opened


@contextlib.contextmanager
def cursor(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor of ``connection`` (its own result set, usable from another thread), closed after."""
    opened = new_cursor(connection)
    try:
        yield opened
    finally:
        opened.close()


@contextlib.contextmanager
def transaction(connection: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """A cursor in a transaction: committed if the block ends, rolled back if it raises."""
    with cursor(connection) as opened:
        opened.execute("BEGIN TRANSACTION")
        try:
            yield opened
        except BaseException:
            opened.execute("ROLLBACK")
            raise
        opened.execute("COMMIT")


def owner_only(path: Path) -> None:
    """Make an index file and its write-ahead log (if there is one) readable by the owner only.

    DuckDB creates both with the process's umask and recreates the ``.wal`` after every
    checkpoint, so a process that writes an index should also run with a umask of 077 (the
    ``identmatch`` command does); this fixes the files as they are now.
    """
    for target in (path, path.with_name(path.name + ".wal")):
        try:
            target.chmod(0o600)
        except FileNotFoundError:
            continue
        except OSError as exc:  # another user's file, opened through group rights
            _logger.warning("%s: could not make it owner-only (%s)", target.name, exc.strerror)


def compact_file(target: Path, *, encrypt: bool = False) -> tuple[int, int]:
    """Copy the index's live rows into a new file renamed over ``target`` (see
    ``Index.compact``); encrypted under the index key when one is set."""
    from identmatch._index.encryption import attach_clause, enable_writing, index_key

    if not target.is_file():
        msg = f"{target}: no such index file"
        raise ConfigError(msg)
    key = index_key()
    if encrypt and key is None:
        msg = "encrypting an index needs the index key: set IDENTMATCH_INDEX_KEY_FILE"
        raise ConfigError(msg)
    before = target.stat().st_size
    tmp = target.with_name(target.name + ".compacting")
    tmp.unlink(missing_ok=True)
    # Writable: the lock keeps every other process out while the copy is made.
    source = connect_index(target, read_only=False, plain=encrypt)
    try:
        source.execute("CHECKPOINT")
        name = str(source.execute("SELECT current_database()").fetchall()[0][0])
        if key is None:
            source.execute(f"ATTACH {path_literal(tmp)} AS __compacted")
        else:
            if encrypt:  # the source was opened plain, without the means to encrypt
                enable_writing(source)
            source.execute(attach_clause(tmp, "__compacted", key))
        try:
            source.execute(f"COPY FROM DATABASE {quote_identifier(name)} TO __compacted")
        finally:
            source.execute("DETACH __compacted")
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        source.close()
    owner_only(tmp)
    tmp.replace(target)
    return before, target.stat().st_size
