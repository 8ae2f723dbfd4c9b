"""The composition peer: its features, its probabilities against scikit-learn's, the weight its
validation fold chooses, and a fold model that carries one (training, loading, prediction)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from test_train import SMALL_CNN, planted_set

from locflow.errors import InputError
from locflow.models.checkpoint import load_fold, predict_batch
from locflow.models.composition import FEATURES, CompositionPeer, composition_features
from locflow.training.fold import run_train
from locflow.training.peer import PEER_WEIGHTS, choose_peer_weight, fit_peer
from locflow.training.settings import TrainSettings
from locflow.training.split import Dataset, load_split
from locflow.training.thresholds import choose_thresholds

pytestmark = pytest.mark.usefixtures("one_torch_thread")
AA = "ACDEFGHIKLMNPQRSTVWY"


def test_features_are_the_compositions_of_the_sequence_and_its_ends() -> None:
    seq = "M" + "A" * 60 + "K" * 39  # 100 residues
    (row,) = composition_features([seq])
    assert row.shape == (FEATURES,) == (61,)
    whole, first, last, log_len = row[:20], row[20:40], row[40:60], row[60]
    assert whole[AA.index("A")] == pytest.approx(0.60) and whole[AA.index("K")] == 0.39
    assert first[AA.index("M")] == pytest.approx(0.02) and first[AA.index("A")] == 0.98
    assert last[AA.index("K")] == pytest.approx(39 / 50) and last[AA.index("A")] == 11 / 50
    assert log_len == pytest.approx(np.log(100))
    # Letters outside the 20 standard residues count in the length only.
    (odd,) = composition_features(["AXXA"])
    assert odd[AA.index("A")] == 1.0 and odd[60] == pytest.approx(np.log(4))


def _random_set(n: int, seed: int) -> tuple[list[str], np.ndarray]:
    """Sequences whose first output follows their lysine content (learnable from composition)."""
    rng = np.random.default_rng(seed)
    seqs = ["".join(rng.choice(list(AA), int(rng.integers(60, 200)))) for _ in range(n)]
    lysine = np.array([s.count("K") / len(s) for s in seqs])
    targets = np.zeros((n, 11))
    targets[:, 0] = lysine > np.median(lysine)
    targets[:, 1] = rng.random(n) < 0.3
    targets[:, 10] = 1.0  # one label value only: a constant output
    return seqs, targets


def test_peer_probabilities_are_scikit_learns() -> None:
    seqs, targets = _random_set(120, seed=0)
    peer = fit_peer(seqs, targets)
    x = StandardScaler().fit(composition_features(seqs)).transform(composition_features(seqs))
    for j in (0, 1):
        clf = LogisticRegression(max_iter=500, class_weight="balanced").fit(x, targets[:, j] > 0)
        np.testing.assert_allclose(peer.probabilities(seqs)[:, j], clf.predict_proba(x)[:, 1])
    assert (peer.probabilities(seqs)[:, 10] > 0.999).all()
    assert peer.weight == 0
    net = np.random.default_rng(1).random((len(seqs), 11))
    assert peer.blend(net, seqs) is net  # weight 0: the network alone, untouched
    mixed = CompositionPeer(peer.mean, peer.scale, peer.coef, peer.intercept, 0.3)
    np.testing.assert_allclose(mixed.blend(net, seqs), 0.7 * net + 0.3 * peer.probabilities(seqs))


def _dataset(seqs: list[str], targets: np.ndarray) -> Dataset:
    return Dataset([f"p{i}" for i in range(len(seqs))], seqs, targets, [[] for _ in seqs])


def test_the_validation_fold_chooses_the_weight() -> None:
    seqs, targets = _random_set(300, seed=2)
    peer = fit_peer(seqs[:200], targets[:200])
    val = _dataset(seqs[200:], targets[200:])
    rng = np.random.default_rng(3)
    # A network that knows nothing: the peer gets weight; one that knows all: it gets none.
    noise = rng.random((100, 11))
    chosen, report, blend = choose_peer_weight(peer, noise, val)
    assert chosen.weight > 0 and report["weight"] == chosen.weight
    assert set(report["validation_mean_mcc"]) == {str(float(w)) for w in PEER_WEIGHTS}
    np.testing.assert_allclose(blend, chosen.blend(noise, val.sequences))  # what the fold outputs
    perfect = np.clip(val.targets + rng.normal(0, 0.01, val.targets.shape), 0, 1)
    chosen, _, blend = choose_peer_weight(peer, perfect, val)
    assert chosen.weight == 0
    np.testing.assert_array_equal(blend, perfect)


def test_stored_peer_round_trips_and_malformed_ones_are_refused() -> None:
    seqs, targets = _random_set(60, seed=4)
    peer = fit_peer(seqs, targets)
    stored = json.loads(json.dumps({**peer.as_dict(), "weight": 0.2}))
    back = CompositionPeer.from_dict(stored, 11, "here")
    np.testing.assert_allclose(back.probabilities(seqs), peer.probabilities(seqs))
    assert back.weight == 0.2
    bad = [
        ({**stored, "weight": 1.5}, "weight must be within 0 and 1"),
        ({**stored, "coef": stored["coef"][:3]}, "wrong shapes"),
        ({**stored, "scale": [0.0] * FEATURES}, "zero-scale"),
        ({**stored, "mean": [float("nan")] * FEATURES}, "NaN"),
        ({k: v for k, v in stored.items() if k != "intercept"}, "malformed composition_peer"),
    ]
    for broken, message in bad:
        with pytest.raises(InputError, match=message):
            CompositionPeer.from_dict(broken, 11, "here")


def test_a_fold_with_a_peer_thresholds_and_predicts_the_blend(tmp_path) -> None:
    proteins, folds = planted_set(tmp_path / "data", per_fold=24)
    base = {"fold": 0, "epochs": 1, "tokens_per_batch": 2048, "cnn": SMALL_CNN, "seed": 4}
    config = run_train(
        proteins, folds, tmp_path / "m", settings=TrainSettings(composition_peer=True, **base)
    )
    stored = config["composition_peer"]
    assert config["training"]["composition_peer"] is True
    assert stored["weight"] == stored["choice"]["weight"] in {float(w) for w in PEER_WEIGHTS}
    # One epoch leaves the network weak and the planted NLS (lysines) and signal peptides
    # (leucines) shift the composition: the peer gets weight, so the checks below mean something.
    assert stored["weight"] > 0
    model, loaded = load_fold(tmp_path / "m" / "fold0")
    peer = CompositionPeer.from_dict(stored, 11, "test")
    _, val, _, _ = load_split(proteins, folds, 0)
    # Prediction outputs the blend of the network and the peer ...
    without = {k: v for k, v in loaded.items() if k != "composition_peer"}
    net = predict_batch(model, without, val.sequences).probabilities
    out = predict_batch(model, loaded, val.sequences)
    np.testing.assert_allclose(
        out.probabilities, (1 - peer.weight) * net + peer.weight * peer.probabilities(val.sequences)
    )
    # ... and the thresholds are the rule's on that blend over the validation fold.
    thresholds, _, _ = choose_thresholds(out.probabilities, val.targets)
    assert [config["thresholds"][o] for o in config["thresholds"]] == pytest.approx(thresholds)
    # The signal head is the network's: the peer leaves the signals alone.
    np.testing.assert_allclose(out.signals, predict_batch(model, without, val.sequences).signals)
    # A broken peer stops loading with a one-line error naming the file.
    path = tmp_path / "m" / "fold0" / "config.json"
    path.write_text(json.dumps({**loaded, "composition_peer": {**stored, "weight": -0.1}}))
    with pytest.raises(InputError, match=r"config.json: composition_peer weight"):
        load_fold(tmp_path / "m" / "fold0")


def test_cli_train_takes_the_peer_option(tmp_path) -> None:
    from typer.testing import CliRunner

    from locflow.cli import app

    proteins, folds = planted_set(tmp_path / "data", per_fold=9)
    args = ["train", str(proteins), str(folds), "--fold", "1", "--epochs", "1", "--backbone", "cnn"]
    args += ["--tokens-per-batch", "2048", "--out", str(tmp_path / "m"), "--composition-peer"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "m" / "fold1" / "config.json").read_text())
    assert config["training"]["composition_peer"] is True and "composition_peer" in config
    # Without the option (the default, as DeepLoc 2.0) the fold carries no peer.
    result = CliRunner().invoke(app, [*args[:-3], "--out", str(tmp_path / "n")])
    assert result.exit_code == 0, result.output
    config = json.loads((tmp_path / "n" / "fold1" / "config.json").read_text())
    assert "composition_peer" not in config and config["training"]["composition_peer"] is False
