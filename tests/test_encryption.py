"""Encryption at rest: index files written and read under a key from the environment.

DuckDB writes encrypted files with OpenSSL from its httpfs extension, which cannot be
installed here (no extension repository); these tests let DuckDB's built-in library write
(``IDENTMATCH_INSECURE_TEST_CRYPTO=1``), which runs the same code path with a weaker random
source. One test checks that without either, writing is refused with a one-line error.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest

import identmatch
from identmatch.testing import generate_records

from _support import start_service

pytestmark = pytest.mark.slow

_NEEDLE = "Quintessa Vexworth-Marlowe"
"""A name that appears nowhere else, to look for in the file's bytes."""


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    frame = generate_records(300, seed=8).drop(columns=["error_type", "hard_negative"])
    forename, surname = _NEEDLE.split(" ")
    frame.loc[0, ["forename", "surname", "middle_names"]] = [forename, surname, None]
    return frame


@pytest.fixture
def key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "index.key"
    identmatch.AuditLog.new_key(path)  # the same kind of key file
    monkeypatch.setenv("IDENTMATCH_INDEX_KEY_FILE", str(path))
    monkeypatch.setenv("IDENTMATCH_INSECURE_TEST_CRYPTO", "1")
    monkeypatch.delenv("IDENTMATCH_INDEX_KEY", raising=False)
    return path


def _bytes_of(path: Path) -> bytes:
    data = path.read_bytes()
    wal = path.with_name(path.name + ".wal")
    return data + (wal.read_bytes() if wal.exists() else b"")


def _query(records: pd.DataFrame) -> dict[str, str]:
    return {"forename": "Quintessa", "surname": "Vexworth-Marlowe", "dob": records.loc[0, "dob"]}


def test_an_encrypted_index_works_and_holds_no_plain_values(
    key_file: Path, records: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "known.duckdb"
    with identmatch.Index.build(records, path) as index:
        hits = index.search(_query(records))
        assert hits
        assert hits[0].records[0].name == _NEEDLE
        extra = pd.DataFrame([{"record_id": "Z-1", "forename": "Ambrosine", "surname": "Quell"}])
        index.add(extra)
        with index.audited(caller="api:test") as reads:
            reads.export(purpose="check the file")
        index.checkpoint()
        data = _bytes_of(path)
        for value in (_NEEDLE, "Vexworth", "Ambrosine", "check the file"):
            assert value.encode() not in data
    with identmatch.Index.open(path, read_only=True) as index:
        assert len(index.export()) == len(records) + 1
    # Without the key, or with another, the file is refused in one line.
    monkeypatch.delenv("IDENTMATCH_INDEX_KEY_FILE")
    with pytest.raises(identmatch.ConfigError, match="encrypted; set IDENTMATCH_INDEX_KEY_FILE"):
        identmatch.Index.open(path)
    monkeypatch.setenv("IDENTMATCH_INDEX_KEY", "ab" * 32)
    with pytest.raises(identmatch.ConfigError, match="not this file's key"):
        identmatch.Index.open(path)


def test_reading_needs_no_openssl_but_writing_does(
    key_file: Path, records: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DuckDB decrypts with its built-in library; it writes only with httpfs's OpenSSL."""
    path = tmp_path / "known.duckdb"
    identmatch.Index.build(records, path).close()
    monkeypatch.delenv("IDENTMATCH_INSECURE_TEST_CRYPTO")
    with identmatch.Index.open(path, read_only=True) as index:
        assert index.search(_query(records))
    try:
        import duckdb

        duckdb.connect().execute("LOAD httpfs")
    except duckdb.Error:
        pass
    else:  # pragma: no cover - a machine with httpfs writes securely: nothing to refuse
        pytest.skip("httpfs is installed here, so writing is allowed")
    with pytest.raises(identmatch.ConfigError, match="needs DuckDB's httpfs extension"):
        identmatch.Index.open(path)
    other = tmp_path / "other.duckdb"
    with pytest.raises(identmatch.ConfigError, match="httpfs"):
        identmatch.Index.build(records, other)
    assert not other.exists()
    assert not other.with_name(other.name + ".building").exists()


def test_compact_encrypts_a_plain_index_and_keeps_it_encrypted(
    records: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the installed command: build plain, `index new-key`, `index compact --encrypt`."""
    monkeypatch.delenv("IDENTMATCH_INDEX_KEY_FILE", raising=False)
    monkeypatch.delenv("IDENTMATCH_INDEX_KEY", raising=False)
    path = tmp_path / "known.duckdb"
    identmatch.Index.build(records, path).close()
    command = str(Path(sys.executable).with_name("identmatch"))
    key = tmp_path / "keys" / "index.key"
    key.parent.mkdir()

    def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [command, *args], capture_output=True, text=True, env={**os.environ, **env}
        )

    made = run("index", "new-key", str(key))
    assert made.returncode == 0, made.stderr
    assert key.stat().st_mode & 0o077 == 0
    assert run("index", "new-key", str(key)).returncode != 0  # never overwritten
    env = {"IDENTMATCH_INDEX_KEY_FILE": str(key), "IDENTMATCH_INSECURE_TEST_CRYPTO": "1"}
    refused = run("index", "compact", "--index", str(path), **env)
    assert refused.returncode == 2
    assert "not encrypted" in refused.stderr
    assert "Traceback" not in refused.stderr
    done = run("index", "compact", "--index", str(path), "--encrypt", **env)
    assert done.returncode == 0, done.stderr
    assert _NEEDLE.encode() not in _bytes_of(path)
    again = run("index", "compact", "--index", str(path), **env)
    assert again.returncode == 0, again.stderr
    found = run(
        *("search", "--index", str(path), "--purpose", "case 9"),
        *("--forename", "Quintessa", "--surname", "Vexworth-Marlowe"),
        **env,
    )
    assert found.returncode == 0, found.stderr
    assert _NEEDLE in found.stdout
    plain = run("search", "--index", str(path), "--purpose", "case 9", "--surname", "Quell")
    assert plain.returncode == 2
    assert "encrypted" in plain.stderr


def test_the_service_serves_an_encrypted_index(
    key_file: Path, records: pd.DataFrame, tmp_path: Path
) -> None:
    path = tmp_path / "known.duckdb"
    identmatch.Index.build(records, path).close()
    config = tmp_path / "service.toml"
    _, token = identmatch.create_api_key(config, name="t", role="search")
    url, process = start_service(path, config, tmp_path / "server.log")
    try:
        reply = httpx.post(
            url + "/v1/search",
            headers={"Authorization": f"Bearer {token}"},
            json={"purpose": "case 3", "person": _query(records)},
        )
        assert reply.status_code == 200, reply.text
        assert reply.json()["results"][0]["hits"]
    finally:
        process.terminate()
        process.wait(timeout=30)
    assert "shut down cleanly" in (tmp_path / "server.log").read_text(encoding="utf-8")
    assert _NEEDLE.encode() not in _bytes_of(path)
    assert b"case 3" not in _bytes_of(path)  # the audit entry is encrypted too


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"IDENTMATCH_INDEX_KEY": "not-hex"}, "must be 64 hex characters"),
        ({"IDENTMATCH_INDEX_KEY": "ab" * 16}, "must be 64 hex characters"),
        ({"IDENTMATCH_INDEX_KEY": "ab" * 32, "IDENTMATCH_INDEX_KEY_FILE": "x"}, "not both"),
        ({"IDENTMATCH_INDEX_KEY_FILE": "/nonexistent/key"}, "identmatch index new-key"),
    ],
)
def test_bad_keys_are_refused(
    env: dict[str, str],
    message: str,
    records: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("IDENTMATCH_INDEX_KEY", "IDENTMATCH_INDEX_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "plain.duckdb"
    identmatch.Index.build(records.iloc[:50], path).close()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(identmatch.ConfigError, match=message):
        identmatch.Index.open(path)


def test_a_key_file_others_can_read_is_refused(
    key_file: Path, records: pd.DataFrame, tmp_path: Path
) -> None:
    key_file.chmod(0o640)
    with pytest.raises(identmatch.ConfigError, match="owner only"):
        identmatch.Index.build(records, tmp_path / "known.duckdb")
