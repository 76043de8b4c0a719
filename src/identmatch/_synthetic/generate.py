"""Seeded synthetic people and the messy records services in England hold about them.

Models adults known to children's services and to adults' services (probation, police,
substance misuse, mental health, adult social care), with the recording errors serious case
reviews describe: nicknames, aliases, typos, transliterations, swapped or married names, slipped
dates of birth, old addresses, missing or mistyped NHS numbers. Hard non-matches (twins, a father
and son of one name, brothers at one address, two people with a very common name born in the
same year) are generated on purpose as separate people.

All names come from the invented tables in ``identmatch._synthetic.names``. NHS numbers are
random, pass the modulus-11 check and start with 9, a range not issued to patients. People are
built here; ``identmatch._synthetic.records`` turns them into records and applies the errors.
Two profiles of rates exist: the default, and ``"hard"`` (``ErrorRates.hard()``,
``PopulationRates.hard()``; see ``identmatch._synthetic.profiles``), whose errors are as frequent
as in data we did not make.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Final

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, model_validator

from identmatch._exceptions import ConfigError, SchemaError
from identmatch._synthetic import names
from identmatch._synthetic.profiles import HARD_ERROR_RATES, HARD_POPULATION
from identmatch._synthetic.records import (
    RECORD_COLUMNS,
    SOURCES,
    chance,
    make_records,
    row_ids,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping

    import numpy.typing as npt

    from identmatch._types import SyntheticProfile

    ObjArr = npt.NDArray[np.object_]
    IntArr = npt.NDArray[np.int64]
    BoolArr = npt.NDArray[np.bool_]
    FloatArr = npt.NDArray[np.float64]
    DayArr = npt.NDArray[np.datetime64]
    Table = tuple[ObjArr, FloatArr]

__all__ = [
    "ADULT_SOURCES",
    "HARD_NEGATIVE_KINDS",
    "PEOPLE_COLUMNS",
    "PROFILES",
    "RECORD_COLUMNS",
    "SOURCES",
    "ErrorRates",
    "PopulationRates",
    "demo_files",
    "generate_people",
    "generate_records",
    "write_demo_files",
]

ADULT_SOURCES: Final = ("probation", "police", "substance_misuse", "mental_health")
PROFILES: Final = ("default", "hard")
HARD_NEGATIVE_KINDS: Final = ("twin", "father_son", "brothers", "common_name")
_MEAN_RECORDS: Final = 1.8  # records per person drawn by make_records, on average

PEOPLE_COLUMNS: Final = (
    "person_id",
    "forename",
    "middle_names",
    "surname",
    "maiden_name",
    "name_suffix",
    "aliases",
    "dob",
    "sex",
    "postcode",
    "previous_postcode",
    "nhs_number",
    "hard_negative",
)
"""The columns of the people frame that records are made from."""

Rate = Annotated[float, Field(ge=0.0, le=1.0)]
"""A probability in [0, 1], validated."""


class ErrorRates(BaseModel, frozen=True, extra="forbid"):
    """Chance of each recording error per record, among the records where it can occur.

    Each rate applies only where its error is possible (``nickname`` only to forenames with a
    short form, ``dob_day_month_swap`` only where the day is 12 or less, ``known_alias`` only to
    people with aliases, and never to their first record). A record gets at most one forename
    error, one surname error, one date-of-birth error and one postcode error; errors in
    different fields combine. Each field name is the label used in ``error_type``.

    Rates at 0 draw no random numbers, so a new kind of error (``swapped_respelled``,
    ``forename_typo``, both 0 by default) leaves the default frames as they were.

    Example::

        records = generate_records(10_000, seed=1, error_rates=ErrorRates(surname_typo=0.1))
        harder = ErrorRates.hard().model_copy(update={"dob_missing": 0.2})
    """

    known_alias: Rate = 0.35  # the whole name is one of the person's aliases
    swapped_names: Rate = 0.01  # forename and surname fields swapped
    swapped_respelled: Rate = 0.0  # of swapped records, one name respelled (Swamy -> Swamie)
    transliteration: Rate = 0.30  # Mohammed/Muhammad, Chaudhry/Chowdhury, Aleksander/Alexander
    nickname: Rate = 0.15  # William -> Bill, Katarzyna -> Kasia, Oluwaseun -> Seun
    middle_name_as_forename: Rate = 0.05  # known by the first middle name
    forename_initial: Rate = 0.02  # "J"
    changed_surname: Rate = 0.30  # maiden name where the person now uses a married name
    double_barrelled: Rate = 0.40  # Smith-Jones as Smith, Jones, SmithJones or Smith Jones
    phonetic_respelling: Rate = 0.12  # Phillips/Philips, Thompson/Thomson, Stephen/Steven
    surname_typo: Rate = 0.03  # one insert, delete, substitute or transpose
    forename_typo: Rate = 0.0  # the same, in a forename with no other error
    dropped_accents: Rate = 0.50  # Wójcik -> Wojcik, Seán -> Sean
    title_in_name: Rate = 0.02  # "Mr John" in the forename field
    name_suffix: Rate = 0.40  # a son named after his father recorded as "Smith Jnr"
    case_whitespace_noise: Rate = 0.04  # SMITH, john, stray spaces
    dob_missing: Rate = 0.03
    dob_placeholder: Rate = 0.005  # 1900-01-01
    dob_year_only: Rate = 0.01  # recorded as 1 January of the year
    dob_day_month_swap: Rate = 0.03
    dob_digit_slip: Rate = 0.015  # one digit of DDMMYYYY changed, still a valid date
    dob_year_transposed: Rate = 0.006  # 1987 -> 1978
    dob_year_off_by_one: Rate = 0.01
    postcode_moved: Rate = 0.35  # the previous address, for people who have moved
    postcode_missing: Rate = 0.06
    nhs_digit_error: Rate = 0.015  # one digit wrong, so the check digit fails

    @classmethod
    def hard(cls) -> ErrorRates:
        """The hard profile: every kind of error at least as often as the default, most far more.

        About 19% of records have no date of birth or a placeholder, half of the records of
        people with a former surname show it, and names are swapped, respelled, shortened to
        an initial or recorded under an alias far more often. The rates and why are in
        ``identmatch._synthetic.profiles``.
        """
        return cls(**HARD_ERROR_RATES)


class PopulationRates(BaseModel, frozen=True, extra="forbid"):
    """Fractions of generated people with a trait or in a hard-negative pair.

    The four pair fractions count both members: ``twin=0.02`` puts 2% of people in 1% as many
    twin pairs. Pairs are ``hard_negative``-labelled separate people, never the same person_id.
    """

    twin: Rate = 0.02  # same surname, dob and postcode, different forename
    father_son: Rate = 0.02  # same full name, dob 20-40 years apart, often the same postcode
    brothers: Rate = 0.02  # same surname and postcode, dobs 1-8 years apart
    common_name: Rate = 0.03  # e.g. two John Smiths born in the same year elsewhere
    alias: Rate = 0.06  # known by one or two other full names
    married_name: Rate = 0.35  # of women born before 1998: surname differs from maiden name
    double_barrelled: Rate = 0.02  # of British-named people, on top of those in the tables
    moved: Rate = 0.40  # has a previous postcode that old records may still show

    @model_validator(mode="after")
    def _pairs_fit(self) -> PopulationRates:
        total = self.twin + self.father_son + self.brothers + self.common_name
        if total > 1.0:
            msg = f"twin + father_son + brothers + common_name is {total:.3f}; keep it <= 1"
            raise ValueError(msg)
        return self

    @classmethod
    def hard(cls) -> PopulationRates:
        """The hard profile's people: more aliases, former and double-barrelled surnames, moves.

        The hard-negative fractions are each at least the default's.
        """
        return cls(**HARD_POPULATION)


def _is_hard(profile: SyntheticProfile) -> bool:
    """Whether ``profile`` is the hard one; an unknown name is a ConfigError."""
    if profile not in PROFILES:
        msg = f"profile must be one of {PROFILES}, got {profile!r}"
        raise ConfigError(msg)
    return profile == "hard"


def _table(weights: Mapping[str, int]) -> Table:
    p = np.array(list(weights.values()), dtype=np.float64)
    return np.array(list(weights), dtype=object), p / p.sum()


_FORENAMES: Final = {key: _table(w) for key, w in names.FORENAMES.items()}
_SURNAMES: Final = {key: _table(w) for key, w in names.SURNAMES.items()}
_BRITISH: Final = names.ORIGINS.index("british")
_FIRST_DAY: Final = np.datetime64("1945-01-01")
_LAST_DAY: Final = np.datetime64("2006-12-31")


def _draw(rng: np.random.Generator, table: Table, k: int) -> ObjArr:
    values, p = table
    return rng.choice(values, size=k, p=p)


def _middle_names(rng: np.random.Generator, table: Table, forenames: ObjArr) -> ObjArr:
    """Draw none (45%), one (50%) or two (5%) middle names, never repeating the forename."""
    k = forenames.size
    first, second, u = _draw(rng, table, k), _draw(rng, table, k), rng.random(k)
    out = np.full(k, None, dtype=object)
    for i in np.flatnonzero((u < 0.55) & (first != forenames)):
        two = u[i] >= 0.50 and second[i] not in (first[i], forenames[i])
        out[i] = f"{first[i]} {second[i]}" if two else first[i]
    return out


@dataclass
class _People:
    """Column arrays of the true people while they are being built (mutated in place)."""

    origin: IntArr
    sex: ObjArr
    forename: ObjArr
    middle: ObjArr
    surname: ObjArr
    dob: DayArr
    postcode: ObjArr
    previous: ObjArr
    maiden: ObjArr
    suffix: ObjArr
    label: ObjArr
    partner: IntArr

    def redraw_forenames(
        self, rng: np.random.Generator, idx: IntArr, avoid: ObjArr | None = None
    ) -> None:
        """Draw forenames and middle names for ``idx`` by origin and sex, never ``avoid``."""
        for code, origin in enumerate(names.ORIGINS):
            for sex in ("M", "F"):
                sub = idx[(self.origin[idx] == code) & (self.sex[idx] == sex)]
                self.forename[sub] = _draw(rng, _FORENAMES[origin, sex], sub.size)
                self.middle[sub] = _middle_names(rng, _FORENAMES[origin, sex], self.forename[sub])
        if avoid is not None and (clash := self.forename[idx] == avoid).any():
            self.redraw_forenames(rng, idx[clash], avoid[clash])

    def gender_surnames(self, idx: IntArr) -> None:
        self.surname[idx] = [
            names.gendered_surname(s, x)
            for s, x in zip(self.surname[idx], self.sex[idx], strict=True)
        ]


def generate_people(
    n_people: int,
    *,
    seed: int = 0,
    population: PopulationRates | None = None,
    profile: SyntheticProfile = "default",
) -> pd.DataFrame:
    """Generate ``n_people`` true people, including the hard-negative pairs.

    Returns one row per person (all columns ``object``): person_id, forename, middle_names,
    surname, maiden_name, name_suffix ("Jr"/"Jnr" for sons named after their father), aliases
    (list of "Forename Surname"), dob (ISO date), sex ("M"/"F"), postcode, previous_postcode,
    nhs_number (10 digits), origin, hard_negative (kind or None) and hard_negative_partner (the
    other person_id of the pair or None). Same seed, same frame. ``population`` defaults to
    the ``profile``'s rates: ``PopulationRates()`` or, for ``"hard"``, ``PopulationRates.hard()``.
    """
    if n_people < 1:
        msg = f"n_people must be at least 1, got {n_people}"
        raise ConfigError(msg)
    hard = _is_hard(profile)
    default_pop = PopulationRates.hard() if hard else PopulationRates()
    pop = population if population is not None else default_pop
    rng = np.random.default_rng([seed, 1])
    n = n_people
    weights = np.array(names.ORIGIN_WEIGHTS)
    p = _People(
        origin=rng.choice(len(names.ORIGINS), size=n, p=weights / weights.sum()).astype(np.int64),
        sex=np.where(rng.random(n) < 0.5, "M", "F").astype(object),
        forename=np.empty(n, dtype=object),
        middle=np.full(n, None, dtype=object),
        surname=np.empty(n, dtype=object),
        dob=_random_dobs(rng, n),
        postcode=names.postcodes(rng, n),
        previous=np.full(n, None, dtype=object),
        maiden=np.full(n, None, dtype=object),
        suffix=np.full(n, None, dtype=object),
        label=np.full(n, None, dtype=object),
        partner=np.full(n, -1, dtype=np.int64),
    )
    everyone = np.arange(n, dtype=np.int64)
    p.redraw_forenames(rng, everyone)
    for code, origin in enumerate(names.ORIGINS):
        p.surname[p.origin == code] = _draw(rng, _SURNAMES[origin], int((p.origin == code).sum()))
    british = chance(rng, p.origin == _BRITISH, pop.double_barrelled)
    second = _draw(rng, _SURNAMES["british"], int(british.sum()))
    p.surname[british] = [
        s if "-" in s + t or s == t else f"{s}-{t}"
        for s, t in zip(p.surname[british], second, strict=True)
    ]
    p.gender_surnames(everyone)
    _marry(rng, p, pop.married_name)
    movers = np.flatnonzero(rng.random(n) < pop.moved)
    local = rng.random(movers.size) < 0.6  # most moves stay within the postcode district
    outward = np.array([pc.split()[0] for pc in p.postcode[movers]], dtype=object)
    p.previous[movers] = np.where(
        local, names.postcodes(rng, movers.size, outward), names.postcodes(rng, movers.size)
    )
    _pair_hard_negatives(rng, p, pop)
    ids = row_ids("P", n)
    partner = np.full(n, None, dtype=object)
    partner[p.partner >= 0] = ids[p.partner[p.partner >= 0]]
    return pd.DataFrame(
        {
            "person_id": ids,
            "forename": p.forename,
            "middle_names": p.middle,
            "surname": p.surname,
            "maiden_name": p.maiden,
            "name_suffix": p.suffix,
            "aliases": pd.Series(_aliases(rng, p, pop.alias), dtype=object),
            "dob": np.datetime_as_string(p.dob, unit="D").astype(object),
            "sex": p.sex,
            "postcode": p.postcode,
            "previous_postcode": p.previous,
            "nhs_number": names.nhs_numbers(rng, n),
            "origin": np.array(names.ORIGINS, dtype=object)[p.origin],
            "hard_negative": p.label,
            "hard_negative_partner": partner,
        },
        dtype=object,
    )


def _random_dobs(rng: np.random.Generator, n: int) -> DayArr:
    """Adults' dates of birth: years ~ normal(1984, 12) within 1945-2006, any day of the year."""
    years = np.clip(np.rint(rng.normal(1984, 12, size=n)), 1945, 2006).astype(np.int64)
    start = (years - 1970).astype("datetime64[Y]").astype("datetime64[D]")
    end = (years - 1969).astype("datetime64[Y]").astype("datetime64[D]")
    days = (rng.random(n) * (end - start).astype(np.int64)).astype(np.int64)
    dobs: DayArr = start + days.astype("timedelta64[D]")
    return dobs


def _marry(rng: np.random.Generator, p: _People, rate: float) -> None:
    """Give some women born before 1998 a married surname; the birth surname becomes maiden."""
    born = p.dob.astype("datetime64[Y]").astype(np.int64) + 1970
    wives = np.flatnonzero(chance(rng, (p.sex == "F") & (born < 1998), rate))
    # Most marry within their own naming tradition; a fifth take a British surname.
    origin = np.where(rng.random(wives.size) < 0.2, _BRITISH, p.origin[wives])
    new = np.empty(wives.size, dtype=object)
    for code, name in enumerate(names.ORIGINS):
        new[origin == code] = _draw(rng, _SURNAMES[name], int((origin == code).sum()))
    new = np.array([names.gendered_surname(s, "F") for s in new], dtype=object)
    keep = new != p.surname[wives]
    p.maiden[wives[keep]] = p.surname[wives[keep]]
    p.surname[wives[keep]] = new[keep]


def _aliases(rng: np.random.Generator, p: _People, rate: float) -> list[list[str]]:
    """One or two other full names for a share of people, same sex, often a new surname."""
    n = p.sex.size
    out: list[list[str]] = [[] for _ in range(n)]
    for sex in ("M", "F"):
        idx = np.flatnonzero(chance(rng, p.sex == sex, rate))
        k = idx.size
        fore = _draw(rng, _FORENAMES["british", sex], 2 * k).reshape(k, 2)
        sur = _draw(rng, _SURNAMES["british"], 2 * k).reshape(k, 2)
        u = rng.random((k, 3))
        for i, f, s, (more, keep1, keep2) in zip(idx, fore, sur, u, strict=True):
            pairs = [(f[0], p.surname[i] if keep1 < 0.5 else s[0])]
            if more < 0.3:
                pairs.append((f[1], p.surname[i] if keep2 < 0.5 else s[1]))
            out[i] = [f"{a} {b}" for a, b in pairs if a != p.forename[i] and a != b]
    return out


def _pair_hard_negatives(rng: np.random.Generator, p: _People, pop: PopulationRates) -> None:
    """Overwrite disjoint pairs of people so each pair looks alike but stays two people."""
    n = p.sex.size
    order = rng.permutation(n).astype(np.int64)
    start = 0
    for kind in HARD_NEGATIVE_KINDS:
        k = round(n * getattr(pop, kind) / 2)
        a, b = order[start : start + k], order[start + k : start + 2 * k]
        start += 2 * k
        if k == 0:
            continue
        if kind == "common_name":
            template = np.array(names.COMMON_NAMES, dtype=object)[rng.integers(0, 20, size=k)]
            for side in (a, b):
                p.origin[side] = [names.ORIGINS.index(o) for o in template[:, 3]]
                p.sex[side] = template[:, 2]
                p.redraw_forenames(rng, side)
                p.forename[side], p.surname[side] = template[:, 0], template[:, 1]
                p.middle[side[p.middle[side] == p.forename[side]]] = None
            year = p.dob[a].astype("datetime64[Y]").astype("datetime64[D]")
            length = ((year.astype("datetime64[Y]") + 1).astype("datetime64[D]") - year).astype(
                np.int64
            )
            day = (p.dob[a] - year).astype(np.int64)  # a different day of the same year:
            p.dob[b] = year + (day + rng.integers(1, length)) % length
            same = p.postcode[a] == p.postcode[b]
            p.postcode[b[same]] = names.postcodes(rng, int(same.sum()))
        else:
            p.origin[b] = p.origin[a]
            p.surname[b] = p.surname[a]
            if kind == "twin":
                p.sex[b] = np.where(
                    rng.random(k) < 0.9, p.sex[a], np.where(p.sex[a] == "M", "F", "M")
                )
                p.dob[b] = p.dob[a]
                p.redraw_forenames(rng, b, avoid=p.forename[a])
            else:
                p.sex[a], p.sex[b] = "M", "M"
                p.redraw_forenames(rng, a)
                p.redraw_forenames(rng, b, avoid=None if kind == "father_son" else p.forename[a])
            if kind == "father_son":
                p.forename[b] = p.forename[a]
                p.dob[a] = _FIRST_DAY + rng.integers(5 * 365, 22 * 365, size=k)
                p.dob[b] = p.dob[a] + rng.integers(20 * 365, 40 * 365, size=k)
                p.suffix[b] = rng.choice(np.array(names.SUFFIXES, dtype=object), size=k)
            elif kind == "brothers":
                gap = rng.integers(365, 8 * 365 + 2, size=k).astype("timedelta64[D]")
                later = p.dob[a] + gap
                p.dob[b] = np.where(later <= _LAST_DAY, later, p.dob[a] - gap)
            home = (rng.random(k) < 0.7) | (kind != "father_son")
            p.postcode[b[home]], p.previous[b[home]] = p.postcode[a[home]], p.previous[a[home]]
            p.gender_surnames(np.concatenate([a, b]))
        both = np.concatenate([a, b])
        p.maiden[both] = None
        p.label[both] = kind
        p.partner[a], p.partner[b] = b, a


def generate_records(
    n_records: int,
    *,
    seed: int = 0,
    sources: tuple[str, ...] = SOURCES,
    error_rates: ErrorRates | None = None,
    population: PopulationRates | None = None,
    people: pd.DataFrame | None = None,
    profile: SyntheticProfile = "default",
) -> pd.DataFrame:
    """Generate exactly ``n_records`` shuffled records of synthetic people, with errors.

    Args:
        n_records: how many records, at least 1.
        seed: same seed and arguments, same frame.
        sources: the services records come from, a non-empty subset of ``SOURCES``.
        error_rates: per-record error chances; the profile's if None.
        population: shapes the people generated here; only when ``people`` is None.
        people: true people from :func:`generate_people` to draw records of. If None, the
            people are ``generate_people(round(n_records / 1.8), seed=seed, profile=profile)``.
        profile: ``"default"`` or ``"hard"``: which rates stand in for ``error_rates`` and
            ``population`` left as None (``ErrorRates.hard()``, ``PopulationRates.hard()``).
            Rates given explicitly win.

    Example::

        hard = generate_records(12_800, seed=1, profile="hard")

    Returns:
        One row per record, every column ``object``, columns in ``RECORD_COLUMNS`` order.
        Most people have one record, some up to ten, spread across ``sources``. ``aliases``
        is a list of "Forename Surname"; ``dob`` is ISO, DD/MM/YYYY or D-M-YYYY or None;
        ``error_type`` is "original" or the ``ErrorRates`` names applied, joined with "+";
        ``person_id``, ``hard_negative`` and ``origin`` (the name pool of the person,
        one of ``names.ORIGINS``; None for ``people`` without that column) are the truth.
    """
    if n_records < 1:
        msg = f"n_records must be at least 1, got {n_records}"
        raise ConfigError(msg)
    unknown = sorted(set(sources) - set(SOURCES))
    if not sources or unknown:
        msg = f"sources must be a non-empty subset of {SOURCES}; unknown: {unknown}"
        raise ConfigError(msg)
    hard = _is_hard(profile)
    if people is None:
        n_people = max(1, round(n_records / _MEAN_RECORDS))
        people = generate_people(n_people, seed=seed, population=population, profile=profile)
    elif population is not None:
        msg = "pass population or people, not both: population only shapes generated people"
        raise ConfigError(msg)
    missing = [c for c in PEOPLE_COLUMNS if c not in people.columns]
    if missing or people.empty:
        msg = f"people needs at least one row and the columns {missing}; use generate_people()"
        raise SchemaError(msg)
    default_rates = ErrorRates.hard() if hard else ErrorRates()
    rates = error_rates if error_rates is not None else default_rates
    return make_records(np.random.default_rng([seed, 2]), people, n_records, sources, rates)


def demo_files(seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two small files to link: an adults' services file and a children's services file.

    300 records each, drawn from 400 people of whom 120 are in both files; some people appear
    more than once within a file. Record ids are "A…" and "C…". Only ``person_id`` is kept of
    the truth columns.
    """
    people = generate_people(400, seed=seed)
    order = np.random.default_rng([seed, 3]).permutation(len(people))
    adults = generate_records(
        300, seed=seed, sources=ADULT_SOURCES, people=people.iloc[np.sort(order[:260])]
    )
    children = generate_records(
        300,
        seed=seed + 1,
        sources=("childrens_services",),
        people=people.iloc[np.sort(order[140:])],
    )
    return _demo_view(adults, "A"), _demo_view(children, "C")


def _demo_view(records: pd.DataFrame, prefix: str) -> pd.DataFrame:
    out = records.drop(columns=["error_type", "hard_negative", "origin"])
    out["record_id"] = prefix + out["record_id"].str.slice(1)
    return out


def write_demo_files(directory: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Write ``demo_adults.csv`` and ``demo_children.csv`` from :func:`demo_files` there.

    Aliases are joined with ";", missing values are empty. This is how the files bundled in
    ``identmatch/data`` are made::

        python -c "from identmatch._synthetic import generate as g
        g.write_demo_files('src/identmatch/data')"
    """
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    paths = (folder / "demo_adults.csv", folder / "demo_children.csv")
    for path, frame in zip(paths, demo_files(), strict=True):
        out = frame.assign(aliases=frame["aliases"].map(";".join))
        out.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return paths
