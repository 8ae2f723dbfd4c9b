"""The ensemble of fold models: their probabilities averaged, the mean of their thresholds.

`load_ensemble` loads every fold model of a model folder; `Ensemble.predict` runs normalised
sequences through all of them in length-sorted batches within a padded-token budget, and
`Ensemble.labels` applies the predictor rule (locflow.models.head.probabilities_to_labels).
Each output's threshold is the mean of the fold thresholds, each chosen on that fold's
validation set. Between batches the heap's freed pages go back to the system
(`release_free_memory`), so that predicting many proteins does not grow the process.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from locflow import runtime
from locflow.data.classes import LOCATIONS, PROBABILITY_COLUMNS, SIGNAL_COLUMNS, SIGNALS
from locflow.errors import InputError

DEFAULT_TOKENS_PER_BATCH = 16384


@dataclass
class EnsembleOutput:
    """Averaged outputs for a list of sequences, in their order."""

    probabilities: np.ndarray  # [N, 11]
    signals: np.ndarray  # [N, 9]
    attention: list[np.ndarray]  # per protein, full length


@dataclass
class Ensemble:
    """Fold models whose probabilities are averaged, with the mean of their thresholds."""

    models: list[tuple[Any, dict[str, Any]]]
    folds: list[int]
    thresholds: np.ndarray  # [11]
    signal_thresholds: np.ndarray  # [9]
    embeddings: Any = None
    backbones: dict[tuple[str, str | None], Any] = field(default_factory=dict)

    @property
    def clip_half(self) -> int | None:
        """Residues kept at each end of long sequences (the largest of the folds)."""
        halves = [c.get("clip_half") for _, c in self.models]
        return None if any(h is None for h in halves) else max(halves)

    def clipped_length(self, length: int) -> int:
        """Residues the model actually reads for a sequence of `length`."""
        half = self.clip_half
        return length if half is None else min(length, 2 * half)

    def predict(
        self, sequences: Sequence[str], tokens_per_batch: int = DEFAULT_TOKENS_PER_BATCH
    ) -> EnsembleOutput:
        """Run all fold models on normalised sequences (length-sorted token batches)."""
        from locflow.models.batches import token_batches

        n = len(sequences)
        probs = np.zeros((n, len(PROBABILITY_COLUMNS)), dtype=np.float64)
        sig = np.zeros((n, len(SIGNAL_COLUMNS)), dtype=np.float64)
        attention: list[np.ndarray] = [np.zeros(0, dtype=np.float32)] * n
        lengths = [self.clipped_length(len(s)) for s in sequences]
        for idx in token_batches(lengths, tokens_per_batch):
            seqs = [sequences[i] for i in idx]
            p, s, a = self._predict_batch(seqs)
            release_free_memory(TRIM_SLACK)
            runtime.advance(len(idx))
            probs[idx], sig[idx] = p, s
            for i, att in zip(idx, a, strict=True):
                attention[i] = att
        return EnsembleOutput(probs, sig, attention)

    def _predict_batch(self, seqs: list[str]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        from locflow.models.checkpoint import input_kind, predict_batch

        probs, sig, att = None, None, None
        for model, config in self.models:
            kwargs: dict[str, Any] = {}
            if input_kind(config) == "features":
                if self.embeddings is not None:
                    kwargs["embeddings"] = [self._embedding(s) for s in seqs]
                else:
                    kwargs["backbone"] = self._backbone(config, model)
            out = predict_batch(model, config, seqs, **kwargs)
            if probs is None:
                probs, sig, att = out.probabilities, out.signals, list(out.attention)
            else:
                probs = probs + out.probabilities
                sig = sig + out.signals
                att = [a + b for a, b in zip(att, out.attention, strict=True)]
        k = len(self.models)
        assert probs is not None and sig is not None and att is not None
        return probs / k, sig / k, [a / k for a in att]

    def _embedding(self, sequence: str) -> np.ndarray:
        if sequence not in self.embeddings:
            raise InputError("embeddings file lacks a predicted sequence; run locflow embed")
        return self.embeddings.get(sequence)

    def _backbone(self, config: dict[str, Any], model: Any) -> Any:
        """One frozen backbone per (name, checkpoint), shared by the folds."""
        import torch

        key = (config["backbone"], config.get("checkpoint"))
        if key not in self.backbones:
            from locflow.models.backbones import load_backbone

            device = next(model.parameters()).device
            self.backbones[key] = load_backbone(key[0], key[1], device, torch.float32)
        return self.backbones[key]

    def labels(self, out: EnsembleOutput) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(locations [N, 10], membrane [N], signals [N, 9]) predicted with the thresholds."""
        from locflow.models.head import probabilities_to_labels

        labels = probabilities_to_labels(out.probabilities, self.thresholds)
        signals = out.signals >= self.signal_thresholds
        return labels[:, : len(LOCATIONS)], labels[:, len(LOCATIONS)], signals


def load_ensemble(
    model_dir: str | Path,
    device: str = "auto",
    folds: Iterable[int] | None = None,
    embeddings: str | Path | None = None,
) -> Ensemble:
    """Load every fold model found in `model_dir` (fold<k>/), or only `folds`."""
    from locflow.models.checkpoint import list_folds, load_fold
    from locflow.runtime import resolve_device

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise InputError(f"{model_dir}: model folder not found")
    listed = list_folds(model_dir)
    if not listed:
        raise InputError(f"{model_dir}: no trained fold (fold<k>/config.json + weights) in it")
    wanted = None if folds is None else set(folds)
    chosen = [f for f in listed if wanted is None or f["fold"] in wanted]
    if not chosen:
        asked = sorted(wanted or [])
        raise InputError(f"{model_dir}: no fold model to use (asked for folds {asked})")
    dev = resolve_device(device)
    models = [load_fold(model_dir / f["path"], dev) for f in chosen]
    thresholds = np.mean([[c["thresholds"][o] for o in PROBABILITY_COLUMNS] for _, c in models], 0)
    signal_thr = np.mean(
        [[c.get("signal_thresholds", {}).get(s, 0.5) for s in SIGNALS] for _, c in models], 0
    )
    store = None
    if embeddings is not None:
        from locflow.models.embed import EmbeddingStore

        store = EmbeddingStore(embeddings)
    return Ensemble(models, [c["fold"] for _, c in models], thresholds, signal_thr, store)


def release_free_memory(slack: int = 0) -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim), if the resident
    size is more than `slack` bytes above what it was after the last trim.

    Called with no slack after each chunk, and with TRIM_SLACK after each batch. Each batch
    allocates and frees tensors and arrays, and with torch's oneDNN convolutions (which keep
    kernels cached per input shape) the heap fragments: freed pages stay resident and later
    allocations land on other pages. Trimmed only per chunk, the resident size reached within
    a chunk grew chunk after chunk (from about 55 to 125 MB above the trimmed size over the
    26 chunks of a 100,000-protein run; flat with oneDNN switched off, which predicts 3x
    slower), so the peak grew with the number of proteins (docs/benchmarks.md, prediction
    memory). A no-op where glibc or /proc is absent.
    """
    global _TRIM, _TRIMMED_AT
    if _TRIM is None:
        import ctypes
        import ctypes.util

        try:
            _TRIM = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    if not _TRIM:
        return
    if slack:
        now = _resident_bytes()
        if now is None or now - _TRIMMED_AT <= slack:
            return
    _TRIM(0)
    _TRIMMED_AT = _resident_bytes() or 0


def _resident_bytes() -> int | None:
    """This process's resident set size from /proc (None where there is no /proc)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


TRIM_SLACK = 32 * 2**20
"""Freed heap memory a chunk may keep resident between batches before it is trimmed."""
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_TRIMMED_AT = 0
_TRIM: Any = None


__all__ = [
    "DEFAULT_TOKENS_PER_BATCH",
    "TRIM_SLACK",
    "Ensemble",
    "EnsembleOutput",
    "load_ensemble",
    "release_free_memory",
]
