"""One self-contained HTML report (and its Markdown tables) from evaluation folders.

Each input folder is the output of `locflow evaluate` (cross-validation or independent test).
The report lays out DeepLoc 2.0's tables (localization, per-location MCC, membrane, signals,
attention KL) with DeepLoc 2.0's published numbers beside locflow's, and figures: per-location
MCC bars, label co-occurrence, threshold curves and a few attention plots. Figures are
embedded as base64 PNGs, so the HTML file can be mailed or archived on its own.

Published numbers are compared with locflow's scored the way the paper scored: thresholds
only (a protein with no location above its threshold has none), and the HPA test set on
DeepLoc 2.0's six HPA classes. A second table shows every scoring, labelled, including
locflow's predictor output (the location closest to its threshold when none is above).
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from locflow import __version__
from locflow.data.classes import LOCATIONS, SIGNALS
from locflow.data.files import read_json, write_text
from locflow.errors import InputError
from locflow.evaluation.metrics import DEEPLOC2_HPA_CLASSES, label_matrix

# DeepLoc 2.0's published numbers (Thumuluri et al. 2022, Nucleic Acids Research 50(W1):W228,
# doi:10.1093/nar/gkac278): the ProtT5 model, 5-fold cross-validation on SwissProt, and the
# HPA independent test set.
DEEPLOC2_CITATION = (
    "Thumuluri V, Almagro Armenteros JJ, Johansen AR, Nielsen H, Winther O. DeepLoc 2.0: "
    "multi-label subcellular localization prediction using protein language models. "
    "Nucleic Acids Res. 2022;50(W1):W228-W234. doi:10.1093/nar/gkac278"
)
DEEPLOC2_PUBLISHED = {
    "cv": {"accuracy": 0.55, "jaccard": 0.69, "micro_f1": 0.73, "macro_f1": 0.66},
    "test": {"accuracy": 0.39, "jaccard": 0.53, "micro_f1": 0.60, "macro_f1": 0.46},
}
HEADLINE_NAMES = {
    "accuracy": "Accuracy (exact match)",
    "jaccard": "Jaccard",
    "micro_f1": "Micro F1",
    "macro_f1": "Macro F1",
    "mean_predicted_labels": "Labels per protein, predicted",
    "mean_true_labels": "Labels per protein, annotated",
}
ATTENTION_PLOTS = 4

# Location scorings of a metrics dict (see locflow.evaluation.metrics.SCORINGS), as column labels.
SCORING_LABELS = {
    "locations": "predictor output",
    "locations_threshold_only": "thresholds only",
    "locations_hpa6": "predictor output, 6 HPA classes",
    "locations_hpa6_threshold_only": "thresholds only, 6 HPA classes",
}


@dataclass
class Run:
    """One evaluation folder: its metrics and where its predictions are."""

    name: str
    folder: Path
    metrics: dict[str, Any]

    @property
    def kind(self) -> str:
        """'cv' or 'test'."""
        return self.metrics["kind"]

    @property
    def label(self) -> str:
        """Column heading of this run."""
        what = "cross-validation" if self.kind == "cv" else "independent test"
        return f"{self.name} ({what})"

    @property
    def hpa(self) -> bool:
        """Whether the evaluated set is an HPA test set (scored on six classes too)."""
        return bool(self.metrics.get("hpa"))

    @property
    def paper_scoring(self) -> str:
        """The location scoring comparable with DeepLoc 2.0's published numbers."""
        return "locations_hpa6_threshold_only" if self.hpa else "locations_threshold_only"

    def scorings(self) -> list[str]:
        """The location scorings this run has, in `SCORING_LABELS` order."""
        node = self.metrics["per_fold"] if self.kind == "cv" else {"": self.metrics["metrics"]}
        have = {k for m in node.values() for k in m}
        return [k for k in SCORING_LABELS if k in have]

    def value(self, key: str) -> tuple[float | None, float | None]:
        """(value, std) of a flattened metric key such as 'locations.accuracy'."""
        if self.kind == "cv":
            s = self.metrics["summary"].get(key)
            return (None, None) if s is None else (s["mean"], s["std"])
        node: Any = self.metrics["metrics"]
        for part in key.split("."):
            if not isinstance(node, dict) or part not in node:
                return None, None
            node = node[part]
        return node, None

    def count(self, key: str) -> int | None:
        """How many proteins are behind a metric: an integer count such as
        'locations.proteins' or 'locations.per_class.Nucleus.support', summed over the test
        folds of a cross-validation; None where the evaluation has no such count."""
        parts = (
            self.metrics["per_fold"].values() if self.kind == "cv" else [self.metrics["metrics"]]
        )
        total, found = 0, False
        for node in parts:
            for part in key.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, int) and not isinstance(node, bool):
                total, found = total + node, True
        return total if found else None


def _n(value: int | None) -> str:
    return "–" if value is None else f"{value:,}"


def load_run(folder: str | Path) -> Run:
    """Read an evaluation folder (metrics.json from `locflow evaluate`)."""
    folder = Path(folder)
    path = folder / "metrics.json"
    if not path.exists():
        raise InputError(f"{folder}: no metrics.json; is it an output folder of locflow evaluate?")
    metrics = read_json(path)
    if metrics.get("kind") not in ("cv", "test"):
        raise InputError(f"{path}: not an evaluation result (kind {metrics.get('kind')!r})")
    return Run(folder.resolve().name, folder, metrics)


def _fmt(value: float | None, std: float | None = None) -> str:
    if value is None:
        return "–"
    return f"{value:.3f} ± {std:.3f}" if std is not None else f"{value:.3f}"


# --- tables (rows of strings; rendered as Markdown and HTML) ---------------------------------


@dataclass
class Table:
    """A titled table with a note."""

    title: str
    header: list[str]
    rows: list[list[str]]
    note: str = ""

    def markdown(self) -> str:
        """GitHub-flavoured Markdown."""
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.header) + " |")
        lines.append("| " + " | ".join("---" for _ in self.header) + " |")
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines) + "\n"

    def html(self) -> str:
        """An HTML table with a caption."""
        head = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
            for row in self.rows
        )
        note = f'<p class="note">{html.escape(self.note)}</p>' if self.note else ""
        return (
            f"<h3>{html.escape(self.title)}</h3><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>{note}"
        )


def localization_table(runs: list[Run]) -> Table:
    """Headline metrics of every run scored as DeepLoc 2.0's paper did, its numbers beside."""
    kinds = [k for k in ("cv", "test") if any(r.kind == k for r in runs)]
    header = ["Metric"] + [r.label + (", 6 HPA classes" if r.hpa else "") for r in runs]
    header += [f"DeepLoc 2.0 ProtT5, {'SwissProt CV' if k == 'cv' else 'HPA test'}" for k in kinds]
    rows = []
    for key, name in HEADLINE_NAMES.items():
        row = [name] + [_fmt(*r.value(f"{r.paper_scoring}.{key}")) for r in runs]
        # Published numbers keep the paper's two decimals.
        row += [
            "–" if DEEPLOC2_PUBLISHED[k].get(key) is None else f"{DEEPLOC2_PUBLISHED[k][key]:.2f}"
            for k in kinds
        ]
        rows.append(row)
    rows.append(
        ["Proteins scored"]
        + [_n(r.count(f"{r.paper_scoring}.proteins")) for r in runs]
        + ["–" for _ in kinds]
    )
    scored = {
        r.label: r.value(f"{r.paper_scoring}.scored_classes")[0]
        for r in runs
        if r.kind == "test" and not r.hpa
    }
    note = (
        "Scored as DeepLoc 2.0's paper scored: a protein's locations are those at or above "
        "their thresholds, possibly none (locflow's predictor output, which gives a protein "
        "with none the location closest to its threshold, is in the next table). "
        "Cross-validation: mean ± sample standard deviation over folds, each fold model on "
        "its own test fold with its own thresholds. Independent test: the fold models' "
        "averaged probabilities with the mean of their thresholds. An HPA test set is scored "
        f"on DeepLoc 2.0's six HPA classes ({', '.join(DEEPLOC2_HPA_CLASSES)}); proteins with "
        "none of them are left out. Another test set is scored on the classes it has"
    )
    note += "".join(f"; {k}: {', '.join(v)}" for k, v in scored.items() if v) + "."
    if any(not r.scorings() or r.paper_scoring not in r.scorings() for r in runs):
        note += " A dash in a whole column: the evaluation predates this scoring; rerun it."
    return Table("Localization, scored as in DeepLoc 2.0's paper", header, rows, note)


def scorings_table(runs: list[Run]) -> Table:
    """Headline metrics of every run under every location scoring it has, labelled."""
    columns = [(r, key) for r in runs for key in r.scorings()]
    header = ["Metric"] + [f"{r.label}: {_scoring_label(r, key)}" for r, key in columns]
    rows = [
        [name] + [_fmt(*r.value(f"{key}.{metric}")) for r, key in columns]
        for metric, name in HEADLINE_NAMES.items()
    ]
    rows.append(["Proteins scored"] + [_n(r.count(f"{key}.proteins")) for r, key in columns])
    note = (
        "Predictor output: what locflow predict reports, the locations at or above their "
        "thresholds, or, when there is none, the one closest to its threshold (highest "
        "probability / threshold), so every protein gets at least one. Thresholds only: the "
        "locations at or above their thresholds, possibly none, as DeepLoc 2.0's paper "
        "scored. Without '6 HPA classes': scored on the classes present in the evaluated set."
    )
    return Table("Localization, every scoring", header, rows, note)


def _scoring_label(run: Run, key: str) -> str:
    label = SCORING_LABELS[key]
    if run.hpa and "hpa6" not in key:
        scored = run.value(f"{key}.scored_classes")[0] or []
        label += f", {len(scored)} classes" if scored else ""
    return label


def per_class_table(runs: list[Run]) -> Table:
    """MCC and ROC AUC per location for every run."""
    header = ["Location"]
    for r in runs:
        header += [f"Proteins {r.label}", f"MCC {r.label}", f"AUC {r.label}"]
    rows = []
    for c in LOCATIONS:
        row = [c]
        for r in runs:
            row += [
                _n(r.count(f"locations.per_class.{c}.support")),
                _fmt(*r.value(f"locations.per_class.{c}.mcc")),
                _fmt(*r.value(f"locations.per_class.{c}.roc_auc")),
            ]
        rows.append(row)
    mem = ["Membrane-bound"]
    for r in runs:
        if not _membrane_scored(r):
            mem += ["0", "not scored", "not scored"]
        else:
            mem += [
                _n(r.count("membrane.support")),
                _fmt(*r.value("membrane.mcc")),
                _fmt(*r.value("membrane.roc_auc")),
            ]
    rows.append(mem)
    rows.append(
        ["All evaluated"] + [x for r in runs for x in (_n(r.count("locations.proteins")), "", "")]
    )
    note = (
        "Locations as locflow's predictor outputs them. Proteins: how many evaluated proteins "
        "are annotated with the location (summed over the test folds of a cross-validation); "
        "MCC and AUC rest on them and on the rest of the evaluated proteins. A dash: the class "
        "is absent from the evaluated proteins. Membrane-bound is not scored where no "
        "evaluated protein is annotated membrane-bound: HPA has no membrane annotation, and "
        "an MCC there would be 0 whatever the model does. DeepLoc 2.0's per-location MCCs "
        "are not quoted: only numbers that can be cited exactly are shown."
    )
    return Table("Per-location MCC and ROC AUC", header, rows, note)


def _membrane_scored(run: Run) -> bool:
    """False when the evaluation left membrane metrics out (no membrane truth)."""
    parts = run.metrics["per_fold"].values() if run.kind == "cv" else [run.metrics["metrics"]]
    return any(m.get("membrane", {}).get("scored", True) for m in parts)


def signal_table(runs: list[Run]) -> Table:
    """Signal-type prediction: micro/macro F1, accuracy and MCC per type."""
    header = ["Signal"] + [r.label for r in runs]
    rows = [
        ["Micro F1"] + [_fmt(*r.value("signals.micro_f1")) for r in runs],
        ["Macro F1"] + [_fmt(*r.value("signals.macro_f1")) for r in runs],
        ["Accuracy (exact match)"] + [_fmt(*r.value("signals.accuracy")) for r in runs],
        ["Proteins scored"] + [_n(r.count("signals.proteins")) for r in runs],
    ]
    for s in SIGNALS:
        rows.append([f"MCC {s}"] + [_fmt(*r.value(f"signals.per_type.{s}.mcc")) for r in runs])
    note = (
        "Scored on proteins with at least one annotated sorting signal (absent annotations "
        "are unknown, as in DeepLoc 2.0)."
    )
    return Table("Sorting signals", header, rows, note)


def attention_table(runs: list[Run]) -> Table:
    """KL(uniform over annotated signal residues || attention) per type, and the baseline."""
    header = ["Signal"]
    for r in runs:
        header += [f"KL {r.label}", f"uniform attention {r.label}"]
    rows = []
    for s in SIGNALS:
        row = [s]
        for r in runs:
            row += [
                _fmt(*r.value(f"attention_kl.{s}.kl")),
                _fmt(*r.value(f"attention_kl.{s}.uniform_kl")),
            ]
        rows.append(row)
    note = (
        "Lower is better: attention concentrated on the annotated signal. The uniform "
        "column is the divergence a model that attends to every residue equally would get."
    )
    return Table("Attention vs annotated signals (KL divergence)", header, rows, note)


# --- figures --------------------------------------------------------------------------------


def _png_base64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def _figures(runs: list[Run], folder: Path) -> list[tuple[str, str, Path]]:
    """Draw the figures into `folder`; return (section, caption, png path) triples."""
    from locflow.evaluation import plots

    figs: list[tuple[str, str, Path]] = []
    bars = {}
    for r in runs:
        bars[r.label] = {
            c: r.value(f"locations.per_class.{c}.mcc")
            for c in LOCATIONS
            if r.value(f"locations.per_class.{c}.mcc")[0] is not None
        }
    path = plots.mcc_bars(bars, folder / "mcc.png", title="MCC per location")
    figs.append(("MCC per location", "Error bars: standard deviation over folds.", path))
    for k, r in enumerate(runs):
        pred_path = r.folder / "predictions.parquet"
        if not pred_path.exists():
            continue
        table = pq.read_table(pred_path)
        cols = table.to_pydict()
        truth = label_matrix(cols["true_locations"], LOCATIONS)
        pred = label_matrix(cols["locations"], LOCATIONS)
        path = plots.cooccurrence_plot(truth, pred, folder / f"cooc{k}.png", title=r.label)
        figs.append(("Label co-occurrence", f"{r.label}: proteins per pair of labels.", path))
        probs = np.array([cols[c] for c in LOCATIONS], dtype=np.float64).T
        thr = _mean_thresholds(r)
        path = plots.threshold_curves(probs, truth, thr, folder / f"thr{k}.png", title=r.label)
        figs.append(("Threshold curves", f"{r.label}: dotted line = threshold used.", path))
        figs += _attention_figures(r, cols, folder, k)
    return figs


def _mean_thresholds(run: Run) -> dict[str, float]:
    """Location thresholds of a run; for CV (one set per fold) their mean, as plotted."""
    thr = run.metrics["thresholds"]
    if run.kind == "cv":
        return {c: float(np.mean([t["locations"][c] for t in thr.values()])) for c in LOCATIONS}
    return dict(thr["locations"])


def _fold_thresholds(run: Run, fold: int) -> dict[str, float]:
    """The thresholds that labelled a protein: its fold model's for CV, else the ensemble's."""
    thr = run.metrics["thresholds"]
    if run.kind == "cv" and str(fold) in thr:
        return dict(thr[str(fold)]["locations"])
    return _mean_thresholds(run)


def _attention_figures(
    run: Run, cols: dict[str, list[Any]], folder: Path, k: int
) -> list[tuple[str, str, Path]]:
    """Attention plots of a few proteins with annotated signals, of different types."""
    from locflow.data.tables import read_attention
    from locflow.prediction.plots import attention_plot

    att_path = run.folder / "attention.h5"
    if not att_path.exists() or "true_signals" not in cols:
        return []
    attention = read_attention(att_path)
    chosen: list[int] = []
    types_seen: set[str] = set()
    # Deterministic pick: for each signal type in turn, the shortest protein carrying it.
    order = sorted(range(len(cols["id"])), key=lambda i: (len(cols["sequence"][i]), cols["id"][i]))
    for s in SIGNALS:
        for i in order:
            spans = cols["true_signals"][i] or []
            if any(sp["type"] == s for sp in spans) and i not in chosen and s not in types_seen:
                chosen.append(i)
                types_seen.update(sp["type"] for sp in spans)
                break
        if len(chosen) >= ATTENTION_PLOTS:
            break
    figs = []
    for n, i in enumerate(chosen):
        pid = cols["id"][i]
        if pid not in attention:
            continue
        path = attention_plot(
            cols["sequence"][i],
            attention[pid],
            folder / f"att{k}_{n}.png",
            title=f"{pid}  (annotated: {', '.join(cols['true_locations'][i])})",
            locations={c: cols[c][i] for c in LOCATIONS},
            predicted=cols["locations"][i],
            signals=cols["signals"][i],
            true_spans=cols["true_signals"][i],
            thresholds=_fold_thresholds(run, cols["fold"][i]),
        )
        figs.append(("Attention", f"{run.label}: {pid}", path))
    return figs


# --- the documents --------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2733;
background:#f6f8fa}
main{max-width:1180px;margin:0 auto;padding:28px 36px 60px;background:#fff;
box-shadow:0 0 0 1px #e3e8ee}
h1{font-size:26px;margin:0 0 4px}h2{font-size:19px;margin:34px 0 10px;padding-bottom:4px;
border-bottom:2px solid #1f5fa8}h3{font-size:15px;margin:22px 0 8px}
.meta{color:#5b6b7c;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:6px 0;min-width:50%}
th,td{padding:5px 10px;border-bottom:1px solid #e3e8ee;text-align:right;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
thead th{background:#eef3f8;font-weight:600;border-bottom:2px solid #c9d5e2}
tbody tr:nth-child(even){background:#fafbfc}
.note{color:#5b6b7c;font-size:12px;max-width:900px}
figure{margin:14px 0 22px}figure img{max-width:100%;border:1px solid #e3e8ee}
figcaption{color:#5b6b7c;font-size:12px;margin-top:4px}
ul.runs{font-size:13px;color:#3b4a5a}
"""


def run_report(folders: list[str | Path], out: str | Path) -> dict[str, Any]:
    """`locflow report`: write `out` (HTML) and the tables as Markdown beside it (.md)."""
    if not folders:
        raise InputError("report needs at least one evaluation folder")
    runs = [load_run(f) for f in folders]
    tables = [localization_table(runs), scorings_table(runs), per_class_table(runs)]
    tables.append(signal_table(runs))
    tables.append(attention_table(runs))
    out = Path(out)
    stamp = dt.date.today().isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        figs = _figures(runs, Path(tmp))
        images = [(section, caption, _png_base64(p)) for section, caption, p in figs]
    run_items = "".join(
        f"<li><b>{html.escape(r.label)}</b>: {html.escape(str(r.folder))}; model "
        f"{html.escape(r.metrics.get('model', ''))}, data {html.escape(r.metrics.get('data', ''))}"
        f", folds {r.metrics.get('folds')}</li>"
        for r in runs
    )
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>locflow evaluation report</title><style>{_CSS}</style></head><body><main>",
        "<h1>locflow evaluation report</h1>",
        f"<p class='meta'>locflow {__version__} · {stamp} · DeepLoc 2.0's published numbers "
        f"beside locflow's</p><ul class='runs'>{run_items}</ul>",
        "<h2>Tables</h2>",
        *[t.html() for t in tables],
        f"<p class='note'>Published numbers: {html.escape(DEEPLOC2_CITATION)}.</p>",
        "<h2>Figures</h2>",
    ]
    section = None
    for sec, caption, b64 in images:
        if sec != section:
            parts.append(f"<h3>{html.escape(sec)}</h3>")
            section = sec
        parts.append(
            f"<figure><img alt='{html.escape(caption)}' src='data:image/png;base64,{b64}'>"
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        )
    parts.append("</main></body></html>")
    write_text(out, "\n".join(parts) + "\n")
    md = [f"# locflow evaluation report ({stamp})", ""]
    md += [f"- {r.label}: `{r.folder}`" for r in runs] + [""]
    md += [t.markdown() for t in tables]
    md.append(f"Published numbers: {DEEPLOC2_CITATION}.\n")
    write_text(out.with_suffix(".md"), "\n".join(md))
    return {"runs": [r.label for r in runs], "tables": len(tables), "figures": len(images)}


__all__ = [
    "DEEPLOC2_CITATION",
    "DEEPLOC2_PUBLISHED",
    "Run",
    "Table",
    "run_report",
    "load_run",
    "localization_table",
    "scorings_table",
]
