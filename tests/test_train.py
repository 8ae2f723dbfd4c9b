"""Training end to end on a small planted-signal set: learning, resume, the CLI."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from sklearn.metrics import matthews_corrcoef

from locflow.data.classes import LOCATIONS
from locflow.data.tables import folds_table, protein_record, proteins_table, write_table
from locflow.errors import InputError
from locflow.models.checkpoint import load_fold, predict_batch
from locflow.models.head import probabilities_to_labels
from locflow.training.fold import run_train
from locflow.training.settings import TrainSettings
from locflow.training.split import load_split
from locflow.training.thresholds import choose_thresholds, mcc_thresholds

AA = "ACDEFGHIKLMNPQRSTVWY"
NLS = "PKKKRKV"
SP = "MLLVLLLALLALSSA"
SMALL_CNN = {"channels": 32, "dilations": [1, 2, 4], "kernel": 5, "dropout": 0.0}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def planted_set(folder: Path, per_fold: int, folds: int = 4, seed: int = 0) -> tuple[Path, Path]:
    """Random proteins; a third carry an internal NLS (Nucleus), a third an N-terminal signal
    peptide (Extracellular), the rest nothing (Cytoplasm). Spans are annotated as signals."""
    rng = np.random.default_rng(seed)
    rows, ids, fold_of = [], [], []
    for f in range(folds):
        for i in range(per_fold):
            seq = list(rng.choice(list(AA), int(rng.integers(50, 110))))
            kind = i % 3
            if kind == 1:
                pos = int(rng.integers(15, len(seq) - 15))
                seq[pos : pos + len(NLS)] = NLS
                sig, locs = [{"type": "NLS", "start": pos, "end": pos + len(NLS)}], ["Nucleus"]
            elif kind == 2:
                seq[: len(SP)] = SP
                sig, locs = [{"type": "SP", "start": 0, "end": len(SP)}], ["Extracellular"]
            else:
                sig, locs = [], ["Cytoplasm"]
            pid = f"P{f}_{i}"
            rows.append(protein_record(pid, "".join(seq), locs, signals=sig))
            ids.append(pid)
            fold_of.append(f)
    folder.mkdir(parents=True, exist_ok=True)
    write_table(proteins_table(rows), folder / "proteins.parquet")
    write_table(folds_table(ids, fold_of), folder / "folds.parquet")
    return folder / "proteins.parquet", folder / "folds.parquet"


def test_split_uses_whole_folds_and_never_the_test_fold(tmp_path) -> None:
    proteins, folds = planted_set(tmp_path, per_fold=6)
    train, val, vfold, k = load_split(proteins, folds, fold=2)
    assert (vfold, k) == (3, 4)
    assert {i.split("_")[0] for i in val.ids} == {"P3"}
    assert {i.split("_")[0] for i in train.ids} == {"P0", "P1"}
    assert train.targets.shape == (12, 11)
    with pytest.raises(InputError, match="validation fold 2"):
        load_split(proteins, folds, fold=2, validation_fold=2)
    with pytest.raises(InputError, match="fold 7 has no proteins"):
        load_split(proteins, folds, fold=7)


def test_learns_planted_signals(tmp_path) -> None:
    proteins, folds = planted_set(tmp_path / "data", per_fold=60)
    settings = TrainSettings(fold=0, epochs=5, tokens_per_batch=2048, cnn=SMALL_CNN, seed=1)
    config = run_train(proteins, folds, tmp_path / "model", settings=settings)
    assert config["validation_fold"] == 1

    # Score the untouched test fold 0 with the saved model and its validation thresholds.
    model, cfg = load_fold(tmp_path / "model" / "fold0")
    _, test, _, _ = load_split(proteins, folds, fold=1, validation_fold=0)  # fold 0's proteins
    pred = predict_batch(model, cfg, test.sequences)
    for j, name in [(1, "Nucleus"), (2, "Extracellular")]:
        called = pred.probabilities[:, j] >= cfg["thresholds"][name]
        assert matthews_corrcoef(test.targets[:, j] > 0, called) > 0.7, name

    # Attention concentrates on the planted residues: far above their share of the sequence.
    mass, share = [], []
    for seq, spans, att in zip(test.sequences, test.signals, pred.attention, strict=True):
        for sp in spans:
            mass.append(att[sp["start"] : sp["end"]].sum())
            share.append((sp["end"] - sp["start"]) / len(seq))
    assert np.mean(mass) > 3 * np.mean(share)

    # The second-stage signal head learned both signal types.
    assert cfg["signal_head"]["trained"]
    assert cfg["signal_head"]["val_mcc"]["SP"] > 0.8
    assert cfg["signal_head"]["val_mcc"]["NLS"] > 0.5
    ensemble = json.loads((tmp_path / "model" / "ensemble.json").read_text())
    assert [f["fold"] for f in ensemble["folds"]] == [0]


def test_resume_continues_exactly(tmp_path) -> None:
    proteins, folds = planted_set(tmp_path / "data", per_fold=12)
    base = {"fold": 0, "tokens_per_batch": 1024, "cnn": SMALL_CNN, "seed": 5}
    straight = run_train(proteins, folds, tmp_path / "a", settings=TrainSettings(epochs=2, **base))
    first = run_train(proteins, folds, tmp_path / "b", settings=TrainSettings(epochs=1, **base))
    assert first["training"]["epochs_run"] == 1
    resumed = run_train(proteins, folds, tmp_path / "b", settings=TrainSettings(epochs=2, **base))
    assert resumed["training"]["epochs_run"] == 2
    assert resumed["training"]["history"] == straight["training"]["history"]
    a, _ = load_fold(tmp_path / "a" / "fold0")
    b, _ = load_fold(tmp_path / "b" / "fold0")
    for (name, va), vb in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.allclose(va, vb, atol=1e-6), name
    # Changing a setting that shapes training is refused instead of silently mixing runs.
    with pytest.raises(InputError, match="other settings"):
        run_train(
            proteins, folds, tmp_path / "b", settings=TrainSettings(epochs=3, **{**base, "seed": 6})
        )


def test_resume_refuses_changed_proteins_or_folds_table(tmp_path) -> None:
    """A resume after the proteins or folds table changed would mix two data sets silently."""
    proteins, folds = planted_set(tmp_path / "data", per_fold=6)
    base = {"fold": 0, "tokens_per_batch": 1024, "cnn": SMALL_CNN, "seed": 5}
    run_train(proteins, folds, tmp_path / "m", settings=TrainSettings(epochs=1, **base))
    saved_proteins, saved_folds = proteins.read_bytes(), folds.read_bytes()
    planted_set(tmp_path / "data", per_fold=6, seed=1)  # same ids, other sequences
    folds.write_bytes(saved_folds)
    with pytest.raises(InputError, match="other data.*proteins_table"):
        run_train(proteins, folds, tmp_path / "m", settings=TrainSettings(epochs=2, **base))
    proteins.write_bytes(saved_proteins)
    ids = [f"P{f}_{i}" for f in range(4) for i in range(6)]
    write_table(folds_table(ids, [(n + 1) % 4 for n in range(len(ids))]), folds)
    with pytest.raises(InputError, match="other data.*folds_table"):
        run_train(proteins, folds, tmp_path / "m", settings=TrainSettings(epochs=2, **base))
    folds.write_bytes(saved_folds)  # the original tables resume
    resumed = run_train(proteins, folds, tmp_path / "m", settings=TrainSettings(epochs=2, **base))
    assert resumed["training"]["epochs_run"] == 2


def test_attention_term_weights_enter_the_loss_and_the_resume_check(tmp_path) -> None:
    """--kl-weight/--dct-weight 0 leave the focal BCE alone; the defaults add DeepLoc's terms."""
    proteins, folds = planted_set(tmp_path / "data", per_fold=9)
    base = {"fold": 0, "epochs": 1, "tokens_per_batch": 1024, "cnn": SMALL_CNN, "seed": 2}
    off = run_train(
        proteins, folds, tmp_path / "off", settings=TrainSettings(kl_weight=0, dct_weight=0, **base)
    )
    (epoch,) = off["training"]["history"]
    assert epoch["train_loss"] == epoch["train_focal"] and epoch["val_loss"] == epoch["val_focal"]
    assert epoch["train_kl"] == 0 and epoch["train_dct"] == 0
    assert (off["training"]["kl_weight"], off["training"]["dct_weight"]) == (0, 0)
    on = run_train(proteins, folds, tmp_path / "on", settings=TrainSettings(**base))["training"]
    (epoch,) = on["history"]
    expected = epoch["train_focal"] + 0.1 * epoch["train_kl"] + 0.1 * epoch["train_dct"]
    assert epoch["train_kl"] > 0 and epoch["train_dct"] > 0
    assert epoch["train_loss"] == pytest.approx(expected, abs=2e-3)
    with pytest.raises(InputError, match="must be at least 0"):
        run_train(proteins, folds, tmp_path / "neg", settings=TrainSettings(kl_weight=-1, **base))
    with pytest.raises(InputError, match="other settings.*kl_weight"):
        run_train(
            proteins, folds, tmp_path / "off",
            settings=TrainSettings(**{**base, "epochs": 2}, kl_weight=0.05, dct_weight=0),
        )  # fmt: skip


def test_cli_train_and_bad_input(tmp_path, monkeypatch, capsys) -> None:
    from typer.testing import CliRunner

    from locflow.cli import app, main

    proteins, folds = planted_set(tmp_path / "data", per_fold=9)
    out = tmp_path / "model"
    args = ["train", str(proteins), str(folds), "--fold", "3", "--backbone", "cnn"]
    args += ["--epochs", "1", "--tokens-per-batch", "2048", "--pooling", "mean", "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--kl-weight", "0.02", "--dct-weight", "0"])
    assert result.exit_code == 0, result.output
    config = json.loads((out / "fold3" / "config.json").read_text())
    assert config["validation_fold"] == 0 and config["pooling"] == "mean"
    assert (config["training"]["kl_weight"], config["training"]["dct_weight"]) == (0.02, 0)
    assert (out / "fold3" / "weights.safetensors").stat().st_size > 0
    # Bad input goes through the console entry point: one line on stderr, exit status 2.
    monkeypatch.setattr(sys, "argv", ["locflow", *[("9" if a == "3" else a) for a in args]])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    assert "fold 9 has no proteins" in capsys.readouterr().err


def _tiny(name: str, folder: Path) -> Path:
    from locflow.models.backbones import random_checkpoint

    return random_checkpoint(name, folder, seed=0, layers=2, hidden=32, heads=4, ffn=64)


@pytest.fixture(scope="module")
def tiny_esm(tmp_path_factory) -> Path:
    return _tiny("esm2", tmp_path_factory.mktemp("esm2-tiny"))


@pytest.mark.parametrize("name", ["esm2", "prott5"])
def test_lora_trains_only_adapters_and_head(tmp_path, tiny_esm, name) -> None:
    from safetensors.torch import load_file

    from locflow.models.backbones import load_backbone

    checkpoint = tiny_esm if name == "esm2" else _tiny(name, tmp_path / name)
    proteins, folds = planted_set(tmp_path / "data", per_fold=9)
    settings = TrainSettings(
        fold=0, backbone=name, checkpoint=str(checkpoint), lora=True, epochs=1, device="cpu"
    )
    config = run_train(proteins, folds, tmp_path / "model", settings=settings)
    assert config["lora"] and config["dim"] == 32
    stored = load_file(tmp_path / "model" / "fold0" / "weights.safetensors")
    encoder_keys = [k for k in stored if k.startswith("encoder.")]
    assert encoder_keys and all("lora_" in k for k in encoder_keys)
    # Adapters moved away from their init (LoRA B starts at zero) ...
    assert any(stored[k].abs().sum() > 0 for k in encoder_keys if "lora_B" in k)
    # ... while every pretrained weight is still exactly the checkpoint's.
    model, cfg = load_fold(tmp_path / "model" / "fold0")
    base = dict(load_backbone(name, checkpoint).model.named_parameters())
    trained = {
        k.split("base_model.model.", 1)[1].replace(".base_layer", ""): v
        for k, v in model.encoder.module.named_parameters()
        if "lora_" not in k
    }
    assert set(trained) == set(base)
    assert all(torch.equal(trained[k], base[k]) for k in base)
    pred = predict_batch(model, cfg, ["MKTAYIAKQRQISFVKSHFSRQ", "MSTNPKPQRKTKRNTNRRPQDVKFPGG"])
    assert pred.probabilities.shape == (2, 11)
    assert [len(a) for a in pred.attention] == [22, 27]


def test_frozen_backbone_from_stored_embeddings(tmp_path, tiny_esm) -> None:
    from locflow.data.tables import read_proteins
    from locflow.models.backbones import load_backbone
    from locflow.models.embed import embed_sequences

    proteins, folds = planted_set(tmp_path / "data", per_fold=9)
    sequences = read_proteins(proteins).column("sequence").to_pylist()
    backbone = load_backbone("esm2", tiny_esm)
    embed_sequences(sequences, tmp_path / "emb.h5", backbone)
    settings = TrainSettings(
        fold=1, backbone="esm2", embeddings=str(tmp_path / "emb.h5"), epochs=1, device="cpu"
    )
    config = run_train(proteins, folds, tmp_path / "model", settings=settings)
    assert not config["lora"] and config["dim"] == 32
    model, cfg = load_fold(tmp_path / "model" / "fold1")
    assert model.encoder is None
    # The same protein through stored embeddings and through the live backbone agrees.
    seqs = sequences[:3]
    from locflow.models.embed import EmbeddingStore

    store = EmbeddingStore(tmp_path / "emb.h5")
    a = predict_batch(model, cfg, seqs, embeddings=[store.get(s) for s in seqs])
    b = predict_batch(model, cfg, seqs, backbone=backbone)
    assert np.allclose(a.probabilities, b.probabilities, atol=2e-3)
    # Without stored embeddings the frozen backbone runs live on every batch.
    live = TrainSettings(fold=1, backbone="esm2", checkpoint=str(tiny_esm), epochs=1, device="cpu")
    live_config = run_train(proteins, folds, tmp_path / "live", settings=live)
    assert live_config["dim"] == 32 and live_config["checkpoint"] == str(tiny_esm.resolve())
    with pytest.raises(InputError, match="embeddings of esm2, not `backbone` esm1b"):
        run_train(
            proteins,
            folds,
            tmp_path / "m2",
            settings=TrainSettings(**{**settings.__dict__, "backbone": "esm1b"}),
        )


def test_mcc_thresholds_pick_the_separating_cut() -> None:
    probs = np.array([[0.05, 0.5], [0.2, 0.5], [0.3, 0.5], [0.62, 0.5], [0.9, 0.5]])
    targets = np.array([[0, 1], [0, 1], [0, 1], [1, 1], [1, 1]], dtype=np.float32)
    thresholds, mcc = mcc_thresholds(probs, targets)
    assert 0.3 < thresholds[0] <= 0.62 and mcc[0] == pytest.approx(1.0)
    assert thresholds[1] == 0.5 and np.isnan(mcc[1])  # one label value only: MCC undefined


def test_thresholds_track_the_true_label_count() -> None:
    """Per-location MCC thresholds of a weak model over-call; the common logit offset brings
    the predicted count back to the true one on the same (validation) proteins, keeps the
    locations' order of strictness and leaves the membrane threshold alone."""
    rng = np.random.default_rng(0)
    n, locs = 3000, len(LOCATIONS)
    targets = np.zeros((n, locs + 1), dtype=np.float32)
    targets[np.arange(n), rng.integers(0, locs, n)] = 1.0
    targets[rng.random(n) < 0.3, 0] = 1.0  # some proteins have two locations
    targets[:, locs] = rng.random(n) < 0.4
    probs = np.where(targets > 0, rng.beta(2, 3, targets.shape), rng.beta(1.2, 4, targets.shape))
    mcc_only, _ = mcc_thresholds(probs, targets)
    true_mean = targets[:, :locs].sum(1).mean()
    over = probabilities_to_labels(probs[:, :locs], mcc_only[:locs]).sum(1).mean()
    assert over > true_mean + 0.5  # the rule this replaces over-calls here

    thresholds, mcc, report = choose_thresholds(probs, targets)
    counted = probabilities_to_labels(probs[:, :locs], thresholds[:locs]).sum(1).mean()
    assert counted == pytest.approx(true_mean, abs=0.02)
    assert report["predicted_labels_per_protein"] == pytest.approx(counted, abs=1e-3)
    assert report["predicted_labels_per_protein_mcc"] == pytest.approx(over, abs=1e-3)
    assert report["logit_offset"] > 0 and thresholds[locs] == mcc_only[locs]
    order = np.argsort(mcc_only[:locs], kind="stable")
    assert np.all(np.diff(thresholds[:locs][order]) >= 0)
    assert np.all((mcc > 0) & (mcc <= 1))
    # A model whose MCC thresholds already give the true count keeps them (no shift).
    exact = targets * 0.9 + 0.05
    kept, _, report = choose_thresholds(exact, targets)
    assert report["logit_offset"] == 0.0
    np.testing.assert_array_equal(kept, np.round(mcc_thresholds(exact, targets)[0], 4))


def test_early_stopping_when_validation_stops_improving(tmp_path) -> None:
    proteins, folds = planted_set(tmp_path / "data", per_fold=6)
    # lr 0: the validation loss can never improve after the first epoch.
    settings = TrainSettings(fold=0, epochs=6, lr=0.0, patience=2, cnn=SMALL_CNN)
    config = run_train(proteins, folds, tmp_path / "model", settings=settings)
    assert config["training"]["epochs_run"] == 3 and config["training"]["early_stopped"]
    assert config["training"]["best_epoch"] == 1


def test_stopping_lr_and_best_epoch_follow_validation_focal_bce(tmp_path, monkeypatch) -> None:
    """DeepLoc 2.0: LR patience 1, stopping patience 5, best checkpoint by validation focal
    BCE. Here the total validation loss improves every epoch while the focal BCE is best at
    epoch 2; following the total loss would never stop and keep the last epoch."""
    import locflow.training.loop as train_module

    focal = iter([1.0, 0.9, 0.95, 0.96, 0.97, 0.98, 0.99, 1.0, 1.0, 1.0])
    epochs = {"train": 0, "val": 0}
    sizes: list[int] = []

    def scripted(model, inputs, data, batches, optimizer, **weights):
        sizes.extend(len(b) for b in batches)
        if optimizer is not None:
            epochs["train"] += 1
            with torch.no_grad():  # mark the weights with the epoch that produced them
                model.classifier.bias.fill_(float(epochs["train"]))
            return {"loss": 1.0, "focal": 1.0, "kl": 0.0, "dct": 0.0}
        epochs["val"] += 1
        return {"loss": 10.0 - epochs["val"], "focal": next(focal), "kl": 0.0, "dct": 0.0}

    monkeypatch.setattr(train_module, "run_epoch", scripted)
    proteins, folds = planted_set(tmp_path / "data", per_fold=70)
    settings = TrainSettings(fold=0, epochs=10, tokens_per_batch=10**6, cnn=SMALL_CNN)
    config = run_train(proteins, folds, tmp_path / "model", settings=settings)
    training = config["training"]
    assert training["epochs_run"] == 7 and training["early_stopped"]
    assert training["best_epoch"] == 2
    # LR cut after the 2nd epoch without improvement (epochs 3 and 4), again after 5 and 6.
    assert [h["lr"] for h in training["history"]] == pytest.approx(
        [1e-3, 1e-3, 1e-3, 1e-3, 1e-4, 1e-4, 1e-5]
    )
    model, _ = load_fold(tmp_path / "model" / "fold0")
    assert torch.all(model.classifier.bias == 2.0)  # epoch 2's weights were kept
    # 140 training proteins fit one batch of the token budget; DeepLoc's cap is 128.
    assert max(sizes) == 128 and training["batch_proteins"] == 128


def test_signal_head_loss_weights_positives_per_type(tmp_path) -> None:
    from locflow.models.head import LocModel
    from locflow.models.losses import signal_bce
    from locflow.training.signal_head import _signal_targets, train_signal_head
    from locflow.training.split import Dataset

    rng = np.random.default_rng(0)
    types = ["TH", "CH", "TH", "NES", "TH", "SP"] * 5

    def data(n: int) -> tuple[Dataset, tuple[np.ndarray, np.ndarray]]:
        signals = [[{"type": types[i], "start": 0, "end": 5}] for i in range(n)]
        ds = Dataset([str(i) for i in range(n)], ["A" * 20] * n, np.zeros((n, 11)), signals)
        probs = rng.random((n, 11)).astype(np.float32)
        pooled = rng.standard_normal((n, 16)).astype(np.float32)
        return ds, (probs, pooled)

    train_data, train_feats = data(30)
    val_data, val_feats = data(12)
    torch.manual_seed(0)
    model = LocModel(8, hidden=16)
    settings = TrainSettings(fold=0, signal_epochs=30)
    report = train_signal_head(model, train_feats, train_data, val_feats, val_data, settings)
    # The reported validation loss is the weighted BCE of the kept head (unweighted differs).
    _, y = _signal_targets(val_data)
    with torch.no_grad():
        logits = model.signal_head(torch.from_numpy(val_feats[1]), torch.from_numpy(val_feats[0]))
    weighted = signal_bce(logits, torch.from_numpy(y)).item()
    plain = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(y))
    assert report["val_loss"] == pytest.approx(weighted, rel=1e-5)
    assert abs(plain.item() - weighted) > 0.03


def test_training_writes_one_line_per_epoch_to_a_log(tmp_path) -> None:
    """Without a terminal (a log file, a Nextflow task) every epoch is one plain line with the
    elapsed time and its losses: `locflow train ... > log 2>&1` shows the run moving."""
    import io

    from locflow import runtime

    class Log(io.StringIO):
        def isatty(self) -> bool:
            return False

    proteins, folds = planted_set(tmp_path / "data", per_fold=6)
    log = Log()
    settings = TrainSettings(fold=0, epochs=2, cnn=SMALL_CNN, device="cpu")
    with runtime.reporting("train", stream=log, interval=600):
        run_train(proteins, folds, tmp_path / "model", settings=settings)
    lines = log.getvalue().splitlines()
    assert [line.split(":")[1] for line in lines] == [" fold 0 epoch 1/2", " fold 0 epoch 2/2"]
    assert all("train loss" in line and "validation focal BCE" in line for line in lines)
    assert all(line.endswith("elapsed") and "\x1b" not in line for line in lines)
