"""Time `locflow import-deeploc` on the real DeepLoc 2.0 set against a plain per-row reader.

The peer is the obvious implementation: csv.DictReader, one `protein_record` per row, then
`proteins_table`. Both produce the same proteins table (checked). Run from the project root:

    .venv/bin/python benchmarks/import_deeploc.py [--repeats 3]

and paste the printed Markdown into docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import os
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from machine import cpu_name

from locflow.data.classes import LOCATIONS
from locflow.data.deeploc import KINGDOM_FROM_DEEPLOC, run_import_deeploc
from locflow.data.sequences import normalize_sequence
from locflow.data.tables import protein_record, proteins_table, write_table

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "deeploc2" / "swissprot_cv.csv.gz"


def per_row_import(path: Path, out: Path):
    """The peer: one Python dict per CSV row."""
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            acc = row["ACC"]
            rows.append(
                protein_record(
                    acc,
                    normalize_sequence(row["Sequence"], acc),
                    [c for c in LOCATIONS if float(row[c]) == 1.0],
                    kingdom=KINGDOM_FROM_DEEPLOC[row["Kingdom"]],
                    membrane=float(row["Membrane"]) == 1.0,
                    source="deeploc2",
                    release="DeepLoc-2.0",
                )
            )
    table = proteins_table(rows)
    write_table(table, out)
    return table


def _time(fn, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "p.parquet"
        ours, data = _time(lambda: run_import_deeploc(DATA, out), args.repeats)
        peer, table = _time(lambda: per_row_import(DATA, Path(tmp) / "q.parquet"), args.repeats)
    assert table.equals(data.proteins), "the two readers disagree"
    print(f"### DeepLoc CSV import (`benchmarks/import_deeploc.py`), {date.today()}")
    print()
    print(f"Machine: {cpu_name()}, {os.cpu_count()} cores, no GPU; command:")
    print(f"`.venv/bin/python benchmarks/import_deeploc.py --repeats {args.repeats}`")
    print(f"(median of {args.repeats}; {data.proteins.num_rows:,} rows, written to Parquet).")
    print()
    print("| reader | seconds | rows/s |")
    print("| --- | --- | --- |")
    n = data.proteins.num_rows
    print(f"| locflow `run_import_deeploc` (pyarrow.csv + numpy) | {ours:.2f} | {n / ours:,.0f} |")
    print(f"| per-row csv.DictReader + protein_record | {peer:.2f} | {n / peer:,.0f} |")


if __name__ == "__main__":
    main()
