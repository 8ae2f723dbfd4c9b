"""The `birnn` backbone: a PLUS-RNN-style bidirectional recurrent encoder, trained from scratch.

After Min et al., "Pre-training of deep bidirectional protein sequence representations with
structural information" (PLUS-RNN; IEEE Access 2021): residues are embedded and read by a
stack of bidirectional recurrent layers (PLUS-RNN: LSTMs); the forward and backward states of
the last layer, concatenated, are the per-residue representation. Here the cell is a GRU by
default (`cell: lstm` gives PLUS-RNN's), the stack is small, and there is no pretraining: the
weights are learned on the localization task, and the output (layer-normed) feeds the DeepLoc
head like the `cnn`'s.

Sequences are packed by length, so the backward direction of each protein starts at its own
last residue, never at padding: a protein's output does not depend on the rest of its batch.
The recurrence runs in float32 even under autocast (recurrent kernels in bf16 lose accuracy
over a thousand steps and are not available everywhere).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from locflow.models.cnn import N_TOKENS

DEFAULTS: dict[str, object] = {
    "embed": 32,
    "hidden": 128,
    "layers": 2,
    "cell": "gru",
    "dropout": 0.1,
}
"""Shape of the default model: about 0.5 M parameters with the head (2 MB a fold)."""


class BiRNN(nn.Module):
    """Tokens -> embedding -> bidirectional GRU/LSTM stack -> [B, L, 2 * hidden]."""

    def __init__(
        self,
        embed: int = 32,
        hidden: int = 128,
        layers: int = 2,
        cell: str = "gru",
        dropout: float = 0.1,
    ) -> None:
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise ValueError(f"birnn cell must be gru or lstm, not {cell!r}")
        self.dim = 2 * hidden
        self.embed = nn.Embedding(N_TOKENS, embed, padding_idx=0)
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.rnn = rnn(
            embed,
            hidden,
            num_layers=layers,
            bidirectional=True,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(2 * hidden)

    @classmethod
    def from_config(cls, config: dict[str, object]) -> BiRNN:
        """Build from a config dict with the keys of `DEFAULTS` (missing keys: defaults)."""
        c = {**DEFAULTS, **config}
        return cls(
            int(c["embed"]), int(c["hidden"]), int(c["layers"]), str(c["cell"]), float(c["dropout"])
        )

    def forward(
        self, tokens: torch.Tensor, mask: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens [B, L] (0 = padding) -> (hidden [B, L, 2 * hidden], mask [B, L])."""
        if mask is None:
            mask = tokens > 0
        lengths = mask.sum(1).clamp(min=1).cpu()
        x = self.dropout(self.embed(tokens))
        with torch.autocast(tokens.device.type, enabled=False):
            packed = pack_padded_sequence(
                x.float(), lengths, batch_first=True, enforce_sorted=False
            )
            out, _ = self.rnn(packed)
            out, _ = pad_packed_sequence(out, batch_first=True, total_length=tokens.shape[1])
            out = self.norm(self.dropout(out))
        return out * mask[..., None].to(out.dtype), mask


__all__ = ["DEFAULTS", "BiRNN"]
