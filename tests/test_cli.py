"""The ``identmatch`` command as users run it: the installed entry point on real files."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import identmatch

from _support import DATA, installed_command, run

pytestmark = pytest.mark.slow


FEBRL_MAP = [
    "--map",
    "rec_id=record_id",
    "--map",
    "given_name=forename",
    "--map",
    "date_of_birth=dob",
    "--map",
    "street_number=address",
    "--map",
    "address_1=address",
    "--map",
    "suburb=town",
]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli")
    for name in ("dataset3.csv", "dataset4a.csv", "dataset4b.csv"):
        shutil.copy(DATA / name, path / name)
    return path


class TestDedupe:
    def test_dedupe_writes_entities_pairs_and_model(self, workdir: Path) -> None:
        """dedupe writes one row per record, the scored pairs and a reusable model."""
        done = run(
            "dedupe",
            "dataset3.csv",
            "--out",
            "ent.csv",
            "--pairs",
            "pairs.parquet",
            "--entities",
            "names.csv",
            "--save-model",
            "model.json",
            *FEBRL_MAP,
            cwd=workdir,
        )
        assert done.returncode == 0, done.stderr
        entities = pd.read_csv(workdir / "ent.csv", dtype=str)
        assert len(entities) == 5000
        assert entities["record_id"].is_unique
        assert list(entities.columns[:2]) == ["record_id", "entity_id"]
        assert 2000 <= entities["entity_id"].nunique() < 2600
        pairs = pd.read_parquet(workdir / "pairs.parquet")
        assert {"record_id_l", "record_id_r", "match_weight", "match_probability"} <= set(
            pairs.columns
        )
        names = pd.read_csv(workdir / "names.csv", dtype=str)
        assert list(names.columns[:3]) == ["entity_id", "name", "dob"]
        assert set(names["entity_id"]) == set(entities["entity_id"])
        assert "Data quality" in done.stderr
        assert "pairs compared" in done.stderr

        reused = run(
            "dedupe",
            "dataset3.csv",
            "--out",
            "ent2.parquet",
            "--model",
            "model.json",
            "--threshold",
            "0.99",
            *FEBRL_MAP,
            cwd=workdir,
        )
        assert reused.returncode == 0, reused.stderr
        again = pd.read_parquet(workdir / "ent2.parquet")
        # A higher threshold can only split entities, never join more records.
        assert again["entity_id"].nunique() >= entities["entity_id"].nunique()

    def test_unread_dates_by_source_with_row_numbers_not_values(self, tmp_path: Path) -> None:
        """The summary names the unread dates of birth per source with their row numbers, says
        which source was read month-first, and prints no value."""
        adults = ["25/12/1980", "XYZZY not known", "13/01/1975", "1971-25-06", "3rd of July 95"]
        adults += ["28/02/1990", "NOTADATE", "31/07/1966", "14/03/2001"]
        kids = ["12/25/2010", "01/13/2012", "02/28/2015", "07/31/2016", "03/14/2019", "03/04/2020"]
        rows = [("adults", dob) for dob in adults] + [("kids", dob) for dob in kids]
        pd.DataFrame(
            {
                "record_id": [f"r{i}" for i in range(len(rows))],
                "source": [source for source, _ in rows],
                "forename": [f"Name{chr(65 + i)}" for i in range(len(rows))],
                "surname": "Tester",
                "dob": [dob for _, dob in rows],
            }
        ).to_csv(tmp_path / "people.csv", index=False)
        done = run("dedupe", "people.csv", "--out", "e.csv", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        table = done.stderr[done.stderr.index("Dates of birth by source") :]
        adults_line = next(line for line in table.splitlines() if "adults" in line)
        assert "day-first (detected)" in adults_line
        assert "2, 7" in adults_line  # rows 2 and 7: the two unread values
        kids_line = next(line for line in table.splitlines() if "kids" in line)
        assert "month-first (detected)" in kids_line
        for value in ("XYZZY", "NOTADATE", "25/12/1980", "03/04/2020"):
            assert value not in done.stderr

    def test_quiet_prints_nothing(self, workdir: Path) -> None:
        """--quiet leaves stdout and stderr empty on success."""
        done = run("dedupe", "dataset3.csv", "--out", "q.csv", "--quiet", *FEBRL_MAP, cwd=workdir)
        assert done.returncode == 0
        assert done.stdout == ""
        assert done.stderr == ""

    def test_prepare_then_dedupe_the_directory(self, workdir: Path) -> None:
        """prepare writes Parquet parts that dedupe takes in place of the file: same entities."""
        done = run(
            "prepare", "dataset3.csv", "prepared", "--chunk-rows", "2000", *FEBRL_MAP, cwd=workdir
        )
        assert done.returncode == 0, done.stderr
        assert "prepared 5,000 records" in done.stdout
        assert len(list((workdir / "prepared").glob("part-*.parquet"))) == 3
        parts = run("dedupe", "prepared", "--out", "parts.csv", "--quiet", cwd=workdir)
        assert parts.returncode == 0, parts.stderr
        if not (workdir / "q.csv").exists():
            run("dedupe", "dataset3.csv", "--out", "q.csv", "--quiet", *FEBRL_MAP, cwd=workdir)
        raw = pd.read_csv(workdir / "q.csv", dtype=str).set_index("record_id")["entity_id"]
        got = pd.read_csv(workdir / "parts.csv", dtype=str)
        assert list(got.columns) == ["record_id", "entity_id"]
        assert (got.set_index("record_id")["entity_id"].reindex(raw.index) == raw).all()


class TestTruth:
    def test_dedupe_with_truth_prints_who_we_miss(self, tmp_path: Path) -> None:
        """--truth with --by origin prints recall and precision per sex, age band, source and
        name origin, naming each group; --by alone is refused before the run."""
        from identmatch.testing import generate_records

        records = generate_records(600, seed=9)
        records.assign(aliases=records["aliases"].map(";".join)).to_csv(
            tmp_path / "people.csv", index=False
        )
        done = run(
            "dedupe",
            "people.csv",
            "--out",
            "ent.csv",
            "--truth",
            "person_id",
            "--by",
            "origin",
            cwd=tmp_path,
        )
        assert done.returncode == 0, done.stderr
        assert "Who we miss" in done.stdout
        rows = {tuple(line.split()[:2]) for line in done.stdout.splitlines() if line.strip()}
        for group in [("sex", "F"), ("sex", "M"), ("age_band", "25-34"), ("source", "police")]:
            assert group in rows, group
        origins = {g for a, g in rows if a == "origin"}
        assert origins == {"british", "irish", "eastern_european", "south_asian", "west_african"}

        refused = run("dedupe", "people.csv", "--out", "x.csv", "--by", "origin", cwd=tmp_path)
        assert refused.returncode == 2
        assert "--truth" in refused.stderr


class TestLink:
    def test_link_two_files(self, workdir: Path) -> None:
        """link tags each record with its input and shares entity ids across the two."""
        done = run(
            "link", "dataset4a.csv", "dataset4b.csv", "--out", "linked.csv", *FEBRL_MAP, cwd=workdir
        )
        assert done.returncode == 0, done.stderr
        linked = pd.read_csv(workdir / "linked.csv", dtype=str)
        assert list(linked.columns[:3]) == ["input", "record_id", "entity_id"]
        assert linked["input"].value_counts().to_dict() == {"left": 5000, "right": 5000}
        shared = linked.groupby("entity_id")["input"].nunique()
        assert (shared == 2).sum() > 4500


class TestErrors:
    @pytest.mark.parametrize(
        ("content", "args", "message"),
        [
            ("id,surname\n1,Smith\n", (), "no 'record_id' column"),
            ("record_id,surname\n1,Zed\n1,Zed\n", (), "record_id must be unique"),
            ("", (), "the file is empty"),
            ("record_id,surname\n1,Smith\n", ("--map", "nope=forename"), "nope"),
            ("record_id,surname\n1,Smith\n", ("--map", "surname=given"), "not a standard column"),
            ("record_id,surname\n1,Smith\n", ("--spark-master", "local[1]"), "--backend spark"),
        ],
        ids=[
            "missing-record-id",
            "duplicate-ids",
            "empty-file",
            "unknown-map-source",
            "bad-map-target",
            "spark-master-without-spark",
        ],
    )
    def test_input_errors_exit_2_with_message(
        self, tmp_path: Path, content: str, args: tuple[str, ...], message: str
    ) -> None:
        """Each input error exits with code 2 and one clear line, no traceback, no values."""
        (tmp_path / "in.csv").write_text(content, encoding="utf-8")
        done = run("dedupe", "in.csv", "--out", "o.csv", *args, cwd=tmp_path)
        assert done.returncode == 2
        assert message in done.stderr
        assert "Traceback" not in done.stderr
        assert "Zed" not in done.stderr

    @pytest.mark.parametrize("args", [(), ("--map", "nope=forename")], ids=["plain", "mapped"])
    def test_headerless_csv_error_names_no_values(
        self, tmp_path: Path, args: tuple[str, ...]
    ) -> None:
        """A CSV without its header row fails without quoting the first person's values."""
        content = "R1,Zebulon,Quatermain,1931-12-25,9434765919\nR2,Ann,Lee,1980-01-02,1\n"
        (tmp_path / "in.csv").write_text(content, encoding="utf-8")
        done = run("dedupe", "in.csv", "--out", "o.csv", *args, cwd=tmp_path)
        assert done.returncode == 2
        assert "5 other column(s), not named here" in done.stderr
        for value in ("R1", "Zebulon", "Quatermain", "1931-12-25", "9434765919"):
            assert value not in done.stderr
        assert "Traceback" not in done.stderr

    @pytest.mark.parametrize(
        ("content", "line", "fields", "header"),
        [
            ("record_id,forename,surname,dob\n1,Ann,Lee,1980-01-02\n2,Zed,1981-02-02\n", 3, 3, 4),
            ("record_id,surname\n1,Zed,1981-02-02\n2,Lee,1980-01-02\n", 2, 3, 2),
            ('record_id,surname\n1,"Zed, Q"\n\n2,Lee\n3\n', 5, 1, 2),
        ],
        ids=["short-row", "every-row-long", "after-quoted-comma-and-blank-line"],
    )
    def test_row_with_wrong_field_count_is_an_error_naming_its_line(
        self, tmp_path: Path, content: str, line: int, fields: int, header: int
    ) -> None:
        """A row with fewer or more fields than the header stops the read, naming its line."""
        (tmp_path / "in.csv").write_text(content, encoding="utf-8")
        done = run("dedupe", "in.csv", "--out", "o.csv", cwd=tmp_path)
        assert done.returncode == 2
        assert f"line {line} has {fields} field(s) but the header has {header}" in done.stderr
        assert "Zed" not in done.stderr
        assert not (tmp_path / "o.csv").exists()

    def test_not_utf8(self, tmp_path: Path) -> None:
        """A Latin-1 file exits 2 naming the line."""
        (tmp_path / "in.csv").write_bytes("record_id,surname\n1,Mu\xf1oz\n".encode("latin-1"))
        done = run("dedupe", "in.csv", "--out", "o.csv", cwd=tmp_path)
        assert done.returncode == 2
        assert "line 2 is not UTF-8" in done.stderr

    def test_not_csv_or_parquet(self, tmp_path: Path) -> None:
        """A file of another type exits 2 naming the allowed types."""
        (tmp_path / "in.json").write_text("{}", encoding="utf-8")
        done = run("dedupe", "in.json", "--out", "o.csv", cwd=tmp_path)
        assert done.returncode == 2
        assert "use .csv or .parquet" in done.stderr

    def test_bad_threshold(self, tmp_path: Path) -> None:
        """A threshold outside (0, 1) is a usage error."""
        (tmp_path / "in.csv").write_text("record_id,surname\n1,Smith\n", encoding="utf-8")
        done = run("dedupe", "in.csv", "--out", "o.csv", "--threshold", "1.2", cwd=tmp_path)
        assert done.returncode == 2
        assert "--threshold" in done.stderr


class TestDemo:
    def test_demo_prints_scores_and_explanations(self, tmp_path: Path) -> None:
        """demo links the bundled files and prints precision, recall, F1 and explanations."""
        done = run("demo", "--out", "demo.csv", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "precision" in done.stdout
        assert "recall" in done.stdout
        assert "starting point (prior)" in done.stdout
        assert "Who we miss" in done.stdout
        assert (tmp_path / "demo.csv").exists()

    def test_version(self, tmp_path: Path) -> None:
        """--version prints the installed version."""
        done = run("--version", cwd=tmp_path)
        assert done.returncode == 0
        assert "identmatch, version" in done.stdout


class TestIndex:
    def test_build_add_search_export(self, tmp_path: Path) -> None:
        """The index commands work end to end on the bundled demo files."""
        from identmatch.testing import demo_paths

        adults, children = demo_paths()
        built = run("index", "build", adults, "--index", "known.duckdb", cwd=tmp_path)
        assert built.returncode == 0, built.stderr
        added = run(
            "index", "add", children, "--index", "known.duckdb", "--out", "a.csv", cwd=tmp_path
        )
        assert added.returncode == 0, added.stderr
        assert "joined" in added.stderr
        outcome = pd.read_csv(tmp_path / "a.csv", dtype=str)
        assert set(outcome["action"]) <= {"joined", "new", "merged"}

        first = pd.read_csv(adults, dtype=str).iloc[1]
        one = run(
            "search",
            "--index",
            "known.duckdb",
            "--purpose",
            "case 1",
            "--forename",
            first["forename"],
            "--surname",
            first["surname"],
            "--dob",
            first["dob"],
            cwd=tmp_path,
        )
        assert one.returncode == 0, one.stderr
        assert one.stdout.startswith("1. E")
        assert first["record_id"] in one.stdout

        many = run(
            "search",
            children,
            "--index",
            "known.duckdb",
            "--out",
            "r.csv",
            "--purpose",
            "feed 2",
            cwd=tmp_path,
        )
        assert many.returncode == 0, many.stderr
        results = pd.read_csv(tmp_path / "r.csv", dtype=str)
        assert list(results.columns) == [
            "record_id",
            "rank",
            "entity_id",
            "match_probability",
            "verdict",
            "unread",
        ]
        assert set(results["record_id"]) == set(pd.read_csv(children, dtype=str)["record_id"])

        exported = run(
            "index",
            "export",
            "--index",
            "known.duckdb",
            "--out",
            "e.csv",
            "--purpose",
            "return 3",
            cwd=tmp_path,
        )
        assert exported.returncode == 0, exported.stderr
        assert len(pd.read_csv(tmp_path / "e.csv")) == 600
        entries = identmatch.AuditLog.read(tmp_path / "known.duckdb")
        assert [(e.action, e.purpose) for e in entries] == [
            ("build", None),
            ("add", None),
            ("search", "case 1"),
            ("search", "feed 2"),
            ("export", "return 3"),
        ]
        assert all(e.key_id.startswith("cli:") for e in entries)
        assert entries[2].entity_ids
        assert entries[2].fingerprint

    def test_search_and_export_need_a_purpose(self, tmp_path: Path) -> None:
        """Without --purpose a search or an export is a usage error and reads nothing."""
        for args in (("search", "--surname", "Lee"), ("index", "export", "--out", "e.csv")):
            done = run(*args, "--index", "k.duckdb", cwd=tmp_path)
            assert done.returncode == 2
            assert "--purpose" in done.stderr
        assert not (tmp_path / "e.csv").exists()

    def test_search_needs_a_field(self, tmp_path: Path) -> None:
        """A search with no field is a usage error (exit 2)."""
        from identmatch.testing import demo_paths

        adults, _ = demo_paths()
        assert run("index", "build", adults, "--index", "k.duckdb", cwd=tmp_path).returncode == 0
        done = run("search", "--index", "k.duckdb", "--purpose", "case 1", cwd=tmp_path)
        assert done.returncode == 2
        assert "give at least one field" in done.stderr

    def test_missing_index_file(self, tmp_path: Path) -> None:
        """Searching an index that does not exist exits 2 with a clear message."""
        done = run(
            "search", "--index", "nope.duckdb", "--surname", "Lee", "--purpose", "c 1", cwd=tmp_path
        )
        assert done.returncode == 2
        assert "no such index file" in done.stderr


def run_with_umask(umask: int, *args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``run``, with the command started under ``umask`` (as a careless shell would have it)."""
    return subprocess.run(
        [installed_command(), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        preexec_fn=lambda: os.umask(umask),  # only sets the child's umask, before exec
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


class TestPrivateFiles:
    def test_index_and_outputs_are_owner_only_under_any_umask(self, tmp_path: Path) -> None:
        """Under umask 000 the index, its WAL and every output are still created 0600."""
        from identmatch.testing import demo_paths

        adults, children = demo_paths()
        built = run_with_umask(0, "index", "build", adults, "--index", "k.duckdb", cwd=tmp_path)
        assert built.returncode == 0, built.stderr
        assert mode(tmp_path / "k.duckdb") == 0o600
        added = run_with_umask(
            0, "index", "add", children, "--index", "k.duckdb", "--out", "a.csv", cwd=tmp_path
        )
        assert added.returncode == 0, added.stderr
        assert mode(tmp_path / "a.csv") == 0o600
        assert mode(tmp_path / "k.duckdb") == 0o600
        assert not (tmp_path / "k.duckdb.wal").exists()
        out = run_with_umask(
            0,
            "index",
            "export",
            "--index",
            "k.duckdb",
            "--out",
            "e.parquet",
            "--purpose",
            "p 1",
            cwd=tmp_path,
        )
        assert out.returncode == 0, out.stderr
        assert mode(tmp_path / "e.parquet") == 0o600
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "e.parquet", "k.duckdb"]

    def test_an_existing_output_or_link_is_replaced_not_written_through(
        self, tmp_path: Path
    ) -> None:
        """A 0666 file or a symlink already at the output path is replaced by a 0600 file."""
        from identmatch.testing import demo_paths

        adults, _ = demo_paths()
        assert run("index", "build", adults, "--index", "k.duckdb", cwd=tmp_path).returncode == 0
        loose = tmp_path / "loose.csv"
        loose.write_text("old\n", encoding="utf-8")
        loose.chmod(0o666)
        victim = tmp_path / "victim.txt"
        victim.write_text("keep me\n", encoding="utf-8")
        (tmp_path / "link.csv").symlink_to(victim)
        for name in ("loose.csv", "link.csv"):
            done = run(
                "index",
                "export",
                "--index",
                "k.duckdb",
                "--out",
                name,
                "--purpose",
                "p 2",
                cwd=tmp_path,
            )
            assert done.returncode == 0, done.stderr
            written = tmp_path / name
            assert not written.is_symlink()
            assert mode(written) == 0o600
            assert len(pd.read_csv(written)) == 300
        assert victim.read_text(encoding="utf-8") == "keep me\n"


@pytest.fixture(scope="module")
def demo_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled adults' file indexed by the command (copy it before changing it)."""
    from identmatch.testing import demo_paths

    base = tmp_path_factory.mktemp("demo-index")
    adults, _ = demo_paths()
    built = run("index", "build", adults, "--index", "k.duckdb", cwd=base)
    assert built.returncode == 0, built.stderr
    return base / "k.duckdb"


class TestHostileValues:
    def test_csv_outputs_quote_formula_cells(self, tmp_path: Path, demo_index: Path) -> None:
        """A stored value starting = + - @ is written to CSV behind a ' so it stays text."""
        shutil.copyfile(demo_index, tmp_path / "k.duckdb")
        hostile = pd.DataFrame(
            {
                "record_id": ["-1", "-2.5", "N-3"],
                "source": ["+cmd", "-2+3", "probation"],
                "surname": ["Quatermain", "Quatermain", "Lee"],
            }
        )
        hostile.to_csv(tmp_path / "new.csv", index=False)
        added = run(
            "index", "add", "new.csv", "--index", "k.duckdb", "--out", "a.csv", cwd=tmp_path
        )
        assert added.returncode == 0, added.stderr
        exported = run(
            "index",
            "export",
            "--index",
            "k.duckdb",
            "--out",
            "e.csv",
            "--purpose",
            "p 3",
            cwd=tmp_path,
        )
        assert exported.returncode == 0, exported.stderr
        outcome = pd.read_csv(tmp_path / "a.csv", dtype=str)
        assert outcome["record_id"].tolist() == ["'-1", "'-2.5", "N-3"]
        rows = pd.read_csv(tmp_path / "e.csv", dtype=str).tail(3)
        assert rows["source"].tolist() == ["'+cmd", "'-2+3", "probation"]
        assert rows["record_id"].iloc[0] == "'-1"

    def test_search_escapes_terminal_sequences_in_stored_values(
        self, tmp_path: Path, demo_index: Path
    ) -> None:
        """ESC sequences stored in a record are printed escaped, never sent to the terminal."""
        shutil.copyfile(demo_index, tmp_path / "k.duckdb")
        (tmp_path / "new.csv").write_text(
            "record_id,source,forename,surname,dob\n"
            "X1,\x1b]0;owned\x07,\x1b[2JZebulon,Quatermain\x1b[31m,1931-12-25\n",
            encoding="utf-8",
        )
        added = run("index", "add", "new.csv", "--index", "k.duckdb", cwd=tmp_path)
        assert added.returncode == 0, added.stderr
        found = run(
            "search",
            "--index",
            "k.duckdb",
            "--purpose",
            "case 4",
            "--surname",
            "Quatermain",
            "--forename",
            "Zebulon",
            "--dob",
            "1931-12-25",
            cwd=tmp_path,
        )
        assert found.returncode == 0, found.stderr
        assert "X1" in found.stdout
        assert "\x1b" not in found.stdout
        assert "\x07" not in found.stdout
        assert "\\x1b[2JZebulon" in found.stdout
        assert "\\x1b]0;owned\\x07" in found.stdout


class TestIndexFiles:
    def test_not_an_index_is_one_line_and_exit_2(self, tmp_path: Path) -> None:
        """A text file, or a DuckDB file that is not an index, gives one line and exit 2."""
        import duckdb

        (tmp_path / "notes.duckdb").write_text("not a database\n", encoding="utf-8")
        duckdb.connect(str(tmp_path / "other.duckdb")).close()
        for name in ("notes.duckdb", "other.duckdb"):
            for args in (("search", "--surname", "Lee", "--purpose", "case 1"), ("audit",)):
                done = run(*args, "--index", name, cwd=tmp_path)
                assert done.returncode == 2, done.stderr
                assert "not an identmatch index" in done.stderr
                assert "Traceback" not in done.stderr
                assert len(done.stderr.strip().splitlines()) == 1, done.stderr

    def test_locked_index_is_one_line_and_exit_2(self, tmp_path: Path, demo_index: Path) -> None:
        """An index another process holds (as a service does) gives one line and exit 2."""
        import duckdb

        shutil.copyfile(demo_index, tmp_path / "k.duckdb")
        holder = duckdb.connect(str(tmp_path / "k.duckdb"))  # this process holds the lock
        try:
            for args in (("search", "--surname", "Lee", "--purpose", "case 1"), ("audit",)):
                done = run(*args, "--index", "k.duckdb", cwd=tmp_path)
                assert done.returncode == 2, done.stderr
                assert "in use by another process" in done.stderr
                assert len(done.stderr.strip().splitlines()) == 1, done.stderr
        finally:
            holder.close()


class TestAuditCommands:
    def test_chain_verify_purge_and_subject_access(self, tmp_path: Path, demo_index: Path) -> None:
        """A chained trail verifies, fails after tampering, survives a purge; subject access."""
        import json

        import duckdb

        shutil.copyfile(demo_index, tmp_path / "k.duckdb")
        # The key made at build, moved out of the key directory and named on each command.
        shutil.copyfile(identmatch.AuditLog.key_file(demo_index), tmp_path / "audit.key")
        (tmp_path / "audit.key").chmod(0o600)
        keyed = ("--audit-key-file", "audit.key")
        first = pd.read_csv(demo_paths_adults(), dtype=str).iloc[1]
        person = ("--forename", first["forename"], "--surname", first["surname"])
        with pytest.MonkeyPatch.context() as patched:  # what the commands inherit
            patched.setenv("IDENTMATCH_AUDIT_KEY_DIR", str(tmp_path / "no-keys"))
            for case in ("case 1", "case 2"):
                done = run(
                    "search",
                    "--index",
                    "k.duckdb",
                    "--purpose",
                    case,
                    *person,
                    *keyed,
                    cwd=tmp_path,
                )
                assert done.returncode == 0, done.stderr
            unkeyed = run(
                "search", "--index", "k.duckdb", "--purpose", "c 3", *person, cwd=tmp_path
            )
            assert unkeyed.returncode == 2
            assert "its key was not found" in unkeyed.stderr
            verified = run("audit", "--index", "k.duckdb", "--verify", *keyed, cwd=tmp_path)
        assert verified.returncode == 0, verified.stdout + verified.stderr
        assert "3 entries, 3 chained" in verified.stdout  # the build's and two searches
        assert "chain intact" in verified.stdout

        entity = json.loads(
            run("audit", "--index", "k.duckdb", "--json", cwd=tmp_path).stdout.splitlines()[1]
        )["entity_ids"][0]
        subject = run(
            "audit",
            "subject",
            "--index",
            "k.duckdb",
            "--entity",
            entity,
            "--out",
            "sar.json",
            "--purpose",
            "subject access request 12",
            *keyed,
            cwd=tmp_path,
        )
        assert subject.returncode == 0, subject.stderr
        document = json.loads((tmp_path / "sar.json").read_text(encoding="utf-8"))
        assert first["record_id"] in [r["record_id"] for r in document["records"]]
        assert [e["purpose"] for e in document["audit"]] == ["case 1", "case 2"]
        assert mode(tmp_path / "sar.json") == 0o600

        purged = run(
            "audit", "purge", "--index", "k.duckdb", "--before", "2100-01-01", *keyed, cwd=tmp_path
        )
        assert purged.returncode == 0, purged.stderr
        assert "removed 4 audit entries" in purged.stdout
        assert run("audit", "--index", "k.duckdb", "--verify", *keyed, cwd=tmp_path).returncode == 0

        connection = duckdb.connect(str(tmp_path / "k.duckdb"))
        connection.execute("UPDATE audit SET purpose = 'routine' WHERE action = 'purge'")
        connection.close()
        broken = run("audit", "--index", "k.duckdb", "--verify", *keyed, cwd=tmp_path)
        assert broken.returncode == 1
        assert "broken: entry" in broken.stdout


def demo_paths_adults() -> Path:
    from identmatch.testing import demo_paths

    return Path(demo_paths()[0])


class TestDeclaredColumns:
    """--identifier, --attribute and --config, as a user runs them."""

    @pytest.fixture
    def people(self, tmp_path: Path) -> Path:
        """The first 400 FEBRL 3 records, soc_sec_id and state kept."""
        frame = pd.read_csv(DATA / "dataset3.csv", dtype=str, skipinitialspace=True).head(400)
        frame.columns = [c.strip() for c in frame.columns]
        frame.to_csv(tmp_path / "people.csv", index=False)
        return tmp_path / "people.csv"

    def test_config_file_and_identifier_reach_the_saved_model(
        self, tmp_path: Path, people: Path
    ) -> None:
        """A run from identmatch.toml plus --identifier saves both schema and file in the model."""
        import json

        import identmatch

        mapping = dict(item.split("=") for item in FEBRL_MAP[1::2])
        config = identmatch.RunConfig(columns=mapping, attributes=("state",), save_model="m.json")
        (tmp_path / "identmatch.toml").write_text(config.dumps(), encoding="utf-8")
        done = run(
            "dedupe", people, "--out", "o.csv", "--config", "identmatch.toml",
            "--identifier", "soc_sec_id", "-q", cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        saved = json.loads((tmp_path / "m.json").read_text())
        assert saved["declared"]["identifiers"] == [{"column": "soc_sec_id", "kind": "plain"}]
        assert saved["declared"]["attributes"] == [{"column": "state"}]
        assert saved["run_config"]["columns"] == mapping
        assert {c["name"] for c in saved["comparisons"]} >= {"soc_sec_id", "state"}

        again = run(
            "dedupe", people, "--out", "o2.csv", "--model", "m.json", *FEBRL_MAP, "-q",
            cwd=tmp_path,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        lacking = pd.read_csv(people, dtype=str).drop(columns=["soc_sec_id"])
        lacking.to_csv(tmp_path / "lacking.csv", index=False)
        refused = run(
            "dedupe", "lacking.csv", "--out", "o3.csv", "--model", "m.json", *FEBRL_MAP,
            cwd=tmp_path,
        )  # fmt: skip
        assert refused.returncode == 2
        assert "declares the column(s) soc_sec_id" in refused.stderr

    @pytest.mark.parametrize(
        ("args", "toml", "message"),
        [
            (("--identifier", "soc_sec_id:passport"), "", "allowed kinds are: plain, nhs_number"),
            (("--identifier", "surname"), "", "'surname' is a standard column"),
            ((), "thresold = 0.9\n", "unknown key 'thresold'; allowed keys are: columns"),
            ((), "[identifiers]\nx = 'nope'\n", "key 'identifiers': x: kind 'nope' is not known"),
        ],
        ids=["unknown-kind", "standard-column", "unknown-key", "bad-kind-in-file"],
    )
    def test_errors_exit_2_naming_what_is_allowed(
        self, tmp_path: Path, people: Path, args: tuple[str, ...], toml: str, message: str
    ) -> None:
        """A bad declaration or config key exits 2 with one line saying what is allowed."""
        (tmp_path / "c.toml").write_text(toml, encoding="utf-8")
        done = run("dedupe", people, "--out", "o.csv", "--config", "c.toml", *args, cwd=tmp_path)
        assert done.returncode == 2, done.stderr
        assert message in done.stderr
        assert "Traceback" not in done.stderr

    def test_index_build_and_search_by_identifier(self, tmp_path: Path, people: Path) -> None:
        """An index built with --identifier is searched by it with --field."""
        built = run(
            "index", "build", people, "--index", "k.duckdb", *FEBRL_MAP,
            "--identifier", "soc_sec_id", cwd=tmp_path,
        )  # fmt: skip
        assert built.returncode == 0, built.stderr
        first = pd.read_csv(people, dtype=str).iloc[0]
        found = run(
            "search", "--index", "k.duckdb", "--surname", first["surname"],
            "--field", f"soc_sec_id={first['soc_sec_id']}", "--purpose", "p 1", cwd=tmp_path,
        )  # fmt: skip
        assert found.returncode == 0, found.stderr
        assert first["rec_id"] in found.stdout
        assert "soc_sec_id: the same" in found.stdout
