"""The second training stage: the sorting-signal head, fitted after the main model with
everything else frozen, on the proteins with annotated signals only."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch

from locflow.data.classes import SIGNALS
from locflow.data.files import rounded
from locflow.models.head import LocModel
from locflow.models.losses import signal_bce
from locflow.training.settings import TrainSettings
from locflow.training.split import Dataset
from locflow.training.thresholds import mcc_thresholds


def _signal_targets(data: Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Rows with any annotated signal, and their 9-type presence matrix."""
    has = np.array([bool(s) for s in data.signals])
    y = np.zeros((len(data), len(SIGNALS)), dtype=np.float32)
    for i, spans in enumerate(data.signals):
        for sp in spans:
            y[i, SIGNALS.index(sp["type"])] = 1.0
    return has, y


def train_signal_head(
    model: LocModel,
    train_feats: tuple[np.ndarray, np.ndarray],
    train_data: Dataset,
    val_feats: tuple[np.ndarray, np.ndarray],
    val_data: Dataset,
    settings: TrainSettings,
) -> dict[str, Any]:
    """Second stage: fit the signal head on signal-annotated proteins, the rest frozen.

    Like DeepLoc 2.0, only proteins with at least one annotated signal are used (an absent
    annotation is unknown, not negative), and the BCE weighs positives by DeepLoc's per-type
    weights (`locflow.models.losses.signal_bce`). Full-batch Adam with early stopping on validation.
    """
    has_tr, y_tr = _signal_targets(train_data)
    has_va, y_va = _signal_targets(val_data)
    report: dict[str, Any] = {
        "trained": False,
        "train": int(has_tr.sum()),
        "val": int(has_va.sum()),
    }
    if has_tr.sum() < 2 or has_va.sum() < 1:
        return report
    device = next(model.parameters()).device
    head = model.signal_head
    torch.manual_seed(settings.seed)

    def tensors(feats: tuple[np.ndarray, np.ndarray], has: np.ndarray) -> list[torch.Tensor]:
        probs, pooled = feats
        return [torch.from_numpy(a[has]).to(device) for a in (pooled, probs)]

    xtr, ytr = tensors(train_feats, has_tr), torch.from_numpy(y_tr[has_tr]).to(device)
    xva, yva = tensors(val_feats, has_va), torch.from_numpy(y_va[has_va]).to(device)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    best, best_state, bad = float("inf"), copy.deepcopy(head.state_dict()), 0
    for _ in range(settings.signal_epochs):
        head.train()
        opt.zero_grad()
        signal_bce(head(*xtr), ytr).backward()
        opt.step()
        head.eval()
        with torch.no_grad():
            val = float(signal_bce(head(*xva), yva))
        if val < best - 1e-5:
            best, best_state, bad = val, copy.deepcopy(head.state_dict()), 0
        else:
            bad += 1
            if bad >= 20:
                break
    head.load_state_dict(best_state)
    with torch.no_grad():
        p_va = torch.sigmoid(head(*xva)).cpu().numpy()
    thresholds, mcc = mcc_thresholds(p_va, y_va[has_va])
    report.update(
        trained=True,
        val_loss=best,
        thresholds={s: float(t) for s, t in zip(SIGNALS, thresholds, strict=True)},
        val_mcc={s: rounded(m, 4) for s, m in zip(SIGNALS, mcc, strict=True)},
    )
    return report


__all__ = ["train_signal_head"]
