"""`locflow report`: one self-contained HTML file with the paper's tables and figures."""

from __future__ import annotations

import base64
import re

import pytest
from trained_model import Evaluations, evaluations, tiny_model  # noqa: F401  (session fixtures)

from locflow.files import InputError
from locflow.report import DEEPLOC2_PUBLISHED, build_report


@pytest.fixture(scope="module")
def report(evaluations: Evaluations, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("report") / "report.html"
    result = build_report([evaluations.cv, evaluations.test], out)
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


def test_report_puts_published_numbers_beside_ours(report):
    out, _ = report
    md = out.with_suffix(".md").read_text()
    assert "| Metric | cv (cross-validation) | test (independent test) |" in md
    row = next(line for line in md.splitlines() if line.startswith("| Accuracy (exact match)"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert "±" in cells[1]  # mean ± std over folds
    published = DEEPLOC2_PUBLISHED
    assert cells[3:] == [
        f"{published['cv']['accuracy']:.2f}",
        f"{published['test']['accuracy']:.2f}",
    ]
    for title in ("Localization", "Per-location MCC", "Sorting signals", "Attention vs"):
        assert f"### {title}" in md
    html = out.read_text()
    assert "doi:10.1093/nar/gkac278" in html
    assert "Jaccard" in html and "0.69" in html and "0.53" in html


def test_report_refuses_a_folder_without_metrics(tmp_path):
    with pytest.raises(InputError, match="no metrics.json"):
        build_report([tmp_path], tmp_path / "r.html")
