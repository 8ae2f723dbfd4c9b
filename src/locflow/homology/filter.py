"""The test-set filter: drop query proteins (the HPA test set) with a homolog in the training data.

A homolog is a pair with identity (identical aligned residues / length of the shorter
sequence) above the threshold, as for the partition (docs/architecture.md, "Data rules").
Both directions are searched, since a local alignment depends on which sequence queries.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from locflow import runtime
from locflow.data.files import write_json
from locflow.data.tables import read_proteins, write_table
from locflow.errors import ParameterError
from locflow.homology import mmseqs
from locflow.homology.partition import default_report_path
from locflow.homology.search import EXHAUSTIVE_MAX_CELLS

# Filtering a test set against training data is a guarantee too, and the test set is small:
# the audit's depth (up to 5,000 candidates per query at -s 7.5, every candidate aligned), in
# both directions, down to the floor the partitioner and the audit report to.
# A k-mer prefilter misses some homologs that every-pair alignment finds (evenly spread
# substitutions leave few shared k-mers), so query and training sets whose product is within the
# partitioner's alignment budget are aligned pair by pair, both directions.
FILTER_SEARCH = mmseqs.SearchSettings(sensitivity=7.5, max_seqs=5000)
FILTER_MODES = ("auto", "exhaustive", "deep")
# With 'deep', every pair with a member this short is aligned as well: chance local matches of
# short proteins reach the threshold (about 40 partners above 0.30 per DeepLoc protein of at
# most 100 residues), and no prefilter proposes 13% of them (benchmarks/short_matches.py). The
# test set is small, so this costs minutes, not the hours every pair would.
FILTER_SHORT_LENGTH = 150


def choose_filter_search(
    q_seqs: list[str], t_seqs: list[str], mode: str = "auto"
) -> mmseqs.SearchSettings:
    """'exhaustive', 'deep' (FILTER_SEARCH), or 'auto': exhaustive while (query residues) x
    (training residues) is within EXHAUSTIVE_MAX_CELLS, deep above."""
    if mode not in FILTER_MODES:
        raise ParameterError(f"`search` must be one of {', '.join(FILTER_MODES)}, not {mode!r}")
    if mode == "auto":
        cells = float(sum(map(len, q_seqs))) * float(sum(map(len, t_seqs)))
        mode = "exhaustive" if cells <= EXHAUSTIVE_MAX_CELLS else "deep"
    return replace(FILTER_SEARCH, exhaustive=mode == "exhaustive")


def filter_homologs(
    query: pa.Table,
    against: pa.Table,
    threshold: float = 0.3,
    search: str = "auto",
    options: mmseqs.RunOptions | None = None,
) -> tuple[pa.Table, dict[str, Any]]:
    """Drop query proteins with any homolog (identity > threshold) in `against`.

    `search` is 'auto', 'exhaustive' or 'deep' (see `choose_filter_search`). Returns the kept
    rows of `query` and a report naming each dropped protein's closest training homolog.
    """
    if not 0.0 < threshold < 1.0:
        raise ParameterError(f"`threshold` must lie between 0 and 1, got {threshold}")
    q_ids = query.column("id").to_pylist()
    t_ids = against.column("id").to_pylist()
    q_seqs = query.column("sequence").to_pylist()
    t_seqs = against.column("sequence").to_pylist()
    mmseqs.check_sequences(q_ids, q_seqs)
    mmseqs.check_sequences(t_ids, t_seqs)
    settings = choose_filter_search(q_seqs, t_seqs, search)
    exhaustive = settings.exhaustive
    start = time.perf_counter()
    runtime.stage(f"searching {len(q_seqs):,} query against {len(t_seqs):,} training proteins")
    qi, ti, ident = mmseqs.cross_pairs(
        q_seqs, t_seqs, mmseqs.REJECT_FLOOR * threshold, settings, options,
        short_length=FILTER_SHORT_LENGTH,
    )  # fmt: skip
    hit = ident > threshold
    best: dict[int, tuple[float, int]] = {}
    for q, t, x in zip(qi[hit].tolist(), ti[hit].tolist(), ident[hit].tolist(), strict=True):
        if q not in best or x > best[q][0]:
            best[q] = (x, t)
    # Exact duplicates of a training sequence are homologs whatever the search reports.
    train_seq = {s: i for i, s in enumerate(t_seqs)}
    for q, s in enumerate(q_seqs):
        if s in train_seq:
            best[q] = (1.0, train_seq[s])
    keep = np.array([q not in best for q in range(len(q_ids))], dtype=bool)
    options = options or mmseqs.RunOptions()
    report = {
        "query": int(len(q_ids)),
        "against": int(len(t_ids)),
        "kept": int(keep.sum()),
        "removed": int((~keep).sum()),
        "threshold": threshold,
        "identity": "identical aligned residues / length of the shorter sequence",
        "mmseqs": {
            "version": mmseqs.mmseqs_version(options.binary or mmseqs.find_mmseqs()),
            "exhaustive": exhaustive,
            "sensitivity": None if exhaustive else settings.sensitivity,
            "max_seqs": None if exhaustive else settings.max_seqs,
            "alignment_mode": 3,
            "directions": "both (query against training, training against query)",
            "every_pair_with_a_member_up_to": None if exhaustive else FILTER_SHORT_LENGTH,
            "reported_down_to": mmseqs.REJECT_FLOOR * threshold,
            "threads": options.threads,
        },
        "removed_ids": [
            {"id": q_ids[q], "homolog": t_ids[t], "identity": round(x, 4)}
            for q, (x, t) in sorted(best.items())
        ],
        "seconds": round(time.perf_counter() - start, 2),
    }
    return query.filter(pa.array(keep)), report


def run_filter_homologs(
    query_path: Path,
    against_path: Path,
    out: Path,
    *,
    report_path: Path | None = None,
    threshold: float = 0.3,
    search: str = "auto",
    options: mmseqs.RunOptions | None = None,
) -> dict[str, Any]:
    """Read both proteins tables, drop query homologs of `against`, write kept rows + report."""
    query = read_proteins(query_path)
    against = read_proteins(against_path)
    kept, report = filter_homologs(query, against, threshold, search, options)
    report.update({"query_path": str(query_path), "against_path": str(against_path)})
    write_table(kept, out, metadata={"locflow.filtered_against": str(against_path)})
    write_json(report_path or default_report_path(out), report)
    return report
