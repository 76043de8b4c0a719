"""The one function identmatch adds to a Spark session: Jaro-Winkler equal to DuckDB's.

Spark SQL has no Jaro-Winkler, and the one in Splink's Java jar matches characters by another
rule than DuckDB's (some pairs near a threshold would fall into another level). identmatch
registers ``identmatch_jaro_winkler(a, b)`` instead: a vectorised Arrow UDF that scores whole
batches of pairs with rapidfuzz's ``JaroWinkler``, the implementation DuckDB's derives from
(equal to DuckDB's ``jaro_winkler_similarity`` to 1e-9, tested on Spark).

The UDF's code is pickled with the job by value, so the executors' Python needs only
rapidfuzz (besides pyspark's own pyarrow and numpy), not identmatch. Spark evaluates a Python
UDF for every row that reaches it, even under a ``CASE`` branch that is not taken, so the
function is cheap per row rather than clever about which rows need it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from identmatch._exceptions import MissingDependencyError
from identmatch._sql import dialect

__all__ = ["JARO_WINKLER_FUNCTION", "register_spark_functions"]

JARO_WINKLER_FUNCTION = dialect("spark").jaro_winkler

_EXECUTOR_HINT = (
    "Spark's Python workers could not run identmatch's Jaro-Winkler UDF ({reason}). "
    "The executors' Python needs rapidfuzz (pip install 'rapidfuzz>=3.10,<4'): add it as a "
    "cluster library (Databricks: Libraries > PyPI), or ship a packed environment with the job "
    "(venv-pack or conda-pack, then spark.archives=env.tar.gz#env and "
    "spark.pyspark.python=./env/bin/python); in local mode, set PYSPARK_PYTHON to an "
    "interpreter that has it"
)


def _jaro_winkler_udf() -> Any:
    """The UDF: an Arrow UDF on Spark 4.1 and later, a pandas UDF before.

    Everything the executors run is defined in here, so cloudpickle ships it by value (a
    module-level function would be pickled by reference and need identmatch installed).
    """
    import pyspark.sql.functions
    from pyspark.sql.types import DoubleType

    sf: Any = pyspark.sql.functions  # pyspark's stubs do not list every function

    def scores_of(left: list[str | None], right: list[str | None]) -> Any:
        """Scores of one batch of pairs: a float64 array and a mask of the NULL results.

        DuckDB's rules: NULL when either side is NULL, 0.0 when either is empty (rapidfuzz
        alone gives two empty strings 1.0), otherwise rapidfuzz's Jaro-Winkler (prefix
        weight 0.1, common prefix up to 4 characters).
        """
        # Imported here: this runs in the executors' Python, which need not have identmatch.
        import numpy as np
        from rapidfuzz.distance import JaroWinkler
        from rapidfuzz.process import cpdist

        scores = np.zeros(len(left), dtype=np.float64)
        missing = np.fromiter(
            (a is None or b is None for a, b in zip(left, right, strict=True)),
            dtype=bool,
            count=len(left),
        )
        both = [i for i, (a, b) in enumerate(zip(left, right, strict=True)) if a and b]
        if both:
            scores[both] = cpdist(
                [left[i] for i in both],
                [right[i] for i in both],
                scorer=JaroWinkler.normalized_similarity,
                dtype=np.float64,
                workers=1,  # Spark already runs one worker per core
            )
        return scores, missing

    if hasattr(sf, "arrow_udf"):
        # pyspark reads the kind of UDF from the type hints (Arrow arrays in and out).
        def jaro_winkler(left: pa.Array, right: pa.Array) -> pa.Array:
            import pyarrow as pa

            scores, missing = scores_of(left.to_pylist(), right.to_pylist())
            return pa.array(scores, type=pa.float64(), mask=missing)

        return sf.arrow_udf(jaro_winkler, DoubleType())

    def jaro_winkler_pandas(left: pd.Series, right: pd.Series) -> pd.Series:  # pragma: no cover
        import pandas as pd

        def values(series: Any) -> list[str | None]:
            return [None if v is None or v != v else v for v in series.tolist()]

        scores, missing = scores_of(values(left), values(right))
        # A nullable float, so a NULL result reaches Spark as NULL: a NaN would compare
        # greater than every threshold in Spark SQL.
        out = pd.Series(scores, dtype="Float64")
        out[missing] = pd.NA
        return out

    return sf.pandas_udf(jaro_winkler_pandas, DoubleType())  # Spark before 4.1


def register_spark_functions(session: Any) -> None:
    """Register ``identmatch_jaro_winkler`` in ``session`` and check the executors can run it.

    The check is one tiny job, so a cluster whose Python lacks rapidfuzz fails here, with
    the fix, rather than halfway through scoring.

    Raises:
        MissingDependencyError: the executors' Python cannot run the UDF.
    """
    session.udf.register(JARO_WINKLER_FUNCTION, _jaro_winkler_udf())
    try:
        row = session.sql(f"SELECT {JARO_WINKLER_FUNCTION}('MARTHA', 'MARHTA') AS s").collect()[0]
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else type(exc).__name__
        raise MissingDependencyError(_EXECUTOR_HINT.format(reason=reason)) from exc
    if abs(float(row["s"]) - 0.9611111111111111) > 1e-9:
        msg = f"identmatch's Jaro-Winkler UDF gave {row['s']!r} for MARTHA/MARHTA, not 0.9611"
        raise MissingDependencyError(msg)
