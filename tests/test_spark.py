"""The Spark backend: every level compiles to Spark SQL, and the same model gives the same answers.

These run Splink's Spark backend in local mode (one JVM, two cores, two shuffle partitions)
and are skipped when Java is not installed. The session is started once per module.
"""

from __future__ import annotations

import copy
import random
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

import identmatch
import identmatch.comparisons as ic
from identmatch._batch.spark_functions import register_spark_functions
from identmatch._model.patterns import level_case_sql
from identmatch._model.similarity import jaro_winkler
from identmatch._prepare.records import PREPARED_COLUMNS
from identmatch._sql import dialect, jaro_winkler_sql
from identmatch.testing import generate_records
from test_comparisons import ALL_SPECS, CASES, LIST_COLUMNS, prepared

from _support import disguised

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java on the PATH"),
]

pyspark = pytest.importorskip("pyspark")

N_RECORDS = 2_500


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    session = identmatch.spark_session("local[2]", shuffle_partitions=2)
    session.sparkContext.setLogLevel("ERROR")
    register_spark_functions(session)  # as SparkEngine does; compiled levels call them
    yield session
    session.stop()


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    return generate_records(N_RECORDS, seed=11)


@pytest.fixture(scope="module")
def on_duckdb(records: pd.DataFrame) -> identmatch.Result:
    """dedupe on DuckDB, training the model there."""
    return identmatch.dedupe(records)


@pytest.fixture(scope="module")
def on_spark(
    records: pd.DataFrame, on_duckdb: identmatch.Result, spark: Any, tmp_path_factory: Any
) -> identmatch.Result:
    """dedupe on Spark with the model trained on DuckDB, passed as a saved file."""
    path = tmp_path_factory.mktemp("model") / "model.json"
    on_duckdb.save_model(path)
    return identmatch.dedupe(records, model=path, backend=spark)


@pytest.fixture(scope="module")
def on_spark_from_parts(
    records: pd.DataFrame, on_duckdb: identmatch.Result, spark: Any, tmp_path_factory: Any
) -> identmatch.Result:
    """prepare_parquet in three chunks, then dedupe of the parts directory on Spark."""
    work = tmp_path_factory.mktemp("parts")
    records.to_parquet(work / "records.parquet")
    identmatch.prepare_parquet(work / "records.parquet", work / "prepared", chunk_rows=1_000)
    config = identmatch.ModelConfig(count_blocked_pairs=False)
    return identmatch.dedupe(work / "prepared", model=on_duckdb.model, backend=spark, config=config)


def _spark_level_columns() -> list[str]:
    return [f"{c}_{side}" for c in PREPARED_COLUMNS if c != "unique_id" for side in ("l", "r")]


def _case_rows() -> list[dict[str, Any]]:
    """Every table case in both directions, as one row of ``_l``/``_r`` prepared columns."""
    rows = []
    for name, left_fields, right_fields, label in CASES:
        left, right = prepared(**left_fields), prepared(**right_fields)
        for a, b in ((left, right), (right, left)):
            row: dict[str, Any] = {"spec": name, "label": label}
            for column in PREPARED_COLUMNS:
                if column == "unique_id":
                    continue
                for side, record in (("l", a), ("r", b)):
                    value = record.get(column)
                    if column in LIST_COLUMNS:
                        value = list(value) if value is not None else None
                    row[f"{column}_{side}"] = value
            rows.append(row)
    return rows


def test_every_level_runs_on_spark_and_assigns_the_table_level(spark: Any) -> None:
    """Each comparison's Spark SQL puts every table case, both ways round, in its level."""
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType

    fields = [StructField("spec", StringType()), StructField("label", StringType())]
    for column in _spark_level_columns():
        kind = ArrayType(StringType()) if column[:-2] in LIST_COLUMNS else StringType()
        fields.append(StructField(column, kind))
    frame = spark.createDataFrame(_case_rows(), StructType(fields))
    expressions = ["spec", "label"]
    for number, spec in enumerate(ALL_SPECS):
        expressions.append(f"{level_case_sql(spec, 'spark')} AS level_{number}")
    rows = frame.selectExpr(*expressions).collect()  # one Spark job for every spec
    checked = 0
    for row in rows:
        number = next(i for i, spec in enumerate(ALL_SPECS) if spec.name == row["spec"])
        assert ALL_SPECS[number].levels[row[f"level_{number}"]].label == row["label"]
        checked += 1
    assert checked == 2 * len(CASES)


# NULL and empty inputs (DuckDB: NULL, and 0.0 even for two empty strings, where rapidfuzz
# alone gives 1.0), identical text, one character, prefixes longer than 4, spaces, hyphens
# and apostrophes, and a name longer than an Arrow batch's usual string.
EDGE_CASES: list[tuple[str | None, str | None]] = [
    (None, None),
    (None, "SMITH"),
    ("SMITH", None),
    ("", ""),
    ("", "A"),
    ("A", ""),
    ("A", "A"),
    ("A", "B"),
    ("SMITH", "SMITH"),
    ("MARTHA", "MARHTA"),
    ("DIXON", "DICKSONX"),
    ("JONATHAN", "JONATHON"),
    ("MR ADEBAYO", "MR TYRONE"),
    ("O'NEILL", "ONEILL"),
    ("SMITH-JONES", "SMITH JONES"),
    ("AB" * 60, "BA" * 60),
]


def test_jaro_winkler_on_spark_equals_duckdb_and_python(spark: Any, records: pd.DataFrame) -> None:
    """identmatch's Spark Jaro-Winkler UDF gives DuckDB's and rapidfuzz's scores to 1e-9.

    Real names from the synthetic records, random strings over a two-letter alphabet (which
    exercise repeated characters, odd transposition counts and one-letter strings), and the
    edge cases above; NULL exactly where DuckDB gives NULL.
    """
    names = pd.concat([records["surname"], records["forename"]]).dropna().astype(str)
    names = names.str.upper().drop_duplicates().sample(n=80, random_state=1).tolist()
    rng = random.Random(1)
    noise = [
        (
            "".join(rng.choice("AB") for _ in range(rng.randint(1, 7))),
            "".join(rng.choice("AAB") for _ in range(rng.randint(1, 7))),
        )
        for _ in range(400)
    ]
    pairs = pd.DataFrame(
        [(a, b) for a in names[:40] for b in names[40:]] + noise + EDGE_CASES, columns=["a", "b"]
    )
    expression = jaro_winkler_sql(dialect("spark"), "`a`", "`b`")
    # Through Arrow, as identmatch itself sends data to Spark (pyspark's pandas path warns
    # that it does not support pandas 3).
    on_spark = (
        spark.createDataFrame(pa.Table.from_pandas(pairs, preserve_index=False))
        .selectExpr("a", "b", f"{expression} AS s")
        .toArrow()
        .to_pandas()
    )
    connection = duckdb.connect()
    connection.register("pairs", pairs)
    on_duckdb = connection.execute("SELECT jaro_winkler_similarity(a, b) AS s FROM pairs").df()
    both = pairs["a"].notna() & pairs["b"].notna()
    python = [jaro_winkler(a, b) for a, b in zip(pairs["a"][both], pairs["b"][both], strict=True)]
    assert len(on_spark) == len(pairs)
    assert on_spark["s"].isna().tolist() == on_duckdb["s"].isna().tolist() == (~both).tolist()
    assert (on_spark["s"] - on_duckdb["s"]).abs().max() < 1e-9
    assert (on_spark["s"][both] - pd.Series(python, index=pairs.index[both])).abs().max() < 1e-9


class TestSameModelSameAnswers:
    def test_same_pairs_and_weights(
        self, on_duckdb: identmatch.Result, on_spark: identmatch.Result
    ) -> None:
        """Spark scores exactly DuckDB's pairs; weights agree to float rounding (1e-9 bits)."""
        keys = ["record_id_l", "record_id_r"]
        duck, spark = on_duckdb.pairs, on_spark.pairs
        merged = duck.merge(spark, on=keys, how="outer", suffixes=("_duckdb", "_spark"))
        assert len(merged) == len(duck) == len(spark) > N_RECORDS / 4
        difference = (merged["match_weight_duckdb"] - merged["match_weight_spark"]).abs()
        assert difference.max() < 1e-9

    def test_same_entities(self, on_duckdb: identmatch.Result, on_spark: identmatch.Result) -> None:
        """Every record lands in the same entity on Spark as on DuckDB."""
        duck = on_duckdb.entities.set_index("record_id")["entity_id"]
        spark = on_spark.entities.set_index("record_id")["entity_id"].reindex(duck.index)
        assert (duck == spark).all()
        assert duck.nunique() < N_RECORDS

    def test_same_entities_under_decisions(
        self, on_duckdb: identmatch.Result, on_spark: identmatch.Result
    ) -> None:
        """People's decisions cluster Spark's pairs exactly as DuckDB's (clustering is
        shared; the pairs and the records it re-scores come from each backend's run)."""
        entities = on_duckdb.entities
        sizes = entities.groupby("entity_id")["record_id"].transform("size")
        groups = entities[sizes >= 3].groupby("entity_id")["record_id"].apply(list).iloc[:10]
        singles = entities[sizes == 1]["record_id"].astype(str).tolist()
        rows = [(g[0], g[-1], "different") for g in groups]
        rows += [(singles[0], singles[1], "same"), (singles[2], singles[3], "same")]
        decisions = identmatch.read_decisions(
            pd.DataFrame(rows, columns=["record_id_l", "record_id_r", "decision"])
        )
        found = []
        for result in (on_duckdb, on_spark):
            decided = copy.copy(result)
            decided.decisions = decisions
            found.append(decided.entities_at(result.threshold).set_index("record_id"))
        duck, spark = found[0]["entity_id"], found[1]["entity_id"].reindex(found[0].index)
        assert (duck == spark).all()
        assert not (duck == entities.set_index("record_id")["entity_id"]).all()

    def test_same_blocking_counts(
        self, on_duckdb: identmatch.Result, on_spark: identmatch.Result
    ) -> None:
        """Splink's pair counts per blocking rule are the same on both backends."""
        assert on_spark.blocking == on_duckdb.blocking

    def test_explain_on_spark(self, on_spark: identmatch.Result) -> None:
        """A scored pair explains from the Spark run's own levels and weights."""
        top = on_spark.pairs.iloc[0]
        explanation = on_spark.explain(top["record_id_l"], top["record_id_r"])
        assert explanation.match_weight == pytest.approx(top["match_weight"])


def test_prepared_parts_on_spark_give_duckdb_entities(
    on_duckdb: identmatch.Result, on_spark_from_parts: identmatch.Result
) -> None:
    """Records prepared out of core to Parquet parts, which Spark reads itself, get the
    entities DuckDB gives the raw records, from the same scored pairs."""
    duck = on_duckdb.entities.set_index("record_id")["entity_id"]
    parts = on_spark_from_parts.entities
    assert list(parts.columns) == ["record_id", "entity_id"]
    spark = parts.set_index("record_id")["entity_id"].reindex(duck.index)
    assert (duck == spark).all()
    keys = ["record_id_l", "record_id_r"]
    merged = on_duckdb.pairs.merge(on_spark_from_parts.pairs, on=keys, how="outer")
    assert len(merged) == len(on_duckdb.pairs) == len(on_spark_from_parts.pairs)
    # The same counts; the parts' summary names the file they were prepared from.
    renamed = {
        "columns": {
            "__all__": {"sources": {"__all__": {"input"}}, "unread": {"__all__": {"input"}}}
        }
    }
    parts_quality = on_spark_from_parts.quality.model_dump(exclude=renamed)
    assert parts_quality == on_duckdb.quality.model_dump(exclude=renamed)
    assert {s.input for s in on_spark_from_parts.quality.columns["dob"].sources} == {
        "records.parquet"
    }


def test_udf_runs_without_identmatch_on_the_executors() -> None:
    """The Jaro-Winkler UDF is pickled by value: it unpickles and scores with identmatch
    unimportable (executors need only rapidfuzz, besides pyspark's pyarrow and numpy)."""
    import subprocess
    import sys

    from pyspark import cloudpickle

    from identmatch._batch.spark_functions import _jaro_winkler_udf

    payload = cloudpickle.dumps(_jaro_winkler_udf().func)
    script = (
        "import pickle, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] == 'identmatch':\n"
        "            raise ImportError(name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "import pyarrow as pa\n"
        "f = pickle.loads(sys.stdin.buffer.read())\n"
        "print(f(pa.array(['MARTHA', None, '']), pa.array(['MARHTA', 'X', ''])).to_pylist())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], input=payload, capture_output=True, check=True
    )
    assert out.stdout.decode().strip() == "[0.9611111111111111, None, 0.0]"


def _train_on_spark_then_apply_on_duckdb(
    spark: Any, tmp_path: Path, n_records: int, config: identmatch.ModelConfig
) -> identmatch.Result:
    sample = generate_records(n_records, seed=5)
    trained = identmatch.dedupe(sample, backend=spark, config=config)
    trained.save_model(tmp_path / "spark_model.json")
    again = identmatch.dedupe(sample, model=tmp_path / "spark_model.json", config=config)
    duck = again.entities.set_index("record_id")["entity_id"]
    spark_entities = trained.entities.set_index("record_id")["entity_id"].reindex(duck.index)
    assert (duck == spark_entities).all()
    return trained


@pytest.mark.spark_training
def test_model_trained_on_spark_applies_on_duckdb(spark: Any, tmp_path: Path) -> None:
    """A model whose u was estimated on Spark, saved and loaded, gives DuckDB the same entities.

    Below 1,000 records m keeps its defaults, so this trains u and reads it back (~1 min in
    local mode on a busy 2-core machine); runs with ``--spark-training``.
    """
    config = identmatch.ModelConfig(max_pairs_for_u=5_000)
    trained = _train_on_spark_then_apply_on_duckdb(spark, tmp_path, 600, config)
    assert trained.model.training is not None
    assert trained.model.training.u == "estimated"


@pytest.mark.spark_training
def test_model_trained_by_em_on_spark_applies_on_duckdb(spark: Any, tmp_path: Path) -> None:
    """m trained by EM on Spark too: the same entities on DuckDB (~2 min locally)."""
    config = identmatch.ModelConfig(max_pairs_for_u=20_000, em_max_iterations=8)
    trained = _train_on_spark_then_apply_on_duckdb(spark, tmp_path, 1_000, config)
    assert trained.model.training is not None
    assert trained.model.training.m == "estimated"


def test_declared_levels_on_spark_assign_the_table_level(spark: Any) -> None:
    """Identifier and attribute comparisons compiled for Spark put every declared-column table
    case, both ways round, in the level Python and DuckDB give it."""
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType

    from identmatch._prepare.records import is_list_column
    from test_declared import CASES as DECLARED_CASES
    from test_declared import SCHEMA
    from test_declared import prepared as declared_prepared

    columns = list(SCHEMA.prepared_columns)
    specs = list(dict.fromkeys(spec for spec, _, _, _ in DECLARED_CASES))
    fields = [StructField("case", StringType())]
    for column in columns:
        kind = ArrayType(StringType()) if is_list_column(column) else StringType()
        fields += [StructField(f"{column}_l", kind), StructField(f"{column}_r", kind)]
    rows, expected = [], {}
    for number, (spec, left_fields, right_fields, label) in enumerate(DECLARED_CASES):
        left, right = declared_prepared(**left_fields), declared_prepared(**right_fields)
        for way, (a, b) in enumerate(((left, right), (right, left))):
            key = f"{number}-{way}"
            row: dict[str, Any] = {"case": key}
            for column in columns:
                for side, record in (("l", a), ("r", b)):
                    value = record.get(column)
                    row[f"{column}_{side}"] = list(value) if isinstance(value, list) else value
            rows.append(row)
            expected[key] = (specs.index(spec), label, ic.evaluate_level(spec, a, b))
    frame = spark.createDataFrame(rows, StructType(fields))
    expressions = ["case"]
    for number, spec in enumerate(specs):
        compiled = ic.compile_comparison(spec, "spark").get_comparison("spark")
        conditions = [level.sql_condition for level in compiled.comparison_levels]
        cases = " ".join(f"WHEN {c} THEN {i}" for i, c in enumerate(conditions) if c != "ELSE")
        expressions.append(f"CASE {cases} ELSE {len(conditions) - 1} END AS level_{number}")
    found = {row["case"]: row for row in frame.selectExpr(*expressions).collect()}
    assert len(found) == 2 * len(DECLARED_CASES)
    for key, (number, label, python_level) in expected.items():
        level = found[key][f"level_{number}"]
        assert level == python_level
        assert specs[number].levels[level].label == label


def test_declared_identifier_model_gives_duckdb_pairs_on_spark(
    spark: Any, records: pd.DataFrame, tmp_path: Path
) -> None:
    """A model with a declared identifier (list values, typos, clashes) and an attribute
    scores the same pairs with the same weights on Spark as on DuckDB, from prepared parts
    that the executors read (one Spark run: each costs tens of seconds)."""
    rng = random.Random(3)
    people = records.head(300).copy()
    refs = []
    for nhs in people["nhs_number"].astype(str):
        ref = f"R{abs(hash(nhs)) % 10**6:06d}"
        roll = rng.random()
        if roll < 0.1:  # a typo: one character, or two adjacent ones swapped
            ref = ref[:3] + ref[4] + ref[3] + ref[5:] if roll < 0.05 else ref[:-1] + "X"
        elif roll < 0.15:
            ref = f"{ref};R{rng.randrange(10**6):06d}"  # several values
        elif roll < 0.25:
            ref = None
        refs.append(ref)
    people["case_ref"] = refs
    people["team"] = [rng.choice(["north", "south", "east", "west", None]) for _ in refs]
    config = identmatch.ModelConfig(train="never")
    on_duckdb = identmatch.dedupe(
        people, identifiers=["case_ref"], attributes=["team"], config=config
    )
    people.to_parquet(tmp_path / "people.parquet")
    identmatch.prepare_parquet(
        tmp_path / "people.parquet",
        tmp_path / "parts",
        chunk_rows=1_000,
        identifiers=["case_ref"],
        attributes=["team"],
    )
    keys = ["record_id_l", "record_id_r"]
    for source in (people, tmp_path / "parts"):
        on_spark = identmatch.dedupe(source, model=on_duckdb.model, backend=spark, config=config)
        merged = on_duckdb.pairs.merge(on_spark.pairs, on=keys, how="outer", suffixes=("_d", "_s"))
        assert len(merged) == len(on_duckdb.pairs) == len(on_spark.pairs) > 30
        assert (merged["match_weight_d"] - merged["match_weight_s"]).abs().max() < 1e-9
    assert {"case_ref", "team"} <= {spec.name for spec in on_spark.model.comparisons}


def test_em_block_patterns_on_spark_equal_duckdb(spark: Any, on_duckdb: identmatch.Result) -> None:
    """Training's EM reads each block's agreement patterns from the backend: Spark counts the
    same patterns, pair for pair, as DuckDB for every EM block, both through Splink's own
    comparison of the pairs and through the one aggregating query training uses."""
    from splink import Linker

    from identmatch._batch.engine import Engine
    from identmatch._batch.plan import count_patterns
    from identmatch._batch.spark import SparkEngine
    from identmatch._model.model import _EM_RULES, _block_patterns, build_settings

    frame = on_duckdb._prepared[0]
    model = on_duckdb.model
    engines = {"duckdb": Engine(), "spark": SparkEngine(spark)}
    for rule in _EM_RULES:
        found = {}
        for name, engine in engines.items():
            table = engine.load_prepared(frame, f"em_{name}_{'_'.join(rule)}")
            settings = build_settings(model, "dedupe_only", engine.dialect, blocking=rule)
            through_splink = _block_patterns(Linker(table, settings, log_level=None), model)
            counted = count_patterns(engine, [table], model, rule)
            for way, patterns in (("splink", through_splink), ("query", counted)):
                assert patterns is not None, (name, way, rule)
                rows = pd.DataFrame(patterns.levels, columns=list(patterns.comparisons))
                rows["pairs"] = patterns.counts
                found[name, way] = rows.sort_values(list(rows.columns)).reset_index(drop=True)
        reference = found["duckdb", "splink"]
        assert reference["pairs"].sum() > 100, rule
        for key in (("spark", "splink"), ("spark", "query"), ("duckdb", "query")):
            pd.testing.assert_frame_equal(found[key], reference, check_dtype=False)


def test_lookalike_letters_fold_alike_on_spark_duckdb_and_search(
    spark: Any, records: pd.DataFrame, on_duckdb: identmatch.Result, tmp_path: Path
) -> None:
    """Lookalike letters are folded once per record, in the standardisers, so DuckDB, Spark
    and a search see the same names: a copy of each record with its names written in
    lookalike Cyrillic letters (``Веnеdісt``) joins the original on both backends, from the
    same scored pairs, and a search so written finds the original's entity."""
    sample = records.dropna(subset=["forename", "surname", "dob"]).iloc[:60]
    twins = sample.assign(
        record_id="twin-" + sample["record_id"],
        forename=sample["forename"].map(disguised),
        surname=sample["surname"].map(disguised),
    )
    assert (twins["forename"] != sample["forename"]).mean() > 0.9
    both = pd.concat([sample, twins], ignore_index=True)
    on_each = [
        identmatch.dedupe(both, model=on_duckdb.model),
        identmatch.dedupe(both, model=on_duckdb.model, backend=spark),
    ]
    for result in on_each:
        entity = result.entities.set_index("record_id")["entity_id"]
        assert (entity[sample["record_id"]].to_numpy() == entity[twins["record_id"]]).all()
    keys = ["record_id_l", "record_id_r"]
    merged = on_each[0].pairs.merge(on_each[1].pairs, on=keys, how="outer")
    assert len(merged) == len(on_each[0].pairs) == len(on_each[1].pairs)
    assert (merged["match_weight_x"] - merged["match_weight_y"]).abs().max() < 1e-6
    with identmatch.Index.build(sample, tmp_path / "known.duckdb", model=on_duckdb.model) as known:
        for original, twin in zip(sample.itertuples(), twins.itertuples(), strict=True):
            query = {"forename": twin.forename, "surname": twin.surname, "dob": twin.dob}
            hits = known.search(query)
            assert hits, original.record_id
            assert original.record_id in [r.record_id for r in hits[0].records]
