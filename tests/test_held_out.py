"""A model folder records what each fold model saw; evaluation refuses to score those proteins.

A model trained with one folds table (e.g. DeepLoc's Partition) and cross-validated with
another (e.g. locflow's partition) would otherwise test fold models on their own training
proteins without a word.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys

import pytest
from trained_model import TinyModel, tiny_model  # noqa: F401  (session fixture)

from locflow.data.files import file_sha256
from locflow.data.tables import folds_table, read_folds, write_table
from locflow.errors import InputError
from locflow.evaluation.evaluate import run_evaluate
from locflow.models.checkpoint import (
    TRAINING_DATA,
    check_held_out,
    read_config,
    read_training_record,
    training_record,
)


def _fold_of(path) -> dict[str, int]:
    table = read_folds(path).to_pydict()
    return dict(zip(table["id"], table["fold"], strict=True))


def test_each_fold_config_records_its_tables_and_ids(tiny_model):  # noqa: F811
    fold_of = _fold_of(tiny_model.folds)
    for k in (0, 1):
        config = read_config(tiny_model.model / f"fold{k}")
        record = read_training_record(config)
        assert record is not None and record.fold == k
        val = config["validation_fold"]
        assert record.validation == {i for i, f in fold_of.items() if f == val}
        assert record.train == {i for i, f in fold_of.items() if f not in (k, val, -1)}
        assert record.same_table("folds", tiny_model.folds)
        assert record.same_table("proteins", tiny_model.proteins)
        assert record.folds_table["sha256"] == file_sha256(tiny_model.folds)
        # Its own test fold is not in it.
        assert not record.seen(i for i, f in fold_of.items() if f == k)


def test_record_is_compact_and_checked(tmp_path):
    table = tmp_path / "t.parquet"
    table.write_bytes(b"not really parquet, hashed all the same")
    ids = [f"A0A{n:07d}" for n in range(20_000)]
    record = training_record(table, table, ids[:16_000], ids[16_000:])
    assert record["train"]["proteins"] == 16_000 and record["validation"]["proteins"] == 4_000
    # Far smaller than the JSON list of the ids (~ 13 bytes each).
    assert len(json.dumps(record)) < 3 * len(ids)
    config = {"fold": 0, TRAINING_DATA: record}
    assert read_training_record(config).train == frozenset(ids[:16_000])
    record["train"]["sha256"] = "0" * 64
    with pytest.raises(InputError, match="does not match its sha256"):
        read_training_record(config)


def test_check_held_out_names_the_fold_and_the_table(tmp_path):
    table = tmp_path / "locflow_folds.parquet"
    table.write_bytes(b"folds")
    config = {"fold": 2, TRAINING_DATA: training_record(table, table, ["P1", "P2"], ["P3"])}
    assert check_held_out([config], {2: ["P4", "P5"]}, "other.parquet") == []
    with pytest.raises(InputError) as info:
        check_held_out([config], {2: ["P4", "P3", "P1"]}, "other.parquet")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith("other.parquet: model fold 2 would score 2 protein(s)")
    assert "P1, P3" in message and str(table) in message
    # A fold model without a record cannot be checked: reported, not refused.
    assert check_held_out([{"fold": 4}], {4: ["P1"]}, "x") == [4]


@pytest.fixture(scope="module")
def shifted_folds(tiny_model, tmp_path_factory):  # noqa: F811
    """The same proteins with every fold number moved by one: fold k's test proteins are now
    what the trained fold models trained or validated on."""
    fold_of = _fold_of(tiny_model.folds)
    path = tmp_path_factory.mktemp("shifted") / "folds.parquet"
    write_table(folds_table(list(fold_of), [(f + 1) % 3 for f in fold_of.values()]), path)
    return path


def test_evaluate_refuses_a_folds_table_that_tests_on_training_proteins(
    tiny_model,  # noqa: F811
    shifted_folds,
    tmp_path,
):
    with pytest.raises(InputError, match=r"model fold 0 would score \d+ protein\(s\) it trained"):
        run_evaluate(
            tiny_model.model,
            tiny_model.proteins,
            tmp_path / "cv",
            folds=shifted_folds,
            device="cpu",
        )
    assert not (tmp_path / "cv" / "metrics.json").exists()


def test_cli_evaluate_refusal_is_one_line_and_exit_2(
    tiny_model,  # noqa: F811
    shifted_folds,
    tmp_path,
    monkeypatch,
    capsys,
):
    from locflow.cli import main

    args = ["locflow", "evaluate", "--model", str(tiny_model.model)]
    args += ["--data", str(tiny_model.proteins), "--folds", str(shifted_folds)]
    args += ["--out", str(tmp_path / "cv"), "--device", "cpu"]
    monkeypatch.setattr(sys, "argv", args)
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith("error: ")
    assert "trained or validated on" in err and str(tiny_model.folds) in err


def test_a_different_file_with_the_same_held_out_folds_is_accepted(
    tiny_model,  # noqa: F811
    tmp_path,
):
    # Reordered rows, and fold 2 (never a test fold here) dropped: other bytes, no leak.
    fold_of = _fold_of(tiny_model.folds)
    kept = sorted((i, f) for i, f in fold_of.items() if f != 2)[::-1]
    path = tmp_path / "folds.parquet"
    write_table(folds_table([i for i, _ in kept], [f for _, f in kept]), path)
    assert file_sha256(path) != file_sha256(tiny_model.folds)
    metrics = run_evaluate(tiny_model.model, tiny_model.proteins, tmp_path / "cv", folds=path)
    assert metrics["held_out_check"] == {"unchecked_folds": []}


def test_old_model_folder_without_record_still_evaluates_with_one_warning(
    tiny_model,  # noqa: F811
    tmp_path,
    caplog,
):
    old = tmp_path / "model"
    shutil.copytree(tiny_model.model, old)
    for k in (0, 1):
        path = old / f"fold{k}" / "config.json"
        config = json.loads(path.read_text())
        del config[TRAINING_DATA]
        path.write_text(json.dumps(config))
    with caplog.at_level(logging.WARNING, logger="locflow.evaluation.evaluate"):
        metrics = run_evaluate(
            old, tiny_model.proteins, tmp_path / "cv", folds=tiny_model.folds, device="cpu"
        )
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "fold model(s) 0, 1 record no training data" in warnings[0].getMessage()
    assert metrics["kind"] == "cv" and metrics["held_out_check"] == {"unchecked_folds": [0, 1]}
