"""The report's figures: MCC per location, label co-occurrence, threshold curves (matplotlib,
in the style of locflow.prediction.plots, which also draws the attention figure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on clusters and CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from locflow.data.classes import LOCATIONS  # noqa: E402
from locflow.prediction import plots as figures  # noqa: E402
from locflow.prediction.plots import ACCENT, STYLE  # noqa: E402
from locflow.training.thresholds import threshold_curve  # noqa: E402


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
        return figures.save_figure(fig, path)


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
        return figures.save_figure(fig, path)


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
        return figures.save_figure(fig, path)


__all__ = ["cooccurrence_plot", "mcc_bars", "threshold_curves"]
