"""Cross-validation and independent-test evaluation of a model folder (docs/evaluation.md).

- Cross-validation (a folds table is given): each fold model predicts its own test fold, with
  its own thresholds; metrics are computed per fold and summarised as mean ± std over folds
  (sample standard deviation), and also pooled over all test folds.
- Independent test (no folds table): every protein is predicted by all fold models; their
  probabilities are averaged and the thresholds are the mean of the fold thresholds (the same
  ensemble rule as `locflow predict`); metrics are over the classes present in the test set.

Locations are scored with locflow's predictor rule and with thresholds only (the paper's way), and
an HPA test set also on DeepLoc 2.0's six HPA classes: see `locflow.evaluation.metrics.SCORINGS`,
which metrics.json repeats under ``scorings``.

Cross-validation cannot score a protein with a fold model that trained or validated on it:
each fold's config records its training and validation ids (locflow.models.checkpoint), and a folds
table that would do so is refused, and so is one that leaves out some of a fold model's
held-out proteins (`check_coverage`: it would score part of a test fold as the whole); what
was scored is counted under ``coverage`` in metrics.json. Model folders from before that
record get a warning. An independent test set that shares proteins with a fold model's
training data gets a warning.

The output folder gets ``metrics.json`` (+ ``metrics.tsv``), ``predictions.parquet`` (the
predictions table of locflow.prediction.predict plus ``locations_threshold_only``, ``fold``,
``sequence`` and the truth: ``true_locations``, ``true_membrane``, ``true_signals`` spans) and
``attention.h5``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from locflow import runtime
from locflow.data.classes import LOCATIONS, PROBABILITY_COLUMNS, SIGNALS
from locflow.data.files import atomic_path, owned_folder
from locflow.data.sequences import FastaRecord
from locflow.data.tables import SIGNAL_TYPE, read_folds, read_proteins
from locflow.errors import InputError
from locflow.evaluation.metrics import (
    SCORINGS,
    THRESHOLD_ONLY_COLUMN,
    is_hpa_set,
    label_matrix,
    score_arrays,
    signal_types,
    summarize,
    write_metrics,
)
from locflow.models.checkpoint import check_held_out, seen_proteins
from locflow.prediction.ensemble import (
    DEFAULT_TOKENS_PER_BATCH,
    Ensemble,
    EnsembleOutput,
    load_ensemble,
)
from locflow.prediction.writers import AttentionWriter, predictions_table

log = logging.getLogger(__name__)


def predict_proteins(
    ensemble: Ensemble, rows: list[dict[str, Any]], tokens_per_batch: int
) -> tuple[pa.Table, EnsembleOutput]:
    """Predict proteins-table rows; return the predictions table with truth columns added.

    Besides the predictor's labels (``locations``) the table gets the threshold-only labels
    (``locations_threshold_only``: at or above threshold, possibly none).
    """
    records = [FastaRecord(r["id"], "", r["sequence"], "ok") for r in rows]
    out = ensemble.predict([r["sequence"] for r in rows], tokens_per_batch)
    table = predictions_table(records, list(range(len(rows))), ensemble, out, range(len(rows)))
    n_loc = len(LOCATIONS)
    above = out.probabilities[:, :n_loc] >= ensemble.thresholds[:n_loc]
    extra = {
        THRESHOLD_ONLY_COLUMN: pa.array(
            [[c for c, on in zip(LOCATIONS, row, strict=True) if on] for row in above],
            pa.list_(pa.string()),
        ),
        "sequence": pa.array([r["sequence"] for r in rows], pa.string()),
        "true_locations": pa.array([r["locations"] or [] for r in rows], pa.list_(pa.string())),
        "true_membrane": pa.array([bool(r["membrane"]) for r in rows], pa.bool_()),
        "true_signals": pa.array([r["signals"] or [] for r in rows], pa.list_(SIGNAL_TYPE)),
    }
    for name, col in extra.items():
        table = table.append_column(name, col)
    return table, out


def metrics_of(
    table: pa.Table, attention: list[np.ndarray], *, hpa: bool = False
) -> dict[str, Any]:
    """Metrics of a predictions table that carries its truth (see `predict_proteins`).

    `hpa`: the proteins are an HPA test set; add DeepLoc 2.0's six-class scorings.
    """
    cols = table.to_pydict()
    spans = cols["true_signals"]
    keep = [i for i, locs in enumerate(cols["true_locations"]) if locs]
    pick = lambda xs: [xs[i] for i in keep]  # noqa: E731
    probs = np.array([cols[c] for c in PROBABILITY_COLUMNS], dtype=np.float64).T[keep]
    metrics = score_arrays(
        true_locations=label_matrix(pick(cols["true_locations"]), LOCATIONS),
        pred_locations=label_matrix(pick(cols["locations"]), LOCATIONS),
        probabilities=probs,
        true_membrane=np.array(pick(cols["true_membrane"]), dtype=bool),
        pred_membrane=np.array(pick(cols["membrane"]), dtype=bool),
        true_signals=signal_types(pick(spans)),
        pred_signals=label_matrix(pick(cols["signals"]), SIGNALS),
        attention=pick(attention),
        signal_spans=pick(spans),
        pred_locations_threshold_only=None
        if THRESHOLD_ONLY_COLUMN not in cols
        else label_matrix(pick(cols[THRESHOLD_ONLY_COLUMN]), LOCATIONS),
        hpa=hpa,
    )
    return {"counts": {"proteins": len(cols["id"]), "scored": len(keep)}, **metrics}


def _thresholds(ensemble: Ensemble) -> dict[str, Any]:
    return {
        "locations": dict(
            zip(PROBABILITY_COLUMNS, ensemble.thresholds.round(4).tolist(), strict=True)
        ),
        "signals": dict(zip(SIGNALS, ensemble.signal_thresholds.round(4).tolist(), strict=True)),
    }


def run_evaluate(
    model_dir: str | Path,
    data: str | Path,
    out: str | Path,
    *,
    folds: str | Path | None = None,
    device: str = "auto",
    tokens_per_batch: int = DEFAULT_TOKENS_PER_BATCH,
    embeddings: str | Path | None = None,
) -> dict[str, Any]:
    """`locflow evaluate`: cross-validation when `folds` is given, else an independent test."""
    proteins = read_proteins(data)
    rows = proteins.select(
        ["id", "sequence", "locations", "membrane", "signals", "source"]
    ).to_pylist()
    hpa = is_hpa_set(r["source"] for r in rows)
    out = Path(out)
    base = {
        "model": str(model_dir),
        "data": str(data),
        "folds_table": str(folds or ""),
        "hpa": hpa,
        "scorings": {k: v for k, v in SCORINGS.items() if hpa or "hpa6" not in k},
    }
    tables: list[pa.Table] = []
    attention: list[np.ndarray] = []
    if folds is not None:
        fold_of = dict(
            zip(*read_folds(folds).select(["id", "fold"]).to_pydict().values(), strict=True)
        )
        full = load_ensemble(model_dir, device, embeddings=embeddings)
        scored_ids = {k: [r["id"] for r in rows if fold_of.get(r["id"]) == k] for k in full.folds}
        unchecked = check_held_out([c for _, c in full.models], scored_ids, str(folds))
        coverage = check_coverage([c for _, c in full.models], rows, fold_of, folds)
        _warn_unchecked(model_dir, unchecked)
        base["held_out_check"] = {"unchecked_folds": unchecked}
        per_fold: dict[str, Any] = {}
        thresholds: dict[str, Any] = {}
        for k in full.folds:
            ens = load_ensemble(model_dir, device, folds=[k], embeddings=embeddings)
            fold_rows = [r for r in rows if fold_of.get(r["id"]) == k]
            if not fold_rows:
                raise InputError(f"{folds}: fold {k} of the model has no proteins in {data}")
            log.info("fold %d: predicting %d test proteins", k, len(fold_rows))
            runtime.stage(f"fold {k}: predicting its test fold", len(fold_rows), "proteins")
            table, res = predict_proteins(ens, fold_rows, tokens_per_batch)
            table = table.append_column("fold", pa.array([k] * len(fold_rows), pa.int16()))
            per_fold[str(k)] = metrics_of(table, res.attention, hpa=hpa)
            thresholds[str(k)] = _thresholds(ens)
            tables.append(table)
            attention.extend(res.attention)
        combined = pa.concat_tables(tables)
        metrics = {
            "kind": "cv",
            **base,
            "coverage": coverage,
            "folds": full.folds,
            "summary": summarize(list(per_fold.values())),
            "per_fold": per_fold,
            "pooled": metrics_of(combined, attention, hpa=hpa),
            "thresholds": thresholds,
        }
    else:
        ens = load_ensemble(model_dir, device, embeddings=embeddings)
        ids = [r["id"] for r in rows]
        seen, unchecked = seen_proteins([c for _, c in ens.models], {k: ids for k in ens.folds})
        _warn_unchecked(model_dir, unchecked)
        if seen:
            log.warning(
                "%s: %s of the test proteins were in the training or validation data of "
                "model fold(s) %s; the test is not independent of them",
                data,
                len({i for v in seen.values() for i in v}),
                ", ".join(map(str, sorted(seen))),
            )
        base["held_out_check"] = {
            "unchecked_folds": unchecked,
            "seen_by_fold": {str(k): len(v) for k, v in sorted(seen.items())},
        }
        runtime.stage(f"predicting with {len(ens.folds)} fold models", len(rows), "proteins")
        combined, res = predict_proteins(ens, rows, tokens_per_batch)
        combined = combined.append_column("fold", pa.array([-1] * len(rows), pa.int16()))
        attention = res.attention
        metrics = {
            "kind": "test",
            **base,
            "folds": ens.folds,
            "ensemble": "mean of the fold models' probabilities; thresholds = mean of fold "
            "thresholds",
            "metrics": metrics_of(combined, attention, hpa=hpa),
            "thresholds": _thresholds(ens),
        }
    # Predictions numbered in the order written, so `record` stays a row number.
    combined = combined.set_column(
        combined.schema.get_field_index("record"),
        "record",
        pa.array(np.arange(combined.num_rows), pa.int64()),
    )
    with owned_folder(out):  # one run at a time; a killed run's temporaries removed first
        with atomic_path(out / "predictions.parquet") as tmp:
            pq.write_table(combined, tmp)
        with atomic_path(out / "attention.h5") as tmp:
            writer = AttentionWriter(tmp, {"model": str(model_dir), "kind": metrics["kind"]})
            ids = combined.column("id").to_pylist()
            writer.add(ids, list(range(combined.num_rows)), attention)
            writer.close()
        write_metrics(out / "metrics.json", metrics)
    return metrics


def check_coverage(
    configs: list[dict[str, Any]],
    rows: list[dict[str, Any]],
    fold_of: dict[str, int],
    folds: str | Path,
) -> dict[str, int]:
    """Count what a cross-validation scores, and refuse a folds table that leaves out test
    proteins of a fold model.

    Each fold model's training record (locflow.models.checkpoint) names the proteins it trained and
    validated on. A protein of the data that fold model k never saw but another fold model
    did was in the partition, so it is one of model k's held-out test proteins: a folds table
    that does not put it in fold k would silently score only part of model k's test set (a
    folds table of other data, or one that covers half the proteins). Proteins no fold model
    saw (removed by partition, or new) and folds without a model are only counted.
    """
    from locflow.models.checkpoint import read_training_record

    ids = [r["id"] for r in rows]
    records = {int(c["fold"]): read_training_record(c) for c in configs}
    known = {k: r for k, r in records.items() if r is not None}
    seen = {k: r.train | r.validation for k, r in known.items()}
    for k, record in sorted(known.items()):
        others = [v for j, v in seen.items() if j != k]
        if not others:
            continue
        held = [i for i in ids if i not in seen[k] and any(i in v for v in others)]
        lost = [i for i in held if fold_of.get(i) != k]
        if lost:
            examples = ", ".join(lost[:3]) + (", ..." if len(lost) > 3 else "")
            raise InputError(
                f"{folds}: puts only {len(held) - len(lost)} of model fold {k}'s {len(held)} "
                f"held-out proteins in fold {k} ({examples} are not); scoring would cover part "
                f"of its test set: evaluate with the folds table it was trained with "
                f"({record.folds_table.get('path', '?')})"
            )
    modelled = set(records)
    no_fold = sum(i not in fold_of for i in ids)
    no_model = sum(i in fold_of and fold_of[i] not in modelled for i in ids)
    coverage = {
        "proteins": len(ids),
        "scored": len(ids) - no_fold - no_model,
        "without_fold": no_fold,
        "fold_without_model": no_model,
    }
    if no_fold or no_model:
        log.info(
            "%s: %d of %d proteins scored (%d without a fold, %d in folds without a model)",
            folds,
            coverage["scored"],
            len(ids),
            no_fold,
            no_model,
        )
    return coverage


def _warn_unchecked(model_dir: str | Path, folds: list[int]) -> None:
    """One warning for fold models without a training record (trained by older locflow)."""
    if folds:
        log.warning(
            "%s: fold model(s) %s record no training data (trained by an older locflow): "
            "cannot check that the evaluated proteins are held out from them",
            model_dir,
            ", ".join(map(str, folds)),
        )


def headline(metrics: dict[str, Any]) -> str:
    """One line with accuracy, Jaccard, micro/macro F1 of an evaluation (mean ± std for CV)."""
    names = ("accuracy", "jaccard", "micro_f1", "macro_f1")
    if metrics["kind"] == "cv":
        parts = []
        for name in names:
            s = metrics["summary"].get(f"locations.{name}", {})
            mean, std = s.get("mean"), s.get("std")
            text = "n/a" if mean is None else f"{mean:.3f}"
            parts.append(f"{name} {text}" + (f" ± {std:.3f}" if std is not None else ""))
        return "cross-validation: " + ", ".join(parts)
    loc = metrics["metrics"]["locations"]
    values = {n: loc.get(n) for n in names}
    return "independent test: " + ", ".join(
        f"{n} {'n/a' if v is None else f'{v:.3f}'}" for n, v in values.items()
    )


__all__ = ["check_coverage", "headline", "metrics_of", "predict_proteins", "run_evaluate"]
