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


# --- item 3: partition of too little, evaluation of part of a test set -------------------------


def test_partition_of_an_empty_table_is_an_error(tmp_path):
    from locflow.partition import run_partition
    from locflow.tables import proteins_table, write_table

    empty = tmp_path / "proteins.parquet"
    write_table(proteins_table([]), empty)
    with pytest.raises(InputError, match="proteins.parquet: the proteins table has no proteins"):
        run_partition(empty, tmp_path / "folds.parquet")
    assert not (tmp_path / "folds.parquet").exists()


def test_partition_of_fewer_proteins_than_folds_warns(tmp_path, caplog):
    import logging

    from locflow.partition import partition_table
    from locflow.tables import protein_record, proteins_table

    seqs = ["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ", "MSDNGPQNQRNAPRITFGGPSDSTGSNQNGERS",
            "MADQLTEEQIAEFKEAFSLFDKDGDGTITTKEL"]  # fmt: skip
    table = proteins_table([protein_record(f"P{i}", s, ["Nucleus"]) for i, s in enumerate(seqs)])
    with caplog.at_level(logging.WARNING, logger="locflow.partition"):
        _, report = partition_table(table, k=5)
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "3 proteins into 5 folds" in text and "have no proteins" in text
    assert len(report["empty_folds"]) >= 2


def test_evaluate_refuses_a_folds_table_covering_part_of_a_test_fold(tiny_model, tmp_path):  # noqa: F811
    from locflow.evaluate import evaluate
    from locflow.tables import folds_table, read_folds, write_table

    table = read_folds(tiny_model.folds).to_pydict()
    pairs = list(zip(table["id"], table["fold"], strict=True))
    half = [(i, f) for n, (i, f) in enumerate(pairs) if f != 0 or n % 2]
    path = tmp_path / "half.parquet"
    write_table(folds_table([i for i, _ in half], [f for _, f in half]), path)
    with pytest.raises(InputError, match=r"half.parquet: puts only \d+ of model fold 0's"):
        evaluate(tiny_model.model, tiny_model.proteins, tmp_path / "cv", folds=path, device="cpu")
    assert not (tmp_path / "cv").exists()
