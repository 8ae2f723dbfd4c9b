"""Padded model inputs for a list of proteins, built the same way for training and prediction:
long sequences clipped to their N- and C-terminal halves (`locflow.models.backbones`), residue
tokens, stored embeddings or sequences, per-residue signal masks, and length-sorted batches
within a padded-token budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from locflow.data.classes import SIGNALS
from locflow.models.backbones import clip_indices, clip_sequence
from locflow.models.cnn import encode


def signal_mask(signals: Sequence[dict[str, Any]], length: int, keep: np.ndarray) -> np.ndarray:
    """Per-type residue mask [9, len(keep)] of annotated signal residues, cut like the sequence."""
    full = np.zeros((len(SIGNALS), length), dtype=bool)
    for sig in signals or ():
        full[SIGNALS.index(sig["type"]), int(sig["start"]) : int(sig["end"])] = True
    return full[:, keep]


@dataclass
class Batch:
    """Padded model inputs for a list of proteins, with the kept positions of each."""

    inputs: Any
    mask: torch.Tensor | None
    keep: list[np.ndarray]
    signal_mask: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> Batch:
        """Move tensors to `device` (sequence lists stay as they are)."""

        def move(t: Any) -> Any:
            return t.to(device) if isinstance(t, torch.Tensor) else t

        return Batch(move(self.inputs), move(self.mask), self.keep, move(self.signal_mask))


def _pad_mask(lengths: list[int]) -> torch.Tensor:
    lens = torch.tensor(lengths)
    return torch.arange(max(lengths))[None, :] < lens[:, None]


def make_batch(
    kind: str,
    sequences: Sequence[str],
    *,
    half: int | None,
    features: Sequence[np.ndarray] | None = None,
    signals: Sequence[Sequence[dict[str, Any]]] | None = None,
) -> Batch:
    """Build a padded batch: kind 'tokens' (residue tokens for a from-scratch backbone; 'cnn'
    is the same), 'features' (embeddings) or 'sequences'.

    Features may be stored clipped ([kept, D]) or full length ([L, D]); either way the residues
    kept are the same as for tokens and sequences, and signal spans are cut the same way.
    """
    keep = [clip_indices(len(s), half) for s in sequences]
    clipped = [clip_sequence(s, half) for s in sequences]
    lengths = [len(k) for k in keep]
    mask: torch.Tensor | None = _pad_mask(lengths)
    if kind in ("tokens", "cnn"):
        tokens = torch.zeros(len(sequences), max(lengths), dtype=torch.long)
        for i, s in enumerate(clipped):
            tokens[i, : len(s)] = torch.from_numpy(encode(s))
        inputs: Any = tokens
    elif kind == "features":
        if features is None:
            raise ValueError("kind 'features' needs features")
        dim = features[0].shape[1]
        inputs = torch.zeros(len(sequences), max(lengths), dim, dtype=torch.float32)
        for i, (feat, k) in enumerate(zip(features, keep, strict=True)):
            if feat.shape[0] == len(sequences[i]) and feat.shape[0] != len(k):
                feat = feat[k]
            if feat.shape[0] != len(k):
                raise ValueError(
                    f"embedding has {feat.shape[0]} rows; sequence {i} keeps {len(k)} residues"
                )
            inputs[i, : len(k)] = torch.from_numpy(np.asarray(feat, dtype=np.float32))
    elif kind == "sequences":
        inputs = clipped
    else:
        raise ValueError(f"unknown batch kind {kind!r}")
    sig = None
    if signals is not None:
        sig = torch.zeros(len(sequences), len(SIGNALS), max(lengths), dtype=torch.bool)
        for i, (spans, k) in enumerate(zip(signals, keep, strict=True)):
            sig[i, :, : len(k)] = torch.from_numpy(signal_mask(spans, len(sequences[i]), k))
    return Batch(inputs, mask, keep, sig)


def token_batches(
    lengths: Sequence[int], tokens_per_batch: int, max_proteins: int | None = None
) -> list[list[int]]:
    """Group indices, sorted by length, into batches of at most `tokens_per_batch` padded tokens.

    With `max_proteins` no batch holds more proteins than that either. A sequence longer than
    the budget gets a batch of its own.
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i))
    cap = len(order) if max_proteins is None else max_proteins
    batches: list[list[int]] = []
    current: list[int] = []
    for i in order:
        # Sorted ascending, so the newest member is the longest: padded size = count * length.
        if current and ((len(current) + 1) * lengths[i] > tokens_per_batch or len(current) >= cap):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


__all__ = ["Batch", "make_batch", "signal_mask", "token_batches"]
