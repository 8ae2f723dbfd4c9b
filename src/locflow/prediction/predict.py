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
import re
import shutil
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from locflow import runtime
from locflow.data.classes import LOCATIONS, PROBABILITY_COLUMNS, SIGNALS
from locflow.data.files import (
    atomic_folder,
    atomic_path,
    make_folder,
    owned_folder,
    write_json,
    write_text,
)
from locflow.data.sequences import FastaRecord, read_fasta
from locflow.errors import ParameterError
from locflow.prediction.ensemble import (
    DEFAULT_TOKENS_PER_BATCH,
    EnsembleOutput,
    load_ensemble,
    release_free_memory,
)
from locflow.prediction.writers import (
    CSV_COLUMNS,
    PREDICTIONS_SCHEMA,
    AttentionWriter,
    csv_rows,
    predictions_table,
)

PREDICT_OUTPUTS: tuple[str, ...] = (
    "predictions.parquet",
    "results.csv",
    "attention.h5",
    "summary.json",
)
"""The files `run_predict` writes into its output folder (plus plots/ with plots)."""

# Residues per streamed chunk: big enough for well-filled length-sorted batches, small enough
# that a chunk's attention maps stay a few tens of MB.
CHUNK_RESIDUES = 2_000_000


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


def run_predict(
    fasta: str | Path,
    model_dir: str | Path,
    out: str | Path,
    *,
    device: str = "auto",
    tokens_per_batch: int = DEFAULT_TOKENS_PER_BATCH,
    plots: bool = False,
    embeddings: str | Path | None = None,
    chunk_residues: int = CHUNK_RESIDUES,
) -> dict[str, Any]:
    """`locflow predict`: stream a FASTA through the ensemble; write the outputs (module doc).

    Returns a summary (records, predicted, statuses) that is also written as summary.json.
    """
    if tokens_per_batch < 1:
        raise ParameterError(f"`tokens_per_batch` must be positive, not {tokens_per_batch}")
    # Read the first record before loading any model, so that an empty or non-FASTA file
    # fails at once.
    stream = read_fasta(fasta)
    first = next(stream)
    out = make_folder(out)
    runtime.keep_freed_memory()
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
    with owned_folder(out):
        with contextlib.ExitStack() as stack:
            plot_dir = stack.enter_context(atomic_folder(out / "plots")) if plots else None
            pq_tmp = stack.enter_context(atomic_path(out / "predictions.parquet"))
            csv_tmp = stack.enter_context(atomic_path(out / "results.csv"))
            h5_tmp = stack.enter_context(atomic_path(out / "attention.h5"))
            writer = stack.enter_context(pq.ParquetWriter(pq_tmp, schema))
            csv_fh = stack.enter_context(open(csv_tmp, "w", newline="", encoding="utf-8"))
            rows = csv.writer(csv_fh, lineterminator="\n")
            rows.writerow(CSV_COLUMNS)
            att_writer = AttentionWriter(h5_tmp, attrs)
            stack.callback(att_writer.close)
            # Proteins counted as their batches finish; the FASTA's size is not known ahead.
            runtime.stage("predicting", None, "proteins")
            for chunk in chunks(itertools.chain([first], stream), chunk_residues):
                numbers = list(range(total, total + len(chunk)))
                ok_index = [i for i, r in enumerate(chunk) if r.ok]
                outputs = None
                if ok_index:
                    sequences = [chunk[i].sequence for i in ok_index]
                    outputs = ensemble.predict(sequences, tokens_per_batch)
                table = predictions_table(chunk, numbers, ensemble, outputs, ok_index)
                writer.write_table(table.replace_schema_metadata(meta))
                rows.writerows(csv_rows(table))
                if outputs is not None:
                    att_writer.add(
                        [chunk[i].id for i in ok_index],
                        [numbers[i] for i in ok_index],
                        outputs.attention,
                    )
                    if plot_dir is not None:
                        thr = dict(zip(LOCATIONS, ensemble.thresholds.tolist(), strict=False))
                        _write_plots(plot_dir, table, chunk, ok_index, outputs, seen_stems, thr)
                for rec in chunk:
                    statuses[rec.status] = statuses.get(rec.status, 0) + 1
                release_free_memory()
                total += len(chunk)
                predicted += len(ok_index)
                clipped += sum(bool(c) for c in table.column("clipped").to_pylist())
        if not plots and (out / "plots").is_dir():
            shutil.rmtree(out / "plots")
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
        write_json(out / "summary.json", summary)
    return summary


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
    from locflow.prediction.plots import attention_plot  # matplotlib only when plotting

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


__all__ = ["CHUNK_RESIDUES", "PREDICT_OUTPUTS", "chunks", "file_stem", "run_predict"]
