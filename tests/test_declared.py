"""Declared identifiers and attributes: schema, levels (Python and DuckDB SQL agree), and runs."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import identmatch
import identmatch.comparisons as ic
from identmatch._prepare.declared import DeclaredSchema, declared_schema, parse_identifier_option
from identmatch._prepare.records import is_list_column, prepare_one, prepare_records
from identmatch._sql import quote_identifier

PNC = identmatch.IdentifierSpec(column="pnc", kind="pnc_id")
REF = identmatch.IdentifierSpec(column="case_ref")
PHONE = identmatch.IdentifierSpec(column="phone", kind="phone")
JOB = identmatch.AttributeSpec(column="occupation")
SCHEMA = DeclaredSchema(identifiers=(PNC, REF, PHONE), attributes=(JOB,))

# Valid PNC IDs (check letters computed from the public rule) and one that fails its check.
PNC_A, PNC_B, PNC_C = "2008/0012345P", "1979/0123456T", "1999/0000001G"
PNC_BAD = "2008/0012345Q"


def prepared(**fields: Any) -> dict[str, Any]:
    """One record through the real standardisers, declared columns included."""
    row = {"record_id": "x", "pnc": None, "case_ref": None, "phone": None, "occupation": None}
    row.update(fields)
    frame, _ = prepare_records(pd.DataFrame([row]), schema=SCHEMA)
    return frame.iloc[0].to_dict()


_CONNECTION = duckdb.connect()


@functools.cache
def _conditions(spec: ic.ComparisonSpec) -> list[str]:
    compiled = ic.compile_comparison(spec).get_comparison("duckdb")
    return [level.sql_condition for level in compiled.comparison_levels]


def sql_level(spec: ic.ComparisonSpec, left: dict[str, Any], right: dict[str, Any]) -> int:
    """The level DuckDB assigns, from the SQL Splink compiles for the spec."""
    conditions = _conditions(spec)
    cases = " ".join(f"WHEN {c} THEN {i}" for i, c in enumerate(conditions) if c != "ELSE")
    selects, params = [], []
    for column in sorted({c for lv in spec.levels for c in (lv.column, lv.other) if c}):
        for side, record in (("l", left), ("r", right)):
            kind = "VARCHAR[]" if is_list_column(column) else "VARCHAR"
            selects.append(f"CAST(? AS {kind}) AS {quote_identifier(f'{column}_{side}')}")
            value = record.get(column)
            params.append(list(value) if isinstance(value, list | tuple) else value)
    sql = f"SELECT CASE {cases} ELSE {len(conditions) - 1} END FROM (SELECT {', '.join(selects)})"
    row = _CONNECTION.execute(sql, params).fetchone()
    assert row is not None
    return int(row[0])


PNC_SPEC = ic.identifier_comparison(PNC)
REF_SPEC = ic.identifier_comparison(REF)
PHONE_SPEC = ic.identifier_comparison(PHONE)
JOB_SPEC = ic.attribute_comparison(JOB)

# (spec, left fields, right fields, expected label)
CASES: list[tuple[ic.ComparisonSpec, dict[str, Any], dict[str, Any], str]] = [
    (PNC_SPEC, {"pnc": PNC_A}, {"pnc": "08/12345p"}, "pnc: the same"),
    (PNC_SPEC, {"pnc": PNC_A}, {"pnc": None}, "pnc: missing on one side"),
    (PNC_SPEC, {"pnc": PNC_A}, {"pnc": PNC_BAD}, "pnc: missing on one side"),  # invalid: missing
    (PNC_SPEC, {"pnc": PNC_A}, {"pnc": PNC_B}, "pnc: two valid, different values (a clash)"),
    (
        PNC_SPEC,
        {"pnc": [PNC_A, PNC_C]},
        {"pnc": f"{PNC_B};{PNC_C}"},
        "pnc: one of several values the same",
    ),
    (PNC_SPEC, {"pnc": [PNC_A, PNC_BAD]}, {"pnc": PNC_A}, "pnc: the same"),
    (REF_SPEC, {"case_ref": "ab-1234"}, {"case_ref": "AB 1234"}, "case_ref: the same"),
    (REF_SPEC, {"case_ref": "AB1234"}, {"case_ref": "AB1235"}, "case_ref: one character different"),
    (REF_SPEC, {"case_ref": "AB1234"}, {"case_ref": "AB134"}, "case_ref: one character different"),
    (
        REF_SPEC,
        {"case_ref": "AB1234"},
        {"case_ref": "AB1324"},
        "case_ref: two adjacent characters transposed",
    ),
    (REF_SPEC, {"case_ref": "AB1234"}, {"case_ref": "AB3214"}, "case_ref: different"),
    (REF_SPEC, {"case_ref": "AB1234"}, {"case_ref": "  "}, "case_ref: missing on one side"),
    # A man with three phones: any one of them in common is a match of one of several values.
    (
        PHONE_SPEC,
        {"phone": "07911 123456;0113 496 0000;07922 654321"},
        {"phone": ["+44 7922 654321"]},
        "phone: one of several values the same",
    ),
    (PHONE_SPEC, {"phone": "07911 123456"}, {"phone": "+447911123456"}, "phone: the same"),
    (
        PHONE_SPEC,
        {"phone": "07911 123456"},
        {"phone": "07922 654321"},
        "phone: two valid, different values (a clash)",
    ),
    (PHONE_SPEC, {"phone": "07911 123456"}, {"phone": "12345"}, "phone: missing on one side"),
    (JOB_SPEC, {"occupation": "Nurse"}, {"occupation": "NURSE "}, "occupation: the same"),
    (
        JOB_SPEC,
        {"occupation": "Carpenter"},
        {"occupation": "Carpentor"},
        "occupation: spelled very similarly",
    ),
    (JOB_SPEC, {"occupation": "Nurse"}, {"occupation": "Solicitor"}, "occupation: different"),
]


@pytest.mark.parametrize("path", ["python", "sql"])
@pytest.mark.parametrize(("spec", "left_fields", "right_fields", "label"), CASES)
def test_level_table(
    path: str,
    spec: ic.ComparisonSpec,
    left_fields: dict[str, Any],
    right_fields: dict[str, Any],
    label: str,
) -> None:
    """Each case falls into its level, in Python and in DuckDB's SQL, both ways round."""
    for a, b in ((prepared(**left_fields), prepared(**right_fields)),) * 1:
        for x, y in ((a, b), (b, a)):
            level = ic.evaluate_level(spec, x, y) if path == "python" else sql_level(spec, x, y)
            assert spec.levels[level].label == label


refs = st.sampled_from(["AB1234", "AB1243", "BA1234", "AB124", "AB12345", "", "ab-1234"]) | st.text(
    alphabet="AB12", max_size=5
)


@given(a=refs, b=refs)
def test_identifier_levels_agree_and_are_symmetric(a: str, b: str) -> None:
    """On arbitrary values, Python and SQL agree, whichever record is on the left."""
    left, right = prepared(case_ref=a), prepared(case_ref=b)
    level = ic.evaluate_level(REF_SPEC, left, right)
    assert ic.evaluate_level(REF_SPEC, right, left) == level
    assert sql_level(REF_SPEC, left, right) == level


def test_prepare_one_is_the_twin_of_prepare_records() -> None:
    """A search query is prepared exactly as a batch record is, declared columns included."""
    fields = {
        "record_id": "q",
        "forename": "Ann",
        "pnc": [PNC_A, PNC_BAD],
        "case_ref": "x-1",
        "occupation": "Nurse",
        "phone": "07911 123456;not a phone",
    }
    one = prepare_one(fields, schema=SCHEMA)
    batch = prepare_records(pd.DataFrame([fields]), schema=SCHEMA)[0].iloc[0].to_dict()
    for column in SCHEMA.prepared_columns:
        assert one[column] == batch[column], column


class TestSchema:
    def test_shapes_the_python_api_accepts(self) -> None:
        """A mapping, names, COLUMN:KIND texts and specs give one schema."""
        expected = DeclaredSchema(identifiers=(PNC, REF), attributes=(JOB,))
        assert declared_schema({"pnc": "pnc_id", "case_ref": "plain"}, ["occupation"]) == expected
        assert declared_schema(["pnc:pnc_id", "case_ref"], [JOB]) == expected
        assert declared_schema([PNC, {"column": "case_ref"}], ["occupation"]) == expected

    def test_unknown_kind_names_the_allowed_kinds(self) -> None:
        """An unknown kind is a ConfigError listing the kinds."""
        with pytest.raises(identmatch.ConfigError, match="'passport' is not known; allowed kinds"):
            parse_identifier_option("doc:passport")

    @pytest.mark.parametrize("name", ["nhs_number", "surname", "family", "bad name", "1st"])
    def test_reserved_or_odd_names_are_refused(self, name: str) -> None:
        """A standard column, a name identmatch uses, or an unsafe name cannot be declared."""
        with pytest.raises(identmatch.ConfigError, match=repr(name)):
            declared_schema([name], None)

    def test_a_column_declared_twice_is_refused(self) -> None:
        """One column cannot be both an identifier and an attribute."""
        with pytest.raises(identmatch.ConfigError, match="more than once: case_ref"):
            declared_schema(["case_ref"], ["case_ref"])


def _valid_pnc(serial: int) -> str:
    from identmatch._prepare.identifiers import _MOD23_PNC

    return f"05/{serial:07d}{_MOD23_PNC[int(f'05{serial:07d}') % 23]}"


def _people(n_filler: int = 80) -> pd.DataFrame:
    """Distinct filler people, each with a PNC ID of their own, so term frequencies and the
    prior are as in a real file."""
    from identmatch.testing import generate_records

    filler = generate_records(n_filler, seed=5).drop_duplicates("nhs_number")
    filler = filler[["record_id", "forename", "surname", "dob", "postcode"]].copy()
    filler["record_id"] = "f" + filler["record_id"].astype(str)
    filler["pnc"] = [_valid_pnc(1000 + i) for i in range(len(filler))]
    return filler


def _pair(pnc_a: Any, pnc_b: Any) -> pd.DataFrame:
    """Two records of one name and date of birth, at different postcodes."""
    rows = pd.DataFrame(
        [
            {
                "record_id": "a",
                "forename": "Tobias",
                "surname": "Quennell",
                "dob": "1980-05-01",
                "postcode": "LS6 2AB",
                "pnc": pnc_a,
            },
            {
                "record_id": "b",
                "forename": "Tobias",
                "surname": "Quennell",
                "dob": "1980-05-01",
                "postcode": "M14 5RT",
                "pnc": pnc_b,
            },
        ]
    )
    return pd.concat([_people(), rows], ignore_index=True)


def _same_entity(result: identmatch.Result) -> bool:
    entities = result.entities.set_index("record_id")["entity_id"]
    return bool(entities["a"] == entities["b"])


class TestRuns:
    def test_clash_keeps_two_people_apart(self) -> None:
        """Two valid, different PNC IDs keep apart a pair its other fields would merge."""
        without = identmatch.dedupe(_pair(None, None), identifiers={"pnc": "pnc_id"})
        assert _same_entity(without)
        clash = identmatch.dedupe(_pair(PNC_A, PNC_B), identifiers={"pnc": "pnc_id"})
        assert not _same_entity(clash)
        labels = [c.label for c in clash.explain("a", "b").contributions]
        assert "pnc: two valid, different values (a clash)" in labels

    def test_shared_identifier_silences_the_family_guard_and_a_shared_phone_does_not(
        self,
    ) -> None:
        """Unrelated forenames, same surname and date of birth read as twins, unless the two
        records share a personal identifier; a household's phone says nothing of that."""
        twins = _pair(PNC_A, PNC_A).assign(phone="0113 496 0000")
        twins.loc[twins["record_id"] == "b", "forename"] = "Zebedee"
        by_pnc = identmatch.dedupe(twins, identifiers={"pnc": "pnc_id"})
        labels = [c.label for c in by_pnc.explain("a", "b").contributions]
        assert "family guard: no sign of two relatives" in labels
        by_phone = identmatch.dedupe(twins.drop(columns=["pnc"]), identifiers={"phone": "phone"})
        labels = [c.label for c in by_phone.explain("a", "b").contributions]
        assert any(label.endswith("(possible twins)") for label in labels)
        assert not _same_entity(by_phone)
        family = next(c for c in by_phone.model.comparisons if c.name == "family")
        assert all("id_phone" not in level.unless_identifier for level in family.levels)

    def test_invalid_value_is_missing_not_a_clash(self) -> None:
        """A PNC ID failing its check letter is missing: the pair merges, and it is counted."""
        result = identmatch.dedupe(_pair(PNC_A, PNC_BAD), identifiers={"pnc": "pnc_id"})
        assert _same_entity(result)
        assert result.quality.columns["pnc"].invalid == 1
        assert result.quality.columns["pnc"].missing == 0

    def test_list_valued_identifier_matches_on_any_pair(self) -> None:
        """One person, several PNC IDs: a pair sharing any one is compared and scores it."""
        result = identmatch.dedupe(
            _pair([PNC_A, PNC_C], f"{PNC_B};{PNC_C}"), identifiers={"pnc": "pnc_id"}
        )
        assert _same_entity(result)
        labels = [c.label for c in result.explain("a", "b").contributions]
        assert "pnc: one of several values the same" in labels

    def test_identifier_is_a_candidate_key(self) -> None:
        """Records sharing only an identifier are still compared (its key comes first)."""
        frame = pd.DataFrame(
            [
                {"record_id": "a", "forename": "Ann", "surname": "Lee", "case_ref": "X-77"},
                {"record_id": "b", "forename": "Bob", "surname": "Kay", "case_ref": "x77"},
            ]
        )
        result = identmatch.dedupe(pd.concat([_people(), frame]), identifiers=["case_ref"])
        assert result.model.blocking_rules[0] == ("id_case_ref_all[]",)
        candidates = result.candidates
        pairs = set(zip(candidates["record_id_l"], candidates["record_id_r"], strict=True))
        assert ("a", "b") in pairs

    def test_saved_model_keeps_its_schema_and_refuses_input_lacking_it(
        self, tmp_path: Path
    ) -> None:
        """A model file carries its identifiers; input without the column is refused by name."""
        data = _pair(PNC_A, PNC_B).assign(school=None)
        result = identmatch.dedupe(data, identifiers={"pnc": "pnc_id"}, attributes=["school"])
        path = tmp_path / "model.json"
        result.save_model(path)
        loaded = identmatch.Model.load(path)
        assert loaded.declared == result.model.declared
        again = identmatch.dedupe(data, model=path)
        assert not _same_entity(again)
        with pytest.raises(identmatch.SchemaError, match="declares the column\\(s\\) pnc"):
            identmatch.dedupe(data.drop(columns=["pnc"]), model=path)

    def test_model_and_a_different_schema_is_an_error(self, tmp_path: Path) -> None:
        """Declaring columns for a given model that has other ones is refused."""
        result = identmatch.dedupe(_pair(PNC_A, PNC_B), identifiers={"pnc": "pnc_id"})
        with pytest.raises(identmatch.ConfigError, match="keeps its own \\(pnc\\)"):
            identmatch.dedupe(_pair(PNC_A, PNC_B), model=result.model, identifiers=["other"])

    def test_model_file_without_a_schema_loads_and_scores_identically(self, tmp_path: Path) -> None:
        """A model file written before declared columns existed loads and gives the same pairs."""
        data = _pair(PNC_A, PNC_B).drop(columns=["pnc"])
        first = identmatch.dedupe(data)
        path = tmp_path / "old.json"
        first.save_model(path)
        payload = json.loads(path.read_text())
        del payload["declared"]  # as files written before this field existed
        path.write_text(json.dumps(payload))
        old = identmatch.Model.load(path)
        assert old.declared == DeclaredSchema()
        again = identmatch.dedupe(data, model=path)
        columns = ["record_id_l", "record_id_r", "match_weight"]
        pd.testing.assert_frame_equal(
            first.pairs[columns].reset_index(drop=True), again.pairs[columns].reset_index(drop=True)
        )


class TestIndexAndService:
    @pytest.fixture
    def index(self, tmp_path: Path) -> Any:
        data = _pair(PNC_A, None).assign(occupation="nurse")
        built = identmatch.Index.build(
            data, tmp_path / "k.duckdb", identifiers={"pnc": "pnc_id"}, attributes=["occupation"]
        )
        yield built
        built.close()

    def test_search_takes_declared_fields_and_scores_them_as_batch(self, index: Any) -> None:
        """A search by PNC ID finds the record holding it, with the batch's levels and weights."""
        hits = index.search({"surname": "Quennell", "pnc": "08/12345p"})
        assert hits
        labels = [c.label for c in hits[0].explanation.contributions]
        assert "pnc: the same" in labels
        assert "a" in {r.record_id for r in hits[0].records}
        with pytest.raises(identmatch.SchemaError, match="unknown search field\\(s\\) passport"):
            index.search({"surname": "Quennell", "passport": "x"})

    def test_add_keeps_the_schema_after_reopening(self, index: Any, tmp_path: Path) -> None:
        """Added records are prepared with the index's schema, and it survives reopening."""
        new = pd.DataFrame(
            [{"record_id": "n1", "forename": "Tobias", "surname": "Quennell",
              "dob": "1980-05-01", "pnc": PNC_A, "occupation": "nurse"}]
        )  # fmt: skip
        outcome = index.add(new)
        assert outcome.iloc[0]["action"] == "joined"
        index.close()
        reopened = identmatch.Index.open(tmp_path / "k.duckdb")
        assert reopened.model.declared.columns == ("pnc", "occupation")
        hits = reopened.search({"surname": "Quennell", "pnc": PNC_A})
        assert {"a", "n1"} <= {r.record_id for r in hits[0].records}
        reopened.close()

    def test_service_person_takes_declared_fields(self, index: Any, tmp_path: Path) -> None:
        """POST /v1/search with ``identifiers`` finds the person by PNC ID."""
        import asyncio

        import httpx

        from identmatch._service.server import create_app

        _, token = identmatch.create_api_key(tmp_path / "s.toml", name="t", role="search")
        app = create_app(index, identmatch.ServiceConfig.load(tmp_path / "s.toml"))
        # A surname with the PNC ID: the identifier alone, on an index this small, is only a
        # weak candidate. Term frequencies count records in the index, which suits names but
        # not an identifier unique in the population (docs/index.md, the search prior's limits).
        body = {
            "purpose": "case 1",
            "person": {"surname": "Quennell", "identifiers": {"pnc": PNC_A}},
        }

        async def post() -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.post(
                    "/v1/search", json=body, headers={"Authorization": f"Bearer {token}"}
                )

        reply = asyncio.run(post())
        assert reply.status_code == 200, reply.text
        results = reply.json()["results"][0]
        assert any(r["record_id"] == "a" for r in results["hits"][0]["records"])
        labels = [c["label"] for c in results["hits"][0]["explanation"]["contributions"]]
        assert "pnc: the same" in labels


def test_declared_identifier_is_a_rule_for_the_prior() -> None:
    """With no date of birth and no postcode (no EM block the prior can be counted from), the
    declared identifier alone lets training estimate the prior; a postcode's EM block does too."""
    rows = _people(120).drop(columns=["dob"])
    twins = rows.assign(record_id=rows["record_id"] + "x", postcode=None)
    data = pd.concat([rows, twins], ignore_index=True)
    config = identmatch.ModelConfig(train="always")
    no_postcode = data.drop(columns=["postcode"])
    with_id = identmatch.dedupe(no_postcode, identifiers={"pnc": "pnc_id"}, config=config)
    assert with_id.model.training is not None
    assert with_id.model.training.prior == "estimated"
    without = identmatch.dedupe(no_postcode.drop(columns=["pnc"]), config=config)
    assert without.model.training is not None
    assert without.model.training.prior == "default"
    from_block = identmatch.dedupe(data.drop(columns=["pnc"]), config=config)
    assert from_block.model.training is not None
    assert "postcode_std" in from_block.model.training.em_blocking_rules
    assert from_block.model.training.prior == "estimated"


def test_prepared_parts_keep_the_declared_columns(tmp_path: Path) -> None:
    """Records prepared with identifiers are compared on them; a run declaring columns the
    parts lack is refused, naming them."""
    data = _pair(PNC_A, PNC_B)
    data.to_parquet(tmp_path / "in.parquet")
    identmatch.prepare_parquet(
        tmp_path / "in.parquet", tmp_path / "parts", identifiers={"pnc": "pnc_id"}
    )
    from_parts = identmatch.dedupe(tmp_path / "parts")
    from_file = identmatch.dedupe(data, identifiers={"pnc": "pnc_id"})
    assert from_parts.model.declared == from_file.model.declared
    assert not _same_entity(from_parts)
    assert from_parts.quality.columns["pnc"] == from_file.quality.columns["pnc"]
    columns = ["record_id_l", "record_id_r", "match_weight"]
    pd.testing.assert_frame_equal(
        from_parts.pairs[columns].reset_index(drop=True),
        from_file.pairs[columns].reset_index(drop=True),
    )
    with pytest.raises(identmatch.SchemaError, match="declares the column\\(s\\) case_ref"):
        identmatch.dedupe(tmp_path / "parts", identifiers=["case_ref"])
