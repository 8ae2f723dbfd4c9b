"""The per-protein attention figure (`locflow predict --plots`, and the report's examples), and
the figure style every locflow figure shares (matplotlib, headless Agg backend).

Every figure is drawn into a PNG file and closed (`save_figure`), so thousands of per-protein
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


def save_figure(fig: Any, path: str | Path) -> Path:
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
        return save_figure(fig, path)


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


__all__ = ["ACCENT", "MUTED", "SIGNAL_COLORS", "STYLE", "attention_plot", "save_figure"]
