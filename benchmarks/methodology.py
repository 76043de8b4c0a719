"""How the figures are made, in words, for the end of RESULTS.md."""

from __future__ import annotations

__all__ = ["NOTES"]

NOTES = (
    "- **Runs.** Each (system, dataset) runs in a fresh process (`python -m benchmarks.run_one`), "
    "one after another, nothing else of the benchmark running. recordlinkage 0.16 needs "
    "pandas < 3, so it runs in `benchmarks/.venv-rl` (pinned in `benchmarks/requirements-rl.txt`) "
    "as a worker process that reads CSV and writes CSV; its figures are the worker's own.",
    "- **Accuracy** is pairwise, over the final clusters: every pair of records in one predicted "
    "entity is a predicted match, every pair with one true identity a true match "
    "(`identmatch.testing.pairwise_scores`); for a link only pairs across the two files count. "
    "*Default p* is the match probability the system (or its demo) clusters at; *F1 at best p* "
    "re-cuts the system's own scored pairs into connected components at each of 0.01, 0.05, "
    "0.1 ... 0.99, 0.995, 0.999, 0.9999 and keeps the best F1: it looks at the truth, so it is "
    "label-tuned and not something a user without labels could pick.",
    "- **Pairs scored** is the number of candidate pairs the system compared after blocking "
    "(identmatch: the rows of `result.candidates` where the result lists them, else "
    "`result.blocking.pairs`; Splink: its predictions, or "
    "`count_comparisons_from_blocking_rules` where the demo filters predictions; recordlinkage: "
    "its candidate index); *pairs per record* divides it by the records in the dataset. "
    "**Blocking recall** (pair completeness) is the share of all true pairs (for a link, "
    "across the two files) that are among the pairs compared, whatever they then scored. For "
    "Splink it is exact (each true pair is tested against the blocking rules in SQL), for "
    "recordlinkage exact (membership of the candidate index), and for identmatch exact where "
    "the result lists every pair it compared (`result.candidates`: `unique_id_l`, "
    "`unique_id_r` and, for a link, `source_dataset_l`/`source_dataset_r`): each true pair is "
    "looked up among them, either way round, read after the peak memory is taken. (c) Where "
    "an identmatch result has no `candidates`, only the pairs scoring p >= 0.01 "
    "(`result.pairs`) are known, so its figure is the share of true pairs among those: a "
    "lower bound on its blocking recall.",
    "- (b) Where a system's demo keeps only pairs at p >= 0.2 (Splink's FEBRL demos), figures "
    "below that threshold do not exist.",
    "- **Times** are wall-clock seconds inside the run, after the data is loaded into pandas. "
    "*train*: identmatch's training (prior, u sampling, EM); Splink's prior, u sampling and EM "
    "sessions; recordlinkage's ECM fit. *predict*: blocking, comparing and scoring (identmatch "
    "also turns its pairs into a pandas frame; recordlinkage's indexing and comparison vectors "
    "count here, though its ECM trains on them too). *cluster*: connected components, into "
    "pandas. *other*: the rest of the run (identmatch: reading, standardising and counting "
    "blocked pairs; Splink: preparing and registering its input; recordlinkage: reading its "
    "CSV). *total* is the whole call, start to clusters.",
    "- **Peak RSS** is the resident-set high-water mark of the run's process "
    "(`getrusage(RUSAGE_SELF).ru_maxrss`, read as soon as the system returns, before any scoring) "
    "and so includes the loaded input. DuckDB runs in-process for identmatch and Splink.",
    "- **Limits.** The parent watches each run's process group and stops it above a resident-set "
    "cap (90% of the machine's memory unless `--max-rss-gib` says otherwise) or a time cap "
    "(`--max-minutes`, 20 by default, for the system's stages and again for scoring). A stopped "
    "run is listed with the stage it was in. A system that did not finish a synthetic size is "
    "not run at larger sizes, nor is one whose figures, projected from its growth between the "
    "smaller sizes, would pass a cap or the run's 55-minute budget (`--attempt-all` runs them "
    "anyway); the reason is in the table.",
    "- **Synthetic records** come from `identmatch.testing.generate_records(n, seed=2024)` with "
    "the people of `generate_people(round(n / 1.8), seed=2024)` (the same people it would make), "
    "whose `hard_negative_partner` gives the hard-negative pairs. *Recall per error type*: "
    "recall of the true pairs in which either record carries that error (labels split on `+`); "
    "*original* counts pairs of two error-free records. *Hard negatives merged*: of the record "
    "pairs of two partner people (twins, father and son, brothers, two people of one common "
    "name), the share put in one entity; in brackets how many record pairs and how many pairs "
    "of people.",
    "- **Who we miss** (synthetic sets): each true pair is in the group of its person, by the "
    "person's name origin (the generator's name pool), sex and age band at 2026-01-01 (from "
    "the true date of birth), read from the generator's people, not from the records; recall "
    "per group over those true pairs (`identmatch.testing.subgroup_scores`, as "
    "`Result.evaluate` and `--truth` do from the records). identmatch's precision per group "
    "counts each predicted pair in the group of each of its records' people, so a false pair "
    "across two groups counts against both.",
    "- **Hard synthetic sets** (`Synthetic hard ...`) use the generator's hard profile "
    '(`generate_records(..., profile="hard")`, `ErrorRates.hard()`, '
    "`PopulationRates.hard()`; same seed 2024): about 19% of records with no date of birth or "
    "a placeholder (1900-01-01, 01/01 of the year), half of the records of people with a "
    "former surname under it, double-barrelled surnames as one half, transliterations, "
    "aliases as the main name, swapped names (40% of them also respelled), initials and "
    "forename typos far more often than the default, and hard negatives at least as often. "
    "The 12,800-record set draws from 5,000 people (2.6 records a person, like the "
    "independent evaluation set of issue 12); the 100k set from 100,000 / 1.8. The realised "
    "minimums are in `identmatch._synthetic.profiles.HARD_MINIMUMS`, checked by "
    "`tests/test_synthetic.py`.",
    "- **Data.** FEBRL 3 and 4 from `tests/data/` (Febrl, Christen; via the splink_datasets "
    "repository, MIT); historical figures 50k in `benchmarks/data/` (splink_datasets, MIT, "
    "`benchmarks/data/LICENSE-splink_datasets`), truth `cluster`. FEBRL truth is the `rec-N` "
    "in each `rec_id`. No real personal data.",
    "- **Splink's u sampling** is random without a seed in its FEBRL 4 and historical demos, so "
    "its figures move a little between runs (documented elsewhere: FEBRL 4 F1 0.991-0.993).",
    "- **Splink at scale.** The historical-figures demo's blocking rules were written for 50k "
    "records; on the synthetic sets, whose names are as concentrated as real ones, they "
    "generate the pairs per record shown in the scale table, and the demo keeps every "
    "prediction with its intermediate columns. That drives Splink's time and memory at 1M. "
    "The issue's earlier Splink figures (43 s and 4.8 GiB at 1M) came from another set-up "
    "and are not reproduced here; a Splink user tuning blocking for 1M records would do "
    "better than the demo's rules.",
    "- **recordlinkage's own measurement.** The issue quotes F1 0.9992 (FEBRL 3) and 0.9998 "
    "(FEBRL 4) for recordlinkage. Counted only among the pairs its blocking generated, its "
    "classification is that good; counted over all true pairs, as here, the pairs its blocking "
    "never generated are missed, which its *blocking recall* column shows.",
)
