"""`locflow evaluate` on a real tiny model: fold models on their own folds, ensemble averages."""

from __future__ import annotations

import io
import json

import numpy as np
import pyarrow.parquet as pq
import pytest
from trained_model import (  # noqa: F401  (session fixtures)
    Evaluations,
    TinyModel,
    evaluations,
    hpa_evaluation,
    tiny_model,
)
from typer.testing import CliRunner

from locflow.cli import app
from locflow.data.classes import LOCATIONS, MEMBRANE
from locflow.data.tables import read_folds, read_proteins
from locflow.evaluation.evaluate import headline
from locflow.models.checkpoint import load_fold, predict_batch, read_config

OUTPUTS = (*LOCATIONS, MEMBRANE)


def _load(folder):
    metrics = json.loads((folder / "metrics.json").read_text())
    return metrics, pq.read_table(folder / "predictions.parquet").to_pydict()


def test_cv_predicts_each_fold_with_its_own_model(tiny_model, evaluations):  # noqa: F811
    metrics, pred = _load(evaluations.cv)
    assert metrics["kind"] == "cv" and metrics["folds"] == [0, 1]
    folds = read_folds(tiny_model.folds).to_pydict()
    fold_of = dict(zip(folds["id"], folds["fold"], strict=True))
    for pid, k in zip(pred["id"], pred["fold"], strict=True):
        assert fold_of[pid] == k
    assert sorted(pred["id"]) == sorted(i for i, f in fold_of.items() if f in (0, 1))
    # The fold-0 rows hold exactly fold 0's model output.
    model, config = load_fold(tiny_model.model / "fold0", "cpu")
    rows = [i for i, k in enumerate(pred["fold"]) if k == 0][:5]
    out = predict_batch(model, config, [pred["sequence"][i] for i in rows])
    got = np.array([[pred[c][i] for c in OUTPUTS] for i in rows])
    np.testing.assert_allclose(got, out.probabilities, atol=1e-5)


def test_cv_summary_is_mean_and_std_of_folds(evaluations):  # noqa: F811
    metrics, pred = _load(evaluations.cv)
    accs = []
    for k in ("0", "1"):
        # Independent check of the per-fold accuracy: exact-match rate over the scored classes.
        rows = [i for i, f in enumerate(pred["fold"]) if str(f) == k]
        scored = set(metrics["per_fold"][k]["locations"]["scored_classes"])
        exact = [set(pred["locations"][i]) & scored == set(pred["true_locations"][i]) for i in rows]
        assert metrics["per_fold"][k]["locations"]["accuracy"] == pytest.approx(
            np.mean(exact), abs=1e-6
        )
        accs.append(np.mean(exact))
    summary = metrics["summary"]["locations.accuracy"]
    assert summary["mean"] == pytest.approx(np.mean(accs), abs=1e-6)
    assert summary["std"] == pytest.approx(np.std(accs, ddof=1), abs=1e-6)
    assert "cross-validation: accuracy" in headline(metrics)


def test_independent_test_averages_the_fold_models(tiny_model, evaluations):  # noqa: F811
    metrics, pred = _load(evaluations.test)
    assert metrics["kind"] == "test" and metrics["folds"] == [0, 1]
    folds = [load_fold(tiny_model.model / f"fold{k}", "cpu") for k in (0, 1)]
    seqs = pred["sequence"][:6]
    outs = [predict_batch(m, c, seqs) for m, c in folds]
    got = np.array([[pred[c][i] for c in OUTPUTS] for i in range(6)])
    np.testing.assert_allclose(got, (outs[0].probabilities + outs[1].probabilities) / 2, atol=1e-5)
    for name in OUTPUTS:
        mean = np.mean([c["thresholds"][name] for _, c in folds])
        assert metrics["thresholds"]["locations"][name] == pytest.approx(mean, abs=1e-4)
    # Scored classes are exactly those present in the test set.
    truth = read_proteins(evaluations.test_proteins).column("locations").to_pylist()
    present = [c for c in LOCATIONS if any(c in t for t in truth)]
    assert metrics["metrics"]["locations"]["scored_classes"] == present


def test_score_command_agrees_with_evaluate(evaluations, tmp_path):  # noqa: F811
    metrics, _ = _load(evaluations.test)
    out = tmp_path / "scored.json"
    result = CliRunner().invoke(
        app,
        [
            "score",
            "--predictions",
            str(evaluations.test / "predictions.parquet"),
            "--truth",
            str(evaluations.test_proteins),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    scored = json.loads(out.read_text())
    for key in ("accuracy", "jaccard", "micro_f1", "macro_f1"):
        assert scored["locations"][key] == metrics["metrics"]["locations"][key]
    # The attention file beside the predictions is picked up for the KL table.
    assert scored["attention_kl"] == metrics["metrics"]["attention_kl"]
    assert (tmp_path / "scored.tsv").exists()


def test_cv_scores_with_and_without_the_predictor_rule(tiny_model, evaluations):  # noqa: F811
    metrics, pred = _load(evaluations.cv)
    probs = np.array([[pred[c][i] for c in LOCATIONS] for i in range(len(pred["id"]))])
    thresholds = {
        k: np.array(
            [read_config(tiny_model.model / f"fold{k}")["thresholds"][c] for c in LOCATIONS]
        )
        for k in (0, 1)
    }
    for i, fold in enumerate(pred["fold"]):
        thr = thresholds[fold]
        above = [c for c, p, t in zip(LOCATIONS, probs[i], thr, strict=True) if p >= t]
        assert pred["locations_threshold_only"][i] == above
        if above:
            assert pred["locations"][i] == above
        else:  # the predictor rule: the one location closest to its threshold
            assert pred["locations"][i] == [LOCATIONS[int(np.argmax(probs[i] / thr))]]
    for k, fold in metrics["per_fold"].items():
        rows = [i for i, f in enumerate(pred["fold"]) if str(f) == k]
        scored = set(fold["locations_threshold_only"]["scored_classes"])
        exact = [
            set(pred["locations_threshold_only"][i]) & scored == set(pred["true_locations"][i])
            for i in rows
        ]
        assert fold["locations_threshold_only"]["accuracy"] == pytest.approx(np.mean(exact))
    assert "locations_threshold_only.accuracy" in metrics["summary"]
    assert metrics["hpa"] is False and "locations_hpa6" not in metrics["pooled"]
    assert set(metrics["scorings"]) == {"locations", "locations_threshold_only"}


def test_hpa_test_set_gets_six_class_scorings_and_no_membrane_metrics(hpa_evaluation):  # noqa: F811
    metrics, pred = _load(hpa_evaluation.folder)
    assert metrics["kind"] == "test" and metrics["hpa"] is True
    scored = metrics["metrics"]
    six = scored["locations_hpa6_threshold_only"]
    assert set(six["scored_classes"]) <= {
        "Cytoplasm",
        "Nucleus",
        "Cell membrane",
        "Mitochondrion",
        "Endoplasmic reticulum",
        "Golgi apparatus",
    }
    assert "Peroxisome" in scored["locations"]["scored_classes"]
    # The Peroxisome-only protein has no label among the six.
    assert six["proteins_without_subset_label"] >= 1
    assert six["proteins"] + six["proteins_without_subset_label"] == scored["counts"]["scored"]
    assert "locations_hpa6" in scored and "locations_threshold_only" in scored
    assert set(metrics["scorings"]) == {
        "locations",
        "locations_threshold_only",
        "locations_hpa6",
        "locations_hpa6_threshold_only",
    }
    assert scored["membrane"]["scored"] is False and "mcc" not in scored["membrane"]
    assert len(pred["locations_threshold_only"]) == len(pred["id"])


def test_evaluate_reports_its_stages(tiny_model, tmp_path, monkeypatch):  # noqa: F811
    from locflow import runtime
    from locflow.evaluation.evaluate import run_evaluate

    seen = []

    def record(self, name, total=None, unit=""):
        seen.append((name, total, unit))

    monkeypatch.setattr(runtime.Reporter, "stage", record)
    with runtime.reporting("evaluate", stream=io.StringIO(), interval=60):
        run_evaluate(tiny_model.model, tiny_model.proteins, tmp_path / "cv",
                 folds=tiny_model.folds, device="cpu")  # fmt: skip
    # one stage per fold model, counting the proteins of its test fold
    assert [name for name, _, _ in seen] == ["fold 0: predicting its test fold",
                                             "fold 1: predicting its test fold"]  # fmt: skip
    assert all(unit == "proteins" and total > 0 for _, total, unit in seen)
