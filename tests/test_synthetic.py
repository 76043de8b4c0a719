"""The synthetic person and record generator: shape, determinism, errors and hard negatives."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from importlib.resources import files
from pathlib import Path
from typing import ClassVar

import pandas as pd
import pytest
from pydantic import ValidationError

from identmatch import ConfigError, SchemaError
from identmatch._synthetic.generate import HARD_NEGATIVE_KINDS, PEOPLE_COLUMNS, write_demo_files
from identmatch._synthetic.names import (
    NICKNAMES,
    ORIGINS,
    PHONETIC,
    TRANSLITERATIONS,
    fold_accents,
)
from identmatch._synthetic.profiles import HARD_MINIMUMS
from identmatch._synthetic.records import RECORD_COLUMNS, SOURCES
from identmatch.testing import (
    ErrorRates,
    PopulationRates,
    demo_files,
    generate_people,
    generate_records,
)

N_RECORDS = 20_000
ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
UK = re.compile(r"^(\d{2})/(\d{2})/(\d{4})$")
SHORT = re.compile(r"^(\d{1,2})-(\d{1,2})-(\d{4})$")
POSTCODE = re.compile(r"^[A-Z]{1,2}\d{1,2} ?\d[A-Z]{2}$")


def parse_dob(text: str) -> tuple[int, int, int]:
    """(year, month, day) of a generated dob in any of its three formats."""
    if match := ISO.match(text):
        y, m, d = match.groups()
    elif match := UK.match(text) or SHORT.match(text):
        d, m, y = match.groups()
    else:
        raise AssertionError(text)
    return int(y), int(m), int(d)


def nhs_valid(number: str) -> bool:
    """Modulus-11 check, written out independently of the generator."""
    digits = [int(c) for c in number.replace(" ", "")]
    total = sum(w * d for w, d in zip(range(10, 1, -1), digits[:9], strict=True))
    check = 11 - total % 11
    check = 0 if check == 11 else check
    return len(digits) == 10 and check != 10 and check == digits[9]


def dob_pairs(
    joined: pd.DataFrame, label: str
) -> list[tuple[tuple[int, int, int], tuple[int, int, int]]]:
    """(recorded, true) dates of birth of the records whose only error is ``label``."""
    rows = only(joined, label)
    return [
        (parse_dob(d), parse_dob(t)) for d, t in zip(rows["dob"], rows["dob_true"], strict=True)
    ]


def labels(error_type: str) -> set[str]:
    return set(error_type.split("+"))


@pytest.fixture(scope="module")
def people() -> pd.DataFrame:
    return generate_people(11_000, seed=5)


@pytest.fixture(scope="module")
def records(people: pd.DataFrame) -> pd.DataFrame:
    return generate_records(N_RECORDS, seed=5, people=people)


@pytest.fixture(scope="module")
def joined(records: pd.DataFrame, people: pd.DataFrame) -> pd.DataFrame:
    """Each record beside its person's true details (suffix ``_true``)."""
    return records.merge(people, on="person_id", suffixes=("", "_true"))


@pytest.fixture(scope="module")
def pairs(people: pd.DataFrame) -> pd.DataFrame:
    """Each hard-negative person beside their partner (suffix ``_b``)."""
    left = people.dropna(subset=["hard_negative"])
    partner = left["hard_negative_partner"]
    return left.merge(people, left_on=partner, right_on="person_id", suffixes=("", "_b"))


def only(joined: pd.DataFrame, label: str) -> pd.DataFrame:
    """Records whose only error is ``label``."""
    rows = joined[joined["error_type"] == label]
    assert len(rows) > 0, label
    return rows


class TestShape:
    def test_columns_and_dtypes(self, records: pd.DataFrame) -> None:
        """Records have exactly the documented columns, all of object dtype."""
        assert tuple(records.columns) == RECORD_COLUMNS
        assert all(map(pd.api.types.is_object_dtype, records.dtypes))

    def test_record_ids_unique_and_numbered(self, records: pd.DataFrame) -> None:
        """record_id is unique and shaped R0000001."""
        assert records["record_id"].is_unique
        assert records["record_id"].str.fullmatch(r"R\d{7}").all()

    @pytest.mark.parametrize("n", [1, 7, 1_000, 2_345])
    def test_n_records_is_exact(self, n: int) -> None:
        """Exactly n_records rows come back, whatever n is."""
        assert len(generate_records(n, seed=n)) == n

    def test_same_seed_same_frame(self) -> None:
        """The same seed gives an identical frame; another seed gives a different one."""
        first = generate_records(500, seed=11)
        pd.testing.assert_frame_equal(first, generate_records(500, seed=11))
        assert not first.equals(generate_records(500, seed=12))

    def test_value_shapes(self, records: pd.DataFrame) -> None:
        """Each column holds the documented kinds of value."""
        assert set(records["source"]) == set(SOURCES)
        assert all(isinstance(a, list) and all(isinstance(x, str) for x in a)
                   for a in records["aliases"])  # fmt: skip
        assert set(records["sex"].dropna()) <= {"M", "F", "Male", "Female", "male", "female"}
        for dob in records["dob"].dropna():
            parse_dob(dob)
        postcodes = records["postcode"].dropna()
        assert postcodes.str.upper().str.fullmatch(POSTCODE).all()
        assert records["nhs_number"].dropna().str.fullmatch(r"\d{10}|\d{3} \d{3} \d{4}").all()
        assert set(records["hard_negative"].dropna()) == set(HARD_NEGATIVE_KINDS)

    def test_mix_of_formats_and_missing(self, records: pd.DataFrame) -> None:
        """Dates, sexes, postcodes and NHS numbers come in several formats, some missing."""
        dobs = records["dob"].dropna()
        assert dobs.str.match(ISO).mean() > 0.6
        assert dobs.str.match(UK).any()
        assert dobs.str.match(SHORT).any()
        assert records["dob"].isna().any()
        assert records["sex"].isna().any()
        assert {"Male", "female"} <= set(records["sex"].dropna())
        assert records["postcode"].dropna().str.fullmatch(r"[a-z0-9]+").any()
        assert records["nhs_number"].dropna().str.contains(" ").any()

    def test_records_per_person_skewed(self, records: pd.DataFrame) -> None:
        """Most people have one record, some several, none more than ten."""
        counts = records["person_id"].value_counts()
        assert (counts == 1).mean() > 0.4
        assert counts.max() <= 10
        assert (counts >= 4).any()

    def test_sources_restricted(self) -> None:
        """Only the requested sources appear."""
        frame = generate_records(300, seed=1, sources=("police", "probation"))
        assert set(frame["source"]) == {"police", "probation"}

    def test_large_run(self) -> None:
        """100k records generate, vectorised, with unique ids."""
        frame = generate_records(100_000, seed=2)
        assert len(frame) == 100_000
        assert frame["record_id"].is_unique


class TestErrors:
    def test_every_error_type_occurs(self, records: pd.DataFrame) -> None:
        """At default rates each ErrorRates kind not off by default appears in 20k records."""
        seen = Counter(label for e in records["error_type"] for label in e.split("+"))
        kinds = {name for name, rate in ErrorRates() if rate > 0}
        assert set(seen) == {*kinds, "original"}
        assert seen["original"] > N_RECORDS // 3

    def test_original_records_match_truth(self, joined: pd.DataFrame) -> None:
        """A record labelled "original" agrees with its person on every field."""
        rows = joined[joined["error_type"] == "original"]
        for col in ("forename", "surname"):
            assert (rows[col] == rows[f"{col}_true"]).all(), col
        middle = rows["middle_names"].fillna("") == rows["middle_names_true"].fillna("")
        assert middle.all()
        assert all(
            parse_dob(d) == parse_dob(t) for d, t in zip(rows["dob"], rows["dob_true"], strict=True)
        )
        norm = rows["postcode"].str.upper().str.replace(" ", "")
        assert (norm == rows["postcode_true"].str.replace(" ", "")).all()
        nhs = rows["nhs_number"].dropna().str.replace(" ", "")
        assert (nhs == rows.loc[nhs.index, "nhs_number_true"]).all()

    def test_records_carry_their_persons_origin(self, joined: pd.DataFrame) -> None:
        """Every record holds the name origin of its person, one of names.ORIGINS."""
        assert (joined["origin"] == joined["origin_true"]).all()
        assert set(joined["origin"]) <= set(ORIGINS)

    def test_no_rates_no_errors(self) -> None:
        """With every rate at zero, every record is "original"."""
        zero = ErrorRates(**dict.fromkeys(ErrorRates.model_fields, 0.0))
        frame = generate_records(2_000, seed=3, error_rates=zero)
        assert set(frame["error_type"]) == {"original"}

    def test_nhs_numbers_pass_mod11_unless_corrupted(self, records: pd.DataFrame) -> None:
        """NHS numbers pass the modulus-11 check, except those labelled nhs_digit_error."""
        held = records.dropna(subset=["nhs_number"])
        corrupt = held["error_type"].map(lambda e: "nhs_digit_error" in labels(e))
        valid = held["nhs_number"].map(nhs_valid)
        assert valid[~corrupt].all()
        assert not valid[corrupt].any()

    def test_nhs_coverage_by_source(self, records: pd.DataFrame) -> None:
        """Police rarely hold an NHS number; mental health services usually do."""
        held = records["nhs_number"].notna().groupby(records["source"]).mean()
        assert held["police"] < 0.2 < 0.8 < held["mental_health"]

    def test_day_month_swap(self, joined: pd.DataFrame) -> None:
        """dob_day_month_swap records have the true day as month and month as day."""
        for (y, m, d), (ty, tm, td) in dob_pairs(joined, "dob_day_month_swap"):
            assert (y, m, d) == (ty, td, tm)
            assert m != d

    def test_year_transposed(self, joined: pd.DataFrame) -> None:
        """dob_year_transposed records swap the last two digits of the year (1987 -> 1978)."""
        for (y, m, d), (ty, tm, td) in dob_pairs(joined, "dob_year_transposed"):
            assert str(y) == str(ty)[:2] + str(ty)[3] + str(ty)[2]
            assert y != ty
            assert (m, d) == (tm, td)

    def test_other_dob_errors(self, joined: pd.DataFrame) -> None:
        """Placeholder, year-only, off-by-one and digit-slip dates differ as their label says."""
        for dob, _ in dob_pairs(joined, "dob_placeholder"):
            assert dob == (1900, 1, 1)
        for dob, (ty, _, _) in dob_pairs(joined, "dob_year_only"):
            assert dob == (ty, 1, 1)
        for (y, m, d), (ty, tm, td) in dob_pairs(joined, "dob_year_off_by_one"):
            assert abs(y - ty) == 1
            assert (m, d) == (tm, td)
        for dob, true in dob_pairs(joined, "dob_digit_slip"):
            a, b = ("{2:02d}{1:02d}{0:04d}".format(*date) for date in (dob, true))
            assert sum(x != y for x, y in zip(a, b, strict=True)) == 1
        assert only(joined, "dob_missing")["dob"].isna().all()

    def test_double_barrelled(self, joined: pd.DataFrame) -> None:
        """double_barrelled records show one part, or the parts joined or spaced."""
        rows = only(joined, "double_barrelled")
        for surname, true in zip(rows["surname"], rows["surname_true"], strict=True):
            a, b = true.split("-", 1)
            assert surname in {a, b, a + b, f"{a} {b}"}

    def test_name_errors(self, joined: pd.DataFrame) -> None:
        """Nicknames, married names, initials, swaps and typos differ as their label says."""
        rows = only(joined, "nickname")
        assert all(
            f in NICKNAMES[t] for f, t in zip(rows["forename"], rows["forename_true"], strict=True)
        )
        rows = only(joined, "changed_surname")
        assert (rows["surname"] == rows["maiden_name"]).all()
        rows = only(joined, "forename_initial")
        assert (rows["forename"] == rows["forename_true"].str[0]).all()
        rows = only(joined, "swapped_names")
        assert (rows["forename"] == rows["surname_true"]).all()
        assert (rows["surname"] == rows["forename_true"]).all()
        rows = only(joined, "surname_typo")
        assert (rows["surname"] != rows["surname_true"]).all()
        assert ((rows["surname"].str.len() - rows["surname_true"].str.len()).abs() <= 1).all()
        rows = only(joined, "dropped_accents")
        assert (rows["surname"] == rows["surname_true"].map(fold_accents)).all()
        assert rows["forename"].map(str.isascii).all()
        rows = only(joined, "title_in_name")
        assert (rows["forename"].str.split(" ", n=1).str[1] == rows["forename_true"]).all()

    def test_known_alias_listed_elsewhere(self, joined: pd.DataFrame) -> None:
        """A record under an alias uses one of the person's aliases, listed on another record."""
        restyled = {"dropped_accents", "title_in_name", "case_whitespace_noise"}
        plain = joined["error_type"].map(lambda e: not labels(e) & restyled)
        rows = joined[plain & joined["error_type"].str.contains("known_alias")]
        assert len(rows) > 0
        listed = joined.explode("aliases").dropna(subset=["aliases"])
        for rec in rows.itertuples():
            name = f"{rec.forename} {rec.surname}"
            assert name in rec.aliases_true
            others = listed[listed["person_id"] == rec.person_id]
            assert name in set(others.loc[others["record_id"] != rec.record_id, "aliases"])


class TestHardNegatives:
    def test_every_kind_occurs(self, records: pd.DataFrame, pairs: pd.DataFrame) -> None:
        """Each kind of hard negative is among the people and the records."""
        assert set(pairs["hard_negative"]) == set(HARD_NEGATIVE_KINDS)
        assert set(records["hard_negative"].dropna()) == set(HARD_NEGATIVE_KINDS)

    def test_partners_are_different_people(self, pairs: pd.DataFrame) -> None:
        """Partners have different person_ids and NHS numbers, and point at each other."""
        assert (pairs["person_id"] != pairs["person_id_b"]).all()
        assert (pairs["nhs_number"] != pairs["nhs_number_b"]).all()
        assert (pairs["hard_negative_partner_b"] == pairs["person_id"]).all()
        assert (pairs["hard_negative"] == pairs["hard_negative_b"]).all()

    def test_twins(self, pairs: pd.DataFrame) -> None:
        """Twins share surname, dob and postcode but not forename."""
        t = pairs[pairs["hard_negative"] == "twin"]
        assert ((t["dob"] == t["dob_b"]) & (t["postcode"] == t["postcode_b"])).all()
        assert (t["forename"] != t["forename_b"]).all()
        assert (t["sex"] == t["sex_b"]).mean() > 0.7

    def test_father_and_son(self, pairs: pd.DataFrame) -> None:
        """Father and son share a full name, born 20 to 40 years apart; sons may have Jr."""
        f = pairs[pairs["hard_negative"] == "father_son"]
        assert ((f["forename"] == f["forename_b"]) & (f["surname"] == f["surname_b"])).all()
        gap = (pd.to_datetime(f["dob"]) - pd.to_datetime(f["dob_b"])).abs().dt.days / 365.25
        assert gap.between(19.9, 40.1).all()
        assert set(f["name_suffix"].dropna()) <= {"Jr", "Jnr"}
        assert f["name_suffix"].notna().any()

    def test_brothers(self, pairs: pd.DataFrame) -> None:
        """Brothers share surname and postcode, both male, born 1 to 8 years apart."""
        b = pairs[pairs["hard_negative"] == "brothers"]
        assert ((b["surname"] == b["surname_b"]) & (b["postcode"] == b["postcode_b"])).all()
        assert (b["forename"] != b["forename_b"]).all()
        assert set(b["sex"]) == {"M"}
        gap = (pd.to_datetime(b["dob"]) - pd.to_datetime(b["dob_b"])).abs().dt.days
        assert gap.between(365, 8 * 365 + 2).all()

    def test_common_names(self, pairs: pd.DataFrame) -> None:
        """Common-name pairs share forename, surname and birth year, not dob or postcode."""
        c = pairs[pairs["hard_negative"] == "common_name"]
        assert ((c["forename"] == c["forename_b"]) & (c["surname"] == c["surname_b"])).all()
        assert (c["dob"].str[:4] == c["dob_b"].str[:4]).all()
        assert ((c["dob"] != c["dob_b"]) & (c["postcode"] != c["postcode_b"])).all()

    def test_fraction_is_configurable(self) -> None:
        """Pair fractions set how many people are in pairs; zero means none."""
        none = PopulationRates(twin=0, father_son=0, brothers=0, common_name=0)
        assert generate_people(2_000, seed=1, population=none)["hard_negative"].isna().all()
        many = generate_people(2_000, seed=1, population=PopulationRates(twin=0.2))
        assert (many["hard_negative"] == "twin").sum() == 400


class TestPeople:
    def test_people_columns_and_ids(self, people: pd.DataFrame) -> None:
        """People carry the columns records are made from, with unique ids and NHS numbers."""
        assert set(PEOPLE_COLUMNS) <= set(people.columns)
        assert people["person_id"].is_unique
        assert people["nhs_number"].is_unique
        assert people["nhs_number"].map(nhs_valid).all()

    def test_population_is_varied(self, people: pd.DataFrame) -> None:
        """Common names are common, adults are mostly born 1950-2005, some have aliases."""
        surnames = people["surname"].value_counts()
        assert surnames.index[0] == "Smith"
        assert {"Khan", "Patel"} <= set(surnames.index[:25])
        assert people["surname"].str.contains("-").any()
        assert people["forename"].isin(["Mohammed", "Muhammad"]).any()
        years = people["dob"].str[:4].astype(int)
        assert years.between(1950, 2005).mean() > 0.9
        assert people["aliases"].map(len).gt(0).mean() > 0.03
        assert people["maiden_name"].notna().any()
        assert people["previous_postcode"].notna().any()


class TestConfig:
    def test_rates_are_frozen_and_strict(self) -> None:
        """ErrorRates rejects unknown fields, out-of-range rates and assignment."""
        with pytest.raises(ValidationError, match="extra"):
            ErrorRates(spelling=0.1)  # type: ignore[call-arg]
        with pytest.raises(ValidationError, match="less than or equal"):
            ErrorRates(nickname=1.5)
        with pytest.raises(ValidationError, match="frozen"):
            ErrorRates().nickname = 0.2  # type: ignore[misc]

    def test_rates_round_trip_json(self) -> None:
        """Both rate models survive a JSON round trip."""
        rates = ErrorRates(surname_typo=0.2)
        assert ErrorRates.model_validate_json(rates.model_dump_json()) == rates
        pop = PopulationRates(twin=0.1)
        assert PopulationRates.model_validate_json(pop.model_dump_json()) == pop

    def test_pair_fractions_must_fit(self) -> None:
        """Hard-negative fractions adding up to more than 1 are refused."""
        with pytest.raises(ValidationError, match="keep it <= 1"):
            PopulationRates(twin=0.5, brothers=0.6)

    def test_bad_arguments(self, people: pd.DataFrame) -> None:
        """Bad sizes, sources, people frames and argument mixes raise identmatch errors."""
        with pytest.raises(ConfigError, match="at least 1"):
            generate_records(0)
        with pytest.raises(ConfigError, match="at least 1"):
            generate_people(0)
        with pytest.raises(ConfigError, match="hospital"):
            generate_records(10, sources=("police", "hospital"))
        with pytest.raises(ConfigError, match="not both"):
            generate_records(10, people=people, population=PopulationRates())
        with pytest.raises(SchemaError, match="maiden_name"):
            generate_records(10, people=people.drop(columns=["maiden_name"]))


class TestDemoFiles:
    def test_two_files_with_overlap(self) -> None:
        """Adults' and children's files of ~300 records share a sizeable set of people."""
        adults, children = demo_files()
        truth_only = ("error_type", "hard_negative", "origin")
        expected = [c for c in RECORD_COLUMNS if c not in truth_only]
        assert list(adults.columns) == list(children.columns) == expected
        assert len(adults) == len(children) == 300
        assert set(adults["source"]) <= {"probation", "police", "substance_misuse", "mental_health"}
        assert set(children["source"]) == {"childrens_services"}
        shared = set(adults["person_id"]) & set(children["person_id"])
        assert len(shared) > 0.3 * adults["person_id"].nunique()
        assert adults["record_id"].str.startswith("A").all()
        assert children["record_id"].str.startswith("C").all()

    def test_bundled_files_reproduce(self, tmp_path: Path) -> None:
        """Regenerating the demo files reproduces the bundled CSVs byte for byte."""
        written = write_demo_files(tmp_path)
        bundled = files("identmatch") / "data"
        for path in written:
            assert path.read_bytes() == (bundled / path.name).read_bytes(), path.name

    def test_bundled_files_read_back(self) -> None:
        """The bundled CSVs read back as the demo frames, aliases split on ';'."""
        adults, _ = demo_files()
        with (files("identmatch") / "data" / "demo_adults.csv").open(encoding="utf-8") as fh:
            back = pd.read_csv(fh, dtype=str, keep_default_na=False)
        assert list(back["record_id"]) == list(adults["record_id"])
        split = back["aliases"].map(lambda s: s.split(";") if s else [])
        assert list(split) == list(adults["aliases"])


def frame_digest(frame: pd.DataFrame) -> str:
    """SHA-256 of a generated frame's CSV (aliases joined), to pin it bit for bit.

    Records' ``origin`` (a truth column added later, copied from the person) is left out:
    the pins are of what the random draws made."""
    out = frame.assign(aliases=frame["aliases"].map("|".join))
    if "error_type" in out.columns:
        out = out.drop(columns=["origin"])
    return hashlib.sha256(out.to_csv(index=False).encode()).hexdigest()


@pytest.fixture(scope="module")
def hard_people() -> pd.DataFrame:
    return generate_people(11_000, seed=5, profile="hard")


@pytest.fixture(scope="module")
def hard_joined(hard_people: pd.DataFrame) -> pd.DataFrame:
    """Hard-profile records beside their person's true details (suffix ``_true``)."""
    records = generate_records(N_RECORDS, seed=5, people=hard_people, profile="hard")
    return records.merge(hard_people, on="person_id", suffixes=("", "_true"))


def realised_hard_rates(joined: pd.DataFrame, people: pd.DataFrame) -> dict[str, float]:
    """Each ``HARD_MINIMUMS`` share, measured on records and people, independently."""
    kinds = joined["error_type"].map(labels)

    def has(*names: str) -> pd.Series[bool]:
        return kinds.map(lambda k: bool(k & set(names)))

    no_dob = has("dob_missing", "dob_placeholder", "dob_year_only")
    slip = has("dob_day_month_swap", "dob_digit_slip", "dob_year_transposed", "dob_year_off_by_one")
    former = joined["maiden_name"].notna()
    barrelled = joined["surname_true"].str.contains("-")
    one_half = has("double_barrelled") & pd.Series(
        [s in t.split("-") for s, t in zip(joined["surname"], joined["surname_true"], strict=True)],
        index=joined.index,
    )
    variant = joined["forename_true"].isin(TRANSLITERATIONS.keys()) | joined["surname_true"].isin(
        TRANSLITERATIONS.keys()
    )
    aliased = joined[joined["aliases_true"].map(len) > 0]
    later = len(aliased) - aliased["person_id"].nunique()  # every record but each first one
    return {
        "dob_missing_or_placeholder": no_dob.mean(),
        "dob_missing": joined["dob"].isna().mean(),
        "swapped_names": has("swapped_names").mean(),
        "swapped_respelled": has("swapped_respelled").mean(),
        "forename_initial": has("forename_initial").mean(),
        "forename_initial_no_dob": (has("forename_initial") & no_dob).mean(),
        "forename_variant_dob_slip": (has("nickname", "forename_typo") & slip).mean(),
        "changed_surname": has("changed_surname")[former].mean(),
        "double_barrelled_one_half": one_half[barrelled].mean(),
        "transliteration": has("transliteration")[variant].mean(),
        "known_alias": has("known_alias")[aliased.index].sum() / later,
        "people_with_aliases": people["aliases"].map(len).gt(0).mean(),
        "people_with_former_surname": people["maiden_name"].notna().mean(),
    }


class TestProfiles:
    # Digests of default-profile frames made before the hard profile existed: new kinds of
    # error must draw nothing at rate 0, so benchmarks and tests keep their frames.
    DEFAULT_DIGESTS: ClassVar[dict[str, str]] = {
        "records": "be15ecf3c8d3e5b88740c5360096d5f46f8e0eed1b9529ad28dfb489dd5746ab",
        "people": "1ef265c90e27344d34d517abc31fdd1824bd3670ef48b31693a9f4433c56851c",
        "records_of_people": "f20ab6438205bfeacd3b38b05f880c42c10d598ffb2b0ce73ad86a8bdba93260",
    }

    def test_default_profile_unchanged(self) -> None:
        """The default profile makes the same frames, bit for bit, as before profiles existed."""
        people = generate_people(2_000, seed=3)
        digests = {
            "records": frame_digest(generate_records(3_000, seed=11)),
            "people": frame_digest(people),
            "records_of_people": frame_digest(generate_records(2_500, seed=3, people=people)),
        }
        assert digests == self.DEFAULT_DIGESTS
        explicit = generate_records(3_000, seed=11, profile="default")
        assert frame_digest(explicit) == self.DEFAULT_DIGESTS["records"]

    def test_hard_profile_is_its_rates(self) -> None:
        """profile="hard" is ErrorRates.hard() with PopulationRates.hard(); given rates win."""
        by_name = generate_records(1_500, seed=2, profile="hard")
        by_rates = generate_records(
            1_500, seed=2, error_rates=ErrorRates.hard(), population=PopulationRates.hard()
        )
        assert frame_digest(by_name) == frame_digest(by_rates)
        zero = ErrorRates(**dict.fromkeys(ErrorRates.model_fields, 0.0))
        plain = generate_records(1_500, seed=2, profile="hard", error_rates=zero)
        assert set(plain["error_type"]) == {"original"}

    def test_unknown_profile_refused(self) -> None:
        """An unknown profile name is a ConfigError naming the choices."""
        with pytest.raises(ConfigError, match="'default', 'hard'"):
            generate_records(10, profile="easy")  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match="'default', 'hard'"):
            generate_people(10, profile="easy")  # type: ignore[arg-type]

    def test_hard_rates_at_least_default(self) -> None:
        """Every hard rate, hard negatives included, is at least its default."""
        for hard, default in (
            (ErrorRates.hard(), ErrorRates()),
            (PopulationRates.hard(), PopulationRates()),
        ):
            for name, rate in default:
                assert getattr(hard, name) >= rate, name

    def test_hard_minimums_met(self, hard_joined: pd.DataFrame, hard_people: pd.DataFrame) -> None:
        """Realised shares of a hard frame meet every documented minimum."""
        realised = realised_hard_rates(hard_joined, hard_people)
        assert set(realised) == set(HARD_MINIMUMS)
        short = {k: round(v, 4) for k, v in realised.items() if v < HARD_MINIMUMS[k]}
        assert not short, short
        assert realised["dob_missing_or_placeholder"] <= 0.25

    def test_hard_every_error_type_occurs(self, hard_joined: pd.DataFrame) -> None:
        """In the hard profile every ErrorRates kind appears, the new ones included."""
        seen = Counter(label for e in hard_joined["error_type"] for label in e.split("+"))
        assert set(seen) == {*ErrorRates.model_fields, "original"}

    def test_hard_negatives_kept(self, hard_people: pd.DataFrame) -> None:
        """Each hard-negative kind is at least as common among hard people as by default."""
        share = hard_people["hard_negative"].value_counts() / len(hard_people)
        for kind in HARD_NEGATIVE_KINDS:
            assert share[kind] >= getattr(PopulationRates(), kind) - 1e-3, kind

    def test_swapped_respelled(self, hard_joined: pd.DataFrame) -> None:
        """Swapped and respelled: one field holds the other true name, the other a variant."""
        rows = only(hard_joined, "swapped_names+swapped_respelled")
        for rec in rows.itertuples():
            fore, sur = rec.forename, rec.surname
            kept_sur, kept_fore = fore == rec.surname_true, sur == rec.forename_true
            assert kept_sur != kept_fore  # exactly one of the two is respelled
            new, old = (sur, rec.forename_true) if kept_sur else (fore, rec.surname_true)
            variants = {*TRANSLITERATIONS.get(old, ()), *PHONETIC.get(old, ())}
            assert new in variants or abs(len(new) - len(old)) <= 1, (new, old)

    def test_forename_typo(self, hard_joined: pd.DataFrame) -> None:
        """A forename typo is one edit after the first letter; the surname is untouched."""
        rows = only(hard_joined, "forename_typo")
        assert (rows["forename"] != rows["forename_true"]).all()
        assert (rows["forename"].str[0] == rows["forename_true"].str[0]).all()
        assert ((rows["forename"].str.len() - rows["forename_true"].str.len()).abs() <= 1).all()
        assert (rows["surname"] == rows["surname_true"]).all()
