"""Training losses (docs/model.md): focal BCE, attention KL to signals, DCT prior.

    loss = focal_bce(logits, targets) + 0.1 * attention_kl(...) + 0.1 * dct_prior(...)

All three work in float32 whatever the autocast dtype, and ignore padding. The signal head,
trained afterwards, has its own loss: `signal_bce`.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from locflow.data.classes import LOCATIONS, MEMBRANE, SIGNALS

POS_WEIGHTS: dict[str, float] = {
    "Cytoplasm": 1.0,
    "Nucleus": 1.0,
    "Extracellular": 3.0,
    "Cell membrane": 2.3,
    "Mitochondrion": 4.0,
    "Plastid": 9.5,
    "Endoplasmic reticulum": 4.5,
    "Lysosome/Vacuole": 6.6,
    "Golgi apparatus": 7.7,
    "Peroxisome": 32.0,
    MEMBRANE: 1.0,
}
"""Positive-class weights of the 11 outputs (rare classes count more)."""

SIGNAL_WEIGHTS: dict[str, float] = {
    "SP": 0.23,
    "TM": 0.92,
    "MT": 0.98,
    "CH": 2.63,
    "TH": 5.64,
    "NLS": 1.60,
    "NES": 2.37,
    "PTS": 1.87,
    "GPI": 2.03,
}
"""DeepLoc 2.0's per-type signal weights: inverse type frequency, mean 1.

On DeepLoc's 1,874 annotated proteins the types occur SP 1011, TM 258, MT 242, CH 90, TH 42,
NLS 148, NES 100, PTS 127, GPI 117 times (2,135 in all); each weight is (2135 / 9) / count
within 0.01. They weight the attention KL term and are the signal head's positive weights.
"""

KL_WEIGHT = 0.1
DCT_WEIGHT = 0.1
FOCAL_GAMMA = 1.0
DCT_PAD = 8
"""Edge values repeated on each side of the attention before its DCT."""


def pos_weight_tensor(device: torch.device | str = "cpu") -> torch.Tensor:
    """POS_WEIGHTS as a [11] tensor in output order (10 locations, then membrane)."""
    return torch.tensor([POS_WEIGHTS[c] for c in (*LOCATIONS, MEMBRANE)], device=device)


def signal_weight_tensor(device: torch.device | str = "cpu") -> torch.Tensor:
    """SIGNAL_WEIGHTS as a [9] tensor in SIGNALS order."""
    return torch.tensor([SIGNAL_WEIGHTS[s] for s in SIGNALS], device=device)


def focal_bce(
    logits: torch.Tensor,
    targets: torch.Tensor,
    pos_weight: torch.Tensor | None = None,
    gamma: float = FOCAL_GAMMA,
) -> torch.Tensor:
    """Mean focal binary cross-entropy with per-output positive weights.

    Per element: -[w * y * (1 - p)^gamma * log p + (1 - y) * p^gamma * log(1 - p)], p = sigmoid.
    """
    logits = logits.float()
    targets = targets.float()
    p = torch.sigmoid(logits)
    weight = torch.ones_like(logits) if pos_weight is None else pos_weight.float().expand_as(logits)
    pos = weight * targets * (1 - p).pow(gamma) * F.logsigmoid(logits)
    neg = (1 - targets) * p.pow(gamma) * F.logsigmoid(-logits)
    return -(pos + neg).mean()


def attention_kl(
    log_attention: torch.Tensor,
    signal_mask: torch.Tensor,
    type_weights: torch.Tensor | None = None,
    reduce: bool = True,
) -> torch.Tensor:
    """KL(uniform over each annotated signal type's residues ‖ attention), weighted per type.

    log_attention [B, L]; signal_mask [B, T, L] bool. Each (protein, type) with annotated
    residues S contributes w_t * (-log|S| - mean_{i in S} log a_i). With `reduce` the weighted
    sum is divided by the number of (protein, type) pairs present, plus 1e-5, as in DeepLoc 2.0
    (a batch without signals gives 0); without it the unweighted [B, T] matrix is returned, NaN
    where a type is not annotated.
    """
    log_a = log_attention.float()[:, None, :]
    sig = signal_mask.bool()
    n = sig.sum(-1)  # [B, T]
    # Padding has log-attention -inf and is never a signal residue: zero it before summing.
    summed = torch.where(sig, log_a, torch.zeros((), device=log_a.device)).sum(-1)
    present = n > 0
    nf = n.clamp(min=1).float()
    kl = -torch.log(nf) - summed / nf
    if not reduce:
        return torch.where(present, kl, torch.full_like(kl, float("nan")))
    weights = torch.ones(sig.shape[1], device=kl.device) if type_weights is None else type_weights
    weighted = torch.where(present, kl * weights.float()[None, :], torch.zeros_like(kl))
    return weighted.sum() / (present.sum().float() + 1e-5)


def dct_ortho(values: torch.Tensor) -> torch.Tensor:
    """Orthonormal DCT-II along the last axis (scipy.fft.dct norm='ortho'), via an FFT."""
    n = values.shape[-1]
    x = values.float()
    spectrum = torch.fft.fft(torch.cat([x, x.flip(-1)], dim=-1))[..., :n]
    k = torch.arange(n, device=x.device, dtype=torch.float32)
    half_sum = 0.5 * (spectrum * torch.exp(-1j * math.pi * k / (2 * n))).real
    scale = torch.full((n,), math.sqrt(2.0 / n), device=x.device)
    scale[0] = math.sqrt(1.0 / n)
    return half_sum * scale


def dct_weights(length: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Weights of the non-DC coefficients of a `length`-residue protein's padded attention.

    The first length // 6 frequencies weigh 1, the later ones 1 / (1 + x^0.2), x = 1, 2, ...
    """
    cut = length // 6
    j = torch.arange(length + 2 * DCT_PAD - 1, device=device, dtype=torch.float32)
    x = (j - cut + 1).clamp(min=1.0)
    return torch.where(j < cut, torch.ones_like(j), 1.0 / (1.0 + x**0.2))


def dct_scores(attention: torch.Tensor) -> torch.Tensor:
    """DeepLoc 2.0's DCT prior of attention rows [N, L] that all span L residues: [N].

    Each row is padded by DCT_PAD edge values per side, its orthonormal DCT-II taken, the
    absolute coefficients divided by their sum (DC included) and DC dropped; the score is 1
    minus their `dct_weights`-weighted sum. Uniform attention scores 1 (all in DC, the worst);
    attention on one smooth stretch scores low, scattered attention in between.
    """
    length = attention.shape[-1]
    x = attention.float()
    padded = torch.cat([x[:, :1].expand(-1, DCT_PAD), x, x[:, -1:].expand(-1, DCT_PAD)], dim=-1)
    magnitude = dct_ortho(padded).abs()
    share = magnitude[:, 1:] / magnitude.sum(-1, keepdim=True).clamp(min=1e-20)
    return 1.0 - (share * dct_weights(length, x.device)).sum(-1)


def dct_prior(attention: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over proteins of `dct_scores`, each over its own residues only (padding ignored)."""
    lengths = mask.sum(1)
    terms = torch.zeros(attention.shape[0], device=attention.device)
    # Proteins of one length share one batched DCT (batches are sorted by length, clipping
    # makes many long ones equal).
    for n in lengths.unique().tolist():
        rows = (lengths == n).nonzero().flatten()
        terms = terms.index_put((rows,), dct_scores(attention[rows, :n]))
    return terms.mean()


def signal_bce(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The signal head's loss: mean BCE over [N, 9] with SIGNAL_WEIGHTS as positive weights."""
    return F.binary_cross_entropy_with_logits(
        logits.float(), targets.float(), pos_weight=signal_weight_tensor(logits.device)
    )


def total_loss(
    logits: torch.Tensor,
    targets: torch.Tensor,
    attention: torch.Tensor,
    log_attention: torch.Tensor,
    mask: torch.Tensor,
    signal_mask: torch.Tensor | None,
    *,
    kl_weight: float = KL_WEIGHT,
    dct_weight: float = DCT_WEIGHT,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The training loss and its parts (focal, kl, dct) as floats for logging."""
    focal = focal_bce(logits, targets, pos_weight_tensor(logits.device))
    kl = torch.zeros((), device=logits.device)
    if signal_mask is not None and kl_weight:
        kl = attention_kl(log_attention, signal_mask, signal_weight_tensor(logits.device))
    dct = torch.zeros((), device=logits.device)
    if dct_weight:
        dct = dct_prior(attention, mask)
    loss = focal + kl_weight * kl + dct_weight * dct
    parts = {"focal": float(focal.detach()), "kl": float(kl.detach()), "dct": float(dct.detach())}
    return loss, parts


__all__ = [
    "POS_WEIGHTS",
    "SIGNAL_WEIGHTS",
    "KL_WEIGHT",
    "DCT_WEIGHT",
    "FOCAL_GAMMA",
    "pos_weight_tensor",
    "signal_weight_tensor",
    "focal_bce",
    "attention_kl",
    "DCT_PAD",
    "dct_ortho",
    "dct_weights",
    "dct_scores",
    "dct_prior",
    "signal_bce",
    "total_loss",
]
