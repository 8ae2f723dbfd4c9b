"""Backbones: tiny randomly initialised ESM-2, ESM-1b and ProtT5 models, saved with
save_pretrained and loaded back through `load_backbone`, give one vector per residue."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from locflow.errors import InputError
from locflow.models.backbones import (
    CLIP_HALF,
    ESM_ALPHABET,
    PROTT5_RESIDUES,
    add_lora,
    clip_indices,
    clip_sequence,
    load_backbone,
    random_checkpoint,
)

TINY = {"layers": 2, "hidden": 32, "heads": 4, "ffn": 64}
NAMES = ("esm2", "esm1b", "prott5")
SEQS = [
    "MKTAYIAKQRQISFVKSHFSRQ",
    "ACDEFGHIKLMNPQRSTVWYUOBZXJ",
    "MW",
    "GSGSGSGSGSGSGSGSGSGSGSGSGSGSGS",
]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("backbones")
    return {name: random_checkpoint(name, root / name, seed=1, **TINY) for name in NAMES}


@pytest.fixture(scope="module")
def loaded(checkpoints: dict[str, Path]) -> dict[str, object]:
    return {name: load_backbone(name, checkpoints[name]) for name in NAMES}


def _embed(backbone, seqs: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.inference_mode():
        return backbone(seqs)


@pytest.mark.parametrize("name", NAMES)
def test_one_row_per_residue_and_zero_padding(loaded, name: str) -> None:
    backbone = loaded[name]
    hidden, mask = _embed(backbone, SEQS)
    lengths = [len(s) for s in SEQS]
    assert backbone.dim == TINY["hidden"]
    assert hidden.shape == (len(SEQS), max(lengths), backbone.dim)
    assert mask.dtype == torch.bool
    assert mask.sum(dim=1).tolist() == lengths
    for i, n in enumerate(lengths):
        assert torch.all(hidden[i, n:] == 0)
        assert torch.all(hidden[i, :n].abs().sum(dim=1) > 0)


@pytest.mark.parametrize("name", NAMES)
def test_same_vectors_alone_or_batched(loaded, name: str) -> None:
    backbone = loaded[name]
    batched, _ = _embed(backbone, SEQS)
    # Another batch order and composition must not change any residue's vector.
    reordered, _ = _embed(backbone, SEQS[::-1][:3])
    for i, seq in enumerate(SEQS):
        alone, _ = _embed(backbone, [seq])
        torch.testing.assert_close(batched[i, : len(seq)], alone[0], atol=1e-5, rtol=1e-4)
    for j, seq in enumerate(SEQS[::-1][:3]):
        torch.testing.assert_close(
            reordered[j, : len(seq)], batched[SEQS.index(seq), : len(seq)], atol=1e-5, rtol=1e-4
        )


@pytest.mark.parametrize("name", NAMES)
def test_residue_i_is_token_i(loaded, name: str) -> None:
    """Each residue maps to its own vocabulary token, at its own position."""
    backbone = loaded[name]
    seq = "MKVLWC"
    ids = backbone.tokenize([seq])["input_ids"][0].tolist()
    vocab = backbone.tokenizer.get_vocab()
    piece = (lambda aa: f"\u2581{aa}") if name == "prott5" else (lambda aa: aa)
    assert ids[backbone.prefix : backbone.prefix + len(seq)] == [vocab[piece(a)] for a in seq]
    assert len(ids) == len(seq) + backbone.specials


def test_rare_letters_are_replaced_one_for_one(loaded) -> None:
    """ESM has no J; ProtT5 maps U, Z, O, B to X: both become X in place, never dropped."""
    esm, t5 = loaded["esm2"], loaded["prott5"]
    a, _ = _embed(esm, ["MKJVL"])
    b, _ = _embed(esm, ["MKXVL"])
    torch.testing.assert_close(a, b)
    c, _ = _embed(t5, ["MUZOBJL"])
    d, _ = _embed(t5, ["MXXXXXL"])
    torch.testing.assert_close(c, d)
    # ESM keeps U, Z, O, B as their own tokens.
    e, _ = _embed(esm, ["MUL"])
    f, _ = _embed(esm, ["MXL"])
    assert not torch.allclose(e[0, 1], f[0, 1])


def test_prott5_vocabulary_order(loaded) -> None:
    vocab = loaded["prott5"].tokenizer.get_vocab()
    assert [vocab["<pad>"], vocab["</s>"], vocab["<unk>"]] == [0, 1, 2]
    assert [vocab[f"\u2581{aa}"] for aa in PROTT5_RESIDUES] == list(range(3, 28))
    assert vocab["<extra_id_99>"] == 28 and vocab["<extra_id_0>"] == 127


def test_esm_vocabulary_is_the_esm_alphabet(loaded) -> None:
    vocab = loaded["esm2"].tokenizer.get_vocab()
    assert [vocab[t] for t in ESM_ALPHABET] == list(range(len(ESM_ALPHABET)))


@pytest.mark.parametrize("bad", ["mkvl", "MK-VL", "MK*VL", "MK VL", ""])
def test_unnormalised_sequences_are_rejected(loaded, bad: str) -> None:
    with pytest.raises(InputError, match="not normalised"):
        _embed(loaded["esm2"], ["MKV", bad])


def test_esm1b_refuses_more_than_its_positions(loaded) -> None:
    backbone = loaded["esm1b"]
    assert backbone.max_residues == 2 * CLIP_HALF["esm1b"]
    with pytest.raises(InputError, match="at most 1022"):
        backbone.tokenize(["A" * 1023])
    hidden, _ = _embed(backbone, [clip_sequence("A" * 1500, CLIP_HALF["esm1b"])])
    assert hidden.shape[1] == 1022


def test_clip_indices_keep_both_ends() -> None:
    assert clip_indices(10, 3).tolist() == [0, 1, 2, 7, 8, 9]
    assert clip_indices(6, 3).tolist() == list(range(6))
    assert len(clip_indices(34350, 511)) == 1022
    seq = "".join(chr(ord("A") + i % 26) for i in range(2000))
    kept = clip_indices(len(seq), 511)
    assert clip_sequence(seq, 511) == "".join(seq[i] for i in kept)
    assert clip_sequence(seq, 511)[:511] == seq[:511]
    assert clip_sequence(seq, 511)[511:] == seq[-511:]
    assert CLIP_HALF == {"esm2": 511, "esm1b": 511, "prott5": 2000}


def test_layer_choice(checkpoints) -> None:
    last = load_backbone("esm2", checkpoints["esm2"], layer=-1)
    top = load_backbone("esm2", checkpoints["esm2"], layer=TINY["layers"])
    first = load_backbone("esm2", checkpoints["esm2"], layer=0)
    a, _ = _embed(last, SEQS[:2])
    b, _ = _embed(top, SEQS[:2])
    c, _ = _embed(first, SEQS[:2])
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    with pytest.raises(InputError, match="`layer` 3 outside"):
        load_backbone("esm2", checkpoints["esm2"], layer=3)


def test_loading_errors(checkpoints, tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown backbone"):
        load_backbone("esm3", checkpoints["esm2"])
    with pytest.raises(InputError, match="needs `checkpoint`"):
        load_backbone("esm2", None)
    with pytest.raises(InputError, match="folder not found"):
        load_backbone("esm2", tmp_path / "absent")
    with pytest.raises(InputError, match="no config.json"):
        load_backbone("esm2", tmp_path)
    with pytest.raises(InputError, match="needs 't5'"):
        load_backbone("prott5", checkpoints["esm2"])


def test_loads_in_lower_precision(checkpoints) -> None:
    backbone = load_backbone("esm2", checkpoints["esm2"], "cpu", "bf16")
    assert backbone.dtype == torch.bfloat16
    hidden, _ = _embed(backbone, SEQS[:2])
    ref, _ = _embed(load_backbone("esm2", checkpoints["esm2"]), SEQS[:2])
    assert hidden.dtype == torch.bfloat16
    assert (hidden.float() - ref).abs().max() < 0.1 * ref.abs().max()


@pytest.mark.parametrize(
    ("name", "targets"), [("esm2", {"query", "key", "value"}), ("prott5", {"q", "k", "v", "o"})]
)
def test_lora_wraps_only_attention_projections(checkpoints, name: str, targets: set) -> None:
    backbone = load_backbone(name, checkpoints[name])
    before, _ = _embed(backbone, SEQS[:2])
    frozen = {n: p.detach().clone() for n, p in backbone.model.named_parameters()}
    add_lora(backbone, rank=4)
    trainable = {n: p for n, p in backbone.named_parameters() if p.requires_grad}
    assert trainable and all(".lora_A." in n or ".lora_B." in n for n in trainable)
    wrapped = {n.split(".lora_")[0].rsplit(".", 1)[1] for n in trainable}
    assert wrapped == targets
    assert len(trainable) == 2 * len(targets) * TINY["layers"]
    assert all(p.shape[0] == 4 for n, p in trainable.items() if ".lora_A." in n)
    # B starts at zero: the adapted model starts exactly where the pretrained one was.
    after, _ = _embed(backbone, SEQS[:2])
    torch.testing.assert_close(after, before)

    backbone.train()
    opt = torch.optim.AdamW(trainable.values(), lr=1e-2)
    for _ in range(2):
        hidden, mask = backbone(SEQS[:2])
        loss = (hidden[mask] ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    backbone.eval()
    changed, _ = _embed(backbone, SEQS[:2])
    assert not torch.allclose(changed, before)
    for n, p in backbone.model.named_parameters():
        if "lora_" not in n:
            base = n.replace("base_model.model.", "").replace(".base_layer", "")
            assert torch.equal(p, frozen[base]), n


def test_random_checkpoint_is_reproducible(tmp_path: Path) -> None:
    a = load_backbone("esm2", random_checkpoint("esm2", tmp_path / "a", seed=3, **TINY))
    b = load_backbone("esm2", random_checkpoint("esm2", tmp_path / "b", seed=3, **TINY))
    x, _ = _embed(a, SEQS[:1])
    y, _ = _embed(b, SEQS[:1])
    assert np.array_equal(x.numpy(), y.numpy())
