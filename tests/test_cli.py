"""The ``identmatch`` command as users run it: the installed entry point on real files."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from _support import DATA

pytestmark = pytest.mark.slow


def _command() -> str:
    """The installed console script next to this interpreter (as `pip install` made it)."""
    candidate = Path(sys.executable).with_name("identmatch")
    found = str(candidate) if candidate.exists() else shutil.which("identmatch")
    assert found, "the identmatch command is not installed"
    return found


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_command(), *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


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

        many = run("search", children, "--index", "known.duckdb", "--out", "r.csv", cwd=tmp_path)
        assert many.returncode == 0, many.stderr
        results = pd.read_csv(tmp_path / "r.csv", dtype=str)
        assert list(results.columns) == [
            "record_id",
            "rank",
            "entity_id",
            "match_probability",
            "verdict",
        ]
        assert set(results["record_id"]) == set(pd.read_csv(children, dtype=str)["record_id"])

        exported = run("index", "export", "--index", "known.duckdb", "--out", "e.csv", cwd=tmp_path)
        assert exported.returncode == 0, exported.stderr
        assert len(pd.read_csv(tmp_path / "e.csv")) == 600

    def test_search_needs_a_field(self, tmp_path: Path) -> None:
        """A search with no field is a usage error (exit 2)."""
        from identmatch.testing import demo_paths

        adults, _ = demo_paths()
        assert run("index", "build", adults, "--index", "k.duckdb", cwd=tmp_path).returncode == 0
        done = run("search", "--index", "k.duckdb", cwd=tmp_path)
        assert done.returncode == 2
        assert "give at least one field" in done.stderr

    def test_missing_index_file(self, tmp_path: Path) -> None:
        """Searching an index that does not exist exits 2 with a clear message."""
        done = run("search", "--index", "nope.duckdb", "--surname", "Lee", cwd=tmp_path)
        assert done.returncode == 2
        assert "no such index file" in done.stderr


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
            "--field", f"soc_sec_id={first['soc_sec_id']}", cwd=tmp_path,
        )  # fmt: skip
        assert found.returncode == 0, found.stderr
        assert first["rec_id"] in found.stdout
        assert "soc_sec_id: the same" in found.stdout
