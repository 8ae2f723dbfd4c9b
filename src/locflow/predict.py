"""Prediction with the ensemble of fold models: FASTA in, Parquet + DeepLoc 2.0 CSV out.

The FASTA is streamed in chunks, so any size fits in memory; inside a chunk the proteins are
sorted by length and batched by a padded-token budget. Every input record becomes exactly one
output row, in input order, with a `status` ("ok", or why it could not be predicted: see
locflow.data.sequences). Long sequences are clipped the way the model was trained (N- and
C-terminal halves) and flagged `clipped`; residues clipped out get attention 0.

Ensemble rule: the fold models' probabilities are averaged, and each output's threshold is the
mean of the fold thresholds (each chosen on that fold's validation set). A protein where no
location crosses its threshold gets the single location with the highest
probability / threshold (locflow.models.head.probabilities_to_labels).

Outputs in the output folder:

- ``predictions.parquet``: id, record (0-based input position), description, status, length,
  clipped, locations / membrane / signals (predicted), then one float column per output
  (the 10 locations, ``Membrane``) and per signal type (``SP`` ... ``GPI``);
- ``results.csv``: DeepLoc 2.0's columns ``Protein_ID,Localizations,Signals,<10 location
  probabilities>`` (labels joined by ``|``, signal names as DeepLoc 2.0 writes them, 4
  decimals), then ``Membrane`` (probability) and ``Status``; rows that could not be predicted
  have empty labels and probabilities; an id that starts with ``= + - @`` (or a tab or
  carriage return) is written with a leading ``'`` so that a spreadsheet shows it as text
  instead of running it as a formula (predictions.parquet keeps the id as it came);
- ``attention.h5``: per-residue attention of the predicted proteins, ragged: ``attention``
  (all residues), ``offsets`` [N + 1], ``ids``, ``records``;
- with plots: ``plots/<id>.csv`` (``AA,Alpha`` per residue) and ``plots/<id>.png``.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import os
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from locflow.data.classes import LOCATIONS, MEMBRANE, PROBABILITY_COLUMNS, SIGNAL_COLUMNS, SIGNALS
from locflow.data.files import atomic_folder, atomic_path, make_folder, owned_folder, write_json
from locflow.data.sequences import FastaRecord
from locflow.data.tables import read_attention, read_predictions  # the readers of these files
from locflow.errors import InputError
from locflow.runtime import advance as _advance
from locflow.runtime import reporting as _reporting
from locflow.runtime import stage as _stage

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

PREDICT_OUTPUTS: tuple[str, ...] = (
    "predictions.parquet",
    "results.csv",
    "attention.h5",
    "summary.json",
)
"""The files `predict_fasta` writes into its output folder (plus plots/ with plots)."""

DEFAULT_TOKENS_PER_BATCH = 16384
# Residues per streamed chunk: big enough for well-filled length-sorted batches, small enough
# that a chunk's attention maps stay a few tens of MB.
CHUNK_RESIDUES = 2_000_000


# --- the ensemble ---------------------------------------------------------------------------


@dataclass
class EnsembleOutput:
    """Averaged outputs for a list of sequences, in their order."""

    probabilities: np.ndarray  # [N, 11]
    signals: np.ndarray  # [N, 9]
    attention: list[np.ndarray]  # per protein, full length


@dataclass
class Ensemble:
    """Fold models whose probabilities are averaged, with the mean of their thresholds."""

    models: list[tuple[Any, dict[str, Any]]]
    folds: list[int]
    thresholds: np.ndarray  # [11]
    signal_thresholds: np.ndarray  # [9]
    embeddings: Any = None
    backbones: dict[tuple[str, str | None], Any] = field(default_factory=dict)

    @property
    def clip_half(self) -> int | None:
        """Residues kept at each end of long sequences (the largest of the folds)."""
        halves = [c.get("clip_half") for _, c in self.models]
        return None if any(h is None for h in halves) else max(halves)

    def clipped_length(self, length: int) -> int:
        """Residues the model actually reads for a sequence of `length`."""
        half = self.clip_half
        return length if half is None else min(length, 2 * half)

    def predict(
        self, sequences: Sequence[str], tokens_per_batch: int = DEFAULT_TOKENS_PER_BATCH
    ) -> EnsembleOutput:
        """Run all fold models on normalised sequences (length-sorted token batches)."""
        from locflow.models.batches import token_batches

        n = len(sequences)
        probs = np.zeros((n, len(PROBABILITY_COLUMNS)), dtype=np.float64)
        sig = np.zeros((n, len(SIGNAL_COLUMNS)), dtype=np.float64)
        attention: list[np.ndarray] = [np.zeros(0, dtype=np.float32)] * n
        lengths = [self.clipped_length(len(s)) for s in sequences]
        for idx in token_batches(lengths, tokens_per_batch):
            seqs = [sequences[i] for i in idx]
            p, s, a = self._predict_batch(seqs)
            _release_free_memory(TRIM_SLACK)
            _advance(len(idx))
            probs[idx], sig[idx] = p, s
            for i, att in zip(idx, a, strict=True):
                attention[i] = att
        return EnsembleOutput(probs, sig, attention)

    def _predict_batch(self, seqs: list[str]) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        from locflow.models.checkpoint import input_kind, predict_batch

        probs, sig, att = None, None, None
        for model, config in self.models:
            kwargs: dict[str, Any] = {}
            if input_kind(config) == "features":
                if self.embeddings is not None:
                    kwargs["embeddings"] = [self._embedding(s) for s in seqs]
                else:
                    kwargs["backbone"] = self._backbone(config, model)
            out = predict_batch(model, config, seqs, **kwargs)
            if probs is None:
                probs, sig, att = out.probabilities, out.signals, list(out.attention)
            else:
                probs = probs + out.probabilities
                sig = sig + out.signals
                att = [a + b for a, b in zip(att, out.attention, strict=True)]
        k = len(self.models)
        assert probs is not None and sig is not None and att is not None
        return probs / k, sig / k, [a / k for a in att]

    def _embedding(self, sequence: str) -> np.ndarray:
        if sequence not in self.embeddings:
            raise InputError("embeddings file lacks a predicted sequence; run locflow embed")
        return self.embeddings.get(sequence)

    def _backbone(self, config: dict[str, Any], model: Any) -> Any:
        """One frozen backbone per (name, checkpoint), shared by the folds."""
        import torch

        key = (config["backbone"], config.get("checkpoint"))
        if key not in self.backbones:
            from locflow.models.backbones import load_backbone

            device = next(model.parameters()).device
            self.backbones[key] = load_backbone(key[0], key[1], device, torch.float32)
        return self.backbones[key]

    def labels(self, out: EnsembleOutput) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(locations [N, 10], membrane [N], signals [N, 9]) predicted with the thresholds."""
        from locflow.models.head import probabilities_to_labels

        labels = probabilities_to_labels(out.probabilities, self.thresholds)
        signals = out.signals >= self.signal_thresholds
        return labels[:, : len(LOCATIONS)], labels[:, len(LOCATIONS)], signals


def load_ensemble(
    model_dir: str | Path,
    device: str = "auto",
    folds: Iterable[int] | None = None,
    embeddings: str | Path | None = None,
) -> Ensemble:
    """Load every fold model found in `model_dir` (fold<k>/), or only `folds`."""
    from locflow.models.checkpoint import list_folds, load_fold
    from locflow.runtime import resolve_device

    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise InputError(f"{model_dir}: model folder not found")
    listed = list_folds(model_dir)
    if not listed:
        raise InputError(f"{model_dir}: no trained fold (fold<k>/config.json + weights) in it")
    wanted = None if folds is None else set(folds)
    chosen = [f for f in listed if wanted is None or f["fold"] in wanted]
    if not chosen:
        asked = sorted(wanted or [])
        raise InputError(f"{model_dir}: no fold model to use (asked for folds {asked})")
    dev = resolve_device(device)
    models = [load_fold(model_dir / f["path"], dev) for f in chosen]
    thresholds = np.mean([[c["thresholds"][o] for o in PROBABILITY_COLUMNS] for _, c in models], 0)
    signal_thr = np.mean(
        [[c.get("signal_thresholds", {}).get(s, 0.5) for s in SIGNALS] for _, c in models], 0
    )
    store = None
    if embeddings is not None:
        from locflow.models.embed import EmbeddingStore

        store = EmbeddingStore(embeddings)
    return Ensemble(models, [c["fold"] for _, c in models], thresholds, signal_thr, store)


# --- tables ---------------------------------------------------------------------------------


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


# --- streaming FASTA -> outputs -------------------------------------------------------------


def chunks(records: Iterable[FastaRecord], max_residues: int) -> Iterator[list[FastaRecord]]:
    """Group records into lists of about `max_residues` residues (bad records count as 1)."""
    chunk: list[FastaRecord] = []
    size = 0
    for rec in records:
        chunk.append(rec)
        size += max(len(rec.sequence), 1)
        if size >= max_residues:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def file_stem(protein_id: str, record: int, seen: set[str]) -> str:
    """A safe, unique file name stem for a protein's plot files."""
    stem = _UNSAFE.sub("_", protein_id).strip("._")[:100] or f"record{record}"
    if stem in seen:
        stem = f"{stem}_{record}"
    seen.add(stem)
    return stem


def predict_fasta(
    fasta: str | Path,
    model_dir: str | Path,
    out_dir: str | Path,
    *,
    device: str = "auto",
    tokens_per_batch: int = DEFAULT_TOKENS_PER_BATCH,
    plots: bool = False,
    embeddings: str | Path | None = None,
    chunk_residues: int = CHUNK_RESIDUES,
    progress: bool = False,
) -> dict[str, Any]:
    """`locflow predict`: stream a FASTA through the ensemble; write the outputs (module doc).

    Returns a summary (records, predicted, statuses) that is also written as summary.json.
    """
    from locflow.data.sequences import read_fasta

    if tokens_per_batch < 1:
        raise InputError(f"--tokens-per-batch must be positive, not {tokens_per_batch}")
    # Read the first record before loading any model, so that an empty or non-FASTA file
    # fails at once.
    stream = read_fasta(fasta)
    first = next(stream)
    out_dir = make_folder(out_dir)
    ensemble = load_ensemble(model_dir, device, embeddings=embeddings)
    statuses: dict[str, int] = {}
    total = predicted = clipped = 0
    seen_stems: set[str] = set()
    attrs = {"model": str(Path(model_dir).resolve()), "folds": json.dumps(ensemble.folds)}
    meta = {
        b"locflow": json.dumps(
            {
                "model": str(model_dir),
                "folds": ensemble.folds,
                "thresholds": dict(
                    zip(PROBABILITY_COLUMNS, ensemble.thresholds.tolist(), strict=True)
                ),
                "signal_thresholds": dict(
                    zip(SIGNALS, ensemble.signal_thresholds.tolist(), strict=True)
                ),
            }
        ).encode()
    }
    schema = PREDICTIONS_SCHEMA.with_metadata(meta)
    # One run owns the folder; what a killed run left there is removed first. The tables are
    # written beside their final names and renamed when complete; plots go to a hidden folder
    # that replaces plots/ only when the run succeeds, and a run without plots removes the
    # old plots/: plots/ never mixes two runs.
    with owned_folder(out_dir):
        with contextlib.ExitStack() as stack:
            plot_dir = stack.enter_context(atomic_folder(out_dir / "plots")) if plots else None
            pq_tmp = stack.enter_context(atomic_path(out_dir / "predictions.parquet"))
            csv_tmp = stack.enter_context(atomic_path(out_dir / "results.csv"))
            h5_tmp = stack.enter_context(atomic_path(out_dir / "attention.h5"))
            writer = stack.enter_context(pq.ParquetWriter(pq_tmp, schema))
            csv_fh = stack.enter_context(open(csv_tmp, "w", newline="", encoding="utf-8"))
            rows = csv.writer(csv_fh, lineterminator="\n")
            rows.writerow(CSV_COLUMNS)
            att_writer = AttentionWriter(h5_tmp, attrs)
            stack.callback(att_writer.close)
            # Proteins counted as their batches finish; the FASTA's size is not known ahead.
            stack.enter_context(_reporting("predict", show=progress))
            _stage("predicting", None, "proteins")
            for chunk in chunks(itertools.chain([first], stream), chunk_residues):
                numbers = list(range(total, total + len(chunk)))
                ok_index = [i for i, r in enumerate(chunk) if r.ok]
                out = None
                if ok_index:
                    out = ensemble.predict([chunk[i].sequence for i in ok_index], tokens_per_batch)
                table = predictions_table(chunk, numbers, ensemble, out, ok_index)
                writer.write_table(table.replace_schema_metadata(meta))
                rows.writerows(csv_rows(table))
                if out is not None:
                    att_writer.add(
                        [chunk[i].id for i in ok_index],
                        [numbers[i] for i in ok_index],
                        out.attention,
                    )
                    if plot_dir is not None:
                        thr = dict(zip(LOCATIONS, ensemble.thresholds.tolist(), strict=False))
                        _write_plots(plot_dir, table, chunk, ok_index, out, seen_stems, thr)
                for rec in chunk:
                    statuses[rec.status] = statuses.get(rec.status, 0) + 1
                _release_free_memory()
                total += len(chunk)
                predicted += len(ok_index)
                clipped += sum(bool(c) for c in table.column("clipped").to_pylist())
        if not plots and (out_dir / "plots").is_dir():
            shutil.rmtree(out_dir / "plots")
        summary = {
            "input": str(fasta),
            "model": str(model_dir),
            "folds": ensemble.folds,
            "records": total,
            "predicted": predicted,
            "clipped": clipped,
            "statuses": statuses,
            "outputs": list(PREDICT_OUTPUTS) + (["plots/"] if plots else []),
        }
        write_json(out_dir / "summary.json", summary)
    return summary


def _release_free_memory(slack: int = 0) -> None:
    """Hand the heap's free pages back to the system (glibc's malloc_trim), if the resident
    size is more than `slack` bytes above what it was after the last trim.

    Called with no slack after each chunk, and with TRIM_SLACK after each batch. Each batch
    allocates and frees tensors and arrays, and with torch's oneDNN convolutions (which keep
    kernels cached per input shape) the heap fragments: freed pages stay resident and later
    allocations land on other pages. Trimmed only per chunk, the resident size reached within
    a chunk grew chunk after chunk (from about 55 to 125 MB above the trimmed size over the
    26 chunks of a 100,000-protein run; flat with oneDNN switched off, which predicts 3x
    slower), so the peak grew with the number of proteins (docs/benchmarks.md, prediction
    memory). A no-op where glibc or /proc is absent.
    """
    global _TRIM, _TRIMMED_AT
    if _TRIM is None:
        import ctypes
        import ctypes.util

        try:
            _TRIM = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
        except (OSError, AttributeError):
            _TRIM = False
    if not _TRIM:
        return
    if slack:
        now = _resident_bytes()
        if now is None or now - _TRIMMED_AT <= slack:
            return
    _TRIM(0)
    _TRIMMED_AT = _resident_bytes() or 0


def _resident_bytes() -> int | None:
    """This process's resident set size from /proc (None where there is no /proc)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return None


TRIM_SLACK = 32 * 2**20
"""Freed heap memory a chunk may keep resident between batches before it is trimmed."""
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_TRIMMED_AT = 0
_TRIM: Any = None


def _write_plots(
    folder: Path,
    table: pa.Table,
    chunk: Sequence[FastaRecord],
    ok_index: Sequence[int],
    out: EnsembleOutput,
    seen: set[str],
    thresholds: dict[str, float],
) -> None:
    """Per predicted protein: `<id>.csv` (AA,Alpha) and `<id>.png` (attention plot)."""
    from locflow.data.files import write_text
    from locflow.plots import attention_plot

    folder.mkdir(parents=True, exist_ok=True)
    rows = table.to_pylist()
    for k, i in enumerate(ok_index):
        rec, row, att = chunk[i], rows[i], out.attention[k]
        stem = file_stem(rec.id, row["record"], seen)
        lines = ["AA,Alpha"] + [f"{aa},{a:.6g}" for aa, a in zip(rec.sequence, att, strict=True)]
        write_text(folder / f"{stem}.csv", "\n".join(lines) + "\n")
        attention_plot(
            rec.sequence,
            att,
            folder / f"{stem}.png",
            title=rec.id,
            locations={c: row[c] for c in LOCATIONS},
            predicted=row["locations"],
            signals=row["signals"],
            thresholds=thresholds,
        )


__all__ = [
    "CSV_COLUMNS",
    "DEEPLOC_SIGNAL_NAMES",
    "PREDICTIONS_SCHEMA",
    "PREDICT_OUTPUTS",
    "PROBABILITY_COLUMNS",
    "SIGNAL_COLUMNS",
    "AttentionWriter",
    "Ensemble",
    "EnsembleOutput",
    "csv_rows",
    "load_ensemble",
    "predict_fasta",
    "predictions_table",
    "read_attention",
    "read_predictions",
    "spreadsheet_safe",
]
