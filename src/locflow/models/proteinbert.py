"""The `proteinbert` backbone: ProteinBERT's two-track architecture, trained from scratch.

After Brandes et al., "ProteinBERT: a universal deep-learning model of protein sequence and
function" (Bioinformatics 2022): a *local* track holds one vector per residue and a *global*
track one vector per protein. Every block

- widens the local track with two 1-D convolutions over the residues, a narrow one (kernel 9)
  and a dilated one (kernel 9, dilation 5), plus the global vector broadcast to every residue
  through a dense layer; sum, layer norm, a position-wise dense layer with a skip, layer norm;
- updates the global vector with a dense layer and *global attention*: each head's query
  comes from the global vector, keys and values from the residues, so the protein vector reads
  a weighted summary of its sequence; sum, layer norm, dense with a skip, layer norm.

ProteinBERT's global input is a protein's GO annotations; locflow has none to give, so the
global track starts from a learned vector (what the paper's dense input layer gives an
unannotated protein). The per-residue output (the last local track, layer-normed) feeds the
DeepLoc head like the `cnn`'s. No pretraining: the weights are learned on the localization task.

As in `locflow.models.cnn`, padding is zero before every convolution, attention ignores it and there
is no batch normalisation, so a protein's output does not depend on the rest of its batch.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from locflow.models.cnn import N_TOKENS

DEFAULTS: dict[str, object] = {
    "local": 64,
    "global": 128,
    "blocks": 4,
    "kernel": 9,
    "dilation": 5,
    "heads": 4,
    "key_dim": 32,
    "dropout": 0.1,
}
"""Shape of the default model: ProteinBERT's kernels and dilation, ProteinBERT's 128-wide local
track halved and its 512-wide global one quartered, 4 blocks instead of 6, so that five folds
ship in under 20 MB (about 0.64 M parameters with the head, 2.6 MB a fold)."""


class GlobalAttention(nn.Module):
    """One query per head from the global vector over keys/values from every residue."""

    def __init__(self, local: int, width: int, heads: int, key_dim: int) -> None:
        super().__init__()
        if width % heads:
            raise ValueError(f"global width {width} is not a multiple of {heads} heads")
        self.heads, self.key_dim, self.value_dim = heads, key_dim, width // heads
        self.query = nn.Linear(width, heads * key_dim, bias=False)
        self.key = nn.Linear(local, heads * key_dim, bias=False)
        self.value = nn.Linear(local, width, bias=False)

    def forward(self, x: torch.Tensor, g: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x [B, L, local], g [B, width], mask [B, L] bool -> [B, width]."""
        batch, length, _ = x.shape
        q = torch.tanh(self.query(g)).view(batch, self.heads, self.key_dim)
        k = torch.tanh(self.key(x)).view(batch, length, self.heads, self.key_dim)
        v = F.gelu(self.value(x)).view(batch, length, self.heads, self.value_dim)
        scores = torch.einsum("bhd,blhd->bhl", q, k).float() / math.sqrt(self.key_dim)
        weights = torch.softmax(scores.masked_fill(~mask[:, None, :], float("-inf")), dim=-1)
        out = torch.einsum("bhl,blhd->bhd", weights.to(v.dtype), v)
        return out.reshape(batch, self.heads * self.value_dim)


class ProteinBertBlock(nn.Module):
    """One block: local convolutions + global broadcast, then global dense + global attention."""

    def __init__(
        self,
        local: int,
        width: int,
        kernel: int,
        dilation: int,
        heads: int,
        key_dim: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.narrow = nn.Conv1d(local, local, kernel, padding=kernel // 2)
        self.wide = nn.Conv1d(
            local, local, kernel, dilation=dilation, padding=dilation * (kernel // 2)
        )
        self.broadcast = nn.Linear(width, local)
        self.local_norm1 = nn.LayerNorm(local)
        self.local_dense = nn.Linear(local, local)
        self.local_norm2 = nn.LayerNorm(local)
        self.global_dense1 = nn.Linear(width, width)
        self.attention = GlobalAttention(local, width, heads, key_dim)
        self.global_norm1 = nn.LayerNorm(width)
        self.global_dense2 = nn.Linear(width, width)
        self.global_norm2 = nn.LayerNorm(width)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self, x: torch.Tensor, g: torch.Tensor, keep: torch.Tensor, mask: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x [B, L, local] (zero on padding), g [B, width] -> updated (x, g)."""
        xt = x.transpose(1, 2)
        h = (
            x
            + F.gelu(self.narrow(xt)).transpose(1, 2)
            + F.gelu(self.wide(xt)).transpose(1, 2)
            + F.gelu(self.broadcast(g))[:, None, :]
        )
        h = self.local_norm1(h)
        h = self.local_norm2(h + F.gelu(self.local_dense(self.dropout(h)))) * keep
        a = g + F.gelu(self.global_dense1(g)) + self.attention(h, g, mask)
        a = self.global_norm1(a)
        a = self.global_norm2(a + F.gelu(self.global_dense2(self.dropout(a))))
        return h, a


class ProteinBert(nn.Module):
    """Tokens -> embedding -> ProteinBERT blocks -> per-residue vectors [B, L, local]."""

    def __init__(
        self,
        local: int = 64,
        width: int = 128,
        blocks: int = 4,
        kernel: int = 9,
        dilation: int = 5,
        heads: int = 4,
        key_dim: int = 32,
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        self.dim = local
        self.embed = nn.Embedding(N_TOKENS, local, padding_idx=0)
        self.global_start = nn.Parameter(torch.zeros(width))
        self.blocks = nn.ModuleList(
            ProteinBertBlock(local, width, kernel, dilation, heads, key_dim, dropout)
            for _ in range(blocks)
        )
        self.norm = nn.LayerNorm(local)

    @classmethod
    def from_config(cls, config: dict[str, object]) -> ProteinBert:
        """Build from a config dict with the keys of `DEFAULTS` (missing keys: defaults)."""
        c = {**DEFAULTS, **config}
        return cls(
            int(c["local"]),
            int(c["global"]),
            int(c["blocks"]),
            int(c["kernel"]),
            int(c["dilation"]),
            int(c["heads"]),
            int(c["key_dim"]),
            float(c["dropout"]),
        )

    def forward(
        self, tokens: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens [B, L] (0 = padding) -> (hidden [B, L, local], mask [B, L])."""
        if mask is None:
            mask = tokens > 0
        keep = mask[..., None].to(self.global_start.dtype)
        x = self.embed(tokens) * keep
        g = self.global_start.expand(tokens.shape[0], -1)
        for block in self.blocks:
            x, g = block(x, g, keep, mask)
        return self.norm(x) * keep, mask


__all__ = ["DEFAULTS", "GlobalAttention", "ProteinBert", "ProteinBertBlock"]
