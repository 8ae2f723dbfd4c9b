"""DeepLoc 2.0's own file formats, in and out.

- The wide dataset CSV: ``,ACC,Kingdom,Partition,Membrane,<10 locations>,Sequence`` (the
  unnamed first column is a row index; labels are 0.0/1.0).
- The sorting-signal CSV: ``ACC,AnnotEncoded,Kingdom,Sequence,Types``, where ``AnnotEncoded``
  has one digit per residue (0 none, 1 SP, 2 TM, 3 MT, 4 CH, 5 TH, 6 NLS, 7 NES, 8 PTS, 9 GPI).

The CSV is read column-wise with pyarrow and converted with vectorised numpy, so the
28,303-row set imports in well under a second.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from locflow.data.classes import LOCATIONS, SIGNALS
from locflow.data.files import atomic_path, is_gzip, open_text, write_json
from locflow.data.sequences import normalize_sequence
from locflow.data.tables import (
    PROTEINS_SCHEMA,
    SIGNAL_TYPE,
    folds_table,
    validate_proteins,
    write_table,
)
from locflow.errors import InputError

SOURCE = "deeploc2"
DEFAULT_RELEASE = "DeepLoc-2.0"

# DeepLoc 2.0 writes "Metazoa" for animals; the other three values are already locflow's.
KINGDOM_FROM_DEEPLOC = {
    "Metazoa": "Animalia",
    "Animalia": "Animalia",
    "Fungi": "Fungi",
    "Viridiplantae": "Viridiplantae",
    "Other": "Other",
}
KINGDOM_TO_DEEPLOC = {"Animalia": "Metazoa", "Fungi": "Fungi", "Viridiplantae": "Viridiplantae"}

# AnnotEncoded digit d (1..9) is SIGNALS[d - 1]; 0 is "no signal".
_SIGNAL_RUN = re.compile(r"([1-9])\1*")

REQUIRED_COLUMNS = ("ACC", "Kingdom", "Membrane", *LOCATIONS, "Sequence")
SIGNAL_COLUMNS = ("ACC", "AnnotEncoded", "Sequence")


@dataclass
class DeepLocSet:
    """A DeepLoc-style CSV read into a proteins table, its own partition, and counts."""

    proteins: pa.Table
    partition: pa.Table | None
    report: dict[str, Any] = field(default_factory=dict)


def _read_csv(path: Path, required: tuple[str, ...], what: str) -> pa.Table:
    """Read a CSV (plain or gzipped) with every column as text; check the required columns."""
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    try:
        names = _header(path)
        missing = [c for c in required if c not in names]
        if missing:
            shown = ", ".join(repr(c) for c in missing)
            raise InputError(f"{path}: not a {what} CSV: missing column(s) {shown}")
        # Every column is read as text: values are checked here, with messages naming the
        # record, rather than by pyarrow's type inference.
        opts = pacsv.ConvertOptions(
            column_types={name: pa.string() for name in names}, strings_can_be_null=False
        )
        compression = "gzip" if is_gzip(path) else None
        with pa.input_stream(path, compression=compression) as stream:
            table = pacsv.read_csv(stream, convert_options=opts)
    except (pa.ArrowInvalid, OSError, EOFError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: cannot read as {what} CSV ({exc})") from exc
    return table


def _header(path: Path) -> list[str]:
    """The column names of a plain or gzipped CSV."""
    with open_text(path) as fh:
        names = next(csv.reader([fh.readline()]))
    # pyarrow drops a UTF-8 byte-order mark; do the same so the names agree.
    return [names[0].removeprefix("\ufeff"), *names[1:]] if names else names


def _first_duplicate(ids: list[str]) -> str | None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            return i
        seen.add(i)
    return None


def _binary_column(table: pa.Table, name: str, ids: list[str], path: Path) -> np.ndarray:
    """A 0/1 label column as a bool array; anything else is an error naming the protein."""
    col = pc.utf8_trim_whitespace(table.column(name))
    try:
        values = pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False)
    except pa.ArrowInvalid:
        values = None
    ok = None if values is None else (values == 0.0) | (values == 1.0)
    if ok is None or not ok.all():
        texts = col.to_pylist()
        for i, text in enumerate(texts):
            try:
                if float(text) in (0.0, 1.0):
                    continue
            except ValueError:
                pass
            raise InputError(f"{path}: protein {ids[i]}: column {name!r} is {text!r}, not 0 or 1")
    return values == 1.0


def _sequences(table: pa.Table, ids: list[str], path: Path) -> pa.Array:
    """Sequences normalised by the shared rule; only the rows not already clean go through it."""
    col = table.column("Sequence").combine_chunks()
    unclean = pc.indices_nonzero(pc.invert(pc.match_substring_regex(col, r"^[A-Z]+$")))
    if len(unclean) == 0:  # the usual case: no per-row Python work
        return col
    seqs = col.to_pylist()
    for i in unclean.to_pylist():
        try:
            seqs[i] = normalize_sequence(seqs[i], ids[i])
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
    return pa.array(seqs, pa.string())


def _locations_array(labels: np.ndarray) -> pa.ListArray:
    """Rows of a [N, 10] bool matrix as lists of class names, in canonical order."""
    rows, cols = np.nonzero(labels)  # row-major, so each row's classes come in class order
    offsets = np.zeros(len(labels) + 1, dtype=np.int32)
    np.cumsum(labels.sum(axis=1), out=offsets[1:])
    names = pa.array(np.asarray(LOCATIONS, dtype=object)[cols], pa.string())
    return pa.ListArray.from_arrays(pa.array(offsets), names)


def read_deeploc(path: str | Path, *, release: str = DEFAULT_RELEASE) -> DeepLocSet:
    """Read a DeepLoc 2.0-style wide CSV into a proteins table (+ its Partition as folds)."""
    path = Path(path)
    table = _read_csv(path, REQUIRED_COLUMNS, "DeepLoc")
    ids = pc.utf8_trim_whitespace(table.column("ACC")).to_pylist()
    if any(not i for i in ids):
        raise InputError(f"{path}: row {ids.index('') + 1} has an empty ACC")
    dup = _first_duplicate(ids)
    if dup is not None:
        raise InputError(f"{path}: duplicate ACC {dup!r}")
    seqs = _sequences(table, ids, path)

    kingdoms_raw = table.column("Kingdom").to_pylist()
    unknown = sorted(set(kingdoms_raw) - set(KINGDOM_FROM_DEEPLOC))
    if unknown:
        i = kingdoms_raw.index(unknown[0])
        raise InputError(
            f"{path}: protein {ids[i]}: unknown Kingdom {unknown[0]!r} "
            f"(expected one of {', '.join(KINGDOM_FROM_DEEPLOC)})"
        )
    kingdoms = [KINGDOM_FROM_DEEPLOC[k] for k in kingdoms_raw]

    labels = np.column_stack([_binary_column(table, c, ids, path) for c in LOCATIONS])
    membrane = _binary_column(table, "Membrane", ids, path)
    n = len(ids)
    proteins = pa.Table.from_arrays(
        [
            pa.array(ids, pa.string()),
            seqs,
            pc.cast(pc.utf8_length(seqs), pa.int32()),
            pa.array(kingdoms, pa.string()),
            pa.nulls(n, pa.int64()),
            pa.repeat("", n),
            _locations_array(labels),
            pa.array(membrane, pa.bool_()),
            # null = never annotated for signals (not the same as "annotated: none")
            pa.nulls(n, pa.list_(SIGNAL_TYPE)),
            pa.repeat(SOURCE, n),
            pa.repeat(release, n),
        ],
        schema=PROTEINS_SCHEMA,
    )

    partition = None
    if "Partition" in table.column_names:
        try:
            folds = pc.cast(pc.utf8_trim_whitespace(table.column("Partition")), pa.int16())
        except pa.ArrowInvalid as exc:
            raise InputError(f"{path}: column 'Partition' is not integer ({exc})") from None
        partition = folds_table(ids, folds.to_pylist())

    per_label = labels.sum(axis=1)
    report = {
        "file": str(path),
        "rows": n,
        "kingdoms": {k: kingdoms.count(k) for k in sorted(set(kingdoms))},
        "locations": {c: int(labels[:, j].sum()) for j, c in enumerate(LOCATIONS)},
        "labels_per_protein": {
            int(k): int(v) for k, v in zip(*np.unique(per_label, return_counts=True), strict=True)
        },
        "membrane": int(membrane.sum()),
    }
    return DeepLocSet(proteins, partition, report)


def signal_spans(annot: str) -> list[dict[str, Any]]:
    """Runs of one non-zero AnnotEncoded digit as {type, start, end} (0-based, half-open)."""
    return [
        {"type": SIGNALS[int(m.group(1)) - 1], "start": m.start(), "end": m.end()}
        for m in _SIGNAL_RUN.finditer(annot)
    ]


def read_signals(path: str | Path) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """Read a DeepLoc sorting-signal CSV: ACC -> (normalised sequence, signal spans)."""
    path = Path(path)
    table = _read_csv(path, SIGNAL_COLUMNS, "sorting-signal")
    ids = pc.utf8_trim_whitespace(table.column("ACC")).to_pylist()
    dup = _first_duplicate(ids)
    if dup is not None:
        raise InputError(f"{path}: duplicate ACC {dup!r}")
    seqs = _sequences(table, ids, path).to_pylist()
    out: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for acc, seq, annot in zip(ids, seqs, table.column("AnnotEncoded").to_pylist(), strict=True):
        annot = annot.strip()
        if not annot.isdigit() or not annot.isascii():
            raise InputError(f"{path}: protein {acc}: AnnotEncoded has non-digit characters")
        if len(annot) != len(seq):
            raise InputError(
                f"{path}: protein {acc}: AnnotEncoded has {len(annot)} digits "
                f"for a sequence of {len(seq)} residues"
            )
        out[acc] = (seq, signal_spans(annot))
    return out


def attach_signals(
    proteins: pa.Table, signals: dict[str, tuple[str, list[dict[str, Any]]]]
) -> tuple[pa.Table, dict[str, int]]:
    """Put signal spans on the proteins with the same ACC and the same sequence; count the rest."""
    ids = proteins.column("id").to_pylist()
    seqs = proteins.column("sequence").to_pylist()
    spans = proteins.column("signals").to_pylist()
    index = {i: k for k, i in enumerate(ids)}
    stats = {"signal_records": len(signals), "attached": 0, "no_protein": 0, "sequence_mismatch": 0}
    for acc, (seq, sig) in signals.items():
        k = index.get(acc)
        if k is None:
            stats["no_protein"] += 1
        elif seqs[k] != seq:
            stats["sequence_mismatch"] += 1
        else:
            spans[k] = sorted(sig, key=lambda s: (s["start"], s["end"], s["type"]))
            stats["attached"] += 1
    column = pa.array(spans, pa.list_(SIGNAL_TYPE))
    table = proteins.set_column(proteins.schema.get_field_index("signals"), "signals", column)
    stats["proteins_with_signals"] = sum(1 for s in spans if s)
    return table, stats


def run_import_deeploc(
    path: str | Path,
    out: str | Path,
    *,
    signals: str | Path | None = None,
    folds_out: str | Path | None = None,
    report_out: str | Path | None = None,
    release: str = DEFAULT_RELEASE,
) -> DeepLocSet:
    """Import a DeepLoc CSV (+ sorting signals) to a proteins table; optionally its folds."""
    data = read_deeploc(path, release=release)
    if signals is not None:
        data.proteins, stats = attach_signals(data.proteins, read_signals(signals))
        data.report["signals"] = {"file": str(signals), **stats}
    if folds_out is not None and data.partition is None:
        raise InputError(f"{path}: no 'Partition' column to write as a folds table")
    validate_proteins(data.proteins)
    write_table(data.proteins, out, {"source": SOURCE, "release": release})
    if folds_out is not None:
        assert data.partition is not None
        write_table(data.partition, folds_out, {"source": f"{SOURCE} Partition column"})
    if report_out is not None:
        write_json(report_out, data.report)
    return data


def _label(flag: bool) -> str:
    return "1.0" if flag else "0.0"


def export_deeploc(proteins: pa.Table, path: str | Path, folds: pa.Table | None = None) -> None:
    """Write a proteins table as a DeepLoc 2.0-style wide CSV (with Partition if folds given)."""
    validate_proteins(proteins)
    header = ["", "ACC", "Kingdom"]
    fold_of: dict[str, int] = {}
    if folds is not None:
        fold_of = dict(
            zip(folds.column("id").to_pylist(), folds.column("fold").to_pylist(), strict=True)
        )
        header.append("Partition")
    header += ["Membrane", *LOCATIONS, "Sequence"]
    cols = proteins.select(["id", "kingdom", "membrane", "locations", "sequence"]).to_pydict()
    with atomic_path(path) as tmp, open(tmp, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        rows = zip(*cols.values(), strict=True)
        for n, (pid, kingdom, membrane, locs, seq) in enumerate(rows):
            row: list[Any] = [n, pid, KINGDOM_TO_DEEPLOC.get(kingdom, "Other")]
            if folds is not None:
                if pid not in fold_of:
                    raise InputError(f"protein {pid} has no fold in the folds table")
                row.append(fold_of[pid])
            row.append(_label(membrane))
            row += [_label(c in locs) for c in LOCATIONS]
            row.append(seq)
            writer.writerow(row)
