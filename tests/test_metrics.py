"""Metrics equal hand computations on small hand-made cases."""

from __future__ import annotations

import json
import math

import numpy as np
import pyarrow as pa
import pytest

from locflow.data.classes import LOCATIONS, PROBABILITY_COLUMNS, SIGNAL_COLUMNS, SIGNALS
from locflow.data.tables import protein_record, proteins_table, write_table
from locflow.errors import InputError
from locflow.evaluation.metrics import (
    attention_kl,
    binary_metrics,
    location_metrics,
    run_score,
    score,
    signal_metrics,
    summarize,
)
from locflow.prediction.writers import PREDICTIONS_SCHEMA

CYT, NUC, EXT, MEM = 0, 1, 2, 3


def _matrix(rows: list[list[int]]) -> np.ndarray:
    m = np.zeros((len(rows), len(LOCATIONS)), dtype=bool)
    for i, cols in enumerate(rows):
        m[i, cols] = True
    return m


# Four proteins using three classes (Cytoplasm, Nucleus, Extracellular); 7 classes absent.
TRUTH = _matrix([[CYT], [CYT, NUC], [EXT], [NUC]])


def test_perfect_prediction_scores_one():
    m = location_metrics(TRUTH, TRUTH, TRUTH.astype(float))
    assert m["scored_classes"] == ["Cytoplasm", "Nucleus", "Extracellular"]
    for key in ("accuracy", "jaccard", "micro_f1", "macro_f1"):
        assert m[key] == 1.0
    assert all(c["mcc"] == 1.0 and c["roc_auc"] == 1.0 for c in m["per_class"].values())
    assert m["mean_true_labels"] == m["mean_predicted_labels"] == 1.25


def test_empty_prediction_scores_zero():
    m = location_metrics(TRUTH, np.zeros_like(TRUTH))
    assert m["accuracy"] == m["jaccard"] == m["micro_f1"] == m["macro_f1"] == 0.0
    assert m["mean_predicted_labels"] == 0.0
    # No positive predictions: MCC's denominator is 0, and scikit-learn defines it as 0.
    assert all(c["mcc"] == 0.0 for c in m["per_class"].values())


def test_all_positive_prediction_matches_hand_computation():
    m = location_metrics(TRUTH, np.ones_like(TRUTH))
    n, c = 4, 3  # proteins, scored classes
    true_counts = [1, 2, 1, 1]
    assert m["accuracy"] == 0.0  # no protein carries all three classes
    assert m["jaccard"] == pytest.approx(np.mean([k / c for k in true_counts]), abs=1e-6)
    precision = sum(true_counts) / (n * c)  # recall is 1
    assert m["micro_f1"] == pytest.approx(2 * precision / (precision + 1), abs=1e-6)
    support = [2, 2, 1]  # per class
    per_class_f1 = [2 * (s / n) / (s / n + 1) for s in support]
    assert m["macro_f1"] == pytest.approx(np.mean(per_class_f1), abs=1e-6)
    assert m["mean_predicted_labels"] == 3.0  # only the scored classes count


def test_class_absent_from_truth_is_not_scored():
    pred = TRUTH.copy()
    pred[0, LOCATIONS.index("Peroxisome")] = True  # a false positive of an absent class
    m = location_metrics(TRUTH, pred)
    assert "Peroxisome" in m["absent_classes"]
    assert "Peroxisome" not in m["per_class"]
    assert len(m["scored_classes"]) == 3
    assert m["accuracy"] == m["jaccard"] == m["micro_f1"] == 1.0


def test_mixed_case_against_formulas():
    pred = _matrix([[CYT], [CYT], [EXT, NUC], [CYT]])
    prob = np.zeros((4, len(LOCATIONS)))
    prob[:, CYT] = [0.9, 0.2, 0.6, 0.4]
    m = location_metrics(TRUTH, pred, prob)
    # exact matches: protein 0 only
    assert m["accuracy"] == 0.25
    # Jaccard per protein: 1/1, 1/2, 1/2, 0/2
    assert m["jaccard"] == pytest.approx((1 + 0.5 + 0.5 + 0) / 4, abs=1e-6)
    # pooled counts: tp = 3 (C0, C1, E2), fp = 2 (N2, C3), fn = 2 (N1, N3)
    assert m["micro_f1"] == pytest.approx(2 * 3 / (2 * 3 + 2 + 2), abs=1e-6)
    # Cytoplasm: truth 1,1,0,0; pred 1,1,0,1 -> tp 2, tn 1, fp 1, fn 0
    tp, tn, fp, fn = 2, 1, 1, 0
    mcc = (tp * tn - fp * fn) / math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    assert m["per_class"]["Cytoplasm"]["mcc"] == pytest.approx(mcc, abs=1e-6)
    # AUC: positives {0.9, 0.2}, negatives {0.6, 0.4}: 2 of 4 pairs ranked right
    assert m["per_class"]["Cytoplasm"]["roc_auc"] == 0.5


def test_roc_auc_is_none_when_only_one_label_occurs():
    m = binary_metrics(np.ones(3, bool), np.ones(3, bool), np.array([0.2, 0.5, 0.9]))
    assert m["roc_auc"] is None
    assert m["support"] == 3 and m["predicted"] == 3


def test_signal_metrics_use_only_annotated_proteins():
    t = np.zeros((4, len(SIGNALS)), bool)
    p = np.zeros((4, len(SIGNALS)), bool)
    sp, nls = SIGNALS.index("SP"), SIGNALS.index("NLS")
    t[0, sp] = t[1, nls] = True  # proteins 2 and 3 have no annotated signal
    p[0, sp] = p[1, sp] = True
    p[2, nls] = p[3, nls] = True  # predictions on unannotated proteins are not scored
    m = signal_metrics(t, p)
    assert m["proteins"] == 2
    assert m["scored_types"] == ["SP", "NLS"]
    assert m["accuracy"] == 0.5  # protein 0 exact, protein 1 not
    # tp = 1 (SP on 0), fp = 1 (SP on 1), fn = 1 (NLS on 1)
    assert m["micro_f1"] == pytest.approx(0.5, abs=1e-6)
    assert m["per_type"]["NLS"]["f1"] == 0.0


def test_attention_kl_against_closed_forms():
    n = 100
    uniform = np.full(n, 1 / n)
    focused = np.zeros(n)
    focused[:20] = 1 / 20
    spans = [{"type": "SP", "start": 0, "end": 20}]
    m = attention_kl([uniform, focused], [spans, spans])
    # uniform attention: log(L / n); attention uniform on the span itself: 0.
    assert m["SP"]["kl"] == pytest.approx((math.log(100 / 20) + 0.0) / 2, abs=1e-6)
    assert m["SP"]["uniform_kl"] == pytest.approx(math.log(5), abs=1e-6)
    assert m["SP"]["proteins"] == 2
    assert "TM" not in m


def test_summarize_gives_mean_and_sample_std():
    s = summarize([{"a": {"x": 0.5}}, {"a": {"x": 0.7}}, {"a": {"x": None}}])
    assert s["a.x"]["mean"] == pytest.approx(0.6)
    assert s["a.x"]["std"] == pytest.approx(np.std([0.5, 0.7], ddof=1), abs=1e-6)
    assert s["a.x"]["n"] == 2


def _prediction_rows() -> list[dict]:
    rows = []
    preds = {"A": ["Cytoplasm"], "B": ["Nucleus"], "C": ["Cytoplasm"]}
    for k, (pid, locs) in enumerate(preds.items()):
        row = {
            "id": pid,
            "record": k,
            "description": "",
            "status": "ok",
            "length": 50,
            "clipped": False,
            "locations": locs,
            "membrane": False,
            "signals": [],
        }
        row.update({c: (0.9 if c in locs else 0.1) for c in PROBABILITY_COLUMNS})
        row.update({s: 0.1 for s in SIGNAL_COLUMNS})
        rows.append(row)
    rows.append({**rows[0], "id": "bad", "record": 3, "status": "empty sequence"})
    return rows


def _truth():
    seq = "M" + "A" * 49
    return proteins_table(
        [
            protein_record("A", seq, ["Cytoplasm"]),
            protein_record("B", seq, ["Cytoplasm", "Nucleus"]),
            protein_record("C", seq, ["Nucleus"]),
            protein_record("D", seq, ["Nucleus"]),
        ]
    )


def test_score_joins_by_id_and_counts_what_it_leaves_out():
    pred = pa.Table.from_pylist(_prediction_rows(), schema=PREDICTIONS_SCHEMA)
    m = score(pred, _truth())
    assert m["counts"]["scored"] == 3
    assert m["counts"]["not_ok"] == 1
    assert m["counts"]["truth_not_predicted"] == 1  # D
    # exact: A only; Jaccard 1, 1/2, 0
    assert m["locations"]["accuracy"] == pytest.approx(1 / 3, abs=1e-6)
    assert m["locations"]["jaccard"] == pytest.approx(0.5, abs=1e-6)


def test_score_files_writes_json_and_tsv(tmp_path):
    pred_path = tmp_path / "predictions.parquet"
    truth_path = tmp_path / "truth.parquet"
    write_table(pa.Table.from_pylist(_prediction_rows(), schema=PREDICTIONS_SCHEMA), pred_path)
    write_table(_truth(), truth_path)
    run_score(pred_path, truth_path, tmp_path / "metrics.json")
    data = json.loads((tmp_path / "metrics.json").read_text())
    assert data["locations"]["scored_classes"] == ["Cytoplasm", "Nucleus"]
    tsv = (tmp_path / "metrics.tsv").read_text().splitlines()
    assert tsv[0] == "metric\tvalue"
    assert any(line.startswith("locations.accuracy\t0.333333") for line in tsv)


def test_score_refuses_predictions_that_match_nothing():
    rows = [{**r, "id": r["id"] + "_x"} for r in _prediction_rows()]
    with pytest.raises(InputError, match="no prediction matches"):
        score(pa.Table.from_pylist(rows, schema=PREDICTIONS_SCHEMA), _truth())


def test_threshold_curve_equals_scikit_learn_per_threshold():
    from sklearn.metrics import f1_score, matthews_corrcoef

    from locflow.training.thresholds import threshold_curve

    rng = np.random.default_rng(0)
    y = rng.random(200) < 0.3
    p = np.clip(y * 0.3 + rng.random(200) * 0.7, 0, 1)
    grid = np.linspace(0.0, 1.0, 21)
    curve = threshold_curve(y, p, grid)
    for k, t in enumerate(grid):
        assert curve["mcc"][k] == pytest.approx(matthews_corrcoef(y, p >= t), abs=1e-9)
        assert curve["f1"][k] == pytest.approx(f1_score(y, p >= t, zero_division=0), abs=1e-9)


# --- scorings: threshold-only, DeepLoc 2.0's six HPA classes, membrane truth ---------------


def _score(pred, truth, *, thr_only=None, membrane=None, hpa=False):
    from locflow.evaluation.metrics import score_arrays

    n = len(truth)
    return score_arrays(
        true_locations=truth,
        pred_locations=pred,
        probabilities=np.full((n, len(PROBABILITY_COLUMNS)), 0.5),
        true_membrane=np.zeros(n, bool) if membrane is None else membrane,
        pred_membrane=np.zeros(n, bool),
        true_signals=np.zeros((n, len(SIGNALS)), bool),
        pred_signals=np.zeros((n, len(SIGNALS)), bool),
        pred_locations_threshold_only=thr_only,
        hpa=hpa,
    )


def test_threshold_only_scoring_is_reported_beside_the_predictor_rule():
    # Protein 3 has no location above its threshold: the predictor gives it the closest one
    # (Nucleus, right); thresholds only leave it empty, as DeepLoc 2.0's paper scored.
    predictor = TRUTH.copy()
    thr_only = TRUTH.copy()
    thr_only[3] = False
    m = _score(predictor, TRUTH, thr_only=thr_only)
    assert m["locations"]["accuracy"] == 1.0
    assert m["locations_threshold_only"]["accuracy"] == 0.75
    assert m["locations_threshold_only"]["jaccard"] == 0.75  # the empty row scores 0
    assert m["locations_threshold_only"]["mean_predicted_labels"] == 1.0
    assert "locations_hpa6" not in m


def test_hpa_set_is_also_scored_on_deeploc_six_classes():
    from locflow.evaluation.metrics import DEEPLOC2_HPA_CLASSES

    assert set(DEEPLOC2_HPA_CLASSES) == {
        "Cytoplasm",
        "Nucleus",
        "Cell membrane",
        "Mitochondrion",
        "Endoplasmic reticulum",
        "Golgi apparatus",
    }
    i = LOCATIONS.index
    lv, px, golgi = i("Lysosome/Vacuole"), i("Peroxisome"), i("Golgi apparatus")
    truth = _matrix([[CYT], [px], [NUC, lv], [golgi]])
    pred = _matrix([[CYT, lv], [px], [NUC], [CYT]])
    m = _score(pred, truth, thr_only=pred, hpa=True)
    # All classes present: exact on protein 1 only.
    assert m["locations"]["accuracy"] == 0.25
    six = m["locations_hpa6"]
    # Protein 1 (Peroxisome only) has no label among the six and is left out; Lysosome/Vacuole
    # drops from proteins 0 and 2, which become exact; protein 3 stays wrong.
    assert six["proteins"] == 3 and six["proteins_without_subset_label"] == 1
    assert six["accuracy"] == pytest.approx(2 / 3, abs=1e-6)
    assert six["scored_classes"] == ["Cytoplasm", "Nucleus", "Golgi apparatus"]
    assert set(six["per_class"]) <= set(DEEPLOC2_HPA_CLASSES)
    assert m["locations_hpa6_threshold_only"]["accuracy"] == six["accuracy"]


def test_membrane_is_not_scored_without_membrane_truth():
    m = _score(TRUTH, TRUTH)
    assert m["membrane"]["scored"] is False and "mcc" not in m["membrane"]
    assert "no membrane annotation" in m["membrane"]["note"]
    m = _score(TRUTH, TRUTH, membrane=np.array([True, False, False, False]))
    assert m["membrane"]["mcc"] == 0.0 and m["membrane"]["support"] == 1


def test_score_of_hpa_truth_and_evaluate_predictions_gives_every_scoring():
    rows = _prediction_rows()
    for row in rows:
        row["locations_threshold_only"] = [] if row["id"] == "B" else row["locations"]
    schema = PREDICTIONS_SCHEMA.append(pa.field("locations_threshold_only", pa.list_(pa.string())))
    pred = pa.Table.from_pylist(rows, schema=schema)
    seq = "M" + "A" * 49
    truth = proteins_table(
        [
            protein_record("A", seq, ["Cytoplasm"], source="hpa"),
            protein_record("B", seq, ["Nucleus", "Peroxisome"], source="hpa"),
            protein_record("C", seq, ["Peroxisome"], source="hpa"),
        ]
    )
    m = score(pred, truth)
    assert m["locations"]["accuracy"] == pytest.approx(1 / 3, abs=1e-6)  # A
    assert m["locations_threshold_only"]["accuracy"] == pytest.approx(1 / 3, abs=1e-6)
    # Six classes: C has none of them; A and B (Nucleus) exact with the predictor rule.
    assert m["locations_hpa6"]["accuracy"] == 1.0
    assert m["locations_hpa6_threshold_only"]["accuracy"] == 0.5
    assert m["membrane"]["scored"] is False
    # A SwissProt truth table gets no six-class scoring.
    assert "locations_hpa6" not in score(pred, _truth())
