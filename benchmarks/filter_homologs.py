"""Does `filter-homologs` leave any test protein with a homolog in the training data?

A seeded random sample of DeepLoc proteins stands in for an HPA test set (the real one needs
UniProt sequences); the rest of the DeepLoc set is the training data. The default filter runs,
then every kept query is aligned against every training protein in both directions (the
exhaustive check); a kept query above the threshold is a leak. Writes JSON to --out.

    .venv/bin/python benchmarks/filter_homologs.py --out bench_out/filter_homologs.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from locflow.data.deeploc import read_deeploc
from locflow.homology import mmseqs
from locflow.homology.filter import filter_homologs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "deeploc2" / "swissprot_cv.csv.gz"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=ROOT / "bench_out" / "filter_homologs.json")
    ap.add_argument("--sample", type=int, default=60, help="Query (pseudo-test) proteins.")
    ap.add_argument("--threshold", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    proteins = read_deeploc(args.data).proteins
    rng = np.random.default_rng(0)
    picked = rng.choice(proteins.num_rows, min(args.sample, proteins.num_rows), replace=False)
    mask = np.zeros(proteins.num_rows, dtype=bool)
    mask[picked] = True
    query, training = proteins.filter(pa.array(mask)), proteins.filter(pa.array(~mask))
    options = mmseqs.RunOptions(threads=args.threads)
    start = time.perf_counter()
    kept, report = filter_homologs(query, training, args.threshold, "auto", options)
    filter_s = time.perf_counter() - start
    start = time.perf_counter()
    every = mmseqs.SearchSettings(exhaustive=True)
    q_seqs = kept.column("sequence").to_pylist()
    qi, ti, ident = mmseqs.cross_pairs(
        q_seqs, training.column("sequence").to_pylist(), args.threshold, every, options
    )
    check_s = time.perf_counter() - start
    q_ids, t_ids = kept.column("id").to_pylist(), training.column("id").to_pylist()
    leaks = sorted(
        {(q_ids[q], t_ids[t], round(x, 4)) for q, t, x in zip(qi, ti, ident, strict=True)},
        key=lambda r: -r[2],
    )
    result = {
        "data": str(args.data),
        "query": query.num_rows,
        "training": training.num_rows,
        "threshold": args.threshold,
        "filter": {k: report[k] for k in ("kept", "removed", "mmseqs")},
        "filter_seconds": round(filter_s, 1),
        "exhaustive_check_seconds": round(check_s, 1),
        "kept_with_a_homolog": len({q for q, _, _ in leaks}),
        "leaks": leaks[:50],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
