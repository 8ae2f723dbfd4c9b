"""The tables passed between steps: schemas, validation, Parquet I/O.

The proteins table (`PROTEINS_SCHEMA`: one row per protein with its sequence, labels and
0-based half-open signal spans) and the folds table (`FOLDS_SCHEMA`: id, fold; -1 = removed
to keep folds apart) are written by the curation and partition steps and read by every later
one; the readers of predict's outputs (`read_predictions`, `read_attention`) live here too, so
that scoring and reporting need not import the inference code. docs/architecture.md,
"Contracts", describes each table and file.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from locflow.data.classes import LOCATIONS, SIGNALS
from locflow.data.files import atomic_path
from locflow.errors import InputError

SIGNAL_TYPE = pa.struct([("type", pa.string()), ("start", pa.int32()), ("end", pa.int32())])

PROTEINS_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("sequence", pa.string()),
        ("length", pa.int32()),
        ("kingdom", pa.string()),
        ("taxon_id", pa.int64()),
        ("organism", pa.string()),
        ("locations", pa.list_(pa.string())),
        ("membrane", pa.bool_()),
        ("signals", pa.list_(SIGNAL_TYPE)),
        ("source", pa.string()),
        ("release", pa.string()),
    ]
)

FOLDS_SCHEMA = pa.schema([("id", pa.string()), ("fold", pa.int16())])


def protein_record(
    id: str,
    sequence: str,
    locations: Iterable[str],
    *,
    kingdom: str = "Other",
    taxon_id: int | None = None,
    organism: str = "",
    membrane: bool = False,
    signals: Iterable[dict[str, Any]] | None = (),
    source: str = "",
    release: str = "",
) -> dict[str, Any]:
    """Build one proteins-table row as a dict, with locations in canonical class order.

    `signals=None` means the protein was never annotated for sorting signals (e.g. DeepLoc
    proteins outside its sorting-signal set); `[]` means annotated, with none found.
    """
    locs = set(locations)
    return {
        "id": id,
        "sequence": sequence,
        "length": len(sequence),
        "kingdom": kingdom,
        "taxon_id": taxon_id,
        "organism": organism,
        "locations": [c for c in LOCATIONS if c in locs],
        "membrane": bool(membrane),
        "signals": None
        if signals is None
        else sorted(
            ({"type": s["type"], "start": int(s["start"]), "end": int(s["end"])} for s in signals),
            key=lambda s: (s["start"], s["end"], s["type"]),
        ),
        "source": source,
        "release": release,
    }


def validate_proteins(table: pa.Table) -> None:
    """Raise InputError if the table breaks the proteins-table contract."""
    missing = [f.name for f in PROTEINS_SCHEMA if f.name not in table.column_names]
    if missing:
        raise InputError(f"proteins table lacks column(s): {', '.join(missing)}")
    ids = table.column("id").to_pylist()
    if len(set(ids)) != len(ids):
        seen: set[str] = set()
        dup = next(i for i in ids if i in seen or seen.add(i))
        raise InputError(f"proteins table has duplicate id {dup!r}")
    rows = table.select(["id", "sequence", "locations", "signals"]).to_pylist()
    for row in rows:
        if not row["sequence"]:
            raise InputError(f"protein {row['id']}: empty sequence")
        bad = set(row["locations"] or []) - set(LOCATIONS)
        if bad:
            raise InputError(f"protein {row['id']}: unknown location(s) {sorted(bad)}")
        for sig in row["signals"] or []:
            if sig["type"] not in SIGNALS:
                raise InputError(f"protein {row['id']}: unknown signal type {sig['type']!r}")
            if not 0 <= sig["start"] < sig["end"] <= len(row["sequence"]):
                raise InputError(
                    f"protein {row['id']}: signal {sig['type']} span "
                    f"[{sig['start']}, {sig['end']}) outside sequence of length "
                    f"{len(row['sequence'])}"
                )


def proteins_table(rows: list[dict[str, Any]]) -> pa.Table:
    """Build and validate a proteins table from row dicts (see `protein_record`)."""
    table = pa.Table.from_pylist(rows, schema=PROTEINS_SCHEMA)
    validate_proteins(table)
    return table


def write_table(table: pa.Table, path: str | Path, metadata: dict[str, str] | None = None) -> None:
    """Write a table to Parquet atomically, with optional key/value file metadata."""
    if metadata:
        merged = dict(table.schema.metadata or {})
        merged.update({k.encode(): v.encode() for k, v in metadata.items()})
        table = table.replace_schema_metadata(merged)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def _read(path: str | Path, what: str) -> pa.Table:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: {what} not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a Parquet {what}")
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        reason = " ".join(str(exc).split())
        raise InputError(f"{path}: not a Parquet {what} ({reason})") from exc


def read_parquet(path: str | Path, what: str) -> pa.Table:
    """Read any Parquet table; a missing or unreadable file is an InputError naming `what`."""
    return _read(path, what)


def read_proteins(path: str | Path) -> pa.Table:
    """Read and validate a proteins table, cast to the canonical schema."""
    table = _read(path, "proteins table")
    try:
        validate_proteins(table)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from exc
    return _cast(table.select(PROTEINS_SCHEMA.names), PROTEINS_SCHEMA, path, "proteins table")


def _cast(table: pa.Table, schema: pa.Schema, path: str | Path, what: str) -> pa.Table:
    """Cast to the canonical schema; a column of the wrong type is an InputError."""
    try:
        return table.cast(schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        reason = " ".join(str(exc).split())
        raise InputError(f"{path}: {what} has a column of the wrong type ({reason})") from exc


def folds_table(ids: list[str], folds: list[int]) -> pa.Table:
    """Build a folds table (fold -1 = removed to keep folds apart)."""
    return pa.Table.from_arrays(
        [pa.array(ids, pa.string()), pa.array(folds, pa.int16())], schema=FOLDS_SCHEMA
    )


def read_folds(path: str | Path) -> pa.Table:
    """Read a folds table and check its columns and unique ids."""
    table = _read(path, "folds table")
    for name in FOLDS_SCHEMA.names:
        if name not in table.column_names:
            raise InputError(f"{path}: folds table lacks column {name!r}")
    table = _cast(table.select(FOLDS_SCHEMA.names), FOLDS_SCHEMA, path, "folds table")
    ids = table.column("id").to_pylist()
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: folds table has duplicate ids")
    return table


def read_predictions(path: str | Path) -> pa.Table:
    """Read a predictions Parquet file (from predict or evaluate; columns:
    locflow.prediction.writers.PREDICTIONS_SCHEMA)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: predictions table not found")
    try:
        return pq.read_table(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise InputError(f"{path}: not a Parquet predictions table ({exc})") from exc


def read_attention(path: str | Path) -> dict[str, np.ndarray]:
    """Per-residue attention by protein id from an attention HDF5 file (predict, evaluate).

    Layout (written by locflow.prediction.writers.AttentionWriter): ``attention`` (every residue
    of every protein, concatenated), ``offsets`` [N + 1], ``ids`` and ``records`` [N]."""
    import h5py

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: attention file not found")
    try:
        with h5py.File(path, "r") as f:
            values = f["attention"][:]
            offsets = f["offsets"][:]
            ids = [i.decode() if isinstance(i, bytes) else i for i in f["ids"][:]]
    except (OSError, KeyError) as exc:
        raise InputError(f"{path}: not a locflow attention file ({exc})") from exc
    return {pid: values[offsets[k] : offsets[k + 1]] for k, pid in enumerate(ids)}
