"""DeepLoc 2.0 CSV import/export, on the real set and on small broken files."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from locflow.cli import app
from locflow.data.classes import LOCATIONS
from locflow.data.deeploc import (
    attach_signals,
    export_deeploc,
    read_deeploc,
    read_signals,
    run_import_deeploc,
    signal_spans,
)
from locflow.data.tables import read_folds, read_proteins
from locflow.errors import InputError

HEADER = ",ACC,Kingdom,Partition,Membrane," + ",".join(LOCATIONS) + ",Sequence\n"


def _row(i: int, acc: str, kingdom: str, labels: str, seq: str, part: int = 0) -> str:
    # labels: membrane flag then the 10 location flags, as a string of 0/1
    vals = ",".join(f"{int(c)}.0" for c in labels)
    return f"{i},{acc},{kingdom},{part},{vals},{seq}\n"


def _csv(tmp_path: Path, body: str, header: str = HEADER, name: str = "d.csv") -> Path:
    path = tmp_path / name
    path.write_text(header + body)
    return path


SMALL = (
    _row(0, "P1", "Metazoa", "01100000000", "MKVLAAG", 2)
    + _row(1, "P2", "Fungi", "10001000000", "mkvw*", 1)
    + _row(2, "P3", "Viridiplantae", "00000010001", "MSTNPKPQRKTKRNTNRRPQDVKFPGG", 0)
    + _row(3, "P4", "Other", "00010000000", "MAAR", 4)
)


def test_read_small_csv(tmp_path: Path) -> None:
    data = read_deeploc(_csv(tmp_path, SMALL))
    rows = data.proteins.to_pylist()
    assert [r["id"] for r in rows] == ["P1", "P2", "P3", "P4"]
    assert rows[0]["locations"] == ["Cytoplasm", "Nucleus"]
    assert rows[1]["membrane"] and rows[1]["locations"] == ["Cell membrane"]
    assert rows[1]["sequence"] == "MKVW" and rows[1]["length"] == 4
    assert rows[2]["locations"] == ["Plastid", "Peroxisome"]
    assert [r["kingdom"] for r in rows] == ["Animalia", "Fungi", "Viridiplantae", "Other"]
    assert {r["source"] for r in rows} == {"deeploc2"}
    assert data.partition is not None
    assert data.partition.column("fold").to_pylist() == [2, 1, 0, 4]


@pytest.mark.parametrize(
    ("body", "header", "message"),
    [
        (SMALL + _row(4, "P2", "Fungi", "01000000000", "MKV"), HEADER, "duplicate ACC 'P2'"),
        (SMALL.replace("P4,Other,4,0.0,0.0", "P4,Other,4,0.0,0.5"), HEADER, "P4.*0.5"),
        (SMALL.replace("1,P2,Fungi,1,1.0", "1,P2,Fungi,1,yes"), HEADER, "P2.*'Membrane'.*yes"),
        (SMALL.replace("MAAR", "MA-R"), HEADER, "sequence P4: invalid characters: '-'"),
        (SMALL.replace("Other", "Bacteria"), HEADER, "P4: unknown Kingdom 'Bacteria'"),
        (SMALL, HEADER.replace(",Golgi apparatus", ""), "missing column.*'Golgi apparatus'"),
        ("", "", "file is empty"),
    ],
)
def test_bad_csv_gives_clear_error(tmp_path: Path, body: str, header: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        read_deeploc(_csv(tmp_path, body, header))


def test_signal_spans_are_runs_of_one_digit() -> None:
    assert signal_spans("1110002222000") == [
        {"type": "SP", "start": 0, "end": 3},
        {"type": "TM", "start": 6, "end": 10},
    ]
    assert signal_spans("0000") == []
    assert signal_spans("33339") == [
        {"type": "MT", "start": 0, "end": 4},
        {"type": "GPI", "start": 4, "end": 5},
    ]


def test_attach_signals_checks_sequence(tmp_path: Path) -> None:
    sig = tmp_path / "s.csv"
    sig.write_text(
        "ACC,AnnotEncoded,Kingdom,Sequence,Types\n"
        "P1,1100000,Metazoa,MKVLAAG,SP\n"
        "P2,0066,Fungi,MKVA,NLS\n"  # P2's sequence in the CSV is MKVW
        "P9,000,Metazoa,MKV,\n"
    )
    data = read_deeploc(_csv(tmp_path, SMALL))
    table, stats = attach_signals(data.proteins, read_signals(sig))
    assert stats == {
        "signal_records": 3,
        "attached": 1,
        "no_protein": 1,
        "sequence_mismatch": 1,
        "proteins_with_signals": 1,
    }
    assert table.column("signals").to_pylist()[0] == [{"type": "SP", "start": 0, "end": 2}]
    # P2 is in the signal set with another sequence, so it stays "never annotated" (null).
    assert table.column("signals").to_pylist()[1] is None
    sig.write_text("ACC,AnnotEncoded,Kingdom,Sequence,Types\nP1,110,Metazoa,MKVLAAG,SP\n")
    with pytest.raises(InputError, match="P1: AnnotEncoded has 3 digits for a sequence of 7"):
        read_signals(sig)


def test_export_round_trip(tmp_path: Path) -> None:
    src = _csv(tmp_path, SMALL)
    data = read_deeploc(src)
    out = tmp_path / "again.csv"
    export_deeploc(data.proteins, out, folds=data.partition)
    again = read_deeploc(out)
    assert again.proteins.equals(data.proteins)
    assert again.partition is not None and again.partition.equals(data.partition)
    # Same text as the input, except the normalised sequence of P2.
    assert out.read_text() == src.read_text().replace("mkvw*", "MKVW")
    export_deeploc(data.proteins, tmp_path / "nofolds.csv")
    assert "Partition" not in (tmp_path / "nofolds.csv").read_text().splitlines()[0]


def test_real_deeploc_set(shared_data: Path, tmp_path: Path) -> None:
    csv_path = shared_data / "deeploc2" / "swissprot_cv.csv.gz"
    sig_path = shared_data / "deeploc2" / "sorting_signals.csv.gz"
    start = time.perf_counter()
    run_import_deeploc(
        csv_path,
        tmp_path / "p.parquet",
        signals=sig_path,
        folds_out=tmp_path / "f.parquet",
        report_out=tmp_path / "r.json",
    )
    seconds = time.perf_counter() - start
    assert seconds < 10, f"import took {seconds:.1f} s"
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["rows"] == 28303
    assert report["locations"] == {
        "Cytoplasm": 9870,
        "Nucleus": 9720,
        "Extracellular": 3301,
        "Cell membrane": 4187,
        "Mitochondrion": 2590,
        "Plastid": 1047,
        "Endoplasmic reticulum": 2180,
        "Lysosome/Vacuole": 1496,
        "Golgi apparatus": 1279,
        "Peroxisome": 304,
    }
    assert report["labels_per_protein"] == {"1": 21619, "2": 5868, "3": 672, "4": 117, "5": 27}
    assert report["kingdoms"] == {
        "Animalia": 16741,
        "Fungi": 5841,
        "Other": 605,
        "Viridiplantae": 5116,
    }
    assert report["signals"]["attached"] == 1874
    assert report["signals"]["sequence_mismatch"] == 0
    proteins = read_proteins(tmp_path / "p.parquet")
    assert proteins.num_rows == 28303
    lengths = proteins.column("length").to_pylist()
    assert min(lengths) == 40 and max(lengths) == 34350
    by_id = {r["id"]: r for r in proteins.select(["id", "signals", "locations"]).to_pylist()}
    # O75439 (mitochondrial processing peptidase beta): a 45-residue mitochondrial transit peptide.
    assert by_id["O75439"]["signals"] == [{"type": "MT", "start": 0, "end": 45}]
    folds = read_folds(tmp_path / "f.parquet")
    assert sorted(set(folds.column("fold").to_pylist())) == [0, 1, 2, 3, 4]
    assert pq.read_metadata(tmp_path / "p.parquet").metadata[b"source"] == b"deeploc2"


def test_cli_import_deeploc(tmp_path: Path) -> None:
    src = tmp_path / "d.csv.gz"
    src.write_bytes(gzip.compress((HEADER + SMALL).encode()))
    out = tmp_path / "sub" / "proteins.parquet"
    result = CliRunner().invoke(
        app, ["import-deeploc", str(src), "--out", str(out), "--keep-partition"]
    )
    assert result.exit_code == 0, result.output
    assert read_proteins(out).num_rows == 4
    assert read_folds(out.with_name("folds.parquet")).num_rows == 4
