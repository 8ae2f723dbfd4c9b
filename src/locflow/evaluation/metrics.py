"""Metrics of DeepLoc 2.0's tables (docs/evaluation.md), computed with scikit-learn.

Locations are scored on the classes present in the truth (a class no protein has cannot be
scored), and in up to four ways (`SCORINGS`): with locflow's predictor rule (a protein with no
location above its threshold gets the one closest to its threshold) and without it (thresholds
only, how DeepLoc 2.0's paper scored), and, on the HPA test set, also on the six classes
DeepLoc 2.0 scored HPA on (`DEEPLOC2_HPA_CLASSES`). Membrane-bound is scored only where the
truth has membrane-bound proteins: HPA has no membrane annotation. Signals are scored, like
DeepLoc 2.0, on the proteins with at least one annotated signal: a missing annotation means
"unknown", not "no signal". Attention is compared with annotated signal residues by
KL(uniform over the signal's residues || attention), per signal type.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sklearn.metrics import (
    accuracy_score,
    f1_score,
    jaccard_score,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)

from locflow.data.classes import LOCATIONS, MEMBRANE, PROBABILITY_COLUMNS, SIGNALS
from locflow.data.files import rounded, write_json, write_text
from locflow.data.hpa import SOURCE as HPA_SOURCE
from locflow.errors import InputError

# Floor for attention weights inside a signal span: a residue clipped out of a long sequence
# has attention 0, which would make the divergence infinite.
_ATTENTION_FLOOR = 1e-12

# The headline numbers, in report order.
HEADLINE = ("accuracy", "jaccard", "micro_f1", "macro_f1")

# DeepLoc 2.0 scores its HPA test set on these six classes; locflow's HPA mapping
# (data/hpa_locations.tsv) also gives Lysosome/Vacuole and Peroxisome.
DEEPLOC2_HPA_CLASSES: tuple[str, ...] = (
    "Cytoplasm",
    "Nucleus",
    "Cell membrane",
    "Mitochondrion",
    "Endoplasmic reticulum",
    "Golgi apparatus",
)

# The location scorings of a metrics dict: key -> what it is.
SCORINGS: dict[str, str] = {
    "locations": "locflow's predictor output: the locations at or above their thresholds, or, "
    "when there is none, the one closest to its threshold (highest probability / threshold)",
    "locations_threshold_only": "the locations at or above their thresholds, possibly none: "
    "how DeepLoc 2.0's paper scored; compare published numbers with this",
    "locations_hpa6": "as 'locations', on DeepLoc 2.0's six HPA classes only (HPA test set)",
    "locations_hpa6_threshold_only": "as 'locations_threshold_only', on DeepLoc 2.0's six HPA "
    "classes only: how DeepLoc 2.0's paper scored its HPA test set",
}

# Predictions column (from `locflow evaluate`) of the threshold-only location labels.
THRESHOLD_ONLY_COLUMN = "locations_threshold_only"

NO_MEMBRANE_TRUTH = (
    "not scored: no protein in the set is annotated membrane-bound (HPA has no membrane annotation)"
)


def location_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_prob: np.ndarray | None = None,
    classes: Sequence[str] = LOCATIONS,
) -> dict[str, Any]:
    """Multi-label metrics over the classes present in `y_true` ([N, C] 0/1 arrays).

    Exact-match accuracy, Jaccard (mean over proteins), micro/macro F1, and per scored class
    MCC, F1, precision, recall, ROC AUC (when `y_prob` is given) and support.
    """
    y_true = np.asarray(y_true, dtype=bool)
    y_pred = np.asarray(y_pred, dtype=bool)
    present = y_true.any(axis=0)
    scored = [c for c, p in zip(classes, present, strict=True) if p]
    cols = np.flatnonzero(present)
    result: dict[str, Any] = {
        "proteins": int(len(y_true)),
        "scored_classes": scored,
        "absent_classes": [c for c, p in zip(classes, present, strict=True) if not p],
    }
    if len(y_true) == 0 or not scored:
        return result
    t, p = y_true[:, cols], y_pred[:, cols]
    result.update(
        accuracy=rounded(accuracy_score(t, p), 6),
        jaccard=rounded(jaccard_score(t, p, average="samples", zero_division=0), 6),
        micro_f1=rounded(f1_score(t, p, average="micro", zero_division=0), 6),
        macro_f1=rounded(f1_score(t, p, average="macro", zero_division=0), 6),
        mean_true_labels=rounded(t.sum(axis=1).mean(), 6),
        mean_predicted_labels=rounded(p.sum(axis=1).mean(), 6),
    )
    per_class = {}
    for j, name in zip(cols, scored, strict=True):
        per_class[name] = binary_metrics(
            y_true[:, j], y_pred[:, j], None if y_prob is None else y_prob[:, j]
        )
    result["per_class"] = per_class
    return result


def subset_location_metrics(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_prob: np.ndarray | None,
    subset: Sequence[str],
    classes: Sequence[str] = LOCATIONS,
) -> dict[str, Any]:
    """`location_metrics` on the classes in `subset` alone ([N, C] arrays over `classes`).

    Truth, predictions and probabilities lose the other classes; proteins left without a true
    location are not scored (counted as ``proteins_without_subset_label``). A prediction of a
    class outside the subset is neither right nor wrong here.
    """
    cols = [classes.index(c) for c in subset]
    t = np.asarray(y_true, dtype=bool)[:, cols]
    keep = t.any(axis=1)
    p = np.asarray(y_pred, dtype=bool)[:, cols][keep]
    prob = None if y_prob is None else np.asarray(y_prob)[:, cols][keep]
    result = location_metrics(t[keep], p, prob, classes=subset)
    result["proteins_without_subset_label"] = int((~keep).sum())
    return result


def membrane_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, y_prob: np.ndarray | None = None
) -> dict[str, Any]:
    """`binary_metrics` of the membrane flag, or a note when the truth has no membrane protein.

    Without one membrane-bound protein (HPA, which has no membrane annotation) the metrics say
    nothing: MCC would be 0 whatever the model does.
    """
    y_true = np.asarray(y_true, dtype=bool)
    if not y_true.any():
        return {"scored": False, "proteins": int(len(y_true)), "note": NO_MEMBRANE_TRUTH}
    return binary_metrics(y_true, y_pred, y_prob)


def binary_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, y_prob: np.ndarray | None = None
) -> dict[str, Any]:
    """MCC, F1, precision, recall, accuracy, ROC AUC (if both labels occur) and support."""
    y_true = np.asarray(y_true, dtype=bool)
    y_pred = np.asarray(y_pred, dtype=bool)
    both = 0 < y_true.sum() < len(y_true)
    auc = roc_auc_score(y_true, y_prob) if (y_prob is not None and both) else None
    with warnings.catch_warnings():
        # One label value only: MCC is 0 by scikit-learn's definition; no need to warn.
        warnings.filterwarnings("ignore", message="A single label was found")
        mcc = matthews_corrcoef(y_true, y_pred)
    return {
        "mcc": rounded(mcc, 6),
        "f1": rounded(f1_score(y_true, y_pred, zero_division=0), 6),
        "precision": rounded(precision_score(y_true, y_pred, zero_division=0), 6),
        "recall": rounded(recall_score(y_true, y_pred, zero_division=0), 6),
        "accuracy": rounded(accuracy_score(y_true, y_pred), 6),
        "roc_auc": rounded(auc, 6),
        "support": int(y_true.sum()),
        "predicted": int(y_pred.sum()),
    }


def signal_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, types: Sequence[str] = SIGNALS
) -> dict[str, Any]:
    """Signal-type metrics ([N, 9] 0/1) over proteins with >= 1 annotated signal.

    Micro/macro F1 and exact-match accuracy over the types present in the truth; per type MCC
    and F1.
    """
    y_true = np.asarray(y_true, dtype=bool)
    y_pred = np.asarray(y_pred, dtype=bool)
    rows = y_true.any(axis=1)
    result: dict[str, Any] = {"proteins": int(rows.sum())}
    if not rows.any():
        return result
    t, p = y_true[rows], y_pred[rows]
    cols = np.flatnonzero(t.any(axis=0))
    result.update(
        scored_types=[types[j] for j in cols],
        micro_f1=rounded(f1_score(t[:, cols], p[:, cols], average="micro", zero_division=0), 6),
        macro_f1=rounded(f1_score(t[:, cols], p[:, cols], average="macro", zero_division=0), 6),
        accuracy=rounded(accuracy_score(t[:, cols], p[:, cols]), 6),
        per_type={types[j]: binary_metrics(t[:, j], p[:, j]) for j in cols},
    )
    return result


def _kl_to_uniform(attention: np.ndarray, region: np.ndarray) -> float:
    """KL(uniform over the residues in `region` || attention) = mean of log((1/n) / a_i)."""
    inside = np.maximum(np.asarray(attention, dtype=np.float64)[region], _ATTENTION_FLOOR)
    return float(np.mean(np.log((1.0 / inside.size) / inside)))


def attention_kl(
    attention: Sequence[np.ndarray | None], signals: Sequence[Sequence[dict[str, Any]]]
) -> dict[str, Any]:
    """Mean KL(uniform over a signal type's residues || attention) per type, with a baseline.

    All spans of one type in a protein count as one region. The baseline is the same divergence
    for uniform attention (log(L / n)): a model's attention is informative when it beats it.
    """
    per_type: dict[str, dict[str, list[float]]] = {s: {"kl": [], "uniform": []} for s in SIGNALS}
    for att, spans in zip(attention, signals, strict=True):
        if att is None or not spans or len(att) == 0:
            continue
        mask = np.zeros((len(SIGNALS), len(att)), dtype=bool)
        for sp in spans:
            mask[SIGNALS.index(sp["type"]), int(sp["start"]) : int(sp["end"])] = True
        for k, name in enumerate(SIGNALS):
            n = int(mask[k].sum())
            if n == 0:
                continue
            per_type[name]["kl"].append(_kl_to_uniform(att, mask[k]))
            per_type[name]["uniform"].append(math.log(len(att) / n))
    out: dict[str, Any] = {}
    for name, vals in per_type.items():
        if vals["kl"]:
            out[name] = {
                "kl": rounded(float(np.mean(vals["kl"])), 6),
                "uniform_kl": rounded(float(np.mean(vals["uniform"])), 6),
                "proteins": len(vals["kl"]),
            }
    return out


# --- tables -> arrays ----------------------------------------------------------------------


def is_hpa_set(sources: Iterable[str | None]) -> bool:
    """True for a non-empty set of proteins that all come from HPA (`locflow curate-hpa`)."""
    return set(sources) == {HPA_SOURCE}


def label_matrix(labels: Sequence[Sequence[str] | None], names: Sequence[str]) -> np.ndarray:
    """[N, len(names)] bool matrix from per-protein lists of names."""
    index = {n: j for j, n in enumerate(names)}
    out = np.zeros((len(labels), len(names)), dtype=bool)
    for i, row in enumerate(labels):
        for name in row or ():
            if name in index:
                out[i, index[name]] = True
    return out


def signal_types(spans: Sequence[Sequence[dict[str, Any]] | None]) -> np.ndarray:
    """[N, 9] bool matrix of signal types annotated per protein."""
    return label_matrix([[s["type"] for s in row or ()] for row in spans], SIGNALS)


def score_arrays(
    *,
    true_locations: np.ndarray,
    pred_locations: np.ndarray,
    probabilities: np.ndarray,
    true_membrane: np.ndarray,
    pred_membrane: np.ndarray,
    true_signals: np.ndarray,
    pred_signals: np.ndarray,
    attention: Sequence[np.ndarray | None] | None = None,
    signal_spans: Sequence[Sequence[dict[str, Any]]] | None = None,
    pred_locations_threshold_only: np.ndarray | None = None,
    hpa: bool = False,
) -> dict[str, Any]:
    """All metrics of one prediction set; `probabilities` is [N, 11] (locations, membrane).

    `pred_locations` are the predictor's labels (scored as ``locations``); with
    `pred_locations_threshold_only` (labels at or above threshold, possibly none) the paper's
    scoring is added (``locations_threshold_only``); `hpa` adds both on DeepLoc 2.0's six HPA
    classes (see `SCORINGS`).
    """
    loc_probs = probabilities[:, : len(LOCATIONS)]
    result = {"locations": location_metrics(true_locations, pred_locations, loc_probs)}
    if pred_locations_threshold_only is not None:
        result["locations_threshold_only"] = location_metrics(
            true_locations, pred_locations_threshold_only, loc_probs
        )
    if hpa:
        result["locations_hpa6"] = subset_location_metrics(
            true_locations, pred_locations, loc_probs, DEEPLOC2_HPA_CLASSES
        )
        if pred_locations_threshold_only is not None:
            result["locations_hpa6_threshold_only"] = subset_location_metrics(
                true_locations, pred_locations_threshold_only, loc_probs, DEEPLOC2_HPA_CLASSES
            )
    result["membrane"] = membrane_metrics(true_membrane, pred_membrane, probabilities[:, 10])
    result["signals"] = signal_metrics(true_signals, pred_signals)
    if attention is not None and signal_spans is not None:
        result["attention_kl"] = attention_kl(attention, signal_spans)
    return result


def score(
    predictions: pa.Table,
    truth: pa.Table,
    attention: dict[str, np.ndarray] | None = None,
) -> dict[str, Any]:
    """Score a predictions table (see locflow.prediction.predict) against a proteins table, joined
    by id.

    Only predictions with status "ok" whose id has at least one true location are scored; the
    counts of everything left out are reported. Predictions from `locflow evaluate` carry
    threshold-only labels too (column ``locations_threshold_only``), which are then scored as
    well; a truth table of HPA proteins alone is also scored on DeepLoc 2.0's six HPA classes.
    """
    need = ["id", "status", "locations", "membrane", "signals", *PROBABILITY_COLUMNS]
    missing = [c for c in need if c not in predictions.column_names]
    if missing:
        raise InputError(f"predictions table lacks column(s): {', '.join(missing)}")
    if THRESHOLD_ONLY_COLUMN in predictions.column_names:
        need.append(THRESHOLD_ONLY_COLUMN)
    truth_cols = ["id", "locations", "membrane", "signals"]
    truth_cols += ["source"] if "source" in truth.column_names else []
    truth_rows = {r["id"]: r for r in truth.select(truth_cols).to_pylist()}
    pred = predictions.select(need).to_pylist()
    counts = {"predictions": len(pred), "truth": len(truth_rows)}
    kept = [r for r in pred if r["status"] == "ok" and r["id"] in truth_rows]
    counts["not_ok"] = sum(1 for r in pred if r["status"] != "ok")
    counts["not_in_truth"] = sum(
        1 for r in pred if r["status"] == "ok" and r["id"] not in truth_rows
    )
    kept = [r for r in kept if truth_rows[r["id"]]["locations"]]
    counts["truth_without_locations"] = sum(
        1 for r in pred if r["id"] in truth_rows and not truth_rows[r["id"]]["locations"]
    )
    predicted_ids = {r["id"] for r in pred}
    counts["truth_not_predicted"] = sum(1 for i in truth_rows if i not in predicted_ids)
    counts["scored"] = len(kept)
    if not kept:
        raise InputError("no prediction matches a protein of the truth table by id")
    truths = [truth_rows[r["id"]] for r in kept]
    probs = np.array([[r[c] for c in PROBABILITY_COLUMNS] for r in kept], dtype=np.float64)
    spans = [t["signals"] or [] for t in truths]
    result = score_arrays(
        true_locations=label_matrix([t["locations"] for t in truths], LOCATIONS),
        pred_locations=label_matrix([r["locations"] for r in kept], LOCATIONS),
        probabilities=probs,
        true_membrane=np.array([bool(t["membrane"]) for t in truths]),
        pred_membrane=np.array([bool(r["membrane"]) for r in kept]),
        true_signals=signal_types(spans),
        pred_signals=label_matrix([r["signals"] for r in kept], SIGNALS),
        attention=None if attention is None else [attention.get(r["id"]) for r in kept],
        signal_spans=spans,
        pred_locations_threshold_only=None
        if THRESHOLD_ONLY_COLUMN not in need
        else label_matrix([r[THRESHOLD_ONLY_COLUMN] for r in kept], LOCATIONS),
        hpa=is_hpa_set(t.get("source") for t in truths),
    )
    return {"counts": counts, **result}


# --- summaries and files -------------------------------------------------------------------


def flatten(metrics: dict[str, Any], prefix: str = "") -> dict[str, float | None]:
    """Numeric leaves of a nested metrics dict as {'a.b.c': value}."""
    flat: dict[str, float | None] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, name + "."))
        elif isinstance(value, bool):
            continue
        elif isinstance(value, int | float) or value is None:
            flat[name] = value
    return flat


def summarize(runs: Sequence[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Mean and (sample) standard deviation of every numeric metric over runs (e.g. folds)."""
    flats = [flatten(r) for r in runs]
    keys = list(dict.fromkeys(k for f in flats for k in f))
    out: dict[str, dict[str, float | None]] = {}
    for key in keys:
        vals = [f[key] for f in flats if f.get(key) is not None]
        if not vals:
            continue
        arr = np.asarray(vals, dtype=np.float64)
        std = float(arr.std(ddof=1)) if len(arr) > 1 else None
        out[key] = {"mean": rounded(float(arr.mean()), 6), "std": rounded(std, 6), "n": len(arr)}
    return out


def metrics_tsv(metrics: dict[str, Any]) -> str:
    """The numeric leaves of a metrics dict as a two-column TSV."""
    lines = ["metric\tvalue"]
    for key, value in flatten(metrics).items():
        lines.append(f"{key}\t{'' if value is None else value}")
    return "\n".join(lines) + "\n"


def write_metrics(path: str | Path, metrics: dict[str, Any]) -> None:
    """Write metrics as JSON at `path` and as TSV beside it (same name, .tsv)."""
    path = Path(path)
    write_json(path, metrics)
    write_text(path.with_suffix(".tsv"), metrics_tsv(metrics))


def run_score(
    predictions: str | Path,
    truth: str | Path,
    out: str | Path,
    *,
    attention: str | Path | None = None,
) -> dict[str, Any]:
    """`locflow score`: read the tables (and attention HDF5 if any), score, write JSON + TSV."""
    from locflow.data.tables import read_attention, read_predictions, read_proteins

    pred = read_predictions(predictions)
    if attention is None and (Path(predictions).parent / "attention.h5").exists():
        attention = Path(predictions).parent / "attention.h5"
    att = None if attention is None else read_attention(attention)
    metrics = score(pred, read_proteins(truth), att)
    metrics["inputs"] = {
        "predictions": str(predictions),
        "truth": str(truth),
        "attention": None if attention is None else str(attention),
    }
    write_metrics(out, metrics)
    return metrics


__all__ = [
    "DEEPLOC2_HPA_CLASSES",
    "HEADLINE",
    "MEMBRANE",
    "SCORINGS",
    "THRESHOLD_ONLY_COLUMN",
    "attention_kl",
    "binary_metrics",
    "flatten",
    "is_hpa_set",
    "label_matrix",
    "location_metrics",
    "membrane_metrics",
    "metrics_tsv",
    "score",
    "score_arrays",
    "run_score",
    "signal_metrics",
    "signal_types",
    "subset_location_metrics",
    "summarize",
    "write_metrics",
]
