"""Splink's Spark backend: the only modules that import pyspark (with ``_spark_functions``).

Every level identmatch compiles for Spark uses functions built into Spark SQL, except
Jaro-Winkler, which Spark lacks: :class:`SparkEngine` registers ``identmatch_jaro_winkler``
in the session, a vectorised UDF on rapidfuzz equal to DuckDB's (``_spark_functions``). The
executors' Python therefore needs rapidfuzz; Splink's Java jar is not used, as its
Jaro-Winkler scores some pairs differently from DuckDB's.

Prepared records reach Spark from the driver as Arrow (:meth:`SparkEngine.load_prepared`),
or straight from prepared Parquet parts that Spark reads in parallel
(:meth:`SparkEngine.load_parquet`, for inputs larger than the driver).
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from identmatch._batch.engine import CandidateQuery
from identmatch._batch.spark_functions import register_spark_functions
from identmatch._exceptions import ConfigError, MissingDependencyError
from identmatch._prepare.arrow import arrow_schema, prepared_columns
from identmatch._prepare.records import PREPARED_COLUMNS
from identmatch._sql import dialect, logged

__all__ = ["SparkEngine", "is_spark_session", "spark_session"]

_INSTALL_HINT = (
    "the Spark backend needs pyspark: pip install 'identmatch[spark]' "
    "(and Java 17 or later on the PATH)"
)


def _require_pyspark() -> None:
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise MissingDependencyError(_INSTALL_HINT) from exc


def is_spark_session(value: Any) -> bool:
    """Whether ``value`` is a SparkSession, without importing pyspark when it is not loaded."""
    return type(value).__name__ == "SparkSession" and type(value).__module__.startswith("pyspark.")


def spark_session(
    master: str | None = None,
    *,
    shuffle_partitions: int | None = None,
    driver_memory: str | None = None,
    app_name: str = "identmatch",
) -> Any:
    """A SparkSession (the running one if there is one) set up for identmatch.

    In local mode, Spark's Python workers use this interpreter (unless ``PYSPARK_PYTHON`` is
    set), so identmatch's Jaro-Winkler UDF finds rapidfuzz there.

    Args:
        master: Spark master URL, e.g. ``local[4]`` or ``spark://host:7077``; the
            environment's default (``local[*]`` outside a cluster) when None.
        shuffle_partitions: ``spark.sql.shuffle.partitions``: about 2-4 per core on one
            machine, and enough that each partition of scored pairs stays near 100-200 MB
            on a cluster.
        driver_memory: ``spark.driver.memory`` (e.g. ``8g``); only takes effect when this
            call starts the JVM.
        app_name: the name shown in the Spark UI.

    Raises:
        MissingDependencyError: pyspark is not installed.
    """
    _require_pyspark()
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name)
    if master is not None:
        builder = builder.master(master)
    # Stage progress bars would interleave with identmatch's own progress on the terminal.
    builder = builder.config("spark.ui.showConsoleProgress", "false")
    if shuffle_partitions is not None:
        builder = builder.config("spark.sql.shuffle.partitions", str(int(shuffle_partitions)))
        builder = builder.config("spark.default.parallelism", str(int(shuffle_partitions)))
    if driver_memory is not None:
        builder = builder.config("spark.driver.memory", driver_memory)
    session = builder.getOrCreate()
    context = session.sparkContext
    if str(context.master).startswith("local") and "PYSPARK_PYTHON" not in os.environ:
        # In local mode the Python workers run on this machine: use this interpreter, which
        # has rapidfuzz for identmatch's Jaro-Winkler UDF (pyspark's default is whatever
        # `python3` is first on the PATH).
        context.pythonExec = sys.executable
    return session


def _spark_schema(columns: list[str]) -> Any:
    from pyspark.sql.types import ArrayType, StringType, StructField, StructType

    arrow = arrow_schema(columns)
    return StructType(
        [
            StructField(
                f.name, ArrayType(StringType()) if pa.types.is_list(f.type) else StringType()
            )
            for f in arrow
        ]
    )


class SparkEngine:
    """A SparkSession with Splink's SparkAPI bound to it; same interface as ``Engine``.

    In local mode Splink's intermediate tables are cached; on a cluster they are written as
    Parquet under the session's checkpoint directory, which must be set (``checkpoint_dir``
    or ``spark.sparkContext.setCheckpointDir``) on storage every executor reaches.

    Raises:
        ConfigError: a cluster session without a checkpoint directory.
        MissingDependencyError: the executors' Python cannot run identmatch's Jaro-Winkler
            UDF (it needs rapidfuzz).
    """

    dialect = "spark"

    def __init__(self, session: Any, *, checkpoint_dir: str | None = None) -> None:
        _require_pyspark()
        from splink.backends.spark import SparkAPI

        self.spark = session
        context = session.sparkContext
        if checkpoint_dir is not None:
            context.setCheckpointDir(checkpoint_dir)
        # On one machine, cached tables (memory, spilling to disk) break Splink's query
        # lineage faster than Parquet round trips; on a cluster Splink's own default
        # (Parquet under the checkpoint directory, Delta tables on Databricks) is kept.
        local = str(context.master).startswith("local")
        databricks = "DATABRICKS_RUNTIME_VERSION" in os.environ
        if not (local or databricks) and context._jsc.sc().getCheckpointDir().isEmpty():
            msg = (
                "on a Spark cluster, set a checkpoint directory on shared storage first, e.g. "
                "spark.sparkContext.setCheckpointDir('hdfs:///tmp/identmatch'): Splink writes "
                "intermediate tables there"
            )
            raise ConfigError(msg)
        self.db_api: Any = SparkAPI(
            spark_session=session,
            break_lineage_method="persist" if local else None,
            # identmatch's levels need none of the functions in Splink's jar.
            register_udfs_automatically=False,
        )
        register_spark_functions(session)

    def load_prepared(self, frame: pd.DataFrame, table: str) -> Any:
        """Send a prepared frame to Spark as ``table`` and register it with Splink."""
        columns = prepared_columns(frame.columns)
        arrow = pa.Table.from_pandas(
            frame[columns], schema=arrow_schema(columns), preserve_index=False
        )
        if int(self.spark.version.split(".")[0]) >= 4:
            spark_frame = self.spark.createDataFrame(arrow)
        else:  # Spark 3.5 reads pandas, not Arrow tables, from the driver
            spark_frame = self.spark.createDataFrame(arrow.to_pandas(), _spark_schema(columns))
        return self._register(spark_frame, table)

    def load_parquet(self, directory: Path, table: str, declared: Sequence[str] = ()) -> Any:
        """Register the prepared Parquet parts in ``directory`` as ``table``, read by Spark.

        The executors read the parts in parallel, so the path must be one they reach (local
        mode, or shared storage on a cluster). ``declared``: the declared prepared columns the
        parts hold besides the standard ones.
        """
        columns = [*PREPARED_COLUMNS, *declared]
        spark_frame = self.spark.read.schema(_spark_schema(columns)).parquet(
            str(directory.absolute())
        )
        return self._register(spark_frame.select(*columns), table)

    def _register(self, spark_frame: Any, table: str) -> Any:
        # A session outlives a run, and its temporary views with it: each run's tables get
        # a fresh physical name, while Splink's source_dataset keeps the plain one.
        physical = f"{table}_{uuid.uuid4().hex[:12]}"
        return self.db_api.register(spark_frame, dataset_display_name=table, table_name=physical)

    def add_candidates(
        self, inputs: list[Any], choose: CandidateQuery
    ) -> tuple[list[Any], pd.DataFrame]:
        """As :meth:`identmatch._batch.engine.Engine.add_candidates`, in Spark SQL.

        The pairs are chosen once; Splink's blocking reads the inputs with their lists, not
        the lineage that made them.
        """
        quote = dialect("spark").column
        tables = [quote(sdf.physical_name) for sdf in inputs]
        statements, kept, extend = choose(tables)
        # Each table is checkpointed (kept in the executors, its query plan cut off): the
        # plans of thirty keys' unions would otherwise be carried into every later query.
        persisted = {}
        for statement in statements:
            frame = self.spark.sql(logged(statement.sql)).localCheckpoint(eager=True)
            frame.createOrReplaceTempView(statement.table)
            persisted[statement.table] = frame
            for gone in statement.drop:
                persisted.pop(gone).unpersist()
                self.spark.catalog.dropTempView(gone)
        out = [
            self._register(
                self.spark.sql(
                    logged(extend(tables[position], quote(kept), position))
                ).localCheckpoint(eager=True),
                sdf.dataset_display_name,
            )
            for position, sdf in enumerate(inputs)
        ]
        selected = self.spark.table(kept).select("src_l", "uid_l", "src_r", "uid_r", "first_rule")
        if hasattr(selected, "toArrow"):  # Spark 4
            pairs: pd.DataFrame = selected.toArrow().to_pandas()
        else:
            pairs = selected.toPandas()
        for frame in persisted.values():
            frame.unpersist()
        return out, pairs

    def query_arrow(self, inputs: list[Any], sql: Callable[[list[str], list[str]], str]) -> Any:
        """Run ``sql(tables, columns)`` over the Splink dataframes ``inputs`` (their quoted
        table names and the columns the first holds) and return an Arrow table."""
        quote = dialect("spark").column
        tables = [quote(sdf.physical_name) for sdf in inputs]
        columns = list(self.spark.table(inputs[0].physical_name).columns)
        frame = self.spark.sql(logged(sql(tables, columns)))
        if hasattr(frame, "toArrow"):  # Spark 4
            return frame.toArrow()
        return pa.Table.from_pandas(frame.toPandas(), preserve_index=False)

    def scored_pairs(self, predictions: Any, keep: Callable[[str], bool]) -> pd.DataFrame:
        """The columns of Splink's predictions that ``keep`` accepts, collected to the driver."""
        spark_frame = predictions.as_spark_dataframe()
        selected = spark_frame.select(*[c for c in spark_frame.columns if keep(c)])
        if hasattr(selected, "toArrow"):  # Spark 4
            frame: pd.DataFrame = selected.toArrow().to_pandas()
        else:
            frame = selected.toPandas()
        return frame

    def close(self) -> None:
        """Drop Splink's temporary tables; the session itself is left running."""
        self.db_api.delete_tables_created_by_splink_from_db()
