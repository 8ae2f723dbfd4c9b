"""The composition peer: a logistic regression on amino-acid composition whose probabilities a
fold model may blend into its own (docs/model.md).

A from-scratch network trained for a few epochs on a CPU learns the frequent locations well and
the rare ones (Golgi, Lysosome/Vacuole, ER) barely; the composition of a protein and of its
ends separates those better. A fold that carries a peer (config.json `composition_peer`)
outputs `(1 - weight) x network + weight x peer` for the ten locations and the membrane
output; the weight is chosen on the fold's validation proteins (locflow.training.peer).
Prediction needs numpy only: the peer is its scaler and coefficients, stored in the config.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from locflow.errors import InputError

AMINO_ACIDS = "ACDEFGHIKLMNPQRSTVWY"
END_RESIDUES = 50
# Composition of the whole sequence, of its first and of its last END_RESIDUES, log length.
FEATURES = 3 * len(AMINO_ACIDS) + 1

_INDEX = np.full(256, -1, dtype=np.int64)
_INDEX[[ord(a) for a in AMINO_ACIDS]] = np.arange(len(AMINO_ACIDS))


def _composition(sequence: str) -> np.ndarray:
    """Fractions of the 20 standard residues (others ignored; zeros for none)."""
    idx = _INDEX[np.frombuffer(sequence.encode("ascii", "replace"), dtype=np.uint8)]
    idx = idx[idx >= 0]
    return np.bincount(idx, minlength=len(AMINO_ACIDS)) / max(len(idx), 1)


def composition_features(sequences: Sequence[str]) -> np.ndarray:
    """[N, FEATURES]: composition of each whole sequence, of its two 50-residue ends, log length."""
    rows = np.zeros((len(sequences), FEATURES))
    for i, s in enumerate(sequences):
        rows[i] = np.concatenate(
            [
                _composition(s),
                _composition(s[:END_RESIDUES]),
                _composition(s[-END_RESIDUES:]),
                [np.log(max(len(s), 1))],
            ]
        )
    return rows


def mix(network: np.ndarray, peer: np.ndarray, weight: float) -> np.ndarray:
    """`(1 - weight) x network + weight x peer`: a fold's outputs from the two probabilities."""
    return (1 - weight) * network + weight * peer


@dataclass
class CompositionPeer:
    """Standardised composition features -> one logistic regression per output, and the weight
    its probabilities get in a fold's blend."""

    mean: np.ndarray  # [FEATURES]
    scale: np.ndarray  # [FEATURES]
    coef: np.ndarray  # [outputs, FEATURES]
    intercept: np.ndarray  # [outputs]
    weight: float = 0.0

    def probabilities(self, sequences: Sequence[str]) -> np.ndarray:
        """[N, outputs] probabilities of the peer alone."""
        x = (composition_features(sequences) - self.mean) / self.scale
        return 1.0 / (1.0 + np.exp(-(x @ self.coef.T + self.intercept)))

    def blend(self, probabilities: np.ndarray, sequences: Sequence[str]) -> np.ndarray:
        """The fold's outputs: the network's `probabilities` [N, outputs] mixed with the peer's."""
        if self.weight == 0:
            return probabilities
        return mix(probabilities, self.probabilities(sequences), self.weight)

    def as_dict(self) -> dict[str, Any]:
        """config.json's `composition_peer` (plain lists)."""
        return {
            "features": f"composition of the whole sequence and of its first and last "
            f"{END_RESIDUES} residues ({AMINO_ACIDS}), log length",
            "weight": float(self.weight),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }

    @classmethod
    def from_dict(cls, stored: Mapping[str, Any], outputs: int, where: str) -> CompositionPeer:
        """The peer stored in a config; InputError naming `where` when it is malformed."""
        try:
            peer = cls(
                mean=np.asarray(stored["mean"], dtype=np.float64),
                scale=np.asarray(stored["scale"], dtype=np.float64),
                coef=np.asarray(stored["coef"], dtype=np.float64),
                intercept=np.asarray(stored["intercept"], dtype=np.float64),
                weight=float(stored["weight"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"{where}: malformed composition_peer ({exc!r})") from exc
        shapes = [
            (peer.mean.shape, (FEATURES,)),
            (peer.scale.shape, (FEATURES,)),
            (peer.coef.shape, (outputs, FEATURES)),
            (peer.intercept.shape, (outputs,)),
        ]
        if any(got != want for got, want in shapes):
            raise InputError(f"{where}: composition_peer arrays have the wrong shapes")
        values = [peer.mean, peer.scale, peer.coef, peer.intercept, np.array([peer.weight])]
        if not all(np.isfinite(v).all() for v in values) or (peer.scale <= 0).any():
            raise InputError(f"{where}: composition_peer holds NaN, infinite or zero-scale values")
        if not 0 <= peer.weight <= 1:
            raise InputError(f"{where}: composition_peer weight must be within 0 and 1")
        return peer


__all__ = ["FEATURES", "CompositionPeer", "composition_features", "mix"]
