"""Reads through the Python API with a purpose: ``Index.audited``, against a real DuckDB file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import identmatch
from identmatch.testing import generate_records


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return generate_records(300, seed=21).drop(columns=["error_type", "hard_negative"])


@pytest.fixture
def index(tmp_path: Path, records: pd.DataFrame) -> Iterator[identmatch.Index]:
    with identmatch.Index.build(records, tmp_path / "known.duckdb") as built:
        yield built


def _person(records: pd.DataFrame) -> dict[str, str]:
    row = records.iloc[0]
    return {k: str(row[k]) for k in ("forename", "surname", "dob")}


def test_each_read_is_audited_and_answers_as_the_index(
    index: identmatch.Index, records: pd.DataFrame, tmp_path: Path
) -> None:
    person = _person(records)
    with index.audited(caller="api:casework") as reads:
        hits = reads.search(person, purpose="case 1: new partner")
        assert hits == index.search(person)
        entity_id = hits[0].entity_id
        pd.testing.assert_frame_equal(
            reads.entity(entity_id, purpose="case 1: new partner"), index.entity(entity_id)
        )
        pd.testing.assert_frame_equal(
            reads.household(entity_id, purpose="case 1"), index.household(entity_id)
        )
        pd.testing.assert_frame_equal(reads.export(purpose="monthly return"), index.export())
        queries = tmp_path / "queries.csv"
        records.iloc[:5].to_csv(queries, index=False)
        found = reads.search_many(queries, purpose="batch check")
        assert len(found) >= 5
        queue = reads.review_queue(purpose="weekly review", limit=5)
        assert queue == index.review_queue(limit=5)
        assert len(reads.decisions(purpose="rebuild")) == 0
        entries = reads.log.entries()[1:]  # after the build's
    assert [e.action for e in entries] == [
        "search",
        "entity",
        "entity",
        "export",
        "search",
        "queue",
        "export",
    ]
    assert {e.key_id for e in entries} == {"api:casework"}
    search, entity = entries[0], entries[1]
    assert search.purpose == "case 1: new partner"
    assert list(search.entity_ids) == [h.entity_id for h in hits]
    assert search.fingerprint == reads.log.fingerprint(person)
    assert set(entity.record_ids) == set(index.entity(entity_id)["record_id"])
    assert entries[3].detail == f"{len(records)} records"
    # Ids, purposes and fingerprints only: no value of the person in the trail.
    text = "".join(str(e) for e in entries)
    for value in person.values():
        assert value not in text


@pytest.mark.parametrize("purpose", ["", "  ", "ab", "x" * 501])
def test_a_purpose_is_required(index: identmatch.Index, purpose: str) -> None:
    with index.audited() as reads:
        for read in (
            lambda: reads.search({"surname": "Smith"}, purpose=purpose),
            lambda: reads.export(purpose=purpose),
            lambda: reads.entity("E000001", purpose=purpose),
            lambda: reads.review_queue(purpose=purpose),
        ):
            with pytest.raises(identmatch.ConfigError, match="purpose must be 3 to 500"):
                read()
        assert [e.action for e in reads.log.entries()] == ["build"]


def test_default_caller_is_the_os_user(index: identmatch.Index) -> None:
    import getpass

    with index.audited() as reads:
        reads.export(purpose="check it")
        assert reads.log.entries()[-1].key_id == f"api:{getpass.getuser()}"


@pytest.mark.parametrize("caller", ["", "a;DROP TABLE audit", "x" * 101, "name\n"])
def test_caller_is_checked(index: identmatch.Index, caller: str) -> None:
    with pytest.raises(identmatch.ConfigError, match="caller must be"):
        index.audited(caller=caller)


def test_read_only_and_chained_trails(
    index: identmatch.Index, records: pd.DataFrame, tmp_path: Path
) -> None:
    """A read-only index cannot keep a trail; the trail is chained from the build under the
    index's own key, refuses another, and stays valid."""
    key = identmatch.AuditLog.read_key(identmatch.AuditLog.key_file(index))
    with index.audited() as reads:
        reads.search(_person(records), purpose="case 2")
    other = tmp_path / "other.key"
    identmatch.AuditLog.new_key(other)
    with pytest.raises(identmatch.ConfigError, match="not this audit trail's chain key"):
        index.audited(chain_key=identmatch.AuditLog.read_key(other))
    with index.audited(chain_key=key) as reads:
        reads.export(purpose="case 2 export")
    path = index.path
    index.close()
    report = identmatch.AuditLog.verify(path)
    assert report.ok, report.problems
    assert (report.entries, report.chained) == (3, 3)  # the build, the search, the export
    with (
        identmatch.Index.open(path, read_only=True) as read_only,
        pytest.raises(identmatch.ConfigError, match="writable"),
    ):
        read_only.audited(chain_key=key)
