"""What a run prints at its end: data quality, candidates, model health, entities."""

from __future__ import annotations

from typing import Any

import pandas as pd

import identmatch
from identmatch._cli.common import one_field

__all__ = ["print_blocking", "print_dates", "print_entities", "print_summary", "rule_in_words"]


def print_summary(result: identmatch.Result, quiet: bool) -> None:
    """The tables of a dedupe or link on stderr, then the entity count."""
    if quiet:
        return
    print_tables(result.quality, result.blocking, result.model, result.entities, result.threshold)


def print_tables(
    quality: identmatch.DataQuality,
    blocking: identmatch.BlockingReport | None,
    model: identmatch.Model | None,
    entities: pd.DataFrame,
    threshold: float,
) -> None:
    """Data quality, dates by source, candidates, constrained levels, entities by size and
    by source, and the count of records and entities (a run's or an index build's)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    table = Table(title=f"Data quality ({quality.rows:,} rows read)")
    for heading in ("column", "missing", "invalid", "placeholder", "partial", "mixed alphabets"):
        table.add_column(heading, justify="left" if heading == "column" else "right")
    for row in quality.as_rows():
        table.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row.values()))
    console.print(table)
    print_dates(console, quality)
    if blocking is not None:
        print_blocking(console, blocking)
    training = model.training if model is not None else None
    if model is not None and training is not None and training.levels:
        from identmatch._cli.model import print_health

        # Only the levels training constrained: `identmatch model health` lists them all.
        print_health(console, model, show_all=False)
    print_entities(console, entities)
    n_entities = entities["entity_id"].nunique()
    console.print(
        f"{len(entities):,} records -> {n_entities:,} entities at match probability >= {threshold}"
    )


_READ_AS = {"DMY": "day-first", "MDY": "month-first", "YMD": "year-first"}
_SOURCES_SHOWN = 20


def print_dates(console: Any, quality: identmatch.DataQuality) -> None:
    """Per input and source: dates of birth left unread, with the first rows' numbers, and
    any order other than day-first. Row numbers count data rows from 1; no value is shown."""
    from rich.table import Table
    from rich.text import Text  # input and source names are data: never read as markup

    dob = quality.columns.get("dob")
    shown = [s for s in (dob.sources if dob else ()) if s.unread or s.date_order != "DMY"]
    if not shown:
        return
    table = Table(title="Dates of birth by source")
    for heading in ("input", "source", "read as", "unread", "unread rows"):
        table.add_column(heading, justify="right" if heading == "unread" else "left")
    for entry in sorted(shown, key=lambda s: -s.unread)[:_SOURCES_SHOWN]:
        rows = ", ".join(str(r) for r in entry.unread_rows)
        read_as = _READ_AS[entry.date_order] + (" (detected)" if entry.detected else "")
        table.add_row(
            Text(one_field(entry.input) or "-"),
            Text(one_field(entry.source) or "-"),
            read_as,
            f"{entry.unread:,}",
            rows + (", ..." if entry.unread > len(entry.unread_rows) else ""),
        )
    if len(shown) > _SOURCES_SHOWN:
        table.caption = f"and {len(shown) - _SOURCES_SHOWN:,} more sources"
    console.print(table)


def print_blocking(console: Any, blocking: identmatch.BlockingReport) -> None:
    from rich.table import Table

    rules = Table(
        title=f"Blocking: {blocking.pairs:,} pairs compared "
        f"({blocking.pairs_per_record:.1f} per record)"
    )
    rules.add_column("candidates share")
    rules.add_column("new pairs", justify="right")
    for rule in blocking.rules:
        rules.add_row(rule_in_words(rule.rule), f"{rule.new_pairs:,}")
    console.print(rules)


_WORDS = {
    "nhs_std": "NHS number",
    "surname_joined": "surname",
    "surname_ph": "surname sound",
    "forename_ph": "forename sound",
    "forename_first": "first forename",
    "forename_initial": "forename initial",
    "forename_variants": "forename or a nickname of it",
    "middle_first": "first middle name",
    "name_tokens": "name (any one)",
    "name_keys": "full name (or an alias)",
    "name_ph_sorted": "phonetic names, either order",
    "dob": "date of birth",
    "dob_year": "birth year",
    "dob_md": "birthday (day and month)",
    "dob_unordered": "date of birth, day and month either way",
    "postcode_std": "postcode",
    "postcode_outward": "postcode district",
    "town_std": "town",
    "address_std": "address",
}


def _declared(column: str) -> str:
    """A declared identifier's or attribute's prepared column as its input column's name."""
    name = column.removeprefix("id_").removeprefix("attr_").removesuffix("_all")
    return name.replace("_", " ")


def rule_in_words(rule: str) -> str:
    """A candidate rule as people say it: ``name_ph_sorted + dob_year`` ->
    ``same phonetic names, either order + birth year``."""
    parts = [part.removesuffix(" (any)").strip() for part in rule.split(" + ")]
    words = [_WORDS.get(part) or _declared(part) for part in parts]
    return "same " + " + ".join(words)


def print_entities(console: Any, entities: pd.DataFrame) -> None:
    """How many entities of each size, and per input and source its records and entities."""
    from rich.table import Table
    from rich.text import Text

    sizes = entities.groupby("entity_id", sort=False).size()
    bands = ((1, 1, "1 (alone)"), (2, 2, "2"), (3, 5, "3-5"), (6, 20, "6-20"))
    table = Table(title=f"Entities by size ({len(sizes):,} entities, largest {sizes.max():,})")
    table.add_column("records in entity")
    table.add_column("entities", justify="right")
    table.add_column("records", justify="right")
    for low, high, label in (*bands, (21, None, "21 or more")):
        chosen = sizes[(sizes >= low) & (sizes <= (high or sizes.max()))]
        if len(chosen):
            table.add_row(label, f"{len(chosen):,}", f"{int(chosen.sum()):,}")
    console.print(table)
    keys = [c for c in ("input", "source") if c in entities.columns]
    if not keys:
        return
    frame = entities[[*keys, "entity_id"]].astype(str)
    grouped = frame.groupby(keys, sort=True)["entity_id"]
    by_source = Table(title="By input and source" if len(keys) == 2 else f"By {keys[0]}")
    for key in keys:
        by_source.add_column(key)
    for heading in ("records", "entities", "entities also elsewhere"):
        by_source.add_column(heading, justify="right")
    spread = frame.groupby("entity_id")[keys[-1]].nunique()
    shared = set(spread[spread > 1].index)
    for number, (group, ids) in enumerate(grouped):
        if number == _SOURCES_SHOWN:
            by_source.caption = f"and {grouped.ngroups - _SOURCES_SHOWN:,} more"
            break
        names = group if isinstance(group, tuple) else (group,)
        distinct = set(ids)
        by_source.add_row(
            *(Text(one_field(str(n)) or "-") for n in names),
            f"{len(ids):,}",
            f"{len(distinct):,}",
            f"{len(distinct & shared):,}",
        )
    console.print(by_source)
