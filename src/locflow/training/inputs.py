"""Model-ready batches for every backbone kind: residue tokens, stored embeddings, or sequences
run through a frozen backbone on the fly."""

from __future__ import annotations

from typing import Any

import torch

from locflow.errors import InputError, ParameterError
from locflow.models.batches import Batch, make_batch
from locflow.models.checkpoint import input_kind
from locflow.training.settings import FoldConfig, TrainSettings
from locflow.training.split import Dataset


class Inputs:
    """Turns a list of proteins into a model-ready batch for any backbone kind."""

    def __init__(self, config: FoldConfig, device: torch.device, settings: TrainSettings):
        self.kind = input_kind(config.as_dict())
        self.half = config.clip_half
        self.device = device
        self.store = None
        self.frozen = None
        # Token batches built once and reused every epoch (the batches are fixed, only their
        # order changes): building them costs about as much as a GPU step. Keyed by the
        # dataset, which the cache also holds so that its id cannot be reused.
        self._cache: dict[int, tuple[Dataset, dict[tuple[int, ...], Batch]]] = {}
        if self.kind == "features":
            if settings.embeddings:
                from locflow.models.embed import EmbeddingStore

                self.store = EmbeddingStore(settings.embeddings)
            else:
                # No stored embeddings: run the frozen backbone on every batch (slow; `locflow
                # embed` once and --embeddings is the fast path).
                from locflow.models.backbones import load_backbone

                self.frozen = load_backbone(
                    settings.backbone, settings.checkpoint, device, torch.float32
                )

    def dim(self, data: Dataset, backbone: str) -> int:
        """Width of the embeddings that come from outside the model."""
        if self.frozen is not None:
            return int(self.frozen.dim)
        if self.store is not None:
            return int(self.store.get(data.sequences[0]).shape[1])
        raise InputError(f"backbone {backbone}: cannot tell the embedding width")

    def check(self, data: Dataset, what: str) -> None:
        """Every protein must have stored embeddings."""
        if self.store is None:
            return
        for pid, seq in zip(data.ids, data.sequences, strict=True):
            if seq not in self.store:
                raise InputError(f"embeddings file lacks {what} protein {pid}; run locflow embed")

    def batch(self, data: Dataset, idx: list[int]) -> tuple[Any, torch.Tensor, Batch]:
        """Return (model inputs, mask, batch) for the proteins at `idx`."""
        seqs = [data.sequences[i] for i in idx]
        sigs = [data.signals[i] for i in idx]
        if self.store is not None:
            feats = [self.store.get(s) for s in seqs]
            batch = make_batch("features", seqs, half=self.half, features=feats, signals=sigs)
        elif self.frozen is not None:
            batch = make_batch("sequences", seqs, half=self.half, signals=sigs)
        else:
            cached = self._cache.setdefault(id(data), (data, {}))[1]
            batch = cached.get(tuple(idx))
            if batch is None:
                batch = make_batch(self.kind, seqs, half=self.half, signals=sigs)
                cached[tuple(idx)] = batch
        batch = batch.to(self.device)
        if self.frozen is not None:
            with torch.no_grad():
                hidden, mask = self.frozen.forward(batch.inputs)
            return hidden.float(), mask.bool(), batch
        return batch.inputs, batch.mask, batch


def match_store(settings: TrainSettings) -> None:
    """Stored embeddings fix the backbone and the clipping; a mismatch is a ParameterError."""
    from locflow.models.embed import EmbeddingStore

    store = EmbeddingStore(settings.embeddings)
    if store.backbone != settings.backbone:
        raise ParameterError(
            f"{settings.embeddings}: embeddings of {store.backbone}, not `backbone` "
            f"{settings.backbone}"
        )
    if settings.clip_half not in (None, store.clip_half):
        raise InputError(
            f"{settings.embeddings}: embeddings clipped at {store.clip_half}, "
            f"not {settings.clip_half}"
        )
    settings.clip_half = store.clip_half
    store.close()


__all__ = ["Inputs", "match_store"]
