"""The from-scratch backbones (cnn, proteinbert, birnn) through the registry: shapes, sizes,
batch independence, training, saving and reloading, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_train import planted_set

from locflow.data.classes import OUTPUTS
from locflow.errors import InputError
from locflow.models.batches import make_batch
from locflow.models.checkpoint import build_model, input_kind, load_fold, predict_batch, save_fold
from locflow.models.head import LocModel
from locflow.models.registry import (
    BACKBONE_SPECS,
    SCRATCH_BACKBONES,
    backbone_spec,
    count_parameters,
)
from locflow.training.fold import run_train
from locflow.training.settings import TrainSettings

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = {
    "cnn": {"channels": 8, "dilations": [1, 2], "kernel": 3, "dropout": 0.0},
    "proteinbert": {
        "local": 16,
        "global": 16,
        "blocks": 2,
        "kernel": 5,
        "dilation": 2,
        "heads": 2,
        "key_dim": 8,
        "dropout": 0.0,
    },
    "birnn": {"embed": 8, "hidden": 8, "layers": 2, "cell": "gru", "dropout": 0.0},
}
SEQS = ["MKTAYIAKQR", "MLLVLLLALLALSSAPKKKRKVAC", "ACDEFGHIKLMNPQRSTVWYXU", "MK"]


def test_registry_names_every_backbone_and_its_input_kind() -> None:
    assert SCRATCH_BACKBONES == ("cnn", "proteinbert", "birnn")
    for name in SCRATCH_BACKBONES:
        spec = backbone_spec(name)
        assert spec.from_scratch and spec.inputs == "tokens" and spec.clip_half == 511
        assert input_kind({"backbone": name}) == "tokens"
    for name in ("esm2", "esm1b", "prott5"):
        assert not backbone_spec(name).from_scratch
        assert input_kind({"backbone": name}) == "features"
        assert input_kind({"backbone": name, "lora": True}) == "sequences"
    with pytest.raises(InputError, match="unknown backbone 'nope'.*proteinbert, birnn"):
        backbone_spec("nope")
    with pytest.raises(InputError, match="birnn: unknown option.*width"):
        backbone_spec("birnn").options({"width": 3})
    # Options are the defaults updated with what is given, never the shared defaults object.
    options = backbone_spec("cnn").options({"channels": 8})
    options["dilations"].append(99)
    assert BACKBONE_SPECS["cnn"].defaults["dilations"] == [1, 2, 4, 8, 16]


def test_default_models_fit_the_shipped_size(capsys) -> None:
    """Five fp32 folds of each default backbone (with the 256-wide head) fit in 20 MB."""
    counts = {}
    for name in SCRATCH_BACKBONES:
        spec = backbone_spec(name)
        encoder = spec.encoder(spec.options())
        model = LocModel(encoder.dim, encoder=encoder)
        counts[name] = count_parameters(model)
        assert 5 * 4 * counts[name] < 20e6, (name, counts[name])
    with capsys.disabled():
        print("\nparameters with the head:", counts)
    assert counts["cnn"] < counts["birnn"] < counts["proteinbert"]


@pytest.mark.parametrize(
    "name,options",
    [
        ("proteinbert", TINY["proteinbert"]),
        ("birnn", TINY["birnn"]),
        ("birnn", {**TINY["birnn"], "cell": "lstm", "layers": 1}),
    ],
)
def test_outputs_do_not_depend_on_the_batch(name: str, options: dict) -> None:
    torch.manual_seed(0)
    encoder = backbone_spec(name).encoder(options)
    model = LocModel(encoder.dim, hidden=16, encoder=encoder).eval()
    with torch.no_grad():
        together = model(*_inputs(make_batch("tokens", SEQS, half=None)))
        for i, seq in enumerate(SEQS):
            alone = model(*_inputs(make_batch("tokens", [seq], half=None)))
            n = len(seq)
            assert torch.allclose(together.logits[i], alone.logits[0], atol=1e-5)
            assert torch.allclose(together.attention[i, :n], alone.attention[0, :n], atol=1e-5)
            assert float(together.attention[i, n:].abs().sum()) == 0.0


def _inputs(batch):  # noqa: ANN001, ANN202
    return batch.inputs, batch.mask


@pytest.mark.parametrize("name", SCRATCH_BACKBONES)
def test_a_few_steps_save_and_reload_predict_the_same(name: str, tmp_path) -> None:
    config = {
        "backbone": name,
        name: TINY[name],
        "pooling": "attention",
        "hidden": 16,
        "clip_half": 8,
        "fold": 0,
        "thresholds": dict.fromkeys(OUTPUTS, 0.5),  # load_fold wants one per output
    }
    torch.manual_seed(1)
    model = build_model(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    batch = make_batch("tokens", SEQS, half=8)
    for _ in range(2):
        out = model(batch.inputs, batch.mask)
        optimizer.zero_grad()
        out.logits.square().mean().backward()
        optimizer.step()
    model.eval()
    save_fold(tmp_path / "fold0", model, config)
    loaded, cfg = load_fold(tmp_path / "fold0")
    assert cfg[name] == TINY[name]
    first = predict_batch(model, config, SEQS)
    again = predict_batch(loaded, cfg, SEQS)
    np.testing.assert_array_equal(first.probabilities, again.probabilities)
    np.testing.assert_array_equal(first.signals, again.signals)
    for a, b in zip(first.attention, again.attention, strict=True):
        np.testing.assert_array_equal(a, b)
    assert len(again.attention[1]) == len(SEQS[1])  # clipped residues get attention 0
    assert again.attention[1][8:-8].sum() == 0.0


@pytest.mark.parametrize("name", ["proteinbert", "birnn"])
def test_train_fold_resume_and_reload(name: str, tmp_path) -> None:
    proteins, folds = planted_set(tmp_path / "data", per_fold=8)
    base = {"fold": 0, "backbone": name, name: TINY[name], "tokens_per_batch": 512, "seed": 2}
    settings = TrainSettings(epochs=1, device="cpu", signal_epochs=5, **base)
    config = run_train(proteins, folds, tmp_path / "m", settings=settings)
    assert config["backbone"] == name and config[name] == backbone_spec(name).options(TINY[name])
    assert config["dim"] == 16  # proteinbert: the local width; birnn: 2 x hidden
    model, cfg = load_fold(tmp_path / "m" / "fold0")
    assert count_parameters(model) > 0
    assert cfg["validation"]["label_count"] == config["validation"]["label_count"]
    # A second run with more epochs resumes; another shape of the backbone is refused.
    resumed = run_train(
        proteins, folds, tmp_path / "m", settings=TrainSettings(epochs=2, device="cpu", **base)
    )
    assert resumed["training"]["epochs_run"] == 2
    other = {**base, name: {**TINY[name], "dropout": 0.5}}
    with pytest.raises(InputError, match=f"other settings.*{name}"):
        run_train(proteins, folds, tmp_path / "m", settings=TrainSettings(epochs=3, **other))
    with pytest.raises(InputError, match=f"not {name}"):
        run_train(
            proteins, folds, tmp_path / "x", settings=TrainSettings(epochs=1, lora=True, **base)
        )


def test_time_budget_stops_between_epochs(tmp_path) -> None:
    proteins, folds = planted_set(tmp_path / "data", per_fold=6)
    settings = TrainSettings(
        fold=0, epochs=50, cnn=TINY["cnn"], device="cpu", signal_epochs=2, max_seconds=1e-6
    )
    config = run_train(proteins, folds, tmp_path / "m", settings=settings)
    assert config["training"]["epochs_run"] == 1  # at least one epoch, then the budget
    assert config["training"]["stopped_by_time_budget"] is True


@pytest.mark.parametrize("name", ["proteinbert", "birnn"])
def test_cli_trains_a_new_backbone(name: str, tmp_path) -> None:
    from typer.testing import CliRunner

    from locflow.cli import app

    proteins, folds = planted_set(tmp_path / "data", per_fold=3)
    args = ["train", str(proteins), str(folds), "--fold", "0", "--backbone", name]
    args += ["--out", str(tmp_path / "m"), "--epochs", "1", "--device", "cpu"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    _, cfg = load_fold(tmp_path / "m" / "fold0")
    assert cfg["backbone"] == name and cfg[name] == backbone_spec(name).options()
