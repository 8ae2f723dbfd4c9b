"""The model: Gaussian smoothing, masking, batch independence, batches, cnn, checkpoints."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from locflow.data.classes import OUTPUTS, SIGNALS
from locflow.errors import InputError
from locflow.models.batches import make_batch, token_batches
from locflow.models.checkpoint import load_fold, predict_batch, read_config, save_fold
from locflow.models.cnn import DilatedResNet, encode
from locflow.models.head import GAUSSIAN_5, LocModel, gaussian_smooth, probabilities_to_labels

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_gaussian_weights_sum_to_one() -> None:
    assert sum(GAUSSIAN_5) == pytest.approx(1.0, abs=1e-9)


def test_gaussian_smoothing_hand_values_and_edges() -> None:
    # Row 0 has 4 residues and 2 padding positions holding junk that must not leak in.
    scores = torch.tensor([[1.0, 0, 0, 0, 99, 99], [0, 0, 0, 1.0, 0, 0]])
    out = gaussian_smooth(scores, torch.tensor([4, 6]))
    # Residue 0 sees itself three times (edge repeated): 0.1525 + 0.2218 + 0.2514 = 0.6257;
    # residue 1: 0.1525 + 0.2218 (taps at -2, -1 both read residue 0) = 0.3743; residue 2:
    # only the -2 tap, 0.1525; residue 3 (the last, repeated at +1, +2) reads no 1 and no 99.
    assert out[0, :4].tolist() == pytest.approx([0.6257, 0.3743, 0.1525, 0.0], abs=1e-6)
    # Row 1 is 6 long: residue 3's value spreads symmetrically.
    assert out[1].tolist() == pytest.approx([0, 0.1525, 0.2218, 0.2514, 0.2218, 0.1525], abs=1e-6)
    # A constant row stays constant (weights sum to 1, edges repeated).
    const = gaussian_smooth(torch.full((1, 5), 2.0), torch.tensor([5]))
    assert const.tolist()[0] == pytest.approx([2.0] * 5, abs=1e-6)


def _features_model(pooling: str = "attention") -> LocModel:
    torch.manual_seed(0)
    return LocModel(8, pooling=pooling, hidden=16).eval()


@pytest.mark.parametrize("pooling", ["attention", "mean"])
def test_shapes_and_padding_gets_no_attention(pooling: str) -> None:
    model = _features_model(pooling)
    x = torch.randn(3, 7, 8)
    mask = torch.tensor([[True] * 7, [True] * 4 + [False] * 3, [True] * 2 + [False] * 5])
    out = model(x, mask)
    assert out.logits.shape == (3, 11) and out.signal_logits.shape == (3, 9)
    assert out.attention.shape == (3, 7) and out.pooled.shape == (3, 16)
    assert torch.all(out.attention[~mask] == 0)
    assert torch.all(torch.isneginf(out.log_attention[~mask]))
    assert out.attention.sum(1).tolist() == pytest.approx([1.0, 1.0, 1.0], abs=1e-6)
    # Whatever sits in the padding changes nothing.
    x2 = x.clone()
    x2[~mask] = 1e3
    assert torch.allclose(model(x2, mask).logits, out.logits, atol=1e-6)


def test_features_outputs_do_not_depend_on_batch_composition() -> None:
    model = _features_model()
    rng = np.random.default_rng(0)
    feats = [rng.standard_normal((n, 8)).astype(np.float32) for n in (5, 12, 3)]
    seqs = ["A" * 5, "A" * 12, "A" * 3]
    with torch.no_grad():
        together = model(*_xm(make_batch("features", seqs, half=None, features=feats)))
        alone = model(*_xm(make_batch("features", seqs[:1], half=None, features=feats[:1])))
    assert torch.allclose(together.logits[0], alone.logits[0], atol=1e-5)
    assert torch.allclose(together.attention[0, :5], alone.attention[0], atol=1e-6)


def _xm(batch):
    return batch.inputs, batch.mask


def test_cnn_outputs_do_not_depend_on_batch_composition() -> None:
    torch.manual_seed(0)
    cnn = DilatedResNet(channels=16, dilations=(1, 2, 4), kernel=5, dropout=0.0)
    model = LocModel(16, hidden=16, encoder=cnn).eval()
    seqs = ["MKTAYIAKQRQISFVKSHFSRQ", "MLLVLLLALLALSSAQDEKKRRPP" * 3, "MSTNPKPQRKTKRNT"]
    with torch.no_grad():
        together = model(*_xm(make_batch("cnn", seqs, half=None)))
        for i, s in enumerate(seqs):
            alone = model(*_xm(make_batch("cnn", [s], half=None)))
            assert torch.allclose(together.logits[i], alone.logits[0], atol=1e-5)
            assert torch.allclose(together.attention[i, : len(s)], alone.attention[0], atol=1e-6)


def test_head_has_deeploc_parameter_count_and_two_layer_norms() -> None:
    # LayerNorm(1280) 2,560 + Linear(1280 -> 256) 327,936 + LayerNorm(256) 512 + query 256
    # + Linear(256 -> 11) 2,827 = 334,091, DeepLoc 2.0's head for D = 1280.
    model = LocModel(1280)
    head = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("signal_head."))
    assert head == 334_091
    mean_head = LocModel(1280, pooling="mean")
    assert (
        sum(p.numel() for p in mean_head.parameters())
        == sum(p.numel() for p in model.parameters()) - model.pool.query.numel()
    )


@pytest.mark.parametrize("pooling", ["attention", "mean"])
def test_attention_scores_and_pools_layer_normed_residues(pooling: str) -> None:
    torch.manual_seed(1)
    model = LocModel(8, pooling=pooling, hidden=16).eval()
    with torch.no_grad():
        for norm in (model.pool.residues.norm, model.pool.residues.out_norm):
            norm.weight.normal_()
            norm.bias.normal_()
        x = torch.randn(2, 9, 8)
        mask = torch.tensor([[True] * 9, [True] * 5 + [False] * 4])
        out = model(x, mask)
        # u_t = LayerNorm(256)(Linear(LayerNorm(D)(h_t))), written out by hand.
        ln_in, proj, ln_out = (
            model.pool.residues.norm,
            model.pool.residues.proj,
            model.pool.residues.out_norm,
        )
        h = proj(torch.nn.functional.layer_norm(x, (8,), ln_in.weight, ln_in.bias))
        u = torch.nn.functional.layer_norm(h, (16,), ln_out.weight, ln_out.bias)
        u = u * mask[..., None]
        assert torch.allclose(out.pooled, torch.einsum("bl,blh->bh", out.attention, u), atol=1e-5)
        if pooling == "attention":
            scores = gaussian_smooth(u @ model.pool.query, mask.sum(1))
            expected = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)
            assert torch.allclose(out.attention, expected, atol=1e-6)


def test_attention_is_float32_under_bf16_autocast() -> None:
    torch.manual_seed(0)
    model = LocModel(64).eval()
    with torch.no_grad():
        model.pool.query.mul_(8)  # scores of several units, as in a trained model
        x = torch.randn(3, 300, 64)
        mask = torch.ones(3, 300, dtype=torch.bool)
        mask[1, 200:] = False
        reference = model(x, mask).attention
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(x, mask)
            u = model.pool.residues(x, mask)
        assert out.attention.dtype == out.log_attention.dtype == torch.float32
        # From the residue vectors on (the bf16 Linear before them aside), scores, smoothing and
        # softmax are float32: bf16 scores miss this by about 1e-2.
        scores = gaussian_smooth(u.float() @ model.pool.query, mask.sum(1))
        exact = torch.softmax(scores.masked_fill(~mask, float("-inf")), -1)
        assert torch.allclose(out.attention, exact, rtol=1e-5, atol=1e-7)
        # And close to the all-float32 model: total variation under 1% per protein (bf16
        # scores: about 1.3%).
        assert 0.5 * (out.attention - reference).abs().sum(1).max() < 0.01


def test_encode_maps_non_standard_letters_to_other() -> None:
    assert encode("ACY").tolist() == [1, 2, 20]
    assert encode("XUBZ").tolist() == [21, 21, 21, 21]


def test_token_batches_respect_budget_and_cover_everything() -> None:
    lengths = [50, 10, 300, 20, 20, 200, 1000, 5]
    batches = token_batches(lengths, 400)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        padded = len(b) * max(lengths[i] for i in b)
        assert padded <= 400 or len(b) == 1
    flat = [lengths[i] for b in batches for i in b]
    assert flat == sorted(flat)


def test_token_batches_cap_proteins_per_batch() -> None:
    # 300 short proteins fit one 16,384-token batch; DeepLoc's cap of 128 splits them.
    assert [len(b) for b in token_batches([40] * 300, 16384)] == [300]
    capped = token_batches([40] * 300, 16384, max_proteins=128)
    assert [len(b) for b in capped] == [128, 128, 44]
    assert sorted(i for b in capped for i in b) == list(range(300))
    # The token budget still applies under the cap.
    assert [len(b) for b in token_batches([100] * 10, 400, max_proteins=128)] == [4, 4, 2]


def test_make_batch_clips_sequences_and_signals_alike() -> None:
    seq = "ABCDEFGHIJ"  # 10 residues, keep 3 + 3 -> A B C H I J
    signals = [[{"type": "SP", "start": 0, "end": 2}, {"type": "NLS", "start": 4, "end": 8}]]
    batch = make_batch("sequences", [seq], half=3, signals=signals)
    assert batch.inputs == ["ABCHIJ"]
    assert batch.keep[0].tolist() == [0, 1, 2, 7, 8, 9]
    sig = batch.signal_mask[0]
    assert sig[SIGNALS.index("SP")].tolist() == [True, True, False, False, False, False]
    # NLS covers residues 4..7: only residue 7 (H) survives the clipping.
    assert sig[SIGNALS.index("NLS")].tolist() == [False, False, False, True, False, False]
    # Full-length stored embeddings are cut the same way; clipped ones are taken as they are.
    full = np.arange(10, dtype=np.float32)[:, None].repeat(2, 1)
    fb = make_batch("features", [seq], half=3, features=[full])
    assert fb.inputs[0, :, 0].tolist() == [0, 1, 2, 7, 8, 9]
    cb = make_batch("features", [seq], half=3, features=[full[[0, 1, 2, 7, 8, 9]]])
    assert torch.equal(cb.inputs, fb.inputs)


def test_fallback_label_is_closest_to_its_threshold() -> None:
    probs = np.array([[0.2, 0.3] + [0.0] * 9, [0.9, 0.1] + [0.0] * 9])
    thresholds = np.array([0.5, 0.4] + [0.5] * 9)
    labels = probabilities_to_labels(probs, thresholds)
    assert labels[0, :2].tolist() == [False, True]  # 0.3/0.4 beats 0.2/0.5
    assert labels[1, :2].tolist() == [True, False]


def _cnn_config() -> dict:
    return {
        "backbone": "cnn",
        "lora": False,
        "pooling": "attention",
        "hidden": 16,
        "dim": 16,
        "clip_half": 8,
        "cnn": {"channels": 16, "dilations": [1, 2], "kernel": 3, "dropout": 0.0},
        "fold": 0,
        "validation_fold": 1,
        "thresholds": {o: 0.5 for o in OUTPUTS},  # load_fold wants one per output
    }


def test_checkpoint_round_trip(tmp_path) -> None:
    from locflow.models.checkpoint import build_model

    torch.manual_seed(3)
    config = _cnn_config()
    model = build_model(config).eval()
    save_fold(tmp_path / "fold0", model, config)
    loaded, cfg = load_fold(tmp_path / "fold0", "cpu")
    assert cfg["clip_half"] == 8 and cfg["format"] == "locflow-model/1"
    for (k1, v1), (k2, v2) in zip(
        model.state_dict().items(), loaded.state_dict().items(), strict=True
    ):
        assert k1 == k2 and torch.equal(v1, v2)
    seqs = ["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEV", "MSTNPK"]
    a = predict_batch(model, config, seqs)
    b = predict_batch(loaded, cfg, seqs)
    assert np.array_equal(a.probabilities, b.probabilities)
    assert a.probabilities.shape == (2, 11) and a.signals.shape == (2, 9)
    # Attention comes back full length; the clipped-out middle of the long one is zero.
    assert [len(x) for x in a.attention] == [32, 6]
    assert np.all(a.attention[0][8:24] == 0) and a.attention[0].sum() == pytest.approx(1, abs=1e-5)


def test_load_fold_rejects_foreign_or_mismatched_files(tmp_path) -> None:
    from locflow.models.checkpoint import build_model

    config = _cnn_config()
    save_fold(tmp_path / "fold0", build_model(config), config)
    bad = dict(config, cnn={**config["cnn"], "channels": 8}, dim=8)
    (tmp_path / "fold0" / "config.json").write_text(
        __import__("json").dumps({"format": "locflow-model/1", **bad})
    )
    with pytest.raises((InputError, RuntimeError)):
        load_fold(tmp_path / "fold0")
    (tmp_path / "fold0" / "config.json").write_text('{"format": "other"}')
    with pytest.raises(InputError, match="not a locflow-model/1 config"):
        read_config(tmp_path / "fold0")
