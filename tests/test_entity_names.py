"""Each entity's alias set: names and dates of birth with the sources and ids behind them."""

from __future__ import annotations

import pandas as pd

from identmatch._batch.entity_names import ENTITY_NAME_COLUMNS, entity_names
from identmatch._prepare.records import prepare_records


def _frame() -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    records = pd.DataFrame(
        {
            "record_id": ["p1", "c7", "c9"],
            "source": ["probation", "childrens_services", "childrens_services"],
            "forename": ["Dean", "Gareth", "Amy"],
            "surname": ["Walsh", "Pryce", "Pilling"],
            "aliases": [[], ["Dean Walsh"], []],
            "dob": ["1984-02-11", "11/02/1984", "2001"],
        }
    )
    prepared, _ = prepare_records(records)
    entities = records.assign(entity_id=["E1", "E1", "E2"])
    return entities, [prepared]


def test_alias_set_lists_every_name_with_sources_and_ids() -> None:
    """An entity known under two names lists both, each with the sources and ids behind it."""
    entities, prepared = _frame()
    names = entity_names(entities, prepared)
    assert list(names.columns) == ENTITY_NAME_COLUMNS
    e1 = names[names["entity_id"] == "E1"].set_index(["name", "recorded_as"])
    assert e1.loc[("Dean Walsh", "name"), "sources"] == "probation"
    assert e1.loc[("Dean Walsh", "alias"), "record_ids"] == "c7"
    assert e1.loc[("Gareth Pryce", "name"), "dob"] == "1984-02-11"
    assert set(e1["records"]) == {1}


def test_year_only_dates_are_kept_as_the_year() -> None:
    """A record with only a birth year shows that year in the alias set."""
    entities, prepared = _frame()
    names = entity_names(entities, prepared)
    assert names[names["entity_id"] == "E2"]["dob"].tolist() == ["2001"]
