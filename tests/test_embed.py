"""`locflow embed`: real tiny models, real HDF5, a real SIGKILL in the middle of a run."""

from __future__ import annotations

import gzip
import hashlib
import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from locflow.cli import app
from locflow.data.tables import protein_record, proteins_table, write_table
from locflow.errors import InputError
from locflow.models.backbones import clip_indices, clip_sequence, load_backbone, random_checkpoint
from locflow.models.embed import EmbeddingStore, embed_sequences, parts_dir, read_inputs

TINY = {"layers": 2, "hidden": 32, "heads": 4, "ffn": 64}
SEQS = ["MKTAYIAKQRQISFVKSHFSRQ", "ACDEFGHIKLMNPQRSTVWYUOBZX", "MW", "GSGSGSGSGSGSGS"]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("embed-models")
    return {n: random_checkpoint(n, root / n, seed=2, **TINY) for n in ("esm2", "prott5")}


@pytest.fixture(scope="module")
def esm(checkpoints: dict[str, Path]):
    return load_backbone("esm2", checkpoints["esm2"])


def _alone(backbone, seq: str) -> np.ndarray:
    with torch.inference_mode():
        hidden, _ = backbone([seq])
    return hidden[0].numpy()


@pytest.mark.parametrize("name", ["esm2", "prott5"])
def test_store_layout(checkpoints, tmp_path: Path, name: str) -> None:
    backbone = load_backbone(name, checkpoints[name])
    out = tmp_path / "emb.h5"
    summary = embed_sequences(SEQS + [SEQS[0]], out, backbone, tokens_per_batch=64)
    assert (summary.sequences, summary.unique, summary.embedded) == (5, 4, 4)
    assert summary.residues == sum(map(len, SEQS))
    with h5py.File(out, "r") as fh:
        assert sorted(fh) == sorted(hashlib.sha256(s.encode()).hexdigest() for s in SEQS)
        attrs = dict(fh.attrs)
        assert attrs["backbone"] == name and attrs["dim"] == 32 and attrs["layer"] == -1
        assert attrs["clipping"] == ("2000+2000" if name == "prott5" else "511+511")
        assert attrs["checkpoint"] == str(checkpoints[name])
        for seq in SEQS:
            ds = fh[hashlib.sha256(seq.encode()).hexdigest()]
            assert ds.dtype == np.float16 and ds.shape == (len(seq), 32)
            assert ds.attrs["length"] == len(seq)
    store = EmbeddingStore(out)
    assert len(store) == 4 and store.backbone == name
    for seq in SEQS:
        assert seq in store
        # Batched in the file == the sequence alone, to float16 precision.
        np.testing.assert_allclose(
            store.get(seq).astype(np.float32), _alone(backbone, seq), atol=2e-2, rtol=1e-2
        )
    assert "MKV" not in store and "not a sequence!" not in store
    with pytest.raises(KeyError, match="run locflow embed"):
        store.get("MKV")


def test_long_sequences_keep_both_ends(esm, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    long = "".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), size=1300))
    out = tmp_path / "emb.h5"
    embed_sequences([long, "MKV"], out, esm)
    store = EmbeddingStore(out)
    emb = store.get(long)
    assert emb.shape == (1022, 32)
    assert store.positions(long).tolist() == clip_indices(1300, 511).tolist()
    np.testing.assert_allclose(
        emb.astype(np.float32), _alone(esm, clip_sequence(long, 511)), atol=2e-2, rtol=1e-2
    )


def test_rerun_skips_stored_sequences(esm, tmp_path: Path) -> None:
    out = tmp_path / "emb.h5"
    first = embed_sequences(SEQS[:2], out, esm)
    assert first.embedded == 2
    before = {k: v for k, v in ((k, EmbeddingStore(out).get(s)) for k, s in enumerate(SEQS[:2]))}
    again = embed_sequences(SEQS[:2], out, esm)
    assert (again.embedded, again.stored_before, again.residues) == (0, 2, 0)
    more = embed_sequences(SEQS, out, esm)
    assert (more.embedded, more.stored_before) == (2, 2)
    store = EmbeddingStore(out)
    assert len(store) == 4
    for k, seq in enumerate(SEQS[:2]):
        assert np.array_equal(store.get(seq), before[k])
    assert not parts_dir(out).exists()


def test_other_settings_are_refused(checkpoints, esm, tmp_path: Path) -> None:
    out = tmp_path / "emb.h5"
    embed_sequences(SEQS[:1], out, esm)
    other_layer = load_backbone("esm2", checkpoints["esm2"], layer=1)
    with pytest.raises(InputError, match="layer -1 .this run 1."):
        embed_sequences(SEQS, out, other_layer)
    with pytest.raises(InputError, match="clip_half 511 .this run 100."):
        embed_sequences(SEQS, out, esm, clip_half=100)


def test_empty_input_writes_an_empty_store(esm, tmp_path: Path) -> None:
    out = tmp_path / "emb.h5"
    summary = embed_sequences([], out, esm)
    assert summary.embedded == 0
    assert len(EmbeddingStore(out)) == 0


def test_store_survives_pickling(esm, tmp_path: Path) -> None:
    out = tmp_path / "emb.h5"
    embed_sequences(SEQS, out, esm)
    store = EmbeddingStore(out)
    store.get(SEQS[0])
    copy = pickle.loads(pickle.dumps(store))
    assert np.array_equal(copy.get(SEQS[1]), store.get(SEQS[1]))


def test_not_an_embeddings_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        EmbeddingStore(tmp_path / "absent.h5")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as fh:
        fh["x"] = np.zeros(3)
    with pytest.raises(InputError, match="not a locflow embeddings file"):
        EmbeddingStore(other)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5 at all")
    with pytest.raises(InputError, match="not a readable HDF5"):
        EmbeddingStore(junk)


KILLED_RUN = """
import os, signal, sys
from locflow.models.backbones import load_backbone
from locflow.models.embed import embed_sequences

backbone = load_backbone("esm2", sys.argv[1])
calls = 0
real_forward = backbone.forward

def forward(seqs):
    # SIGKILL (no cleanup, no finally) in the middle of the run, after some parts were saved.
    global calls
    calls += 1
    if calls == 4:
        os.kill(os.getpid(), signal.SIGKILL)
    return real_forward(seqs)

backbone.forward = forward
seqs = [line for line in open(sys.argv[3]).read().split()]
embed_sequences(seqs, sys.argv[2], backbone, tokens_per_batch=40, segment_bytes=1)
"""


@pytest.mark.slow
def test_killed_run_leaves_readable_file_and_resumes(checkpoints, esm, tmp_path: Path) -> None:
    out = tmp_path / "emb.h5"
    embed_sequences(SEQS[:2], out, esm)
    rng = np.random.default_rng(1)
    new = ["".join(rng.choice(list("ACDEFGHIKLMNPQRSTVWY"), size=n)) for n in range(12, 30)]
    listing = tmp_path / "seqs.txt"
    listing.write_text("\n".join(SEQS[:2] + new))
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_RUN))
    proc = subprocess.run(
        [sys.executable, str(script), str(checkpoints["esm2"]), str(out), str(listing)],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},
    )
    assert proc.returncode == -9, proc.stderr
    # The output file is the complete one from before; three batches wait as parts.
    assert len(EmbeddingStore(out)) == 2
    parts = sorted(parts_dir(out).glob("part-*.h5"))
    assert len(parts) == 3
    saved = sum(len(h5py.File(p, "r")) for p in parts)
    stale = parts_dir(out) / ".part-1-1.h5.abc.tmp"  # as a kill during a part's write leaves
    stale.write_bytes(b"half a part")
    resumed = embed_sequences(SEQS[:2] + new, out, esm, tokens_per_batch=40)
    assert resumed.stored_before == 2 + saved
    assert resumed.embedded == len(new) - saved
    store = EmbeddingStore(out)
    assert len(store) == 2 + len(new)
    for seq in new:
        np.testing.assert_allclose(
            store.get(seq).astype(np.float32), _alone(esm, seq), atol=2e-2, rtol=1e-2
        )
    assert not parts_dir(out).exists() and not stale.exists()


def test_read_inputs_fasta_and_parquet(tmp_path: Path) -> None:
    fasta = tmp_path / "in.fasta.gz"
    with gzip.open(fasta, "wt") as fh:
        fh.write(">a lower case and stop\nmktay\niak*\n>b\nMW\n")
    assert read_inputs(fasta) == (["MKTAYIAK", "MW"], 0)
    bad = tmp_path / "bad.fasta"
    bad.write_text(">a\nMKV\n>gappy\nMK-V\n>c\nMW\n")
    with pytest.raises(InputError, match=r"bad.fasta: sequence gappy: invalid characters: '-'"):
        read_inputs(bad)
    assert read_inputs(bad, skip_invalid=True) == (["MKV", "MW"], 1)
    table = tmp_path / "proteins.parquet"
    write_table(proteins_table([protein_record("P1", "MKV", ["Nucleus"])]), table)
    assert read_inputs(table) == (["MKV"], 0)


def test_cli_embed(checkpoints, tmp_path: Path) -> None:
    fasta = tmp_path / "in.fasta"
    fasta.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(SEQS)))
    out = tmp_path / "emb.h5"
    args = ["embed", str(fasta), "--backbone", "esm2", "--checkpoint", str(checkpoints["esm2"])]
    args += ["--out", str(out), "--device", "cpu", "--dtype", "fp32", "--no-progress"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "embedded 4 sequences" in result.output
    assert len(EmbeddingStore(out)) == 4
    again = CliRunner().invoke(app, args)
    assert "embedded 0 sequences" in again.output and "4 already stored" in again.output


def test_cli_bad_input_exits_2(checkpoints, tmp_path: Path) -> None:
    fasta = tmp_path / "in.fasta"
    fasta.write_text(">ok\nMKV\n>dna\nACGTACGTACGTACGTACGT\n")
    proc = subprocess.run(
        [sys.executable, "-m", "locflow.cli", "embed", str(fasta), "--backbone", "esm2",
         "--checkpoint", str(checkpoints["esm2"]), "--out", str(tmp_path / "e.h5")],
        capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 2
    assert "sequence dna: looks like DNA" in proc.stderr
    assert not (tmp_path / "e.h5").exists()


def test_real_deeploc_sequences(shared_data: Path, esm, tmp_path: Path) -> None:
    """Real sequences with U, X and B, and the longest one, embed with one row per residue."""
    import csv

    with gzip.open(shared_data / "deeploc2" / "swissprot_cv.csv.gz", "rt") as fh:
        rows = list(csv.DictReader(fh))
    seqs = {r["ACC"]: r["Sequence"] for r in rows}
    pick = [next(a for a, s in seqs.items() if c in s) for c in "UXB"]
    pick.append(max(seqs, key=lambda a: len(seqs[a])))
    chosen = [seqs[a] for a in pick]
    out = tmp_path / "emb.h5"
    embed_sequences(chosen, out, esm)
    store = EmbeddingStore(out)
    for seq in chosen:
        assert store.get(seq).shape == (min(len(seq), 1022), 32)
        assert len(store.positions(seq)) == min(len(seq), 1022)
