"""Losses against values worked out by hand on tiny tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.fft
import torch

from locflow.classes import SIGNALS
from locflow.losses import (
    POS_WEIGHTS,
    attention_kl,
    dct_prior,
    dct_roughness,
    focal_bce,
    pos_weight_tensor,
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
    # = 2 * 0.5 * ln(0.5 / 0.4) = ln 1.25; weighted by NLS 1.60, divided by the batch size 2
    # (protein 1 has no signal): 1.6 * 0.2231436 / 2 = 0.1785148.
    att = torch.tensor([[0.1, 0.4, 0.4, 0.1], [0.25, 0.25, 0.25, 0.25]])
    sig = torch.zeros(2, len(SIGNALS), 4, dtype=torch.bool)
    sig[0, SIGNALS.index("NLS"), 1:3] = True
    kl = attention_kl(att.log(), sig, signal_weight_tensor())
    assert kl.item() == pytest.approx(0.1785148, abs=1e-6)
    raw = attention_kl(att.log(), sig, reduce=False)
    assert raw[0, SIGNALS.index("NLS")].item() == pytest.approx(math.log(1.25), abs=1e-6)
    assert torch.isnan(raw[1]).all()


def test_attention_kl_ignores_padding_and_is_zero_when_attention_is_the_target() -> None:
    log_att = torch.tensor([[math.log(0.5), math.log(0.5), float("-inf")]])
    sig = torch.zeros(1, len(SIGNALS), 3, dtype=torch.bool)
    sig[0, 0, :2] = True
    kl = attention_kl(log_att, sig, signal_weight_tensor())
    assert torch.isfinite(kl) and kl.item() == pytest.approx(0.0, abs=1e-7)


def test_dct_roughness_hand_values() -> None:
    # n = 2, a = (1, 0): c = (1/sqrt2, 1/sqrt2); weights (k/(n-1))^2 = (0, 1) -> 0.5 / 1 = 0.5.
    assert dct_roughness(torch.tensor([1.0, 0.0])).item() == pytest.approx(0.5, abs=1e-6)
    # n = 3, a = (1, 0, 0): c^2 = (1/3, 1/2, 1/6), weights (0, 1/4, 1): 0.125 + 0.1666667.
    assert dct_roughness(torch.tensor([1.0, 0.0, 0.0])).item() == pytest.approx(0.2916667, abs=1e-6)
    assert dct_roughness(torch.full((7,), 1 / 7)).item() == pytest.approx(0.0, abs=1e-7)
    assert dct_roughness(torch.tensor([0.7])).item() == 0.0


def test_dct_roughness_matches_scipy_and_prefers_smooth() -> None:
    x = np.random.default_rng(1).random(37)
    c = scipy.fft.dct(x, norm="ortho")
    k = np.arange(37) / 36
    expected = float((k**2 * c**2).sum() / (c**2).sum())
    assert dct_roughness(torch.tensor(x)).item() == pytest.approx(expected, rel=1e-5)
    bump = torch.exp(-((torch.arange(40.0) - 5) ** 2) / 20)
    spikes = torch.zeros(40)
    spikes[::2] = 1.0
    # (1, 0, 1, 0, ...) keeps half its energy at k = 0 and half at the top frequency.
    assert dct_roughness(bump) < 0.05 < 0.4 < dct_roughness(spikes)


def test_dct_prior_uses_each_protein_length_only() -> None:
    att = torch.tensor([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, False], [True, True, True]])
    # Protein 0 is (1, 0) -> 0.5; protein 1 is (1, 0, 0) -> 0.2916667; mean 0.3958333.
    assert dct_prior(att, mask).item() == pytest.approx(0.3958333, abs=1e-6)


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
    assert parts["kl"] == pytest.approx(0.1785148, abs=1e-6)
    expected = parts["focal"] + 0.1 * parts["kl"] + 0.1 * parts["dct"]
    assert loss.item() == pytest.approx(expected, abs=1e-6)
