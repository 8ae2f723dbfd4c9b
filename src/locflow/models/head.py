"""The DeepLoc 2.0 head: Gaussian-smoothed attention pooling, 11 outputs, and the signal head.

The model is `encoder -> pooling -> Linear(256 -> 11)` (docs/model.md). The encoder is
optional: with precomputed embeddings the inputs are already per-residue vectors; the
from-scratch backbones (`cnn`, `proteinbert`, `birnn`) and LoRA-tuned transformers are trained
as part of the model. `probabilities_to_labels` is the predictor rule every stage labels with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from locflow.data.classes import LOCATIONS, OUTPUTS, SIGNALS

# 5-tap Gaussian, sigma = 2, normalised to sum to 1.
GAUSSIAN_5: tuple[float, ...] = (0.1525, 0.2218, 0.2514, 0.2218, 0.1525)


def gaussian_smooth(scores: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Smooth per-residue scores [B, L] with the 5-tap Gaussian, repeating each sequence's edges.

    Neighbours past either end of a sequence are its own first or last residue, never padding,
    so a protein's result does not depend on how long the other proteins in its batch are.
    """
    batch, length = scores.shape
    pos = torch.arange(length, device=scores.device)
    last = (lengths.to(scores.device) - 1).clamp(min=0)[:, None]
    out = torch.zeros_like(scores)
    for offset, weight in zip(range(-2, 3), GAUSSIAN_5, strict=True):
        idx = torch.minimum((pos + offset).clamp(min=0)[None, :].expand(batch, length), last)
        out = out + weight * scores.gather(1, idx)
    return out


class ResidueProjection(nn.Module):
    """DeepLoc 2.0's per-residue map: LayerNorm(D) -> Linear(D -> hidden) -> LayerNorm(hidden).

    Its output u_t is what attention both scores and pools; padding rows are zeroed.
    """

    def __init__(self, dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.proj = nn.Linear(dim, hidden)
        self.out_norm = nn.LayerNorm(hidden)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Return u [B, L, hidden] for residue vectors x [B, L, D]."""
        return self.out_norm(self.proj(self.norm(x))).masked_fill(~mask[..., None], 0.0)


class AttentionPooling(nn.Module):
    """u_t -> smoothed dot-product score -> masked softmax -> attention-weighted sum of u_t.

    Scores, smoothing, softmax and the weighted sum run in float32 even under autocast: bf16
    scores put errors of a few percent on the attention, and the cost is small.
    """

    def __init__(self, dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.residues = ResidueProjection(dim, hidden)
        self.query = nn.Parameter(torch.randn(hidden) / hidden**0.5)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return pooled [B, hidden], attention [B, L] and log-attention (-inf on padding)."""
        u = self.residues(x, mask)
        with torch.autocast(u.device.type, enabled=False):
            u = u.float()
            scores = gaussian_smooth(u @ self.query.float(), mask.sum(1))
            log_att = torch.log_softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
            att = log_att.exp()
            pooled = torch.einsum("bl,blh->bh", att, u)
        return pooled, att, log_att


class MeanPooling(nn.Module):
    """The baseline: the same u_t as attention pooling, averaged over residues (uniform weights)."""

    def __init__(self, dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.residues = ResidueProjection(dim, hidden)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return pooled [B, hidden], uniform attention [B, L] and its log (-inf on padding)."""
        u = self.residues(x, mask)
        with torch.autocast(u.device.type, enabled=False):
            u = u.float()
            att = mask.float() / mask.sum(1, keepdim=True).float()
            log_att = torch.log(att)
            pooled = torch.einsum("bl,blh->bh", att, u)
        return pooled, att, log_att


class SignalHead(nn.Module):
    """[pooled ⊕ 11 probabilities] -> Linear -> tanh -> Linear(-> 9 signal logits)."""

    def __init__(self, hidden: int = 256, width: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(hidden + len(OUTPUTS), width), nn.Tanh(), nn.Linear(width, len(SIGNALS))
        )

    def forward(self, pooled: torch.Tensor, probabilities: torch.Tensor) -> torch.Tensor:
        """Return signal logits [B, 9]."""
        return self.net(torch.cat([pooled, probabilities], dim=-1))


@dataclass
class ModelOutput:
    """What one forward pass returns; attention rows are zero (log -inf) on padding."""

    logits: torch.Tensor
    signal_logits: torch.Tensor
    attention: torch.Tensor
    log_attention: torch.Tensor
    pooled: torch.Tensor
    mask: torch.Tensor


class LocModel(nn.Module):
    """Encoder (optional) + pooling + 11-output classifier + signal head."""

    def __init__(
        self,
        dim: int,
        *,
        pooling: str = "attention",
        hidden: int = 256,
        encoder: nn.Module | None = None,
    ) -> None:
        super().__init__()
        if pooling not in ("attention", "mean"):
            raise ValueError(f"pooling must be 'attention' or 'mean', not {pooling!r}")
        self.encoder = encoder
        self.pool = (
            AttentionPooling(dim, hidden) if pooling == "attention" else MeanPooling(dim, hidden)
        )
        self.classifier = nn.Linear(hidden, len(OUTPUTS))
        self.signal_head = SignalHead(hidden)

    def forward(self, inputs: Any, mask: torch.Tensor | None) -> ModelOutput:
        """Run a batch: features [B, L, D], tokens [B, L] or sequences, with mask [B, L]."""
        if self.encoder is not None:
            x, mask = self.encoder(inputs, mask)
        else:
            x = inputs
        assert mask is not None
        pooled, att, log_att = self.pool(x.float(), mask)
        logits = self.classifier(pooled)
        # The signal head is trained second with the rest frozen; detaching keeps its loss from
        # ever reaching the pooling or the backbone.
        signal_logits = self.signal_head(pooled.detach(), torch.sigmoid(logits).detach())
        return ModelOutput(logits, signal_logits, att, log_att, pooled, mask)


class BackboneEncoder(nn.Module):
    """Adapts a `locflow.models.backbones` Backbone (sequences in, per-residue vectors out)."""

    def __init__(self, backbone: Any) -> None:
        super().__init__()
        # Register the transformer exactly once (as `module`) so that its LoRA parameters are
        # part of this model's state; the Backbone object itself is kept unregistered.
        object.__setattr__(self, "backbone", backbone)
        module = backbone if isinstance(backbone, nn.Module) else getattr(backbone, "model", None)
        self.module = module if isinstance(module, nn.Module) else None

    def forward(self, sequences: list[str], mask: Any = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (hidden [B, L, D], mask [B, L]) for clipped residue strings."""
        hidden, out_mask = self.backbone.forward(sequences)
        return hidden, out_mask.bool()


def probabilities_to_labels(probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Location labels: above threshold, or else the single one closest to its threshold."""
    labels = probs >= thresholds
    locs = len(LOCATIONS)
    none = ~labels[:, :locs].any(axis=1)
    if none.any():
        best = np.argmax(probs[:, :locs] / thresholds[:locs], axis=1)
        labels[np.flatnonzero(none), best[none]] = True
    return labels


__all__ = [
    "GAUSSIAN_5",
    "gaussian_smooth",
    "ResidueProjection",
    "AttentionPooling",
    "MeanPooling",
    "SignalHead",
    "LocModel",
    "ModelOutput",
    "BackboneEncoder",
    "probabilities_to_labels",
]
