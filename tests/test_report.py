"""`locflow report`: one self-contained HTML file with the paper's tables and figures."""

from __future__ import annotations

import base64
import re

import pytest
from trained_model import (  # noqa: F401  (session fixtures)
    Evaluations,
    evaluations,
    hpa_evaluation,
    tiny_model,
)

from locflow.errors import InputError
from locflow.evaluation.report import DEEPLOC2_PUBLISHED, load_run, run_report


@pytest.fixture(scope="module")
def report(evaluations: Evaluations, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = run_report([evaluations.cv, evaluations.test], out)
    return out, result


def test_report_is_self_contained_with_embedded_pngs(report):
    out, result = report
    text = out.read_text()
    assert text.startswith("<!doctype html>")
    # Nothing is loaded from elsewhere: every image is a data URI.
    assert not re.search(r"""(src|href)=['"](?!data:)""", text)
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", text)
    assert len(images) == result["figures"] >= 5
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)


def _table(md: str, title: str) -> list[list[str]]:
    """The rows (header first) of the Markdown table titled `title`."""
    lines = md.split(f"### {title}\n", 1)[1].strip().splitlines()
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines]
    end = next((i for i, line in enumerate(lines) if not line.startswith("|")), len(lines))
    return [r for r in rows[:end] if set(r[0]) != {"-"}]


def test_report_puts_published_numbers_beside_ours(report, evaluations):  # noqa: F811
    out, _ = report
    md = out.with_suffix(".md").read_text()
    assert "| Metric | cv (cross-validation) | test (independent test) |" in md
    rows = _table(md, "Localization, scored as in DeepLoc 2.0's paper")
    cells = next(r for r in rows if r[0] == "Accuracy (exact match)")
    assert "±" in cells[1]  # mean ± std over folds
    # The paper's scoring: thresholds only, no location forced onto a protein.
    cv = load_run(evaluations.cv).metrics["summary"]["locations_threshold_only.accuracy"]
    assert cells[1] == f"{cv['mean']:.3f} ± {cv['std']:.3f}"
    published = DEEPLOC2_PUBLISHED
    assert cells[3:] == [
        f"{published['cv']['accuracy']:.2f}",
        f"{published['test']['accuracy']:.2f}",
    ]
    for title in (
        "Localization, scored as in DeepLoc 2.0's paper",
        "Localization, every scoring",
        "Per-location MCC",
        "Sorting signals",
        "Attention vs",
    ):
        assert f"### {title}" in md
    html = out.read_text()
    assert "doi:10.1093/nar/gkac278" in html
    assert "Jaccard" in html and "0.69" in html and "0.53" in html


def test_report_refuses_a_folder_without_metrics(tmp_path):
    with pytest.raises(InputError, match="no metrics.json"):
        run_report([tmp_path], tmp_path / "r.html")


def test_report_compares_hpa_on_six_classes_and_labels_every_scoring(
    evaluations,  # noqa: F811
    hpa_evaluation,  # noqa: F811
    tmp_path,
):
    out = tmp_path / "report.html"
    run_report([evaluations.cv, hpa_evaluation.folder], out)
    md = out.with_suffix(".md").read_text()
    hpa = load_run(hpa_evaluation.folder).metrics["metrics"]
    paper = _table(md, "Localization, scored as in DeepLoc 2.0's paper")
    assert paper[0] == [
        "Metric",
        "cv (cross-validation)",
        "hpa (independent test), 6 HPA classes",
        "DeepLoc 2.0 ProtT5, SwissProt CV",
        "DeepLoc 2.0 ProtT5, HPA test",
    ]
    accuracy = next(r for r in paper if r[0] == "Accuracy (exact match)")
    assert accuracy[2] == f"{hpa['locations_hpa6_threshold_only']['accuracy']:.3f}"
    assert accuracy[4] == f"{DEEPLOC2_PUBLISHED['test']['accuracy']:.2f}"
    every = _table(md, "Localization, every scoring")
    n = len(hpa["locations"]["scored_classes"])
    assert every[0] == [
        "Metric",
        "cv (cross-validation): predictor output",
        "cv (cross-validation): thresholds only",
        f"hpa (independent test): predictor output, {n} classes",
        f"hpa (independent test): thresholds only, {n} classes",
        "hpa (independent test): predictor output, 6 HPA classes",
        "hpa (independent test): thresholds only, 6 HPA classes",
    ]
    jaccard = next(r for r in every if r[0] == "Jaccard")
    assert jaccard[3] == f"{hpa['locations']['jaccard']:.3f}"
    assert jaccard[6] == f"{hpa['locations_hpa6_threshold_only']['jaccard']:.3f}"
    # HPA has no membrane annotation: no MCC of 0 for it, a plain "not scored".
    membrane = next(
        r for r in _table(md, "Per-location MCC and ROC AUC") if r[0] == "Membrane-bound"
    )
    # Columns per run: proteins, MCC, AUC.
    assert membrane[4:] == ["0", "not scored", "not scored"] and "±" in membrane[2]
