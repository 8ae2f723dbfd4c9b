"""benchmarks/attention_weights.py: what it reads from a fold's validation fold, and which
already trained folds it accepts in place of training them again."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import pytest
from trained_model import tiny_model  # noqa: F401

from locflow.data.classes import LOCATIONS
from locflow.data.files import file_sha256, read_json

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import attention_weights as aw  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_scores_come_from_the_validation_fold_and_the_best_epoch(tiny_model) -> None:  # noqa: F811
    config = read_json(tiny_model.model / "fold1" / "config.json")
    scores = aw.validation_scores(config)
    (epoch,) = config["training"]["history"]
    assert scores["val_focal"] == epoch["val_focal"]
    mcc = [config["validation"]["mcc"][c] or 0.0 for c in LOCATIONS]
    assert scores["val_mean_mcc"] == pytest.approx(statistics.fmean(mcc))
    assert (scores["best_epoch"], scores["epochs_run"]) == (1, 1)


def test_a_trained_fold_is_taken_only_with_the_same_settings_and_table(
    tiny_model, tmp_path  # noqa: F811
) -> None:
    config = read_json(tiny_model.model / "fold1" / "config.json")
    sha = file_sha256(tiny_model.folds)
    settings = {"fold": 1, "backbone": "cnn", "seed": 1, "epochs": 1, "cnn": config["cnn"]}
    settings |= {"kl_weight": 0.1, "dct_weight": 0.1}  # what the tiny model was trained with
    aw.check_trained(config, settings, sha)
    with pytest.raises(SystemExit, match=r"trained with KL, DCT weights \(0.1, 0.1\), not"):
        aw.check_trained(config, {**settings, "kl_weight": 0.01}, sha)
    with pytest.raises(SystemExit, match="epochs_run 1 for --epochs 2"):
        aw.check_trained(config, {**settings, "epochs": 2}, sha)
    with pytest.raises(SystemExit, match="seed 1 != 0"):
        aw.check_trained(config, {**settings, "seed": 0}, sha)
    with pytest.raises(SystemExit, match="other cnn options"):
        aw.check_trained(config, {**settings, "cnn": {**config["cnn"], "channels": 64}}, sha)
    with pytest.raises(SystemExit, match="another folds table"):
        aw.check_trained(config, settings, "0" * 64)


def test_pairs_parse_and_name_their_folders() -> None:
    assert aw.parse_pair("0.1,0") == (0.1, 0.0)
    assert aw.pair_name(*aw.parse_pair("0.01,0.1")) == "kl0.01_dct0.1"
