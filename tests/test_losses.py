"""Losses against values worked out by hand on tiny tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft
import torch

from locflow.data.classes import SIGNALS
from locflow.models.losses import (
    POS_WEIGHTS,
    SIGNAL_WEIGHTS,
    attention_kl,
    dct_prior,
    focal_bce,
    pos_weight_tensor,
    signal_bce,
    signal_weight_tensor,
    total_loss,
)


def test_focal_bce_hand_value() -> None:
    # Element 1: z=0, y=1, w=3: -3 * (1-0.5)^1 * log 0.5 = 1.5 ln 2 = 1.0397208.
    # Element 2: z=2, y=0: p = sigmoid(2) = 0.8807971; -p * log(1-p) = 0.8807971 * 2.1269280
    # = 1.8733920. Mean of the two: 1.4565564.
    loss = focal_bce(
        torch.tensor([[0.0, 2.0]]), torch.tensor([[1.0, 0.0]]), torch.tensor([3.0, 1.0])
    )
    assert loss.item() == pytest.approx(1.4565564, abs=1e-6)


def test_focal_gamma_zero_is_weighted_bce() -> None:
    logits, targets = torch.randn(4, 11), (torch.rand(4, 11) > 0.5).float()
    pw = pos_weight_tensor()
    ref = torch.nn.functional.binary_cross_entropy_with_logits(logits, targets, pos_weight=pw)
    assert focal_bce(logits, targets, pw, gamma=0.0).item() == pytest.approx(ref.item(), rel=1e-6)
    # Focusing only ever lowers the loss of each element (the factor is <= 1).
    assert focal_bce(logits, targets, pw, gamma=1.0) < ref


def test_weight_tables_follow_design() -> None:
    assert pos_weight_tensor().tolist()[-1] == POS_WEIGHTS["Membrane"] == 1.0
    assert pos_weight_tensor()[9].item() == 32.0  # Peroxisome
    assert signal_weight_tensor()[SIGNALS.index("TH")].item() == pytest.approx(5.64)


def test_attention_kl_hand_value() -> None:
    # Protein 0: attention (0.1, 0.4, 0.4, 0.1), NLS on residues 1-2: KL(u || a)
    # = 2 * 0.5 * ln(0.5 / 0.4) = ln 1.25; weighted by NLS 1.60 and divided by the one
    # (protein, type) pair present (+1e-5), not by the 2 proteins: 1.6 * 0.2231436 = 0.3570297.
    att = torch.tensor([[0.1, 0.4, 0.4, 0.1], [0.25, 0.25, 0.25, 0.25]])
    sig = torch.zeros(2, len(SIGNALS), 4, dtype=torch.bool)
    sig[0, SIGNALS.index("NLS"), 1:3] = True
    kl = attention_kl(att.log(), sig, signal_weight_tensor())
    assert kl.item() == pytest.approx(0.3570297, abs=1e-5)
    raw = attention_kl(att.log(), sig, reduce=False)
    assert raw[0, SIGNALS.index("NLS")].item() == pytest.approx(math.log(1.25), abs=1e-6)
    assert torch.isnan(raw[1]).all()


def test_attention_kl_ignores_padding_and_is_zero_when_attention_is_the_target() -> None:
    log_att = torch.tensor([[math.log(0.5), math.log(0.5), float("-inf")]])
    sig = torch.zeros(1, len(SIGNALS), 3, dtype=torch.bool)
    sig[0, 0, :2] = True
    kl = attention_kl(log_att, sig, signal_weight_tensor())
    assert torch.isfinite(kl) and kl.item() == pytest.approx(0.0, abs=1e-7)


def test_attention_kl_divides_by_annotated_pairs_like_deeploc() -> None:
    # 3 proteins, 2 annotated (protein, type) pairs: protein 0 SP on residues 0-2, protein 2
    # (4 residues, 2 padding) NLS on residues 2-3; protein 1 has none. DeepLoc 2.0 sums
    # w_t * KLDivLoss(batchmean) over the pairs and divides by their number + 1e-5.
    torch.manual_seed(0)
    mask = torch.tensor([[True] * 6, [True] * 6, [True] * 4 + [False] * 2])
    log_att = torch.log_softmax(torch.randn(3, 6).masked_fill(~mask, float("-inf")), dim=-1)
    sig = torch.zeros(3, len(SIGNALS), 6, dtype=torch.bool)
    sig[0, SIGNALS.index("SP"), 0:3] = True
    sig[2, SIGNALS.index("NLS"), 2:4] = True
    kld = torch.nn.KLDivLoss(reduction="batchmean")
    expected, pairs = 0.0, 0
    for i, t in [(0, SIGNALS.index("SP")), (2, SIGNALS.index("NLS"))]:
        n = int(mask[i].sum())
        target = sig[i, t, :n].float() / sig[i, t, :n].sum()
        expected += SIGNAL_WEIGHTS[SIGNALS[t]] * kld(log_att[i, :n][None], target[None]).item()
        pairs += 1
    expected /= pairs + 1e-5
    kl = attention_kl(log_att, sig, signal_weight_tensor())
    assert kl.item() == pytest.approx(expected, rel=1e-5)
    # Dividing by the 3 proteins instead would give 2/3 of it.
    assert kl.item() > 1.4 * expected * 2 / 3
    # No annotated pair at all: zero, not NaN.
    assert attention_kl(log_att, torch.zeros_like(sig), signal_weight_tensor()).item() == 0.0


def _deeploc_dct_prior(attention: np.ndarray) -> float:
    """DeepLoc 2.0's DCT prior of one attention vector, written independently with scipy."""
    length = len(attention)
    coef = np.abs(scipy.fft.dct(np.pad(attention, 8, mode="edge"), norm="ortho"))
    share = (coef / coef.sum())[1:]
    cut = length // 6
    weights = np.ones(len(share))
    weights[cut:] = 1 / (1 + np.arange(1, len(share) - cut + 1) ** 0.2)
    return float(1 - (weights * share).sum())


def _l300() -> dict[str, np.ndarray]:
    length = 300
    spike = np.zeros(length)
    spike[10] = 1.0
    bump = np.exp(-0.5 * ((np.arange(length) - 15) / 10) ** 2)
    return {"uniform": np.full(length, 1 / length), "spike": spike, "bump": bump / bump.sum()}


def test_dct_prior_reference_values_l300() -> None:
    # DeepLoc's reference values for L = 300: uniform attention is the worst (1.0), a spike at
    # residue 10 scores 0.60, a smooth Gaussian bump (sd 10) at residue 15 about 0.10.
    published = {"uniform": 1.0, "spike": 0.60, "bump": 0.10}
    for name, a in _l300().items():
        ours = dct_prior(torch.tensor(a)[None], torch.ones(1, len(a), dtype=torch.bool)).item()
        assert ours == pytest.approx(_deeploc_dct_prior(a), abs=1e-5), name
        assert ours == pytest.approx(published[name], abs=0.006), name


def test_dct_prior_batches_with_each_protein_length_only() -> None:
    rng = np.random.default_rng(2)
    rows = [rng.random(n) for n in (40, 23, 40, 7)]
    rows = [r / r.sum() for r in rows]
    att = torch.full((4, 40), 0.3)  # junk in the padding must not count
    mask = torch.zeros(4, 40, dtype=torch.bool)
    for i, r in enumerate(rows):
        att[i, : len(r)] = torch.tensor(r)
        mask[i, : len(r)] = True
    expected = np.mean([_deeploc_dct_prior(r) for r in rows])
    assert dct_prior(att, mask).item() == pytest.approx(expected, abs=1e-5)


def test_dct_prior_pushes_near_uniform_attention_towards_a_peak() -> None:
    # Gradient descent on the prior alone, from almost uniform attention: the small bump must
    # grow (DeepLoc's prior rewards concentrated, smooth attention), not flatten into mean
    # pooling.
    x = torch.arange(120.0)
    logits = (0.05 * torch.exp(-0.5 * ((x - 30) / 6) ** 2)).requires_grad_()
    mask = torch.ones(1, 120, dtype=torch.bool)
    start = logits.detach().clone()
    for _ in range(20):
        loss = dct_prior(torch.softmax(logits, -1)[None], mask)
        (grad,) = torch.autograd.grad(loss, logits)
        with torch.no_grad():
            logits -= 50.0 * grad
    spread = lambda z: float(z[30] - z[100])  # noqa: E731
    assert spread(logits.detach()) > 2 * spread(start)
    uniform = dct_prior(torch.full((1, 120), 1 / 120), mask)
    assert dct_prior(torch.softmax(logits.detach(), -1)[None], mask) < uniform


def test_signal_bce_uses_deeploc_type_weights() -> None:
    # Logits 0 (p = 0.5), one protein with SP and TH: each element costs ln 2, positives times
    # their weight: (0.23 + 5.64 + 7) * ln 2 / 9 = 0.9912005.
    targets = torch.zeros(1, len(SIGNALS))
    targets[0, [SIGNALS.index("SP"), SIGNALS.index("TH")]] = 1.0
    loss = signal_bce(torch.zeros(1, len(SIGNALS)), targets)
    assert loss.item() == pytest.approx((0.23 + 5.64 + 7) * math.log(2) / 9, abs=1e-6)
    assert loss.item() == pytest.approx(0.9912005, abs=1e-6)


def test_signal_weights_are_deeploc_inverse_type_frequencies() -> None:
    # DeepLoc 2.0's 1,874 signal-annotated proteins: (total / 9) / count per type, within 0.01
    # (DeepLoc's own values are cut, not always rounded, to two decimals: CH 2.636 -> 2.63).
    counts = {"SP": 1011, "TM": 258, "MT": 242, "CH": 90, "TH": 42}
    counts |= {"NLS": 148, "NES": 100, "PTS": 127, "GPI": 117}
    mean = sum(counts.values()) / len(counts)
    for t in SIGNALS:
        assert SIGNAL_WEIGHTS[t] == pytest.approx(mean / counts[t], abs=0.01), t


def test_total_loss_combines_parts_with_design_weights() -> None:
    logits = torch.zeros(2, 11)
    targets = torch.zeros(2, 11)
    att = torch.tensor([[0.1, 0.4, 0.4, 0.1], [0.25, 0.25, 0.25, 0.25]])
    mask = torch.ones(2, 4, dtype=torch.bool)
    sig = torch.zeros(2, len(SIGNALS), 4, dtype=torch.bool)
    sig[0, SIGNALS.index("NLS"), 1:3] = True
    loss, parts = total_loss(logits, targets, att, att.log(), mask, sig)
    # All-negative targets at p = 0.5: each element 0.5 * ln 2.
    assert parts["focal"] == pytest.approx(0.5 * math.log(2), abs=1e-6)
    assert parts["kl"] == pytest.approx(0.3570297, abs=1e-5)
    # Attention (0.1, 0.4, 0.4, 0.1) and uniform: mean of their DeepLoc DCT priors.
    expected_dct = (_deeploc_dct_prior(att[0].numpy()) + 1.0) / 2
    assert parts["dct"] == pytest.approx(expected_dct, abs=1e-5)
    expected = parts["focal"] + 0.1 * parts["kl"] + 0.1 * parts["dct"]
    assert loss.item() == pytest.approx(expected, abs=1e-6)
