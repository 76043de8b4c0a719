"""People's decisions about pairs of records: the constraints clustering obeys.

A reviewer looks at two records and says they are the ``same`` person, ``different`` people,
or is ``unsure``. ``different`` is a must-not-link: no entity, in a batch run, an index add or
a rebuild, ever holds both records, directly or through a chain of other records. ``same``
is a must-link: the two records are joined first, before any scored pair, and the model's
own family guard does not keep them apart (a person has looked). ``unsure`` constrains
nothing; it only takes the pair out of the review queue.

The latest decision about a pair is the one that holds. Decisions name records by id only,
never by value, so a decisions file can travel between an index and a batch run.

A decisions file is CSV with a header: ``record_id_l``, ``record_id_r``, ``decision`` and,
optionally, ``reason``, ``decided_at``, ``decided_by``, ``purpose``; for a link, the optional
``input_l`` / ``input_r`` (``left`` or ``right``) say which input each record id is in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeAlias

import pandas as pd

from identmatch._exceptions import SchemaError
from identmatch._prepare.read import check_id_characters
from identmatch._prepare.values import to_text

__all__ = [
    "DECISION_COLUMNS",
    "DECISION_KINDS",
    "DecisionKind",
    "Decisions",
    "decisions_from_rows",
    "read_decisions",
]

DecisionKind: TypeAlias = Literal["same", "different", "unsure"]
DECISION_KINDS: tuple[DecisionKind, ...] = ("same", "different", "unsure")
DECISION_COLUMNS = (
    "record_id_l",
    "record_id_r",
    "decision",
    "reason",
    "decided_at",
    "decided_by",
    "purpose",
)
_OPTIONAL = ("reason", "decided_at", "decided_by", "purpose", "input_l", "input_r")
_INPUTS = ("left", "right")

Pair: TypeAlias = tuple[str, str]


def _pair(a: str, b: str) -> Pair:
    return (a, b) if a <= b else (b, a)


def _text(value: Any) -> str:
    return to_text(value, strip=True) or ""


@dataclass(frozen=True)
class Decisions:
    """The decisions in force: the latest about each pair of record ids.

    ``same`` and ``different`` hold unordered pairs of record ids (``(a, b)`` with
    ``a <= b``); for a link, ids may carry their input as ``"left:..."`` keys in
    ``sides`` (see :meth:`node_pairs`).
    """

    frame: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DECISION_COLUMNS))
    """Every decision read, in order, with :data:`DECISION_COLUMNS` (and the inputs)."""

    @property
    def latest(self) -> dict[tuple[str, str, str, str], DecisionKind]:
        """(input_l, id_l, input_r, id_r) -> the decision in force, ids in sorted order."""
        out: dict[tuple[str, str, str, str], DecisionKind] = {}
        frame = self.frame
        if frame.empty:
            return out
        inputs_l = frame["input_l"] if "input_l" in frame else pd.Series([""] * len(frame))
        inputs_r = frame["input_r"] if "input_r" in frame else pd.Series([""] * len(frame))
        rows = zip(
            inputs_l.astype(str).tolist(),
            frame["record_id_l"].astype(str).tolist(),
            inputs_r.astype(str).tolist(),
            frame["record_id_r"].astype(str).tolist(),
            frame["decision"].astype(str).tolist(),
            strict=True,
        )
        for in_l, a, in_r, b, decision in rows:
            left, right = (in_l, a), (in_r, b)
            if right < left:
                left, right = right, left
            out[(*left, *right)] = decision  # type: ignore[assignment]
        return out

    def __len__(self) -> int:
        return len(self.frame)

    def pairs(self, kind: DecisionKind) -> set[Pair]:
        """Record id pairs whose decision in force is ``kind`` (ids only, inputs ignored)."""
        return {_pair(a, b) for (_, a, _, b), d in self.latest.items() if d == kind}

    def node_pairs(
        self, nodes: Sequence[tuple[str, str]], *, linked: bool
    ) -> tuple[list[tuple[int, int]], set[tuple[int, int]], int]:
        """Decisions as node indices of a batch run: must-links, must-not-links, unmatched.

        ``nodes`` are (input, record id) in the run's order (input ``"input"`` for a dedupe,
        ``"left"`` / ``"right"`` for a link). A decision naming a record the run does not
        hold is skipped and counted.

        Raises:
            SchemaError: in a link, a decision without ``input_l`` / ``input_r`` names a
                record id that is in both inputs.
        """
        by_id: dict[str, list[int]] = {}
        for i, (_, rid) in enumerate(nodes):
            by_id.setdefault(rid, []).append(i)
        position = {node: i for i, node in enumerate(nodes)}

        def locate(side: str, rid: str) -> int | None:
            if linked and side:
                return position.get((side, rid))
            found = by_id.get(rid, [])
            if len(found) > 1:
                msg = (
                    f"a decision names record_id {rid}, which is in both inputs; give the "
                    "decisions the input_l and input_r columns (left or right) for a link"
                )
                raise SchemaError(msg)
            return found[0] if found else None

        same: list[tuple[int, int]] = []
        different: set[tuple[int, int]] = set()
        skipped = 0
        for (in_l, a, in_r, b), decision in self.latest.items():
            x, y = locate(in_l, a), locate(in_r, b)
            if x is None or y is None or x == y:
                skipped += 1
                continue
            pair = (min(x, y), max(x, y))
            if decision == "same":
                same.append(pair)
            elif decision == "different":
                different.add(pair)
        same.sort()
        return same, different, skipped

    def to_csv(self, path: str | Path, escape: Callable[[Any], Any] | None = None) -> None:
        """Write the decisions as a decisions file (formula-like cells quoted by ``escape``)."""
        frame = self.frame.copy()
        if escape is not None:
            for column in ("reason", "decided_by", "purpose"):
                if column in frame:
                    frame[column] = frame[column].map(escape)
        frame.to_csv(path, index=False)


def read_decisions(source: str | Path | pd.DataFrame | Decisions | None) -> Decisions:
    """Decisions from a CSV file, a DataFrame or an iterable of mappings, validated.

    Raises:
        SchemaError: a required column is missing, or a row has an empty record id, a
            decision that is not ``same``, ``different`` or ``unsure``, the same record on
            both sides, or an input other than ``left`` / ``right``. The message names the
            row and column, never a reason or purpose text.
    """
    if source is None:
        return Decisions()
    if isinstance(source, Decisions):
        return source
    if isinstance(source, pd.DataFrame):
        frame = source.copy()
        name = "decisions"
    else:
        path = Path(source)
        name = path.name
        if not path.is_file():
            msg = f"{path}: no such decisions file"
            raise SchemaError(msg)
        try:
            frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            msg = f"{name}: not a readable decisions CSV ({type(exc).__name__})"
            raise SchemaError(msg) from None
    return _validated(frame, name)


def decisions_from_rows(rows: Iterable[Mapping[str, Any]]) -> Decisions:
    """Decisions from rows as stored in an index (already valid)."""
    frame = pd.DataFrame(list(rows), columns=list(DECISION_COLUMNS))
    return Decisions(frame)


def _validated(frame: pd.DataFrame, name: str) -> Decisions:
    missing = [c for c in ("record_id_l", "record_id_r", "decision") if c not in frame.columns]
    if missing:
        msg = (
            f"{name}: missing column(s) {', '.join(missing)}; a decisions file has "
            "record_id_l, record_id_r, decision and optionally "
            f"{', '.join(_OPTIONAL)}"
        )
        raise SchemaError(msg)
    unknown = [c for c in frame.columns if c not in DECISION_COLUMNS and c not in _OPTIONAL]
    if unknown:
        msg = f"{name}: unknown column(s) {', '.join(map(str, unknown))}"
        raise SchemaError(msg)
    out = pd.DataFrame({c: frame[c].map(_text) if c in frame else "" for c in DECISION_COLUMNS})
    for side in ("input_l", "input_r"):
        if side in frame:
            out[side] = frame[side].map(_text).str.lower()
    for column in ("record_id_l", "record_id_r"):
        check_id_characters(out[column], name=name, column=column)
    for row, record in enumerate(out.to_dict("records")):
        line = row + 2  # the header is line 1
        for column in ("record_id_l", "record_id_r"):
            if not record[column]:
                msg = f"{name} line {line}: {column} is empty; it must name a record"
                raise SchemaError(msg)
        if record["decision"] not in DECISION_KINDS:
            msg = f"{name} line {line}: decision must be one of {', '.join(DECISION_KINDS)}"
            raise SchemaError(msg)
        sides = (record.get("input_l", ""), record.get("input_r", ""))
        for column, side in zip(("input_l", "input_r"), sides, strict=True):
            if side and side not in _INPUTS:
                msg = f"{name} line {line}: {column} must be left or right"
                raise SchemaError(msg)
        if record["record_id_l"] == record["record_id_r"] and sides[0] == sides[1]:
            msg = f"{name} line {line}: a decision is about two different records"
            raise SchemaError(msg)
    return Decisions(out.reset_index(drop=True))
