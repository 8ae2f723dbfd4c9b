"""The report says how many proteins stand behind every metric, scores no membrane MCC without
membrane truth, and its figures are readable: no overlapping ticks, a plain title, and the
fallback rule explained where it marks a location."""

from __future__ import annotations

import numpy as np
import pytest
from trained_model import (  # noqa: F401  (session fixtures)
    Evaluations,
    HpaEvaluation,
    evaluations,
    hpa_evaluation,
    tiny_model,
)

from locflow.data.classes import LOCATIONS
from locflow.evaluation import plots
from locflow.evaluation.report import load_run, localization_table, per_class_table, signal_table
from locflow.prediction import plots as protein_plots


def _row(table, first: str) -> list[str]:
    return next(r for r in table.rows if r[0] == first)


def test_every_table_counts_its_proteins(evaluations: Evaluations):  # noqa: F811
    cv, test = load_run(evaluations.cv), load_run(evaluations.test)
    pooled = cv.metrics["pooled"]["locations"]["proteins"]
    tested = test.metrics["metrics"]["locations"]["proteins"]
    table = per_class_table([cv, test])
    assert table.header[1:4] == [f"Proteins {cv.label}", f"MCC {cv.label}", f"AUC {cv.label}"]
    assert _row(table, "All evaluated")[1] == f"{pooled:,}"
    assert _row(table, "All evaluated")[4] == f"{tested:,}"
    for c in LOCATIONS:  # per class: the proteins annotated with it, over all test folds
        support = cv.metrics["pooled"]["locations"].get("per_class", {}).get(c, {}).get("support")
        assert _row(table, c)[1] == ("–" if support is None else f"{support:,}")
    assert _row(localization_table([cv, test]), "Proteins scored")[1:3] != ["–", "–"]
    assert _row(signal_table([cv, test]), "Proteins scored")[1] != "–"


def test_no_membrane_mcc_without_membrane_truth(hpa_evaluation: HpaEvaluation):  # noqa: F811
    run = load_run(hpa_evaluation.folder)
    assert _row(per_class_table([run]), "Membrane-bound")[1:] == ["0", "not scored", "not scored"]


@pytest.fixture
def figures(monkeypatch):
    kept = []
    save = protein_plots.save_figure

    def keep(fig, path):
        fig.canvas.draw()  # lay out now: the tick boxes are measured before the figure closes
        renderer = fig.canvas.get_renderer()
        fig.tick_boxes = [
            [t.get_window_extent(renderer) for t in ax.get_xticklabels() if t.get_text()]
            for ax in fig.axes
        ]
        kept.append(fig)
        return save(fig, path)

    monkeypatch.setattr(protein_plots, "save_figure", keep)
    return kept


def _overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def test_mcc_bar_tick_labels_do_not_overlap(figures, tmp_path):
    runs = {f"run {k}": {c: (0.5, 0.1) for c in LOCATIONS} for k in range(3)}
    plots.mcc_bars(runs, tmp_path / "mcc.png")
    (fig,) = figures
    boxes = fig.tick_boxes[0]
    assert len(boxes) == len(LOCATIONS)
    assert not any(_overlap(a, b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_attention_plot_title_and_fallback_note(figures, tmp_path):
    probs = {c: 0.05 for c in LOCATIONS} | {"Nucleus": 0.3}
    thresholds = {c: 0.5 for c in LOCATIONS}
    protein_plots.attention_plot("MKV" * 30, np.full(90, 1 / 90), tmp_path / "a.png",
                                 title="P12345", locations=probs, predicted=["Nucleus"],
                                 thresholds=thresholds)  # fmt: skip
    texts = [t.get_text() for ax in figures[0].axes for t in ax.texts] + [
        ax.get_title(loc="left") for ax in figures[0].axes
    ]
    joined = " ".join(texts)
    assert "P12345: residues the model weighed most to predict the location" in joined
    assert "Nucleus: below its threshold; no location reached one" in joined
    # No note when the predicted location is above its threshold.
    figures.clear()
    protein_plots.attention_plot("MKV" * 30, np.full(90, 1 / 90), tmp_path / "b.png", title="P2",
                                 locations=probs | {"Nucleus": 0.9}, predicted=["Nucleus"],
                                 thresholds=thresholds)  # fmt: skip
    assert not any(
        "below its threshold" in t.get_text() for ax in figures[0].axes for t in ax.texts
    )
