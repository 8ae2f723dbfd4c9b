"""Fit a fold's composition peer on its training proteins and choose the peer's weight in the
blend on its validation proteins (locflow.models.composition; docs/model.md)."""

from __future__ import annotations

from typing import Any

import numpy as np

from locflow.data.classes import LOCATIONS
from locflow.models.composition import CompositionPeer, composition_features, mix
from locflow.training.split import Dataset
from locflow.training.thresholds import choose_thresholds

# Peer weights tried; 0 (the network alone) is always among them.
PEER_WEIGHTS = np.round(np.arange(0.0, 0.51, 0.1), 2)


def fit_peer(sequences: list[str], targets: np.ndarray) -> CompositionPeer:
    """One class-balanced logistic regression per output on standardised composition features
    (weight 0: the blend is chosen later). An output with one label value in the data gets a
    constant probability (no coefficients)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = composition_features(sequences)
    scaler = StandardScaler().fit(x)
    xs = scaler.transform(x)
    outputs = targets.shape[1]
    coef = np.zeros((outputs, x.shape[1]))
    intercept = np.zeros(outputs)
    for j in range(outputs):
        y = targets[:, j] > 0.5
        if y.all() or not y.any():
            intercept[j] = 20.0 if y.all() else -20.0
            continue
        clf = LogisticRegression(max_iter=500, class_weight="balanced").fit(xs, y)
        coef[j], intercept[j] = clf.coef_[0], clf.intercept_[0]
    return CompositionPeer(scaler.mean_, scaler.scale_, coef, intercept)


def choose_peer_weight(
    peer: CompositionPeer, val_probs: np.ndarray, val: Dataset
) -> tuple[CompositionPeer, dict[str, Any], np.ndarray]:
    """The peer with the weight of PEER_WEIGHTS whose blend scores the best mean MCC over the
    ten locations on the validation proteins, each at the thresholds locflow's rule fits there
    (the rule the attention weights were chosen by); ties go to the smaller weight. Returns
    the peer, the report and the chosen blend of `val_probs`."""
    peer_probs = peer.probabilities(val.sequences)
    scores, blends = {}, {}
    for w in PEER_WEIGHTS:
        blends[float(w)] = mix(val_probs, peer_probs, w)
        _, mcc, _ = choose_thresholds(blends[float(w)], val.targets)
        scores[float(w)] = float(np.nanmean(mcc[: len(LOCATIONS)]))
    best = max(scores, key=lambda w: (round(scores[w], 6), -w))
    chosen = CompositionPeer(peer.mean, peer.scale, peer.coef, peer.intercept, best)
    report = {
        "rule": "the weight with the best mean validation MCC over the ten locations, "
        "thresholds fitted on the blend",
        "validation_mean_mcc": {str(w): round(s, 4) for w, s in scores.items()},
        "weight": best,
    }
    return chosen, report, blends[best]


def peer_for_fold(
    train: Dataset, val: Dataset, val_probs: np.ndarray
) -> tuple[CompositionPeer, dict[str, Any], np.ndarray]:
    """The fold's composition peer, fitted on `train`, its weight chosen on `val`; with the
    report and the validation proteins' blended probabilities."""
    return choose_peer_weight(fit_peer(train.sequences, train.targets), val_probs, val)


__all__ = ["PEER_WEIGHTS", "choose_peer_weight", "fit_peer", "peer_for_fold"]
