"""How many homolog pairs of short proteins a k-mer prefilter misses, and what they look like.

A seeded sample of the DeepLoc proteins of at most `--max-length` residues is aligned against
every DeepLoc protein twice: every pair (MMseqs2 with an all-pairs prefilter), and through the
audit's prefilter search (-s 7.5, 5,000 candidates, every one aligned). Pairs above the
threshold (identical residues / shorter length) that only every-pair alignment finds are
reported with their bit scores and the short member's length. Writes JSON to --out.

    .venv/bin/python benchmarks/short_matches.py --out bench_out/short_matches.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from locflow.data.deeploc import read_deeploc
from locflow.homology import mmseqs

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "deeploc2" / "swissprot_cv.csv.gz"


def pair_bits(aln: mmseqs.Alignments, threshold: float) -> dict[tuple[int, int], float]:
    """(query, target) -> bit score of the alignments above `threshold`."""
    keep = aln.identity > threshold
    return dict(
        zip(
            zip(aln.query[keep].tolist(), aln.target[keep].tolist(), strict=True),
            aln.bits[keep].tolist(),
            strict=True,
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=ROOT / "bench_out" / "short_matches.json")
    ap.add_argument("--max-length", type=int, default=100)
    ap.add_argument("--sample", type=int, default=150)
    ap.add_argument("--threshold", type=float, default=0.3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()

    table = read_deeploc(args.data).proteins
    sequences = table.column("sequence").to_pylist()
    lengths = np.array([len(s) for s in sequences])
    short = np.flatnonzero(lengths <= args.max_length)
    rng = np.random.default_rng(0)
    picked = np.sort(rng.choice(short, min(args.sample, short.size), replace=False))
    queries = [sequences[i] for i in picked]
    options = mmseqs.RunOptions(threads=args.threads)
    floor = mmseqs.REJECT_FLOOR * args.threshold
    found, seconds = {}, {}
    for name, settings in (
        ("every_pair", mmseqs.SearchSettings(exhaustive=True, min_identity=floor)),
        ("prefilter", mmseqs.SearchSettings(sensitivity=7.5, max_seqs=5000, min_identity=floor)),
    ):
        start = time.perf_counter()
        found[name] = pair_bits(mmseqs.align(queries, sequences, settings, options), args.threshold)
        seconds[name] = round(time.perf_counter() - start, 1)
    missed = {p: b for p, b in found["every_pair"].items() if p not in found["prefilter"]}
    kept_bits = [b for p, b in found["every_pair"].items() if p in found["prefilter"]]
    buckets = {}
    for lo in range(40, args.max_length, 10):
        rows = [p for p in missed if lo < lengths[picked[p[0]]] <= lo + 10]
        buckets[f"{lo + 1}-{lo + 10}"] = {
            "queries": int(((lengths[picked] > lo) & (lengths[picked] <= lo + 10)).sum()),
            "missed_pairs": len(rows),
            "missed_pairs_30_bits_or_more": sum(missed[p] >= 30 for p in rows),
        }
    pct = [0, 1, 5, 25, 50, 75, 95, 99, 100]
    result = {
        "data": str(args.data),
        "proteins": len(sequences),
        "short_proteins": int(short.size),
        "queries": len(queries),
        "max_length": args.max_length,
        "threshold": args.threshold,
        "mmseqs": mmseqs.mmseqs_version(),
        "pairs_above_threshold": {k: len(v) for k, v in found.items()},
        "prefilter_only": sum(p not in found["every_pair"] for p in found["prefilter"]),
        "missed_by_prefilter": len(missed),
        "missed_bits_percentiles": dict(
            zip(map(str, pct), np.percentile(list(missed.values()) or [0], pct).round(1).tolist(),
                strict=True)
        ),  # fmt: skip
        "found_bits_percentiles": dict(
            zip(map(str, pct), np.percentile(kept_bits or [0], pct).round(1).tolist(), strict=True)
        ),
        "missed_by_short_length": buckets,
        "seconds": seconds,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
