"""`locflow predict` on a real tiny model: every record out once, bad input handled, CSV shape."""

from __future__ import annotations

import csv
import random
import subprocess
import sys

import h5py
import numpy as np
import pyarrow.parquet as pq
import pytest
from trained_model import TinyModel, tiny_model  # noqa: F401  (session fixture)

from locflow.data.classes import LOCATIONS
from locflow.data.tables import read_attention
from locflow.errors import InputError
from locflow.models.checkpoint import load_fold, predict_batch
from locflow.prediction.ensemble import Ensemble, EnsembleOutput, load_ensemble
from locflow.prediction.predict import run_predict
from locflow.prediction.writers import CSV_COLUMNS, DEEPLOC_SIGNAL_NAMES

AA = "ACDEFGHIKLMNPQRSTVWY"


def _protein(rng: random.Random, n: int) -> str:
    return "M" + "".join(rng.choice(AA) for _ in range(n - 1))


@pytest.fixture(scope="module")
def bad_fasta(tmp_path_factory: pytest.TempPathFactory):
    """A FASTA with every kind of trouble, and the status each record should get."""
    rng = random.Random(7)
    good = _protein(rng, 120)
    records = [
        (b">ok1 a normal protein", good.encode(), "ok"),
        (b">lower lower case and a stop", (good.lower() + "*").encode(), "ok"),
        (b">empty header with no sequence", b"", "empty sequence"),
        (b">ok1 the same id again", _protein(rng, 60).encode(), "duplicate id"),
        (b">gaps", b"MKT-AYIAKQ--RQ", "invalid characters: '-' (first at residue 4)"),
        (b">digits", b"MKT1AYIAKQ", "invalid characters: '1' (first at residue 4)"),
        (b">dna", b"ATGCGTACGTAGCTAGCTAGCATCGATCGATCGA", "looks like DNA"),
        (b">titin_like", _protein(rng, 40_000).encode(), "ok"),
        (b">latin1 caf\xe9", good.encode(), "not UTF-8"),
        (b">ok2", _protein(rng, 300).encode(), "ok"),
    ]
    path = tmp_path_factory.mktemp("fasta") / "bad.fasta"
    lines = []
    for header, seq, _ in records:
        lines.append(header)
        lines += [seq[i : i + 60] for i in range(0, len(seq), 60)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path, records


@pytest.fixture(scope="module")
def predicted(tiny_model: TinyModel, bad_fasta, tmp_path_factory):  # noqa: F811
    out = tmp_path_factory.mktemp("pred")
    summary = run_predict(bad_fasta[0], tiny_model.model, out, device="cpu", plots=True)
    return out, summary


def test_every_record_appears_once_in_input_order(predicted, bad_fasta):
    out, summary = predicted
    _, records = bad_fasta
    table = pq.read_table(out / "predictions.parquet").to_pydict()
    ids = [r[0][1:].split(b" ")[0].decode("utf-8", "backslashreplace") for r in records]
    assert table["id"] == ids
    assert table["record"] == list(range(len(records)))
    assert table["status"] == [r[2] for r in records]
    assert summary["records"] == len(records) and summary["predicted"] == 4


def test_normalisation_and_long_protein(predicted):
    out, _ = predicted
    table = pq.read_table(out / "predictions.parquet").to_pydict()
    ok1, lower = 0, 1
    # Lower case and a trailing '*' are normalised: same sequence, same prediction.
    for col in LOCATIONS:
        assert table[col][lower] == pytest.approx(table[col][ok1], abs=1e-6)
    titin = table["id"].index("titin_like")
    assert table["length"][titin] == 40_000 and table["clipped"][titin] is True
    att = read_attention(out / "attention.h5")["titin_like"]
    assert att.shape == (40_000,)
    assert att.sum() == pytest.approx(1.0, abs=1e-4)
    assert np.all(att[600:39_400] == 0)  # clipped out of the middle
    # Records that could not be predicted carry no labels and no probabilities.
    bad = table["id"].index("gaps")
    assert table["locations"][bad] is None and table["Cytoplasm"][bad] is None


def test_every_predicted_protein_has_a_location(predicted):
    out, _ = predicted
    table = pq.read_table(out / "predictions.parquet").to_pydict()
    for status, locs in zip(table["status"], table["locations"], strict=True):
        if status == "ok":
            assert locs and set(locs) <= set(LOCATIONS)


def test_csv_is_deeploc_shaped(predicted):
    out, _ = predicted
    with open(out / "results.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0][:13] == ["Protein_ID", "Localizations", "Signals", *LOCATIONS]
    table = pq.read_table(out / "predictions.parquet").to_pydict()
    assert [r[0] for r in rows[1:]] == table["id"]
    for row, locs, sigs, status in zip(
        rows[1:], table["locations"], table["signals"], table["status"], strict=True
    ):
        assert row[-1] == status
        if status == "ok":
            assert row[1] == "|".join(locs)
            assert row[2] == "|".join(DEEPLOC_SIGNAL_NAMES[s] for s in sigs)
            assert all(len(v.split(".")[1]) == 4 for v in row[3:14])
        else:
            assert row[1:14] == [""] * 13


def test_plots_per_predicted_protein(predicted):
    out, _ = predicted
    pngs = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert pngs == ["lower.png", "ok1.png", "ok2.png", "titin_like.png"]
    lines = (out / "plots" / "ok2.csv").read_text().splitlines()
    assert lines[0] == "AA,Alpha" and len(lines) == 301
    assert (out / "plots" / "ok2.png").read_bytes()[:4] == b"\x89PNG"


def test_ensemble_averages_fold_models(tiny_model: TinyModel):  # noqa: F811
    ens = load_ensemble(tiny_model.model, "cpu")
    assert ens.folds == [0, 1]
    seqs = [_protein(random.Random(1), 80), _protein(random.Random(2), 150)]
    got = ens.predict(seqs)
    folds = [load_fold(tiny_model.model / f"fold{k}", "cpu") for k in (0, 1)]
    outs = [predict_batch(m, c, seqs) for m, c in folds]
    want = (outs[0].probabilities + outs[1].probabilities) / 2
    np.testing.assert_allclose(got.probabilities, want, atol=1e-5)
    np.testing.assert_allclose(got.signals, (outs[0].signals + outs[1].signals) / 2, atol=1e-5)
    thr = np.mean([[c["thresholds"][o] for o in (*LOCATIONS, "Membrane")] for _, c in folds], 0)
    np.testing.assert_allclose(ens.thresholds, thr)


def test_batching_and_chunking_do_not_change_results(tiny_model, bad_fasta, tmp_path):  # noqa: F811
    a, b = tmp_path / "a", tmp_path / "b"
    run_predict(bad_fasta[0], tiny_model.model, a, device="cpu", tokens_per_batch=100_000)
    run_predict(
        bad_fasta[0], tiny_model.model, b, device="cpu", tokens_per_batch=50, chunk_residues=100
    )
    ta, tb = (pq.read_table(p / "predictions.parquet").to_pydict() for p in (a, b))
    assert ta["id"] == tb["id"] and ta["locations"] == tb["locations"]
    for col in LOCATIONS:
        np.testing.assert_allclose(
            np.array(ta[col], dtype=float), np.array(tb[col], dtype=float), atol=1e-5
        )
    with h5py.File(a / "attention.h5") as fa, h5py.File(b / "attention.h5") as fb:
        np.testing.assert_allclose(fa["attention"][:], fb["attention"][:], atol=1e-5)


def test_attention_file_of_a_many_chunk_run(tiny_model, tmp_path):  # noqa: F811
    """Ids, input positions and maps read back in order over 30 chunks; the index datasets
    are stored in large chunks (h5py had chosen one-element chunks for offsets, which kept a
    B-tree entry per protein in memory while writing)."""
    rng = random.Random(5)
    lines, ids, records, lengths = [], [], [], []
    for i in range(300):
        if i % 37 == 5:
            lines += [f">bad{i}", "MK-V"]  # not predicted: no attention, a gap in records
            continue
        n = rng.randint(30, 70)
        lines += [f">sp|Q{i:05d}|P{i}_HUMAN protein {i}", _protein(rng, n)]
        ids.append(f"sp|Q{i:05d}|P{i}_HUMAN")
        records.append(i)
        lengths.append(n)
    fasta = tmp_path / "many.fasta"
    fasta.write_text("\n".join(lines) + "\n")
    out = tmp_path / "out"
    summary = run_predict(fasta, tiny_model.model, out, device="cpu", chunk_residues=500)
    assert summary["predicted"] == len(ids)
    att = read_attention(out / "attention.h5")
    assert list(att) == ids
    assert [len(a) for a in att.values()] == lengths
    with h5py.File(out / "attention.h5") as f:
        assert [i.decode() for i in f["ids"][:]] == ids
        assert f["records"][:].tolist() == records
        assert np.diff(f["offsets"][:]).tolist() == lengths
        assert f["offsets"].chunks[0] >= 1024 and f["records"].chunks[0] >= 1024


def test_no_location_above_threshold_takes_the_closest():
    thr = np.array([0.5] * 10 + [0.5])
    thr[1] = 0.2  # Nucleus: 0.15 / 0.2 = 0.75 beats Cytoplasm's 0.3 / 0.5 = 0.6
    probs = np.full((1, 11), 0.05)
    probs[0, 0], probs[0, 1] = 0.3, 0.15
    ens = Ensemble([], [], thr, np.full(9, 0.5))
    locs, membrane, _ = ens.labels(EnsembleOutput(probs, np.zeros((1, 9)), [np.ones(3) / 3]))
    assert [c for c, on in zip(LOCATIONS, locs[0], strict=True) if on] == ["Nucleus"]
    assert not membrane[0]


def test_empty_fasta_is_a_clear_error(tiny_model, tmp_path):  # noqa: F811
    empty = tmp_path / "empty.fasta"
    empty.write_text("")
    with pytest.raises(InputError, match="empty"):
        run_predict(empty, tiny_model.model, tmp_path / "out", device="cpu")
    assert not (tmp_path / "out" / "predictions.parquet").exists()
    cmd = [
        sys.executable,
        "-m",
        "locflow.cli",
        "predict",
        str(empty),
        "--model",
        str(tiny_model.model),
        "--out",
        str(tmp_path / "out2"),
        "--device",
        "cpu",
    ]
    run = subprocess.run(cmd, capture_output=True, text=True)
    assert run.returncode == 2
    assert "no FASTA records (file is empty)" in " ".join(run.stderr.split())
    assert not list((tmp_path / "out2").glob("*.parquet"))


def test_missing_model_folder_is_a_clear_error(tmp_path, bad_fasta):
    with pytest.raises(InputError, match="nomodel: model folder not found"):
        run_predict(bad_fasta[0], tmp_path / "nomodel", tmp_path / "out", device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty: no trained fold"):
        run_predict(bad_fasta[0], tmp_path / "empty", tmp_path / "out", device="cpu")
