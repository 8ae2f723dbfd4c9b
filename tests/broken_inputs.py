"""A corpus of broken inputs for every `locflow` command, built on demand by the tests.

Each case is (command, arguments, text the one-line error must contain). Nothing here is
committed as a binary file: `build(folder)` writes every broken file into `folder`.
"""

from __future__ import annotations

import gzip
import json
import struct
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    """One broken invocation: `locflow <args>` must fail with one line containing `expect`."""

    name: str
    args: tuple[str, ...]
    expect: str

    @property
    def command(self) -> str:
        return self.args[0]


GOOD_SEQ = "MKTAYIAKQRQISFVKSHFSRQLEERLGLIEVQAPILSRVGDGTQDNLSGAEKAVQVKVKALPDAQ"


def _model(folder: Path, weights: bytes | None) -> Path:
    """A cnn model folder with one fold whose config is valid; `weights` None = real ones."""
    from locflow.data.classes import OUTPUTS
    from locflow.models.checkpoint import build_model, save_fold

    config = {
        "backbone": "cnn",
        "cnn": {"channels": 8, "dilations": [1], "kernel": 3, "dropout": 0.0},
        "dim": 8,
        "pooling": "attention",
        "hidden": 8,
        "clip_half": 500,
        "fold": 0,
        "validation_fold": 1,
        "folds": 2,
        "thresholds": {o: 0.5 for o in OUTPUTS},
    }
    model = build_model(config)
    save_fold(folder / "fold0", model, config)
    if weights is not None:
        (folder / "fold0" / "weights.safetensors").write_bytes(weights)
    return folder


def build(root: Path) -> list[Case]:  # noqa: PLR0915 - one list, read top to bottom
    """Write the corpus under `root`; return the cases."""
    from locflow.data.tables import folds_table, protein_record, proteins_table, write_table

    root.mkdir(parents=True, exist_ok=True)
    p = {name: root / name for name in ("missing.fasta", "a_file", "nofolder")}

    def write(name: str, data: bytes | str) -> Path:
        path = root / name
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        return path

    fasta = write("good.fasta", f">P1\n{GOOD_SEQ}\n")
    empty = write("empty.fasta", b"")
    text = write("text.fasta", "just some words\n")
    cut = gzip.compress(b">P1\n" + GOOD_SEQ.encode() * 300)
    bad_deflate = bytearray(cut)
    bad_deflate[20:40] = b"\xff" * 20
    corrupt_gz = write("corrupt.fa.gz", bytes(bad_deflate))
    truncated_gz = write("truncated.fa.gz", cut[: len(cut) // 2])
    folder = root / "a_folder"
    folder.mkdir(exist_ok=True)
    write("a_file", "not a folder")
    garbage = write("garbage.parquet", b"PAR1 this is not parquet")
    not_json = write("not.json", "{ nope")
    proteins = root / "proteins.parquet"
    write_table(proteins_table([protein_record("P1", GOOD_SEQ, ["Nucleus"])]), proteins)
    no_proteins = root / "no_proteins.parquet"
    write_table(proteins_table([]), no_proteins)
    folds = root / "folds.parquet"
    write_table(folds_table(["P1"], [0]), folds)
    import pyarrow as pa

    lacking = root / "lacking.parquet"
    write_table(pa.table({"id": ["P1"], "sequence": [GOOD_SEQ]}), lacking)
    models = root / "models"
    real = _model(models / "real", None)
    garbage_model = _model(models / "garbage", b"not safetensors at all")
    weights = (real / "fold0" / "weights.safetensors").read_bytes()
    truncated_model = _model(models / "truncated", weights[: len(weights) // 2])
    oversized = _model(models / "oversized", struct.pack("<Q", 1 << 40) + weights[8:])
    nan_model = _model(models / "nan", None)
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(nan_model / "fold0" / "weights.safetensors"))
    tensors["classifier.bias"][:] = float("nan")
    save_file(tensors, str(nan_model / "fold0" / "weights.safetensors"))
    narrow = _model(models / "narrow", None)
    cfg = json.loads((narrow / "fold0" / "config.json").read_text())
    (narrow / "fold0" / "config.json").write_text(json.dumps({**cfg, "hidden": 16}))
    nothr = _model(models / "nothr", None)
    cfg["thresholds"].pop("Nucleus")
    (nothr / "fold0" / "config.json").write_text(json.dumps(cfg))
    out = str(root / "out")

    def predict(model: Path, fa: Path = fasta, *extra: str) -> tuple[str, ...]:
        return ("predict", str(fa), "--model", str(model), "--out", out, "--device", "cpu", *extra)

    cases = [
        # FASTA input
        Case("predict-missing", predict(real, p["missing.fasta"]), "missing.fasta: file not found"),
        Case("predict-empty", predict(real, empty), "empty.fasta: no FASTA records"),
        Case("predict-text", predict(real, text), "text.fasta: not FASTA"),
        Case("predict-corrupt-gz", predict(real, corrupt_gz), "corrupt.fa.gz: cannot read"),
        Case("predict-truncated-gz", predict(real, truncated_gz), "truncated.fa.gz: cannot read"),
        Case("predict-folder", predict(real, folder), "a_folder: is a folder"),
        # output folder and options
        Case("predict-out-file", (*predict(real)[:4], "--out", str(p["a_file"])), "a_file"),
        Case(
            "predict-out-uncreatable",
            (*predict(real)[:4], "--out", str(p["a_file"] / "x")),
            "cannot create the folder",
        ),
        Case("predict-device", (*predict(real), "--device", "tpu"), "--device tpu"),
        Case("predict-tokens", (*predict(real), "--tokens-per-batch", "0"), "--tokens-per-batch"),
        Case("predict-unknown-option", (*predict(real), "--bogus"), "--bogus"),
        Case("predict-no-args", ("predict",), "Missing argument"),
        # broken models
        Case("predict-no-model", predict(p["nofolder"]), "nofolder: model folder not found"),
        Case("predict-garbage-weights", predict(garbage_model), "not readable safetensors"),
        Case("predict-truncated-weights", predict(truncated_model), "not readable safetensors"),
        Case("predict-oversized-header", predict(oversized), "not readable safetensors"),
        Case("predict-nan-weights", predict(nan_model), "holds NaN"),
        Case("predict-width-mismatch", predict(narrow), "do not fit the model config"),
        Case("predict-thresholds-missing", predict(nothr), "thresholds lack Nucleus"),
        # tables
        Case(
            "train-missing",
            (
                "train",
                str(root / "no.parquet"),
                str(folds),
                "--fold",
                "0",
                "--backbone",
                "cnn",
                "--out",
                out,
            ),
            "no.parquet: proteins table not found",
        ),
        Case(
            "train-garbage",
            ("train", str(garbage), str(folds), "--fold", "0", "--backbone", "cnn", "--out", out),
            "garbage.parquet: not a Parquet",
        ),
        Case(
            "train-lacking",
            ("train", str(lacking), str(folds), "--fold", "0", "--backbone", "cnn", "--out", out),
            "lacking.parquet: proteins table lacks",
        ),
        Case(
            "train-device",
            (
                "train",
                str(proteins),
                str(folds),
                "--fold",
                "0",
                "--backbone",
                "cnn",
                "--out",
                out,
                "--device",
                "tpu",
            ),
            "--device tpu",
        ),
        Case(
            "evaluate-no-model",
            ("evaluate", "--model", str(p["nofolder"]), "--data", str(proteins), "--out", out),
            "nofolder: model folder not found",
        ),
        Case(
            "evaluate-garbage-data",
            ("evaluate", "--model", str(real), "--data", str(garbage), "--out", out),
            "garbage.parquet",
        ),
        Case(
            "score-garbage",
            (
                "score",
                "--predictions",
                str(garbage),
                "--truth",
                str(proteins),
                "--out",
                str(root / "m.json"),
            ),
            "garbage.parquet",
        ),
        Case(
            "report-missing",
            ("report", str(p["nofolder"]), "--out", str(root / "r.html")),
            "nofolder",
        ),
        Case(
            "partition-empty",
            ("partition", str(no_proteins), "--out", str(root / "f.parquet")),
            "no_proteins.parquet: the proteins table has no proteins",
        ),
        Case(
            "partition-folder",
            ("partition", str(folder), "--out", str(root / "f.parquet")),
            "a_folder: is a folder",
        ),
        Case(
            "homology-search-empty",
            ("homology-search", str(no_proteins), "--out", str(root / "pairs.parquet")),
            "no_proteins.parquet: the proteins table has no proteins",
        ),
        Case(
            "homology-search-bad-chunk",
            ("homology-search", str(proteins), "--out", str(root / "pairs.parquet"),
             "--chunk", "4/3"),
            "--chunk 4/3",
        ),  # fmt: skip
        Case(
            "partition-garbage-pairs",
            ("partition", str(proteins), "--out", str(root / "f.parquet"), "--pairs",
             str(garbage)),
            "garbage.parquet",
        ),  # fmt: skip
        Case(
            "filter-homologs-missing",
            (
                "filter-homologs",
                str(root / "no.parquet"),
                "--against",
                str(proteins),
                "--out",
                str(root / "k.parquet"),
            ),
            "no.parquet",
        ),
        Case("audit-garbage", ("audit", str(proteins), str(garbage)), "garbage.parquet"),
        Case(
            "embed-missing",
            ("embed", str(p["missing.fasta"]), "--backbone", "esm2", "--out", str(root / "e.h5")),
            "missing.fasta",
        ),
        Case(
            "embed-backbone",
            ("embed", str(fasta), "--backbone", "nonsense", "--out", str(root / "e.h5")),
            "nonsense",
        ),
        Case(
            "curate-swissprot-missing",
            ("curate-swissprot", str(root / "no.dat"), "--out", str(root / "c.parquet")),
            "no.dat",
        ),
        Case(
            "curate-swissprot-folder",
            ("curate-swissprot", str(folder), "--out", str(root / "c.parquet")),
            "a_folder",
        ),
        Case(
            "import-deeploc-garbage",
            ("import-deeploc", str(not_json), "--out", str(root / "d.parquet")),
            "not.json",
        ),
        Case(
            "curate-hpa-missing",
            (
                "curate-hpa",
                "--locations",
                str(root / "no.tsv"),
                "--uniprot",
                str(root / "no.dat"),
                "--out",
                str(root / "h.parquet"),
            ),
            "no.tsv",
        ),
        Case(
            "fetch-uniprot-format",
            ("fetch-uniprot", "--out", str(root / "u"), "--format", "xml"),
            "xml",
        ),
        Case("fetch-uniprot-out-file", ("fetch-uniprot", "--out", str(p["a_file"])), "a_file"),
        Case("fetch-hpa-out-file", ("fetch-hpa", "--out", str(p["a_file"])), "a_file"),
        Case("make-demo-data-out-file", ("make-demo-data", "--out", str(p["a_file"])), "a_file"),
        Case(
            "make-demo-data-too-few",
            ("make-demo-data", "--out", out, "--proteins", "3"),
            "--proteins",
        ),
        Case("demo-out-file", ("demo", "--out", str(p["a_file"])), "a_file"),
        Case("versions-unknown", ("versions", "nosuchtool"), "nosuchtool"),
    ]
    return cases
