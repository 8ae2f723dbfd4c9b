"""Broken models, mismatched tables, shared or interrupted output folders: a clear error, never
a silently wrong result."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from trained_model import TinyModel, tiny_model  # noqa: F401  (session fixture)

from locflow.errors import InputError
from locflow.prediction.ensemble import load_ensemble

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
    from locflow.data.tables import proteins_table, write_table
    from locflow.homology.partition import run_partition

    empty = tmp_path / "proteins.parquet"
    write_table(proteins_table([]), empty)
    with pytest.raises(InputError, match="proteins.parquet: the proteins table has no proteins"):
        run_partition(empty, tmp_path / "folds.parquet")
    assert not (tmp_path / "folds.parquet").exists()


def test_partition_of_fewer_proteins_than_folds_warns(tmp_path, caplog):
    import logging

    from locflow.data.tables import protein_record, proteins_table
    from locflow.homology.partition import partition_table

    seqs = ["MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ", "MSDNGPQNQRNAPRITFGGPSDSTGSNQNGERS",
            "MADQLTEEQIAEFKEAFSLFDKDGDGTITTKEL"]  # fmt: skip
    table = proteins_table([protein_record(f"P{i}", s, ["Nucleus"]) for i, s in enumerate(seqs)])
    with caplog.at_level(logging.WARNING, logger="locflow.homology.partition"):
        _, report = partition_table(table, k=5)
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "3 proteins into 5 folds" in text and "have no proteins" in text
    assert len(report["empty_folds"]) >= 2


def test_evaluate_refuses_a_folds_table_covering_part_of_a_test_fold(tiny_model, tmp_path):  # noqa: F811
    from locflow.data.tables import folds_table, read_folds, write_table
    from locflow.evaluation.evaluate import run_evaluate

    table = read_folds(tiny_model.folds).to_pydict()
    pairs = list(zip(table["id"], table["fold"], strict=True))
    half = [(i, f) for n, (i, f) in enumerate(pairs) if f != 0 or n % 2]
    path = tmp_path / "half.parquet"
    write_table(folds_table([i for i, _ in half], [f for _, f in half]), path)
    with pytest.raises(InputError, match=r"half.parquet: puts only \d+ of model fold 0's"):
        run_evaluate(
            tiny_model.model, tiny_model.proteins, tmp_path / "cv", folds=path, device="cpu"
        )
    assert not (tmp_path / "cv").exists()


# --- items 4 and 5: an --out folder is owned by one run, and cleaned of a killed run's files ---


def _tiny_fasta(tmp_path: Path, ids: list[str]) -> Path:
    path = tmp_path / "in.fasta"
    path.write_text("".join(f">{i}\nMKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQ\n" for i in ids))
    return path


def test_second_run_into_a_locked_out_folder_stops(tiny_model, tmp_path):  # noqa: F811
    from locflow.data.files import owned_folder
    from locflow.prediction.predict import run_predict

    fasta, out = _tiny_fasta(tmp_path, ["a"]), tmp_path / "out"
    with owned_folder(out):  # a first run is still writing
        with pytest.raises(InputError, match="another locflow run .* is writing into this"):
            run_predict(fasta, tiny_model.model, out, device="cpu")
        assert not (out / "predictions.parquet").exists()
    run_predict(fasta, tiny_model.model, out, device="cpu")  # released: runs
    assert (out / "summary.json").exists()


def test_lock_of_a_killed_run_does_not_block(tmp_path):
    import subprocess
    import sys

    from locflow.data.files import owned_folder

    out = tmp_path / "out"
    code = "import sys, time\nfrom locflow.data.files import owned_folder\n"
    code += f"with owned_folder({str(out)!r}):\n"
    code += "    print('locked', flush=True)\n    time.sleep(60)\n"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with pytest.raises(InputError, match=f"process {proc.pid}"):
            with owned_folder(out):
                pass
    finally:
        proc.kill()
        proc.wait()
    with owned_folder(out):  # the system released the dead run's lock
        pass


def test_run_removes_a_killed_runs_leftovers_and_old_plots(tiny_model, tmp_path):  # noqa: F811
    from locflow.prediction.predict import run_predict

    out = tmp_path / "out"
    run_predict(_tiny_fasta(tmp_path, ["old1", "old2"]), tiny_model.model, out, plots=True,
                  device="cpu")  # fmt: skip
    # What a kill -9 during a second run leaves: hidden temporaries, a half-written plots copy.
    (out / ".results.csv.x1y2.tmp").write_text("partial")
    (out / ".plots.abcd.tmp").mkdir()
    (out / ".plots.abcd.tmp" / "half.png").write_bytes(b"\x89PNG")
    (out / ".plots.abcd.tmp" / ".half.csv.q.tmp").write_text("AA")
    run_predict(_tiny_fasta(tmp_path, ["new"]), tiny_model.model, out, plots=True,
                  device="cpu")  # fmt: skip
    assert sorted(p.name for p in out.iterdir()) == [
        "attention.h5", "plots", "predictions.parquet", "results.csv", "summary.json",
    ]  # fmt: skip
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["new.csv", "new.png"]
    run_predict(_tiny_fasta(tmp_path, ["newer"]), tiny_model.model, out, device="cpu")
    assert not (out / "plots").exists()  # no plots asked: none from an older run stay


def test_plots_of_a_failed_run_never_replace_the_old_ones(tiny_model, tmp_path, monkeypatch):  # noqa: F811
    import locflow.prediction.predict as predict

    out = tmp_path / "out"
    predict.run_predict(_tiny_fasta(tmp_path, ["old"]), tiny_model.model, out, plots=True,
                          device="cpu")  # fmt: skip

    def broken(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(predict, "_write_plots", broken)
    with pytest.raises(RuntimeError):
        predict.run_predict(_tiny_fasta(tmp_path, ["new"]), tiny_model.model, out, plots=True,
                              device="cpu")  # fmt: skip
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["old.csv", "old.png"]
    assert not list(out.glob(".*.tmp"))


# --- item 6: broken model folders and options are one-line errors ------------------------------


def _break_weights(path: Path, how: str) -> None:
    import struct

    from safetensors.torch import load_file, save_file

    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "garbage":
        path.write_bytes(b"this is not a weights file at all" * 10)
    elif how == "oversized header":
        path.write_bytes(struct.pack("<Q", 1 << 40) + data[8:])
    elif how == "nan":
        weights = load_file(str(path))
        name = next(n for n, t in weights.items() if t.is_floating_point())
        weights[name][...] = float("nan")
        save_file(weights, str(path), metadata={"format": "locflow-model/1"})


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("truncated", "not readable safetensors weights"),
        ("garbage", "not readable safetensors weights"),
        ("oversized header", "not readable safetensors weights"),
        ("nan", r"weight \S+ holds NaN or infinite values"),
    ],
)
def test_broken_weights_are_one_line_errors(tiny_model, tmp_path, how, message):  # noqa: F811
    model = _copy_model(tiny_model, tmp_path)
    _break_weights(model / "fold1" / "weights.safetensors", how)
    with pytest.raises(InputError, match=f"fold1/weights.safetensors: {message}"):
        load_ensemble(model, "cpu")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"hidden": 64}, "weights do not fit the model config"),
        (
            {"cnn": {"channels": 8, "dilations": [1, 2], "kernel": 5, "dropout": 0.0}, "dim": 8},
            "weights do not fit the model config",
        ),  # fmt: skip
        ({"thresholds": {"Cytoplasm": 0.5}}, "thresholds lack Nucleus"),
        ({"thresholds": None}, "no thresholds"),
        ({"signal_thresholds": {"SP": "high"}}, "threshold SP is 'high'"),
        ({"pooling": None, "hidden": "wide"}, "bad model settings"),
    ],
)
def test_config_that_does_not_match_its_weights(tiny_model, tmp_path, change, message):  # noqa: F811
    model = _copy_model(tiny_model, tmp_path)
    path = model / "fold0" / "config.json"
    config = json.loads(path.read_text())
    if change.get("thresholds") == {"Cytoplasm": 0.5}:
        change = {"thresholds": {k: v for k, v in config["thresholds"].items() if k != "Nucleus"}}
    path.write_text(json.dumps({**config, **change}))
    with pytest.raises(InputError, match=message):
        load_ensemble(model, "cpu")


@pytest.mark.parametrize("device", ["tpu", "cuda:x", "meta"])
def test_bad_device_is_an_input_error(device):
    from locflow.runtime import resolve_device

    with pytest.raises(InputError, match=f"`device` {device}"):
        resolve_device(device)


@pytest.mark.parametrize("kind", ["file", "uncreatable"])
def test_out_that_is_a_file_or_cannot_be_created(tiny_model, tmp_path, kind):  # noqa: F811
    from locflow.prediction.predict import run_predict

    blocker = tmp_path / "blocker"
    blocker.write_text("a file")
    out = blocker if kind == "file" else blocker / "sub"
    expected = "exists and is not a folder" if kind == "file" else "cannot create the folder"
    with pytest.raises(InputError, match=f"`out` {out}: {expected}"):
        run_predict(_tiny_fasta(tmp_path, ["a"]), tiny_model.model, out, device="cpu")


# --- item 9: ids cannot become spreadsheet formulas --------------------------------------------


def test_results_csv_neutralises_formula_ids(tiny_model, tmp_path):  # noqa: F811
    import csv

    import pyarrow.parquet as pq

    from locflow.prediction.predict import run_predict

    ids = ['=HYPERLINK("http://x","y")', "+1", "-2", "@SUM(A1)", "ok_id"]
    out = tmp_path / "out"
    run_predict(_tiny_fasta(tmp_path, ids), tiny_model.model, out, device="cpu")
    with open(out / "results.csv", newline="") as fh:
        written = [row["Protein_ID"] for row in csv.DictReader(fh)]
    assert written == ["'" + i for i in ids[:4]] + ["ok_id"]
    assert pq.read_table(out / "predictions.parquet").column("id").to_pylist() == ids
