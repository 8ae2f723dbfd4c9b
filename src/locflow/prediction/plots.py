"""Figures for predictions and reports (matplotlib, headless Agg backend).

Every function draws one figure into a PNG file and closes it, so thousands of per-protein
plots do not accumulate in memory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display on clusters and CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from locflow.data.classes import LOCATIONS, SIGNALS  # noqa: E402
from locflow.data.files import atomic_path  # noqa: E402

# One colour per signal type (colour-blind-friendly Okabe-Ito order, then two extras).
SIGNAL_COLORS = dict(
    zip(
        SIGNALS,
        (
            "#E69F00",
            "#56B4E9",
            "#009E73",
            "#F0E442",
            "#0072B2",
            "#D55E00",
            "#CC79A7",
            "#999999",
            "#882255",
        ),
        strict=True,
    )
)
ACCENT = "#1f5fa8"
MUTED = "#b9c4d0"
STYLE = {
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titleweight": "bold",
    "axes.titlesize": 10,
    "figure.dpi": 110,
}


def _save(fig: Any, path: str | Path) -> Path:
    """Save a figure atomically as PNG and close it."""
    path = Path(path)
    with atomic_path(path) as tmp:
        # tight_layout() already placed everything; bbox_inches="tight" would draw it twice.
        fig.savefig(tmp, format="png", pil_kwargs={"compress_level": 3})
    plt.close(fig)
    return path


def attention_plot(
    sequence: str,
    attention: np.ndarray,
    path: str | Path,
    *,
    title: str = "",
    locations: Mapping[str, float] | None = None,
    predicted: Sequence[str] | None = None,
    signals: Sequence[str] | None = None,
    true_spans: Sequence[Mapping[str, Any]] | None = None,
    thresholds: Mapping[str, float] | None = None,
) -> Path:
    """Attention along the sequence (annotated signal spans shaded), beside location bars.

    `signals` are the predicted signal types (listed on the plot; the model predicts types,
    not positions); `true_spans` are annotated spans {type, start, end} when known. Residues
    clipped out of long sequences (attention exactly 0 in one block) are shaded grey.
    """
    att = np.asarray(attention, dtype=np.float64)
    n = len(att)
    pos = np.arange(1, n + 1)
    with plt.rc_context(STYLE):
        widths = [4.2, 1.6] if locations else [1]
        fig, axes = plt.subplots(
            1, len(widths), figsize=(11, 3.0), gridspec_kw={"width_ratios": widths}
        )
        ax = axes[0] if locations else axes
        for span in true_spans or ():
            color = SIGNAL_COLORS.get(span["type"], MUTED)
            ax.axvspan(span["start"] + 0.5, span["end"] + 0.5, color=color, alpha=0.28, lw=0)
        zero = att == 0
        if zero.any() and not zero.all():
            idx = np.flatnonzero(zero)
            ax.axvspan(idx[0] + 0.5, idx[-1] + 1.5, color="#dddddd", alpha=0.6, lw=0)
            ax.text(
                (idx[0] + idx[-1]) / 2 + 1,
                0.5,
                "clipped",
                transform=ax.get_xaxis_transform(),
                ha="center",
                va="center",
                color="#777777",
            )
        ax.fill_between(pos, att, step="mid", color=ACCENT, alpha=0.25, lw=0)
        ax.plot(pos, att, color=ACCENT, lw=0.9, drawstyle="steps-mid")
        ax.axhline(1.0 / max(n, 1), color="#888888", lw=0.8, ls="--")
        ax.set_xlim(0.5, n + 0.5)
        ax.set_ylim(0, max(att.max() * 1.15, 2.0 / max(n, 1)))
        ax.set_ylabel("attention")
        if n <= 60:
            ax.set_xticks(pos, list(sequence), fontsize=7, family="monospace")
        else:
            ax.set_xlabel("residue")
        # Say what the curve means to a reader who has not met attention pooling.
        what = "residues the model weighed most to predict the location (attention)"
        ax.set_title(f"{title}: {what}" if title else what.capitalize(), loc="left", pad=16)
        handles = [
            Patch(color=SIGNAL_COLORS.get(t, MUTED), alpha=0.5, label=f"{t} (annotated)")
            for t in dict.fromkeys(s["type"] for s in true_spans or ())
        ]
        handles.append(
            plt.Line2D([], [], color="#888888", ls="--", lw=0.8, label="every residue equal")
        )
        ax.legend(handles=handles, loc="upper right", frameon=False, fontsize=7, ncols=2)
        text = "predicted signals: " + (", ".join(signals) if signals else "none")
        ax.text(
            0.0,
            1.01,
            text,
            transform=ax.transAxes,
            ha="left",
            va="bottom",
            fontsize=8,
            color="#444444",
        )
        if locations:
            _location_bars(axes[1], locations, predicted or [], thresholds)
        fig.tight_layout()
        return _save(fig, path)


def _location_bars(
    ax: Any,
    probabilities: Mapping[str, float],
    predicted: Sequence[str],
    thresholds: Mapping[str, float] | None,
) -> None:
    names = [c for c in LOCATIONS if c in probabilities]
    values = [probabilities[c] for c in names]
    colors = [ACCENT if c in predicted else MUTED for c in names]
    y = np.arange(len(names))[::-1]
    ax.barh(y, values, color=colors, height=0.7)
    if thresholds:
        for yi, c in zip(y, names, strict=True):
            if c in thresholds:
                ax.plot([thresholds[c]] * 2, [yi - 0.4, yi + 0.4], color="#333333", lw=1)
    ax.set_yticks(y, names, fontsize=7)
    ax.set_xlim(0, 1)
    ax.set_xlabel("probability (blue: predicted" + (", | threshold)" if thresholds else ")"))
    ax.set_title("Location probabilities", loc="left")
    # The fallback rule: with no location at or above its threshold, the predictor names the
    # one closest to it (highest probability / threshold). Say so where it marked one.
    fallback = [
        c for c in predicted if thresholds and c in thresholds and probabilities[c] < thresholds[c]
    ]
    if fallback:
        ax.text(
            0.0,
            -0.42,
            f"{', '.join(fallback)}: below its threshold; no location reached one, so the\n"
            "closest (highest probability / threshold) is predicted",
            transform=ax.transAxes,
            fontsize=6.5,
            color="#444444",
            va="top",
        )


def mcc_bars(
    runs: Mapping[str, Mapping[str, tuple[float, float | None]]],
    path: str | Path,
    *,
    title: str = "MCC per location",
    metric: str = "MCC",
) -> Path:
    """Grouped bars: for each run (legend), value ± error per class (x axis)."""
    classes = [c for c in LOCATIONS if any(c in r for r in runs.values())]
    palette = [ACCENT, "#e07b39", "#3a9a5b", "#8e5fb0", "#777777"]
    with plt.rc_context(STYLE):
        fig, ax = plt.subplots(figsize=(10, 3.4))
        width = 0.8 / max(len(runs), 1)
        x = np.arange(len(classes))
        for k, (name, values) in enumerate(runs.items()):
            vals = [values.get(c, (np.nan, None))[0] for c in classes]
            errs = [values.get(c, (np.nan, None))[1] or 0.0 for c in classes]
            offset = (k - (len(runs) - 1) / 2) * width
            ax.bar(
                x + offset,
                vals,
                width * 0.92,
                yerr=errs,
                label=name,
                color=palette[k % len(palette)],
                capsize=2,
                error_kw={"lw": 0.8},
            )
        # One word per line ("Lysosome/Vacuole" too): the longest line is 13 letters, narrower
        # than a class's slot, so neighbouring names never overlap.
        names = [c.replace("/", "/\n").replace(" ", "\n") for c in classes]
        ax.set_xticks(x, names, fontsize=7.5)
        ax.set_ylabel(metric)
        lows = [v[0] - (v[1] or 0.0) for r in runs.values() for v in r.values()]
        ax.set_ylim(min([0.0, *lows]) - 0.05, 1.0)
        ax.axhline(0, color="#444444", lw=0.6)
        ax.grid(axis="y", color="#eeeeee")
        ax.set_axisbelow(True)
        ax.legend(frameon=False, fontsize=8, ncols=max(1, len(runs)))
        ax.set_title(title, loc="left")
        fig.tight_layout()
        return _save(fig, path)


def cooccurrence_plot(
    true_labels: np.ndarray, pred_labels: np.ndarray, path: str | Path, *, title: str = ""
) -> Path:
    """Heatmaps of label co-occurrence (proteins with both labels), truth beside prediction."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
        for ax, labels, name in zip(
            axes, (true_labels, pred_labels), ("annotated", "predicted"), strict=True
        ):
            m = labels.astype(np.int64)
            counts = m.T @ m
            shown = np.log10(counts + 1)
            ax.imshow(shown, cmap="Blues", vmin=0, vmax=max(shown.max(), 1))
            for i in range(len(LOCATIONS)):
                for j in range(len(LOCATIONS)):
                    color = "white" if shown[i, j] > 0.6 * shown.max() else "#333333"
                    ax.text(
                        j, i, str(counts[i, j]), ha="center", va="center", fontsize=6.5, color=color
                    )
            short = [
                c.replace("Endoplasmic reticulum", "ER").replace("Golgi apparatus", "Golgi")
                for c in LOCATIONS
            ]
            ax.set_xticks(range(len(LOCATIONS)), short, rotation=45, ha="right", fontsize=7)
            ax.set_yticks(range(len(LOCATIONS)), short, fontsize=7)
            ax.set_title(f"{name} labels", loc="left")
            for side in ("left", "bottom"):
                ax.spines[side].set_visible(False)
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
        fig.tight_layout()
        return _save(fig, path)


def threshold_curves(
    probabilities: np.ndarray,
    truth: np.ndarray,
    thresholds: Mapping[str, float],
    path: str | Path,
    *,
    classes: Sequence[str] = LOCATIONS,
    title: str = "",
) -> Path:
    """Per class: MCC and F1 against the decision threshold, the chosen threshold marked."""
    from locflow.training.thresholds import threshold_curve

    grid = np.linspace(0.02, 0.98, 49)
    present = [j for j in range(len(classes)) if 0 < truth[:, j].sum() < len(truth)]
    cols = 5
    rows = max(1, (len(present) + cols - 1) // cols)
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(rows, cols, figsize=(12, 2.3 * rows), sharey=True, squeeze=False)
        for ax in axes.flat[len(present) :]:
            ax.set_visible(False)
        for ax, j in zip(axes.flat, present, strict=False):
            curve = threshold_curve(truth[:, j], probabilities[:, j], grid)
            mcc, f1 = curve["mcc"], curve["f1"]
            ax.plot(grid, mcc, color=ACCENT, lw=1.3, label="MCC")
            ax.plot(grid, f1, color="#e07b39", lw=1.0, ls="--", label="F1")
            t = thresholds.get(classes[j])
            if t is not None:
                ax.axvline(t, color="#333333", lw=0.8, ls=":")
            ax.set_title(classes[j], loc="left", fontsize=8.5)
            ax.set_xlim(0, 1)
            ax.set_ylim(-0.05, 1.0)
            ax.grid(color="#f0f0f0")
        axes.flat[0].legend(frameon=False, fontsize=7, loc="lower left")
        for ax in axes[-1]:
            ax.set_xlabel("threshold")
        if title:
            fig.suptitle(title, x=0.01, ha="left", fontweight="bold")
        fig.tight_layout()
        return _save(fig, path)


__all__ = [
    "SIGNAL_COLORS",
    "attention_plot",
    "cooccurrence_plot",
    "mcc_bars",
    "threshold_curves",
]
