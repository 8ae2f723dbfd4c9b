"""The `cnn` backbone: a dilated residual CNN on one-hot residues, trained end-to-end.

It needs no pretrained weights, so the whole pipeline runs where none can be downloaded. Every
layer works per position or as a convolution over zero-filled padding, and there is no batch
normalisation, so a protein's output never depends on the other proteins in its batch.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ALPHABET = "ACDEFGHIKLMNPQRSTVWY"
"""The 20 standard residues; token 0 is padding, 1..20 these, 21 everything else (X, U, B...)."""

CNN_CLIP_HALF = 511
"""Residues kept at each end of long sequences: the N- and C-terminal 511, as for ESM (the
clipping rule: docs/architecture.md, "Embeddings")."""

_LOOKUP = np.full(256, len(ALPHABET) + 1, dtype=np.int64)
for _i, _aa in enumerate(ALPHABET):
    _LOOKUP[ord(_aa)] = _i + 1
    _LOOKUP[ord(_aa.lower())] = _i + 1
N_TOKENS = len(ALPHABET) + 2


def encode(sequence: str) -> np.ndarray:
    """Token ids (1..21) for a residue string; non-standard letters become the 'other' token."""
    return _LOOKUP[np.frombuffer(sequence.encode("ascii", "replace"), dtype=np.uint8)]


class ResidualBlock(nn.Module):
    """Pre-norm block: LayerNorm -> GELU -> dilated conv -> LayerNorm -> GELU -> conv, + input."""

    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(channels)
        self.conv1 = nn.Conv1d(
            channels, channels, kernel, dilation=dilation, padding=dilation * (kernel // 2)
        )
        self.norm2 = nn.LayerNorm(channels)
        self.conv2 = nn.Conv1d(channels, channels, 1)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """x [B, L, C] (zero on padding), keep [B, L, 1] float -> [B, L, C]."""
        h = F.gelu(self.norm1(x)) * keep
        h = self.conv1(h.transpose(1, 2)).transpose(1, 2)
        h = F.gelu(self.norm2(h)) * keep
        h = self.conv2(self.dropout(h).transpose(1, 2)).transpose(1, 2)
        return (x + h) * keep


class DilatedResNet(nn.Module):
    """One-hot residues -> width-9 conv -> residual blocks with growing dilation -> [B, L, C]."""

    def __init__(
        self,
        channels: int = 64,
        dilations: tuple[int, ...] = (1, 2, 4, 8, 16),
        kernel: int = 5,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.dim = channels
        self.config = {
            "channels": channels,
            "dilations": list(dilations),
            "kernel": kernel,
            "dropout": dropout,
        }
        self.embed = nn.Conv1d(N_TOKENS - 1, channels, 9, padding=4)
        self.blocks = nn.ModuleList(ResidualBlock(channels, kernel, d, dropout) for d in dilations)
        self.norm = nn.LayerNorm(channels)

    def forward(
        self, tokens: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens [B, L] (0 = padding) -> (hidden [B, L, C], mask [B, L])."""
        if mask is None:
            mask = tokens > 0
        keep = mask[..., None].float()
        # Dropping the padding column of the one-hot leaves padding as all-zero input.
        onehot = F.one_hot(tokens, N_TOKENS)[..., 1:].float()
        x = self.embed(onehot.transpose(1, 2)).transpose(1, 2) * keep
        for block in self.blocks:
            x = block(x, keep)
        return self.norm(x) * keep, mask


__all__ = ["ALPHABET", "CNN_CLIP_HALF", "N_TOKENS", "encode", "DilatedResNet", "ResidualBlock"]
