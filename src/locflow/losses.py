"""Training losses (DESIGN.md section 6): focal BCE, attention KL to signals, DCT smoothness.

    loss = focal_bce(logits, targets) + 0.1 * attention_kl(...) + 0.1 * dct_prior(...)

All three work in float32 whatever the autocast dtype, and ignore padding.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from locflow.classes import LOCATIONS, MEMBRANE, SIGNALS

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
"""Per-type weights of the attention KL term."""

KL_WEIGHT = 0.1
DCT_WEIGHT = 0.1
FOCAL_GAMMA = 1.0


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
    residues S contributes w_t * (-log|S| - mean_{i in S} log a_i). With `reduce` the sum is
    divided by the batch size B (proteins without signals count as zero); without it the
    unweighted [B, T] matrix is returned, NaN where a type is not annotated.
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
    return (kl * present * weights.float()[None, :]).sum() / max(1, log_attention.shape[0])


def dct_roughness(values: torch.Tensor) -> torch.Tensor:
    """Frequency-weighted DCT energy of one vector: sum_k (k/(n-1))^2 c_k^2 / sum_k c_k^2.

    c is the orthonormal DCT-II of `values` (via an FFT of the mirrored vector). The result
    lies in [0, 1]: 0 for a constant vector, near 1 for one alternating at the highest
    frequency; a smooth bump at the N terminus scores low, scattered spikes score high.
    """
    n = values.shape[0]
    if n < 2:
        return values.new_zeros(())
    x = values.float()
    spectrum = torch.fft.fft(torch.cat([x, x.flip(0)]))[:n]
    k = torch.arange(n, device=x.device, dtype=torch.float32)
    half_sum = 0.5 * (spectrum * torch.exp(-1j * math.pi * k / (2 * n))).real
    scale = torch.full((n,), math.sqrt(2.0 / n), device=x.device)
    scale[0] = math.sqrt(1.0 / n)
    c = half_sum * scale
    energy = (c * c).sum().clamp(min=1e-20)
    return ((k / (n - 1)) ** 2 * c * c).sum() / energy


def dct_prior(attention: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over proteins of `dct_roughness` of each attention vector over its own residues."""
    lengths = mask.sum(1).tolist()
    terms = [dct_roughness(attention[i, :n]) for i, n in enumerate(lengths)]
    return torch.stack(terms).mean()


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
    "dct_roughness",
    "dct_prior",
    "total_loss",
]
