"""Broken models, mismatched tables, shared or interrupted output folders: a clear error, never
a silently wrong result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from trained_model import TinyModel, tiny_model  # noqa: F401  (session fixture)

from locflow.files import InputError
from locflow.predict import load_ensemble

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _copy_model(tiny: TinyModel, tmp_path: Path) -> Path:
    model = tmp_path / "model"
    shutil.copytree(tiny.model, model)
    return model


# --- item 2: a model folder is used whole, each fold once -------------------------------------


def test_fold_without_weights_is_refused_not_dropped(tiny_model, tmp_path):  # noqa: F811
    model = _copy_model(tiny_model, tmp_path)
    (model / "fold1" / "weights.safetensors").unlink()
    with pytest.raises(InputError, match=r"fold1/weights.safetensors: missing"):
        load_ensemble(model, "cpu")


def test_two_folders_claiming_one_fold_are_refused(tiny_model, tmp_path):  # noqa: F811
    model = _copy_model(tiny_model, tmp_path)
    shutil.copytree(model / "fold0", model / "fold0_copy")
    with pytest.raises(InputError, match="says fold 0 but the folder is fold0_copy"):
        load_ensemble(model, "cpu")
    shutil.rmtree(model / "fold0_copy")
    config = json.loads((model / "fold1" / "config.json").read_text())
    (model / "fold1" / "config.json").write_text(json.dumps({**config, "fold": 0}))
    with pytest.raises(InputError, match="says fold 0 but the folder is fold1"):
        load_ensemble(model, "cpu")


def test_fold_listed_in_ensemble_json_but_gone_is_refused(tiny_model, tmp_path):  # noqa: F811
    model = _copy_model(tiny_model, tmp_path)
    shutil.rmtree(model / "fold1")
    with pytest.raises(InputError, match=r"ensemble.json: lists fold\(s\) 1"):
        load_ensemble(model, "cpu")
    (model / "ensemble.json").unlink()
    assert load_ensemble(model, "cpu").folds == [0]


def test_interrupted_fold_is_refused(tiny_model, tmp_path):  # noqa: F811
    model = _copy_model(tiny_model, tmp_path)
    (model / "fold2").mkdir()
    (model / "fold2" / "resume.pt").write_bytes(b"x")
    with pytest.raises(InputError, match="fold2: training of this fold did not finish"):
        load_ensemble(model, "cpu")
