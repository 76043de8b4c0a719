"""Encryption at rest of index files: DuckDB's database encryption under a key kept elsewhere.

With a key set, every index file identmatch writes (a build, a compaction) is encrypted
with it, and every one it opens is opened with it; DuckDB encrypts the write-ahead log too,
and identmatch turns on the encryption of its temporary files. The key comes from the
environment, so the service, the command line and the Python API all find it without
being told:

- ``IDENTMATCH_INDEX_KEY_FILE``: a file of 64 hex characters, owner-only, made by
  ``identmatch index new-key PATH``; or
- ``IDENTMATCH_INDEX_KEY``: the 64 hex characters themselves (for a secret store that
  injects environment variables).

DuckDB writes encrypted files with OpenSSL from its ``httpfs`` extension: it refuses to
write them with the built-in library alone (whose encryption it does not consider secure),
though it can read them so. identmatch loads ``httpfs`` when it is installed (``INSTALL
httpfs`` where DuckDB's extension repository is reachable, or the extension file copied
into DuckDB's extension folder) and otherwise refuses to write with a one-line error.
``IDENTMATCH_INSECURE_TEST_CRYPTO=1`` lets the built-in library write, for tests of this
module only: files written so are not securely encrypted.

The key reaches DuckDB in the text of an ``ATTACH`` statement, DuckDB's only way to pass
it; it is checked to be 64 hex characters first, and no DuckDB message is passed on.
"""

from __future__ import annotations

import logging
import os
import re
import weakref
from pathlib import Path

import duckdb

from identmatch._exceptions import ConfigError
from identmatch._index.audit_chain import read_key_file
from identmatch._sql import path_literal

__all__ = [
    "INDEX_KEY_ENV",
    "INDEX_KEY_FILE_ENV",
    "attach_clause",
    "enable_writing",
    "index_key",
    "open_encrypted",
    "use_index",
]

_logger = logging.getLogger("identmatch")

INDEX_KEY_FILE_ENV = "IDENTMATCH_INDEX_KEY_FILE"
INDEX_KEY_ENV = "IDENTMATCH_INDEX_KEY"
_INSECURE_ENV = "IDENTMATCH_INSECURE_TEST_CRYPTO"
_HEX_KEY = re.compile(r"[0-9a-f]{64}")
_ALIAS = "identmatch_index"
_ENCRYPTED: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()
"""Connections opened by :func:`open_encrypted`: their cursors must ``USE`` the index."""


def index_key() -> str | None:
    """The index key from the environment (64 lower-case hex characters), or None.

    Raises:
        ConfigError: both variables are set, or the key (or its file) is not a key.
    """
    from_file = os.environ.get(INDEX_KEY_FILE_ENV, "").strip()
    given = os.environ.get(INDEX_KEY_ENV, "").strip().lower()
    if from_file and given:
        msg = f"set one of {INDEX_KEY_FILE_ENV} and {INDEX_KEY_ENV}, not both"
        raise ConfigError(msg)
    if from_file:
        return read_key_file(from_file, what="index key", maker="identmatch index new-key").hex()
    if given:
        if not _HEX_KEY.fullmatch(given):
            msg = f"{INDEX_KEY_ENV} must be 64 hex characters (a 32-byte key)"
            raise ConfigError(msg)
        return given
    return None


def attach_clause(path: Path, alias: str, key: str, *, read_only: bool = False) -> str:
    """``ATTACH 'path' AS alias (ENCRYPTION_KEY ...)``: the key checked, the path quoted."""
    if not _HEX_KEY.fullmatch(key):  # never anything that could break out of the literal
        msg = "the index key must be 64 hex characters"
        raise ConfigError(msg)
    mode = ", READ_ONLY" if read_only else ""
    return f"ATTACH {path_literal(path)} AS {alias} (ENCRYPTION_KEY '{key}'{mode})"


def enable_writing(connection: duckdb.DuckDBPyConnection) -> None:
    """Make ``connection`` able to write encrypted files, or say what is missing."""
    try:
        connection.execute("LOAD httpfs")
        return
    except duckdb.Error:
        pass
    if os.environ.get(_INSECURE_ENV) == "1":
        _logger.warning(
            "%s=1: writing an index with DuckDB's built-in encryption, which it does not "
            "consider secure; for tests only",
            _INSECURE_ENV,
        )
        connection.execute("SET force_mbedtls_unsafe = 'true'")
        return
    msg = (
        "writing an encrypted index needs DuckDB's httpfs extension (OpenSSL), which is not "
        "installed: run INSTALL httpfs in DuckDB where its extension repository is reachable, "
        "or copy the extension file into ~/.duckdb/extensions/; or unset "
        f"{INDEX_KEY_FILE_ENV} and keep the index on an encrypted volume"
    )
    raise ConfigError(msg)


def open_encrypted(path: Path, key: str, *, read_only: bool) -> duckdb.DuckDBPyConnection:
    """A connection whose default database is the index file at ``path``, encrypted with
    ``key`` (a new file is created encrypted).

    Raises:
        ConfigError: the key is wrong, the file is not encrypted, or writing needs httpfs.
        duckdb.Error: the file cannot be opened (locked, not a database), for the caller.
    """
    connection = duckdb.connect()
    try:
        if not read_only:
            enable_writing(connection)
        connection.execute("SET temp_file_encryption = true")
        try:
            connection.execute(attach_clause(path, _ALIAS, key, read_only=read_only))
        except (duckdb.InvalidInputException, duckdb.CatalogException) as exc:
            text = str(exc)
            if "Wrong encryption key" in text:
                msg = f"{path}: the index key is not this file's key"
            elif "not encrypted" in text:
                msg = (
                    f"{path}: not encrypted; unset {INDEX_KEY_FILE_ENV} to open it, or "
                    "encrypt it under the key with 'identmatch index compact --encrypt'"
                )
            else:
                msg = f"{path}: cannot be opened with the index key ({type(exc).__name__})"
            raise ConfigError(msg) from None
        connection.execute(f"USE {_ALIAS}")
    except BaseException:
        connection.close()
        raise
    _ENCRYPTED.add(connection)
    return connection


def use_index(connection: duckdb.DuckDBPyConnection, opened: duckdb.DuckDBPyConnection) -> None:
    """Point a new cursor of ``connection`` at the index database, when it is an attached one."""
    if connection in _ENCRYPTED:
        opened.execute(f"USE {_ALIAS}")
