"""What the commands share: options, reading and writing tables, printing, the service client."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import click
import pandas as pd

import identmatch

EXIT_USAGE = 2


def parse_map(values: tuple[str, ...]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for item in values:
        source, sep, target = item.partition("=")
        if not sep or not source.strip() or not target.strip():
            msg = (
                f"--map takes INPUT_COLUMN=STANDARD_COLUMN, e.g. given_name=forename; got {item!r}"
            )
            raise click.BadParameter(msg, param_hint="--map")
        mapping[source.strip()] = target.strip()
    return mapping


def parse_identifiers(values: tuple[str, ...]) -> dict[str, str]:
    """``--identifier COLUMN[:KIND]`` options as column -> kind (``plain`` when not given)."""
    out: dict[str, str] = {}
    for item in values:
        column, _, kind = item.partition(":")
        if not column.strip():
            msg = f"--identifier takes COLUMN or COLUMN:KIND, e.g. pnc:pnc_id; got {item!r}"
            raise click.BadParameter(msg, param_hint="--identifier")
        out[column.strip()] = kind.strip() or "plain"
    return out


def run_settings(
    config_path: Path | None,
    *,
    mapping: tuple[str, ...],
    date_order: str | None,
    identifiers: tuple[str, ...],
    attributes: tuple[str, ...],
    threshold: float | None,
    model: Path | None,
    save_model: Path | None,
    backend: str | None,
    strict: bool = False,
) -> tuple[identmatch.RunConfig, bool]:
    """The run's settings: the config file's, if any, with the options given taking over.

    Returns the settings and whether a config file was read.
    """
    base = identmatch.RunConfig.load(config_path) if config_path is not None else None
    merged = (base or identmatch.RunConfig()).merged(
        columns=parse_map(mapping),
        date_order=date_order,
        identifiers=parse_identifiers(identifiers),
        attributes=tuple(attributes),
        threshold=threshold,
        model=None if model is None else str(model),
        save_model=None if save_model is None else str(save_model),
        backend=backend,
        strict=True if strict else None,
    )
    return merged, base is not None


def write_table(frame: Any, path: Path) -> None:
    """Write ``frame`` to ``path`` (.csv or .parquet), readable by its owner only.

    Written to a new file beside ``path`` (an unpredictable name, created exclusively, mode
    0600) and renamed over it: a file or link already at ``path`` is replaced, never
    written through, and keeps none of its old permissions.
    """
    suffix = path.suffix.lower()
    if suffix not in {".parquet", ".pq", ".csv"}:
        msg = f"{path.name}: output must end in .csv or .parquet"
        raise click.BadParameter(msg)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(name)
    try:
        if suffix == ".csv":
            out = frame.copy()
            if "aliases" in out.columns:
                out["aliases"] = out["aliases"].map(
                    lambda v: ";".join(v) if isinstance(v, list | tuple) else v
                )
            for column in out.columns:
                if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
                    out[column] = out[column].map(inert_cell)
            out.to_csv(tmp, index=False)
        else:
            frame.to_parquet(tmp, index=False)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: Any) -> Any:
    """A text cell a spreadsheet would run as a formula (``=HYPERLINK(...)``), quoted with ``'``.

    Spreadsheets treat a leading ``'`` as "this is text" and do not show it; numbers are
    not text and are left alone.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def declared_options() -> list[Any]:
    kinds = ", ".join(identmatch.IDENTIFIER_KINDS)
    return [
        click.option(
            "--identifier",
            "identifiers",
            multiple=True,
            metavar="COLUMN[:KIND]",
            help=f"Declare an identifier column (repeatable); KIND is one of {kinds} "
            "[default: plain].",
        ),
        click.option(
            "--attribute",
            "attributes",
            multiple=True,
            metavar="COLUMN",
            help="Declare a categorical or text attribute column (repeatable), e.g. occupation.",
        ),
        click.option(
            "--config",
            "config_path",
            type=click.Path(path_type=Path),
            help="Read settings from this TOML file (identmatch.toml); options override it.",
        ),
    ]


def with_declared_options(func: Any) -> Any:
    for option in reversed(declared_options()):
        func = option(func)
    return func


MAP = click.option(
    "--map",
    "mapping",
    multiple=True,
    metavar="INPUT=STANDARD",
    help="Rename an input column to a standard one, e.g. given_name=forename; repeat as "
    "needed. Standard columns: " + ", ".join(identmatch.STANDARD_COLUMNS) + "; or recorded "
    "(the date the source made or last updated the record: kept and shown, never compared).",
)
DATE_ORDER = click.option(
    "--date-order",
    type=click.Choice(["auto", "DMY", "MDY", "YMD"]),
    default=None,
    help="How to read ambiguous dates like 04/03/1987: auto reads each source in the "
    "order its unambiguous dates show (25/12/1987 is day-first), else day-first "
    "[default: auto].",
)
DECISIONS = click.option(
    "--decisions",
    "decisions",
    type=click.Path(path_type=Path),
    help="A decisions file (from 'identmatch decisions export'): pairs decided 'different' "
    "never share an entity, pairs decided 'same' are joined first.",
)


def common_options(func: Any) -> Any:
    options = [
        click.option(
            "--out",
            "out",
            type=click.Path(path_type=Path),
            required=True,
            help="Where to write one row per record with its entity_id (.csv or .parquet).",
        ),
        click.option(
            "--pairs",
            "pairs",
            type=click.Path(path_type=Path),
            help="Also write the scored pairs here (.csv or .parquet).",
        ),
        click.option(
            "--entities",
            "entities",
            type=click.Path(path_type=Path),
            help="Also write each entity's names and dates of birth, with the sources and "
            "record ids behind each (.csv or .parquet).",
        ),
        click.option(
            "--threshold",
            type=click.FloatRange(0, 1, min_open=True, max_open=True),
            default=None,
            help="Match probability at which records join one entity [default: 0.95].",
        ),
        click.option(
            "--model",
            "model",
            type=click.Path(path_type=Path),
            help="Use this saved model instead of training one.",
        ),
        click.option(
            "--save-model",
            "save_model",
            type=click.Path(path_type=Path),
            help="Save the trained model here (JSON).",
        ),
        MAP,
        DATE_ORDER,
        *declared_options(),
        click.option(
            "--backend",
            type=click.Choice(["duckdb", "spark"]),
            default=None,
            help="Where pairs are formed and scored: DuckDB in this process, or Spark "
            "(needs pip install 'identmatch[spark]' and Java) [default: duckdb].",
        ),
        click.option(
            "--spark-master",
            "spark_master",
            metavar="URL",
            help="Spark master URL with --backend spark, e.g. local[4] or spark://host:7077 "
            "[default: Spark's own, local[*] outside a cluster].",
        ),
        click.option(
            "--spark-partitions",
            "spark_partitions",
            type=click.IntRange(min=1),
            help="spark.sql.shuffle.partitions with --backend spark (2-4 per core).",
        ),
        DECISIONS,
        click.option(
            "--truth",
            "truth",
            metavar="COLUMN",
            help="A column holding each record's true person (test or synthetic data): print "
            "recall and precision against it, overall and per group (sex, age band, source), "
            "flagging groups we miss.",
        ),
        click.option(
            "--by",
            "by",
            multiple=True,
            metavar="COLUMN",
            help="With --truth: also break recall and precision down by this input column "
            "(repeatable), e.g. --by origin.",
        ),
        STRICT,
        QUIET,
    ]
    for option in reversed(options):
        func = option(func)
    return func


INDEX_OR_URL = click.option(
    "--index",
    "index_path",
    type=click.Path(path_type=Path),
    help="The index file (DuckDB); or give --url.",
)
INDEX_FILE = click.option(
    "--index",
    "index_path",
    type=click.Path(path_type=Path),
    required=True,
    help="The index file (DuckDB).",
)
QUIET = click.option(
    "--quiet", "-q", is_flag=True, help="Print nothing but errors and the results asked for."
)
STRICT = click.option(
    "--strict",
    is_flag=True,
    help="Refuse (exit 2, before any matching) input with anything that cannot be read or "
    "used: unmapped columns that look like standard ones, unread values, numbers as names "
    "(as strict = true in a --config file does).",
)


def say(message: str, quiet: bool) -> None:
    """A status line on stderr, unless ``--quiet``."""
    if not quiet:
        click.echo(message, err=True)


def backend_for(backend: str, master: str | None, partitions: int | None) -> Any:
    if backend != "spark":
        if master is not None or partitions is not None:
            msg = "--spark-master and --spark-partitions need --backend spark"
            raise click.BadParameter(msg, param_hint="--backend")
        return backend
    return identmatch.spark_session(master, shuffle_partitions=partitions)


def check_truth(truth: str | None, by: tuple[str, ...]) -> None:
    """Refuse ``--by`` without ``--truth`` before the run, not after it."""
    if by and truth is None:
        msg = "--by breaks down the scores against --truth COLUMN; give --truth too"
        raise click.UsageError(msg)


def print_evaluation(
    result: identmatch.Result, truth: str | None, by: tuple[str, ...], quiet: bool
) -> None:
    """With ``--truth``: recall and precision per group on stdout (sex, age band, source
    where the input has it, then each ``--by``)."""
    if truth is None or quiet:
        return
    defaults = ["sex", "age_band", *(["source"] if "source" in result.entities.columns else [])]
    wanted = list(dict.fromkeys([*defaults, *by]))
    click.echo(str(result.evaluate(truth, by=wanted)))


URL = click.option(
    "--url",
    metavar="URL",
    help="Ask a running service (http(s)://host:port) instead of opening --index; the API "
    "key is read from IDENTMATCH_API_KEY, never from the command line.",
)


class ServiceError(click.ClickException):
    """A running service refused a call or could not be reached (exit 2, one line)."""

    exit_code = EXIT_USAGE


PURPOSE = click.option(
    "--purpose",
    required=True,
    help="Why you are reading these people's data (a case reference, a reason); audited.",
)


AUDIT_KEY_FILE = click.option(
    "--audit-key-file",
    "audit_key_file",
    type=click.Path(path_type=Path),
    envvar="IDENTMATCH_AUDIT_KEY_FILE",
    help="The audit chain key's file, when it is not the one made for the index at build "
    "(in the key directory). Also read from IDENTMATCH_AUDIT_KEY_FILE.",
)


def read_key(key_file: Path | None) -> bytes | None:
    """The audit chain key in --audit-key-file; None: the index's own (see AuditLog)."""
    return identmatch.AuditLog.read_key(key_file) if key_file is not None else None


def open_audit_log(opened: identmatch.Index, key_file: Path | None) -> identmatch.AuditLog:
    """The index's audit log, its chain key checked (every write of the index is audited
    through it)."""
    return opened.audit_log(read_key(key_file))


def cli_key() -> str:
    """The audit trail's key id for a local command: ``cli:`` and the OS user."""
    from identmatch._index.audited import default_caller

    return default_caller("cli")


def audited_reads(opened: identmatch.Index, key_file: Path | None) -> identmatch.AuditedIndex:
    """The index's audited reads, as this command's user."""
    return opened.audited(caller=cli_key(), chain_key=read_key(key_file))


def checked_purpose(purpose: str) -> str:
    text = purpose.strip()
    if len(text) < 3 or len(text) > 500:
        msg = "--purpose must be 3 to 500 characters"
        raise click.BadParameter(msg, param_hint="--purpose")
    return text


def one_source(index_path: Path | None, url: str | None) -> Path:
    """--index, checked to be the one source given (with --url, a placeholder never opened)."""
    if (index_path is None) == (url is None):
        msg = "give --index FILE, or --url of a running service (not both)"
        raise click.UsageError(msg)
    return index_path if index_path is not None else Path()


def call_service(
    url: str,
    method: str,
    path: str,
    *,
    params: dict[str, Any] | None = None,
    body: dict[str, Any] | None = None,
) -> Any:
    """One call to a running service, as JSON; errors exit 2 with the status and detail."""
    import urllib.error
    import urllib.parse
    import urllib.request

    if not url.startswith(("http://", "https://")):
        msg = "--url must start with http:// or https://"
        raise click.BadParameter(msg, param_hint="--url")
    token = os.environ.get("IDENTMATCH_API_KEY", "").strip()
    if not token:
        msg = "--url needs the API key in the IDENTMATCH_API_KEY environment variable"
        raise click.UsageError(msg)
    query = "?" + urllib.parse.urlencode(params) if params else ""
    request = urllib.request.Request(  # http(s) only: checked above
        url.rstrip("/") + path + query,
        data=json.dumps(body).encode("utf-8") if body is not None else None,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail", exc.reason)
        except (ValueError, AttributeError):
            detail = exc.reason
        failure = ServiceError(f"{url}: HTTP {exc.code}: {detail}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        failure = ServiceError(f"{url}: cannot reach the service ({reason})")
    raise failure


DATES = click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"])


def write_private_text(path: Path, text: str) -> None:
    """``text`` to ``path`` through an owner-only temp file renamed over it (as tables are)."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def one_field(text: str | None) -> str | None:
    """``text`` with tabs, line breaks and other unprintable characters escaped."""
    if text is None or text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
