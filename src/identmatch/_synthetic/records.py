"""Turn true synthetic people into the records services hold, applying recording errors.

Every error is applied only where it would show, and a record's ``error_type`` names exactly
the errors that changed it, so tests and benchmarks can check each kind against the truth.
"""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np
import pandas as pd

from identmatch._config import STANDARD_COLUMNS
from identmatch._synthetic import names

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import numpy.typing as npt

    from identmatch._synthetic.generate import ErrorRates

    ObjArr = npt.NDArray[np.object_]
    IntArr = npt.NDArray[np.int64]
    BoolArr = npt.NDArray[np.bool_]
    FloatArr = npt.NDArray[np.float64]

__all__ = [
    "RECORD_COLUMNS",
    "SOURCES",
    "chance",
    "make_records",
    "object_array",
    "row_ids",
]

# The standard columns the generator fills (no free-text address or town), then the truth.
RECORD_COLUMNS: Final = (
    *(c for c in STANDARD_COLUMNS if c not in ("address", "town")),
    "person_id",
    "error_type",
    "hard_negative",
    "origin",
)
# Per source: share of records, chance a record holds the NHS number, chance it lists the
# person's aliases. Police and probation rarely hold NHS numbers but keep "also known as" lists.
_SOURCE_TRAITS: Final = {
    "childrens_services": (0.25, 0.55, 0.30),
    "probation": (0.10, 0.15, 0.75),
    "police": (0.20, 0.08, 0.85),
    "substance_misuse": (0.10, 0.60, 0.30),
    "mental_health": (0.20, 0.92, 0.25),
    "adult_social_care": (0.15, 0.85, 0.20),
}
SOURCES: Final = tuple(_SOURCE_TRAITS)
_TRAITS: Final = np.array(list(_SOURCE_TRAITS.values()))
# Records per person: geometric (55% one, 25% two, 11% three, ...) capped at ten; mean ~1.8.
_ONE_RECORD: Final = 0.55
_MAX_RECORDS: Final = 10
_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"


def make_records(
    rng: np.random.Generator,
    people: pd.DataFrame,
    n: int,
    sources: tuple[str, ...],
    rates: ErrorRates,
) -> pd.DataFrame:
    """Draw ``n`` records of ``people`` from ``sources``, apply errors, shuffle, number them."""
    r = _Records.start(rng, people, n, sources)
    _name_errors(rng, r, rates)
    _dob_errors(rng, r, rates)
    _contact_errors(rng, r, rates)
    return r.frame(rng)


def chance(rng: np.random.Generator, eligible: BoolArr, rate: float) -> BoolArr:
    """Pick each eligible element with probability ``rate``."""
    return eligible & (rng.random(eligible.size) < rate)


def _test(values: ObjArr, predicate: Callable[[object], bool]) -> BoolArr:
    """``predicate`` of each value, evaluated once per distinct value (names repeat a lot)."""
    codes, distinct = pd.factorize(values)  # missing values get code -1: the appended None
    answers = np.fromiter(map(predicate, [*distinct, None]), dtype=bool, count=len(distinct) + 1)
    return answers[codes]


def _present(value: object) -> bool:
    return value is not None


def _non_ascii(value: object) -> bool:
    return isinstance(value, str) and not value.isascii()


def object_array(values: list[str | None]) -> ObjArr:
    """An object array of ``values`` (plain assignment of a list could make numpy strings)."""
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def _absent(n: int) -> ObjArr:
    return np.full(n, None, dtype=object)


def row_ids(prefix: str, n: int) -> ObjArr:
    """``prefix`` + a 1-based row number padded to 7 digits: R0000001, R0000002, ..."""
    return np.char.add(prefix, np.char.zfill(np.arange(1, n + 1).astype(str), 7)).astype(object)


@dataclass
class _Records:
    """Column arrays of the records while errors are applied (mutated in place)."""

    person: IntArr  # row of the people frame, one per record, in shuffled record order
    first: BoolArr  # the person's first record, which never uses an alias
    source: IntArr  # index into SOURCES
    truth: dict[str, ObjArr]  # the people frame's columns (see PEOPLE_COLUMNS)
    forename: ObjArr
    middle: ObjArr
    surname: ObjArr
    aliases: list[list[str]]
    year: IntArr
    month: IntArr
    day: IntArr
    dob_missing: BoolArr
    postcode: ObjArr
    nhs: ObjArr
    labels: ObjArr

    @classmethod
    def start(
        cls, rng: np.random.Generator, people: pd.DataFrame, n: int, sources: tuple[str, ...]
    ) -> _Records:
        m = len(people)
        counts = np.minimum(rng.geometric(_ONE_RECORD, size=m), _MAX_RECORDS)
        person = np.repeat(np.arange(m, dtype=np.int64), counts)
        if person.size < n:
            person = np.sort(np.concatenate([person, rng.integers(0, m, size=n - person.size)]))
        if person.size > n:  # drop repeat records first, so everyone keeps one if n allows
            first = np.r_[True, person[1:] != person[:-1]]
            heads, repeats = np.flatnonzero(first), np.flatnonzero(~first)
            if heads.size >= n:
                keep = rng.choice(heads, size=n, replace=False)
            else:
                extra = rng.choice(repeats, size=n - heads.size, replace=False)
                keep = np.concatenate([heads, extra])
            person = person[np.sort(keep)]
        # Shuffle now, before any column is gathered, so that no column needs reordering later.
        order = rng.permutation(n)
        person, first = person[order], np.r_[True, person[1:] != person[:-1]][order]
        codes = np.array([SOURCES.index(s) for s in sources])
        share = _TRAITS[codes, 0]
        truth = {str(c): people[c].to_numpy(dtype=object) for c in people.columns}
        dob = pd.to_datetime(people["dob"], format="%Y-%m-%d").to_numpy()
        dob = dob.astype("datetime64[D]")[person]
        month_start = dob.astype("datetime64[M]")
        return cls(
            person=person,
            first=first,
            source=rng.choice(codes, size=n, p=share / share.sum()),
            truth=truth,
            forename=truth["forename"][person],
            middle=truth["middle_names"][person],
            surname=truth["surname"][person],
            aliases=[[] for _ in range(n)],
            year=dob.astype("datetime64[Y]").astype(np.int64) + 1970,
            month=month_start.astype(np.int64) % 12 + 1,
            day=(dob - month_start).astype(np.int64) + 1,
            dob_missing=np.zeros(n, dtype=bool),
            postcode=truth["postcode"][person],
            nhs=truth["nhs_number"][person],
            labels=np.full(n, "", dtype=object),
        )

    def of_person(self, column: str) -> ObjArr:
        return self.truth[column][self.person]

    def mark(self, changed: BoolArr, label: str) -> None:
        self.labels[changed] = self.labels[changed] + f"+{label}"

    def frame(self, rng: np.random.Generator) -> pd.DataFrame:
        """Format dates, sexes, postcodes and NHS numbers as services write them; number rows."""
        n = self.person.size
        u = rng.random((n, 4))
        dob = _format_dobs(self.year, self.month, self.day, u[:, 0])
        dob[self.dob_missing] = None
        sex = self.of_person("sex")
        male = sex == "M"
        sex = np.where(u[:, 1] < 0.86, sex, np.where(male, "Male", "Female").astype(object))
        sex[u[:, 1] >= 0.92] = np.where(male, "male", "female")[u[:, 1] >= 0.92]
        sex[u[:, 1] >= 0.96] = None
        pc = self.postcode
        for i in np.flatnonzero(_test(pc, _present) & (u[:, 2] >= 0.75)):
            tight = pc[i].replace(" ", "")  # 10% "LS64AB", 8% "ls64ab", 7% "ls6 4ab"
            pc[i] = tight if u[i, 2] < 0.85 else tight.lower() if u[i, 2] < 0.93 else pc[i].lower()
        for i in np.flatnonzero(_test(self.nhs, _present) & (u[:, 3] < 0.2)):
            self.nhs[i] = f"{self.nhs[i][:3]} {self.nhs[i][3:6]} {self.nhs[i][6:]}"
        columns = {
            "source": np.array(SOURCES, dtype=object)[self.source],
            "forename": self.forename,
            "middle_names": self.middle,
            "surname": self.surname,
            "dob": dob,
            "sex": sex,
            "postcode": pc,
            "nhs_number": self.nhs,
            "person_id": self.of_person("person_id"),
            "error_type": object_array([s[1:] or "original" for s in self.labels]),
            "hard_negative": self.of_person("hard_negative"),
            # The pool the person's names were drawn from, for "who we miss" breakdowns.
            "origin": self.of_person("origin") if "origin" in self.truth else _absent(n),
        }
        data = {name: pd.Series(values, dtype=object) for name, values in columns.items()}
        data["record_id"] = pd.Series(row_ids("R", n), dtype=object)
        data["aliases"] = pd.Series(self.aliases, dtype=object)
        return pd.DataFrame(data, columns=list(RECORD_COLUMNS))


def _format_dobs(year: IntArr, month: IntArr, day: IntArr, u: FloatArr) -> ObjArr:
    """72% ISO "1987-03-04", 20% "04/03/1987", 8% "4-3-1987"."""
    months = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]")
    days = (months + (month - 1).astype("timedelta64[M]")).astype("datetime64[D]")
    out: ObjArr = np.datetime_as_string(days + (day - 1).astype("timedelta64[D]"), unit="D").astype(
        object
    )
    idx = np.flatnonzero(u >= 0.72)
    out[idx] = object_array(
        [
            f"{d:02d}/{m:02d}/{y}" if x < 0.92 else f"{d}-{m}-{y}"
            for y, m, d, x in zip(
                year[idx].tolist(),
                month[idx].tolist(),
                day[idx].tolist(),
                u[idx].tolist(),
                strict=True,
            )
        ]
    )
    return out


def _respell(
    rng: np.random.Generator, values: ObjArr, mask: BoolArr, table: Mapping[str, tuple[str, ...]]
) -> None:
    """Replace ``values[mask]`` by one of their variants in ``table``, chosen at random."""
    idx = np.flatnonzero(mask)
    u = rng.random(idx.size)
    values[idx] = object_array(
        [table[v][int(x * len(table[v]))] for v, x in zip(values[idx], u, strict=True)]
    )


def _name_errors(rng: np.random.Generator, r: _Records, rates: ErrorRates) -> None:
    """Apply whole-name, forename and surname errors; at most one per field, alias first."""
    n = r.person.size
    every = np.ones(n, dtype=bool)
    person_aliases = r.of_person("aliases")
    has_alias = np.fromiter(map(len, r.truth["aliases"]), dtype=np.int64)[r.person] > 0
    alias = chance(rng, has_alias & ~r.first, rates.known_alias)
    for i, x in zip(np.flatnonzero(alias), rng.random(int(alias.sum())), strict=True):
        options = person_aliases[i]
        r.forename[i], _, r.surname[i] = options[int(x * len(options))].partition(" ")
        r.middle[i] = None
    r.mark(alias, "known_alias")
    _list_aliases(rng, r, has_alias, alias)

    swap = chance(rng, ~alias, rates.swapped_names) & (r.forename != r.surname)
    r.forename[swap], r.surname[swap] = r.surname[swap], r.forename[swap]
    r.mark(swap, "swapped_names")
    if rates.swapped_respelled > 0:  # drawn only when asked for, so other frames stay the same
        _respell_swapped(rng, r, chance(rng, swap, rates.swapped_respelled))
    fore_free = ~(alias | swap)
    sur_free = fore_free.copy()

    in_fore = fore_free & _test(r.forename, names.TRANSLITERATIONS.__contains__)
    in_sur = sur_free & _test(r.surname, names.TRANSLITERATIONS.__contains__)
    translit = chance(rng, in_fore | in_sur, rates.transliteration)
    _respell(rng, r.forename, translit & in_fore, names.TRANSLITERATIONS)
    _respell(rng, r.surname, translit & in_sur, names.TRANSLITERATIONS)
    r.mark(translit, "transliteration")
    fore_free, sur_free = fore_free & ~(translit & in_fore), sur_free & ~(translit & in_sur)

    nick = chance(rng, fore_free & _test(r.forename, names.NICKNAMES.__contains__), rates.nickname)
    _respell(rng, r.forename, nick, names.NICKNAMES)
    r.mark(nick, "nickname")
    fore_free &= ~nick
    by_middle = chance(rng, fore_free & _test(r.middle, _present), rates.middle_name_as_forename)
    for i in np.flatnonzero(by_middle):
        r.forename[i], _, rest = r.middle[i].partition(" ")
        r.middle[i] = rest or None
    r.mark(by_middle, "middle_name_as_forename")
    fore_free &= ~by_middle
    initial = chance(
        rng, fore_free & _test(r.forename, lambda v: len(str(v)) > 1), rates.forename_initial
    )
    r.forename[initial] = object_array([f[0] for f in r.forename[initial]])
    r.mark(initial, "forename_initial")
    fore_free &= ~initial

    maiden = r.of_person("maiden_name")
    married = chance(rng, sur_free & _test(maiden, _present), rates.changed_surname)
    r.surname[married] = maiden[married]
    r.mark(married, "changed_surname")
    sur_free &= ~married
    hyphen = chance(
        rng, sur_free & _test(r.surname, lambda v: "-" in str(v)), rates.double_barrelled
    )
    for i, x in zip(np.flatnonzero(hyphen), rng.random(int(hyphen.sum())), strict=True):
        a, _, b = r.surname[i].partition("-")
        r.surname[i] = (a, b, a + b, f"{a} {b}")[int(x * 4)]
    r.mark(hyphen, "double_barrelled")
    sur_free &= ~hyphen
    in_sur = sur_free & _test(r.surname, names.PHONETIC.__contains__)
    in_fore = fore_free & ~in_sur & _test(r.forename, names.PHONETIC.__contains__)
    sounds = chance(rng, in_sur | in_fore, rates.phonetic_respelling)
    _respell(rng, r.surname, sounds & in_sur, names.PHONETIC)
    _respell(rng, r.forename, sounds & in_fore, names.PHONETIC)
    r.mark(sounds, "phonetic_respelling")
    sur_free &= ~(sounds & in_sur)
    typo = chance(rng, sur_free & _test(r.surname, lambda v: len(str(v)) >= 3), rates.surname_typo)
    idx = np.flatnonzero(typo)
    r.surname[idx] = object_array(
        [_typo(s, x) for s, x in zip(r.surname[idx], rng.random((idx.size, 3)), strict=True)]
    )
    r.mark(typo, "surname_typo")
    if rates.forename_typo > 0:  # drawn only when asked for, so other frames stay the same
        fore_free &= ~(sounds & in_fore)
        eligible = fore_free & _test(r.forename, lambda v: len(str(v)) >= 3)
        typo = chance(rng, eligible, rates.forename_typo)
        idx = np.flatnonzero(typo)
        r.forename[idx] = object_array(
            [_typo(f, x) for f, x in zip(r.forename[idx], rng.random((idx.size, 3)), strict=True)]
        )
        r.mark(typo, "forename_typo")

    accented = (
        _test(r.forename, _non_ascii) | _test(r.middle, _non_ascii) | _test(r.surname, _non_ascii)
    )
    folded = chance(rng, accented, rates.dropped_accents)
    for values in (r.forename, r.middle, r.surname):
        values[folded] = object_array([v and names.fold_accents(v) for v in values[folded]])
    r.mark(folded, "dropped_accents")
    title = chance(rng, every, rates.title_in_name)
    idx = np.flatnonzero(title)
    sex, u = r.of_person("sex")[idx], rng.random(idx.size)
    r.forename[idx] = object_array(
        [
            f"{names.TITLES[s][int(x * len(names.TITLES[s]))]} {f}"
            for s, x, f in zip(sex, u, r.forename[idx], strict=True)
        ]
    )
    r.mark(title, "title_in_name")
    suffix = r.of_person("name_suffix")
    junior = chance(rng, _test(suffix, _present) & ~alias, rates.name_suffix)
    r.surname[junior] = object_array(
        [f"{s} {x}" for s, x in zip(r.surname[junior], suffix[junior], strict=True)]
    )
    r.mark(junior, "name_suffix")
    _case_noise(rng, r, chance(rng, every, rates.case_whitespace_noise))


def _respell_swapped(rng: np.random.Generator, r: _Records, chosen: BoolArr) -> None:
    """Respell one of two swapped names, as a name heard in the wrong order is (Swamy, Swamie).

    A name with known variants takes one (transliteration, then sound-alike spelling); any
    other name of three letters or more takes a typo. Only records that changed are labelled.
    """
    idx = np.flatnonzero(chosen)
    u = rng.random((idx.size, 4))
    changed = np.zeros(r.person.size, dtype=bool)
    for i, x in zip(idx, u, strict=True):
        values = r.forename if x[0] < 0.5 else r.surname
        word = str(values[i])
        table = names.TRANSLITERATIONS if word in names.TRANSLITERATIONS else names.PHONETIC
        if word in table:
            variants = table[word]
            values[i] = variants[int(x[1] * len(variants))]
        elif len(word) >= 3:
            values[i] = _typo(word, x[1:])
        changed[i] = values[i] != word
    r.mark(changed, "swapped_respelled")


def _list_aliases(
    rng: np.random.Generator, r: _Records, has_alias: BoolArr, alias: BoolArr
) -> None:
    """Fill ``aliases``: each source lists known aliases at its own rate.

    A person's first record always lists their aliases when another of their records is under
    one, so every alias used as a name also appears in some other record's list. A record under
    an alias lists the true name half the time.
    """
    n = r.person.size
    shown = has_alias & ~alias & (rng.random(n) < _TRAITS[r.source, 2])
    owners = np.zeros(r.truth["person_id"].size, dtype=bool)
    owners[r.person[alias]] = True
    shown |= r.first & owners[r.person]
    for i in np.flatnonzero(shown):
        r.aliases[i] = list(r.truth["aliases"][r.person[i]])
    true_name = alias & (rng.random(n) < 0.5)
    for i in np.flatnonzero(true_name):
        p = r.person[i]
        r.aliases[i] = [f"{r.truth['forename'][p]} {r.truth['surname'][p]}"]


def _case_noise(rng: np.random.Generator, r: _Records, chosen: BoolArr) -> None:
    """Upper-case, lower-case or pad names with spaces, as free-text entry does."""
    idx = np.flatnonzero(chosen)
    before = (r.forename[idx].copy(), r.surname[idx].copy())
    for i, x in zip(idx, rng.random(idx.size), strict=True):
        f, s = r.forename[i], r.surname[i]
        kind = int(x * 4)
        if kind == 0:
            f, s = f.upper(), s.upper()
        elif kind == 1:
            f, s = f.lower(), s.lower()
        elif kind == 2:
            s = s.upper()
        else:
            f, s = f" {f}", f"{s}  "
        r.forename[i], r.surname[i] = f, s
    changed = np.zeros(r.person.size, dtype=bool)
    changed[idx] = (r.forename[idx] != before[0]) | (r.surname[idx] != before[1])
    r.mark(changed, "case_whitespace_noise")


def _typo(word: str, u: FloatArr) -> str:
    """One edit after the first letter: substitute, delete, transpose, else insert."""
    pos = 1 + int(u[1] * (len(word) - 1))
    letter = _LETTERS[int(u[2] * 26)]
    kind = int(u[0] * 4)
    if kind == 0 and word[pos].lower() != letter:
        return word[:pos] + letter + word[pos + 1 :]
    if kind == 1:
        return word[:pos] + word[pos + 1 :]
    if kind == 2 and pos < len(word) - 1 and word[pos] != word[pos + 1]:
        return word[:pos] + word[pos + 1] + word[pos] + word[pos + 2 :]
    return word[:pos] + letter + word[pos:]


def _dob_errors(rng: np.random.Generator, r: _Records, rates: ErrorRates) -> None:
    """Apply at most one date-of-birth error per record."""
    y, m, d = r.year, r.month, r.day
    free = np.ones(y.size, dtype=bool)
    feb29 = (m == 2) & (d == 29)  # moving its year could make an invalid date

    def take(eligible: BoolArr, rate: float) -> BoolArr:
        chosen = chance(rng, free & eligible, rate)
        free[chosen] = False
        return chosen

    r.dob_missing = take(free, rates.dob_missing)
    r.mark(r.dob_missing, "dob_missing")
    held = take((y != 1900) | (m != 1) | (d != 1), rates.dob_placeholder)
    y[held], m[held], d[held] = 1900, 1, 1
    r.mark(held, "dob_placeholder")
    year_only = take((m != 1) | (d != 1), rates.dob_year_only)
    m[year_only], d[year_only] = 1, 1
    r.mark(year_only, "dob_year_only")
    swap = take((d <= 12) & (d != m), rates.dob_day_month_swap)
    m[swap], d[swap] = d[swap], m[swap]
    r.mark(swap, "dob_day_month_swap")
    r.mark(_slip_digits(rng, y, m, d, take(free, rates.dob_digit_slip)), "dob_digit_slip")
    flip = take((y % 10 != y // 10 % 10) & ~feb29, rates.dob_year_transposed)
    y[flip] = y[flip] - y[flip] % 100 + y[flip] % 10 * 10 + y[flip] // 10 % 10
    r.mark(flip, "dob_year_transposed")
    off = take(~feb29, rates.dob_year_off_by_one)
    y[off] += rng.choice(np.array([-1, 1]), size=int(off.sum()))
    r.mark(off, "dob_year_off_by_one")


def _slip_digits(
    rng: np.random.Generator, y: IntArr, m: IntArr, d: IntArr, chosen: BoolArr
) -> BoolArr:
    """Change one digit of DDMMYYYY where the result is still a plausible date; 20 tries each."""
    done = np.zeros(y.size, dtype=bool)
    idx = np.flatnonzero(chosen)
    for i, attempts in zip(idx, rng.random((idx.size, 20, 2)), strict=True):
        digits = f"{d[i]:02d}{m[i]:02d}{y[i]:04d}"
        for a, b in attempts:
            pos = int(a * 8)
            new = (int(digits[pos]) + 1 + int(b * 9)) % 10
            slipped = digits[:pos] + str(new) + digits[pos + 1 :]
            day, month, year = int(slipped[:2]), int(slipped[2:4]), int(slipped[4:])
            if 1900 < year <= 2010 and 0 < month < 13 and 0 < day <= monthrange(year, month)[1]:
                y[i], m[i], d[i] = year, month, day
                done[i] = True
                break
    return done


def _contact_errors(rng: np.random.Generator, r: _Records, rates: ErrorRates) -> None:
    """Old or missing postcodes; NHS numbers absent as each source's coverage has it, or wrong."""
    n = r.person.size
    previous = r.of_person("previous_postcode")
    moved = chance(rng, _test(previous, _present), rates.postcode_moved)
    r.postcode[moved] = previous[moved]
    r.mark(moved, "postcode_moved")
    gone = chance(rng, ~moved, rates.postcode_missing)
    r.postcode[gone] = None
    r.mark(gone, "postcode_missing")
    held = rng.random(n) < _TRAITS[r.source, 1]
    r.nhs[~held] = None
    wrong = chance(rng, held, rates.nhs_digit_error)
    idx = np.flatnonzero(wrong)
    r.nhs[idx] = object_array(
        [_wrong_digit(s, x) for s, x in zip(r.nhs[idx], rng.random((idx.size, 2)), strict=True)]
    )
    r.mark(wrong, "nhs_digit_error")


def _wrong_digit(number: str, u: FloatArr) -> str:
    """Change one digit; any single change breaks the modulus-11 check."""
    pos = int(u[0] * len(number))
    new = (int(number[pos]) + 1 + int(u[1] * 9)) % 10
    return number[:pos] + str(new) + number[pos + 1 :]
