"""The outcome of a dedupe or link run: entities, scored pairs, quality and the model."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from identmatch._batch.cluster import DisjointSets, assign_entity_ids, constrained_components
from identmatch._batch.decisions import Decisions
from identmatch._batch.entity_names import entity_names
from identmatch._batch.subgroups import (
    AGE_AS_OF,
    DEFAULT_BY,
    RECALL_GAP,
    Evaluation,
    result_attributes,
    subgroup_scores,
)
from identmatch._candidates.blocking import BlockingReport
from identmatch._exceptions import ConfigError, SchemaError
from identmatch._model.explain import Explanation, explanation_from_row
from identmatch._model.model import Model
from identmatch._model.scoring import (
    GUARDED_CHAIN_FLOOR,
    PairScore,
    TermFrequencies,
    guard_conflict,
    in_conflict,
    score_pair,
    term_frequencies,
)
from identmatch._prepare.quality import DataQuality

if TYPE_CHECKING:
    import altair as alt

__all__ = ["Result"]

_logger = logging.getLogger("identmatch")


def _must_link_groups(same: list[tuple[int, int]]) -> dict[int, int]:
    """Each node a must-link names -> the smallest node of its chain of must-links."""
    sets = DisjointSets()
    for a, b in same:
        sets.union(a, b)
    return {i: sets.find(i) for i in list(sets.parent)}


def _public_candidates(candidates: pd.DataFrame | None, linked: bool) -> pd.DataFrame:
    columns = ["record_id_l", "record_id_r", *(["input_l", "input_r"] if linked else [])]
    if candidates is None:
        return pd.DataFrame({c: pd.Series([], dtype=str) for c in columns})
    renamed = candidates.rename(
        columns={
            "unique_id_l": "record_id_l",
            "unique_id_r": "record_id_r",
            "source_dataset_l": "input_l",
            "source_dataset_r": "input_r",
        }
    )
    return renamed[columns].reset_index(drop=True)


class Result:
    """What :func:`identmatch.dedupe` and :func:`identmatch.link` return.

    Attributes:
        entities: one row per input record: ``record_id``, ``entity_id`` (and ``input``,
            ``left`` or ``right``, for a link), then the input's other columns.
        pairs: scored record pairs at or above the model's pair floor: ``record_id_l``,
            ``record_id_r`` (and ``input_l``/``input_r`` for a link), ``match_weight``
            (bits) and ``match_probability`` in [0, 1], highest first.
        quality: counts of missing and unusable values per column.
        blocking: how many pairs were compared, in all and per blocking rule (None when
            ``ModelConfig.count_blocked_pairs`` is off).
        candidates: every pair compared (scored, whatever its score): ``record_id_l``,
            ``record_id_r`` (and ``input_l``/``input_r`` for a link). True pairs missing
            here were never compared: the share present is the blocking's recall.
        model: the trained (or loaded) model; ``model.save(path)`` keeps it.
        threshold: the match probability the entities were cut at.
    """

    def __init__(
        self,
        *,
        entities: pd.DataFrame,
        predictions: pd.DataFrame,
        quality: DataQuality,
        blocking: BlockingReport | None,
        model: Model,
        threshold: float,
        linked: bool,
        scorer: Any = None,
        timings: dict[str, float] | None = None,
        prepared: list[pd.DataFrame] | None = None,
        conflict_below: float = 0.001,
        candidates: pd.DataFrame | None = None,
        decisions: Decisions | None = None,
    ) -> None:
        self.entities = entities
        self.candidates = _public_candidates(candidates, linked)
        self.quality = quality
        self.blocking = blocking
        self.model = model
        self.threshold = threshold
        self.timings = dict(timings or {})
        self._linked = linked
        self._predictions = predictions
        self._scorer = scorer
        self._prepared = list(prepared or [])
        self._conflict_below = conflict_below
        self.decisions = decisions if decisions is not None else Decisions()
        self._tf: TermFrequencies | None = None
        self.pairs = self._public_pairs(predictions)

    def _public_pairs(self, predictions: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame(
            {
                "record_id_l": predictions["unique_id_l"].astype(str),
                "record_id_r": predictions["unique_id_r"].astype(str),
            }
        )
        if self._linked:
            out["input_l"] = predictions["source_dataset_l"].astype(str)
            out["input_r"] = predictions["source_dataset_r"].astype(str)
        # Weights to 1e-9 bits: DuckDB and Spark sum the same terms in another order, and
        # differ in the last bits (~1e-14); rounded, they are equal.
        out["match_weight"] = predictions["match_weight"].astype(float).round(9)
        out["match_probability"] = predictions["match_probability"].astype(float)
        # Strongest first, ties by record id: clustering takes links in this order, so it
        # must not depend on the order a backend returns pairs in.
        keys = ["match_weight", "record_id_l", "record_id_r"]
        out = out.sort_values(keys, ascending=[False, True, True], kind="stable")
        return out.reset_index(drop=True)

    def __repr__(self) -> str:
        n_entities = self.entities["entity_id"].nunique()
        return (
            f"<identmatch.Result records={len(self.entities)} entities={n_entities} "
            f"pairs={len(self.pairs)} threshold={self.threshold}>"
        )

    def explain(self, record_id_l: str, record_id_r: str) -> Explanation:
        """Why two records score as they do: per-field contributions in words and bits.

        Works for any two records of the input, scored or not (a pair that blocking did
        not compare is scored on request). For a link, ``record_id_l`` is from the left
        input and ``record_id_r`` from the right.

        Raises:
            SchemaError: a record id is not in the input.
        """
        a, b = str(record_id_l), str(record_id_r)
        for rid, side in ((a, "left"), (b, "right")):
            if rid not in self._ids(side):
                where = f"the {side} input" if self._linked else "the input"
                msg = f"record_id {rid} is not in {where}"
                raise SchemaError(msg)
        preds = self._predictions
        forward = (preds["unique_id_l"] == a) & (preds["unique_id_r"] == b)
        if self._linked:
            hit = preds[forward]
        else:
            hit = preds[forward | ((preds["unique_id_l"] == b) & (preds["unique_id_r"] == a))]
        if not hit.empty:
            return explanation_from_row(self.model, {str(k): v for k, v in hit.iloc[0].items()})
        if self._scorer is None:
            msg = "this pair was not scored and the result has no scorer attached"
            raise ConfigError(msg)
        row = self._scorer(a, b)
        return explanation_from_row(self.model, row)

    def _ids(self, side: str) -> set[str]:
        entities = self.entities
        if self._linked:
            entities = entities[entities["input"] == side]
        return set(entities["record_id"].astype(str))

    def entities_at(self, threshold: float) -> pd.DataFrame:
        """Entities cut at another match probability, from the pairs already scored.

        Links are taken strongest first; a merge is refused when it would put in one entity
        two records whose own match probability is below ``ModelConfig.conflict_below``, or
        that trip the family guard (twins, parent and child) and are on their own more likely
        different people than not (match probability below 0.5). Thresholds below the
        model's pair floor cannot be honoured, since weaker pairs were not kept.

        Raises:
            ConfigError: ``threshold`` is outside (0, 1).
        """
        if not 0.0 < threshold < 1.0:
            msg = f"threshold must be a match probability in (0, 1), got {threshold}"
            raise ConfigError(msg)
        nodes = self._nodes()
        index = {node: i for i, node in enumerate(nodes)}
        strong = self.pairs[self.pairs["match_probability"] >= threshold]
        if self._linked:
            inputs_l, inputs_r = strong["input_l"].astype(str), strong["input_r"].astype(str)
        else:
            inputs_l = inputs_r = pd.Series(["input"] * len(strong), index=strong.index)
        left = [index[k] for k in zip(inputs_l, strong["record_id_l"].astype(str), strict=True)]
        right = [index[k] for k in zip(inputs_r, strong["record_id_r"].astype(str), strict=True)]
        # Pairs already scored at 0.5 or above can never conflict: skip re-scoring them.
        safe = strong if threshold >= GUARDED_CHAIN_FLOOR else None
        safe_pairs = (
            set(zip(left, right, strict=True)) if safe is not None else self._pairs_at_least(index)
        )
        edges = list(zip(left, right, strict=True))
        conflict, veto = self._conflict_checkers(nodes, safe_pairs)
        if len(self.decisions):
            edges, conflict, veto = self._with_decisions(nodes, edges, conflict, veto)
        linked_pairs = set(edges)
        components = constrained_components(
            len(nodes),
            edges,
            conflict,
            linked=lambda a, b: (a, b) in linked_pairs or (b, a) in linked_pairs,
            veto=veto,
        )
        out = self.entities.copy()
        out["entity_id"] = assign_entity_ids(components)
        return out

    def _with_decisions(
        self,
        nodes: list[tuple[str, str]],
        edges: list[tuple[int, int]],
        conflict: Callable[[int, int], bool],
        veto: Callable[[int, int], bool],
    ) -> tuple[list[tuple[int, int]], Callable[[int, int], bool], Callable[[int, int], bool]]:
        """Edges and checks with people's decisions applied (see ``identmatch._batch.decisions``).

        Must-links go first; a must-not-link pair loses its own edge and vetoes every merge
        that would join it; a must-link pair is never in conflict by the model's account.
        """
        same, different, skipped = self.decisions.node_pairs(nodes, linked=self._linked)
        if skipped:
            _logger.info("%d decision(s) name records this run does not hold", skipped)
        same_set = set(same)
        # Records a chain of must-links joins: a person has looked, so the model's own
        # conflicts (the family guard) do not keep them apart; only a "different" does.
        group = _must_link_groups(same)

        def key(a: int, b: int) -> tuple[int, int]:
            return (a, b) if a < b else (b, a)

        def vouched(a: int, b: int) -> bool:
            found = group.get(a)
            return found is not None and found == group.get(b)

        def decided_conflict(a: int, b: int) -> bool:
            return key(a, b) in different or (not vouched(a, b) and conflict(a, b))

        def decided_veto(a: int, b: int) -> bool:
            return key(a, b) in different or (not vouched(a, b) and veto(a, b))

        kept = [
            edge for edge in edges if key(*edge) not in different and key(*edge) not in same_set
        ]
        return same + kept, decided_conflict, decided_veto

    def _nodes(self) -> list[tuple[str, str]]:
        entities = self.entities
        inputs = entities["input"] if self._linked else pd.Series(["input"] * len(entities))
        return list(zip(inputs.astype(str), entities["record_id"].astype(str), strict=True))

    def _pairs_at_least(self, index: dict[tuple[str, str], int]) -> set[tuple[int, int]]:
        """Node pairs scored at or above the guarded-chain floor (0.5)."""
        pairs = self.pairs[self.pairs["match_probability"] >= GUARDED_CHAIN_FLOOR]
        ids_l, ids_r = pairs["record_id_l"].astype(str), pairs["record_id_r"].astype(str)
        if self._linked:
            inputs_l, inputs_r = pairs["input_l"].astype(str), pairs["input_r"].astype(str)
        else:
            inputs_l = inputs_r = pd.Series(["input"] * len(pairs), index=pairs.index)
        keys_l = list(zip(inputs_l, ids_l, strict=True))
        keys_r = list(zip(inputs_r, ids_r, strict=True))
        return {(index[a], index[b]) for a, b in zip(keys_l, keys_r, strict=True)}

    def _conflict_checkers(
        self, nodes: list[tuple[str, str]], safe_pairs: set[tuple[int, int]]
    ) -> tuple[Callable[[int, int], bool], Callable[[int, int], bool]]:
        """Whether two records (by node index) are in conflict, and whether the guard fired."""
        frames = self._prepared
        if not frames:
            return (lambda a, b: False), (lambda a, b: False)
        if self._tf is None:
            self._tf = term_frequencies(self.model, frames)
        tf = self._tf
        offsets = {"input": 0, "left": 0, "right": len(frames[0])}
        # Column arrays, so fetching one record is a few array reads, not a pandas row.
        arrays = {
            "input": {str(c): frames[0][c].to_numpy() for c in frames[0].columns},
            "right": {str(c): frames[-1][c].to_numpy() for c in frames[-1].columns},
        }
        arrays["left"] = arrays["input"]
        cache: dict[int, dict[str, Any]] = {}

        def record(i: int) -> dict[str, Any]:
            if i not in cache:
                name = nodes[i][0]
                row = i - offsets[name]
                cache[i] = {c: values[row] for c, values in arrays[name].items()}
            return cache[i]

        model, floor = self.model, self._conflict_below
        scores: dict[tuple[int, int], PairScore | None] = {}

        def score(a: int, b: int) -> PairScore | None:
            key = (a, b) if a < b else (b, a)
            if key not in scores:
                safe = key in safe_pairs or key[::-1] in safe_pairs
                scores[key] = None if safe else score_pair(model, record(a), record(b), tf)
            return scores[key]

        def conflict(a: int, b: int) -> bool:
            found = score(a, b)
            return found is not None and in_conflict(model, found, floor)

        def veto(a: int, b: int) -> bool:
            found = score(a, b)
            return found is not None and guard_conflict(model, found)

        return conflict, veto

    @property
    def entity_names(self) -> pd.DataFrame:
        """Each entity's alias set: every name and date of birth it was recorded under.

        One row per entity, name and date of birth: ``entity_id``, ``name``, ``dob``,
        ``recorded_as`` (``name`` or ``alias``), ``sources``, ``record_ids``, ``records``.
        """
        return entity_names(self.entities, self._prepared)

    def evaluate(
        self,
        truth: str | Sequence[Any] | pd.Series[Any],
        *,
        by: Sequence[str] | None = None,
        as_of: dt.date = AGE_AS_OF,
        recall_gap: float = RECALL_GAP,
    ) -> Evaluation:
        """Precision and recall against known truth, overall and per group: who we miss.

        Args:
            truth: the column of the input holding each record's true person (e.g.
                ``"person_id"``), or one label per row of ``entities``.
            by: what to break down by: ``sex`` (standardised), ``age_band`` (of the
                standardised date of birth at ``as_of``: under 18, 18-24, 25-34, 35-49,
                50-64, 65+, unknown), or any column of the input (``source``, ``origin``).
                None: sex, age band and, where the input has it, source.
            as_of: the date ages are computed at (fixed, so reports repeat).
            recall_gap: groups whose recall is more than this below the overall recall are
                flagged (``Evaluation.flagged``).

        For a link only pairs across the two inputs count. See
        ``identmatch._batch.subgroups`` for which group a pair counts in.

        Raises:
            SchemaError: ``truth`` or a name in ``by`` is not a column of the input.
        """
        entities = self.entities
        if isinstance(truth, str):
            if truth not in entities.columns:
                msg = f"the truth column {truth!r} is not a column of the input"
                raise SchemaError(msg)
            labels: Any = entities[truth]
        else:
            labels = truth
        if by is None:
            by = tuple(b for b in DEFAULT_BY if b != "source" or "source" in entities.columns)
        attributes = result_attributes(entities, self._prepared, by, as_of=as_of)
        return subgroup_scores(
            entities["entity_id"],
            labels,
            attributes,
            inputs=entities["input"] if self._linked else None,
            recall_gap=recall_gap,
        )

    def save_model(self, path: str | Path) -> None:
        """Save the model as JSON, to reuse with ``model=path`` or ``--model PATH``."""
        self.model.save(path)

    # ------------------------------------------------------------------------ charts
    # Each returns an Altair chart (``chart.save("x.html", inline=True)``, ``"x.png"``);
    # its ``data`` is the table drawn. They need ``identmatch[charts]``.

    def match_weight_chart(self) -> alt.LayerChart:
        """The scored pairs by match weight (1-bit bins), with the threshold's weight marked.

        The chart's ``data``: ``lower``, ``upper``, ``pairs``, ``side`` per bin.
        """
        from identmatch._charts import data, specs

        bins = data.weight_bins(self.pairs["match_weight"], self.threshold)
        weight = data.probability_to_weight(self.threshold)
        return specs.match_weight_chart(bins, self.threshold, weight)

    def waterfall_chart(self, record_id_l: str, record_id_r: str) -> alt.LayerChart:
        """Why two records score as they do, drawn: :meth:`explain` as a waterfall."""
        return self.explain(record_id_l, record_id_r).waterfall_chart(threshold=self.threshold)

    def threshold_chart(
        self, truth: str | Sequence[Any] | pd.Series[Any] | None = None
    ) -> alt.LayerChart:
        """Precision, recall and F1 at thresholds from 0.01 to 0.99, the one in use marked.

        Args:
            truth: the input column holding each record's true person, or one label per row
                of ``entities``; recall counts every true pair, scored or not. None: the
                run's decisions (``decisions=``) are the labels instead.

        Raises:
            SchemaError: ``truth`` is not a column, or has the wrong length.
            ConfigError: no truth and no decisions.
        """
        from identmatch._batch.charts import threshold_chart

        return threshold_chart(
            entities=self.entities,
            pairs=self.pairs,
            decisions=self.decisions,
            truth=truth,
            threshold=self.threshold,
            linked=self._linked,
        )

    def cluster_size_chart(self) -> alt.LayerChart:
        """How many entities hold 1, 2, 3, ... records (``data``: size, entities, records)."""
        from identmatch._charts import data, specs

        return specs.cluster_size_chart(data.cluster_sizes(self.entities["entity_id"]))

    def rule_pairs_chart(self) -> alt.LayerChart:
        """Pairs each candidate rule brought that no earlier rule had (from ``blocking``).

        Raises:
            ConfigError: the run did not count them (``ModelConfig.count_blocked_pairs``).
        """
        from identmatch._batch.charts import rule_pairs_chart

        return rule_pairs_chart(self.blocking)

    def completeness_chart(self) -> alt.LayerChart:
        """Share of records with a usable value (after standardising) per field and source.

        Grouped by the ``source`` column when the input has one, else by input.
        """
        from identmatch._batch.charts import completeness_chart

        return completeness_chart(self.entities, self._prepared, self._linked)
