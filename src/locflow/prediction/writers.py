"""What predictions are written as: the predictions table (Parquet schema and rows), DeepLoc
2.0's CSV (with ids a spreadsheet would run as formulas made inert), and the ragged per-residue
attention file. `locflow predict` and `locflow evaluate` both write with these; the readers
are in locflow.data.tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from locflow.data.classes import LOCATIONS, MEMBRANE, PROBABILITY_COLUMNS, SIGNAL_COLUMNS, SIGNALS
from locflow.data.sequences import FastaRecord
from locflow.prediction.ensemble import Ensemble, EnsembleOutput

# DeepLoc 2.0's names of the signal types in its CSV; it reports no GPI anchor, so that name
# is locflow's own.
DEEPLOC_SIGNAL_NAMES: dict[str, str] = {
    "SP": "Signal peptide",
    "TM": "Transmembrane domain",
    "MT": "Mitochondrial transit peptide",
    "CH": "Chloroplast transit peptide",
    "TH": "Thylakoid luminal transit peptide",
    "NLS": "Nuclear localization signal",
    "NES": "Nuclear export signal",
    "PTS": "Peroxisomal targeting signal",
    "GPI": "GPI anchor",
}

CSV_COLUMNS: tuple[str, ...] = (
    "Protein_ID",
    "Localizations",
    "Signals",
    *LOCATIONS,
    MEMBRANE,
    "Status",
)

PREDICTIONS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("record", pa.int64()),
        ("description", pa.string()),
        ("status", pa.string()),
        ("length", pa.int32()),
        ("clipped", pa.bool_()),
        ("locations", pa.list_(pa.string())),
        ("membrane", pa.bool_()),
        ("signals", pa.list_(pa.string())),
        *[(c, pa.float32()) for c in PROBABILITY_COLUMNS],
        *[(c, pa.float32()) for c in SIGNAL_COLUMNS],
    ]
)


def predictions_table(
    records: Sequence[FastaRecord],
    numbers: Sequence[int],
    ensemble: Ensemble,
    out: EnsembleOutput | None,
    ok_index: Sequence[int],
) -> pa.Table:
    """Rows for `records` (all of them); `out` holds outputs of records[ok_index] in order."""
    n = len(records)
    probs = np.full((n, len(PROBABILITY_COLUMNS)), np.nan, dtype=np.float32)
    sig = np.full((n, len(SIGNAL_COLUMNS)), np.nan, dtype=np.float32)
    locs: list[list[str] | None] = [None] * n
    membrane: list[bool | None] = [None] * n
    signals: list[list[str] | None] = [None] * n
    if out is not None and len(ok_index):
        loc_lab, mem_lab, sig_lab = ensemble.labels(out)
        probs[list(ok_index)] = out.probabilities
        sig[list(ok_index)] = out.signals
        for k, i in enumerate(ok_index):
            locs[i] = [c for c, on in zip(LOCATIONS, loc_lab[k], strict=True) if on]
            membrane[i] = bool(mem_lab[k])
            signals[i] = [s for s, on in zip(SIGNALS, sig_lab[k], strict=True) if on]
    lengths = [len(r.sequence) if r.ok else None for r in records]
    clip = [None if ln is None else ensemble.clipped_length(ln) < ln for ln in lengths]
    columns: list[Any] = [
        [r.id for r in records],
        list(numbers),
        [r.description for r in records],
        [r.status for r in records],
        lengths,
        clip,
        locs,
        membrane,
        signals,
        *[pa.array(probs[:, j], pa.float32(), mask=np.isnan(probs[:, j])) for j in range(11)],
        *[pa.array(sig[:, j], pa.float32(), mask=np.isnan(sig[:, j])) for j in range(9)],
    ]
    arrays = [
        c if isinstance(c, pa.Array) else pa.array(c, f.type)
        for c, f in zip(columns, PREDICTIONS_SCHEMA, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=PREDICTIONS_SCHEMA)


# A cell that starts with one of these is a formula in Excel, LibreOffice and Google Sheets.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """`text` with a leading ' when it would start a spreadsheet formula (OWASP's advice
    against CSV injection): an id such as ``=HYPERLINK(...)`` stays inert text."""
    return "'" + text if text.startswith(_FORMULA_START) else text


def csv_rows(table: pa.Table) -> Iterator[list[str]]:
    """DeepLoc 2.0-compatible CSV rows (see CSV_COLUMNS) for a predictions table; ids that
    would start a spreadsheet formula get a leading ' (`spreadsheet_safe`)."""
    for row in table.to_pylist():
        ok = row["status"] == "ok"
        probs = [f"{row[c]:.4f}" if ok else "" for c in (*LOCATIONS, MEMBRANE)]
        yield [
            spreadsheet_safe(row["id"]),
            "|".join(row["locations"] or []),
            "|".join(DEEPLOC_SIGNAL_NAMES[s] for s in row["signals"] or []),
            *probs,
            row["status"],
        ]


# --- attention HDF5 -------------------------------------------------------------------------


class AttentionWriter:
    """Appends per-residue attention of many proteins to one ragged HDF5 file."""

    def __init__(self, path: Path, attrs: dict[str, Any]) -> None:
        import h5py

        self.file = h5py.File(path, "w")
        for key, value in attrs.items():
            self.file.attrs[key] = value
        f = self.file
        self.values = f.create_dataset(
            "attention", (0,), maxshape=(None,), dtype="f4", chunks=(65536,), compression="lzf"
        )
        # Explicit chunks: h5py sizes them from the initial shape, and from offsets' one
        # element it chose chunks of one element, so a run of N proteins kept N chunks in
        # the B-tree (and in memory while writing: tens of MB for 200,000 proteins).
        self.offsets = f.create_dataset(
            "offsets", data=[0], maxshape=(None,), dtype="i8", chunks=(16384,)
        )
        self.ids = f.create_dataset(
            "ids", (0,), maxshape=(None,), dtype=h5py.string_dtype(), chunks=(4096,)
        )
        self.records = f.create_dataset(
            "records", (0,), maxshape=(None,), dtype="i8", chunks=(16384,)
        )

    def add(self, ids: Sequence[str], records: Sequence[int], maps: Sequence[np.ndarray]) -> None:
        """Append proteins (ids, input positions, attention [L] each)."""
        if not ids:
            return
        flat = np.concatenate([np.asarray(m, dtype=np.float32) for m in maps])
        start, n = int(self.values.shape[0]), int(self.ids.shape[0])
        self.values.resize((start + len(flat),))
        self.values[start:] = flat
        ends = start + np.cumsum([len(m) for m in maps])
        self.offsets.resize((n + 1 + len(ids),))
        self.offsets[n + 1 :] = ends
        self.ids.resize((n + len(ids),))
        self.ids[n:] = list(ids)
        self.records.resize((n + len(ids),))
        self.records[n:] = list(records)

    def close(self) -> None:
        """Flush and close the file."""
        self.file.close()


__all__ = [
    "CSV_COLUMNS",
    "DEEPLOC_SIGNAL_NAMES",
    "PREDICTIONS_SCHEMA",
    "AttentionWriter",
    "csv_rows",
    "predictions_table",
    "spreadsheet_safe",
]
