"""Independent re-check of folds tables: does any homolog pair cross folds?

The audit runs its own MMseqs2 search and never reads the partitioner's graph or report. Its
default is deeper than any partitioner search: five times the candidates per query and every
candidate aligned, where `partition --search deep` stops a query's list after 300 rejected
in a row; `exhaustive` aligns every pair. The only shortcut it takes is exact: proteins with
identical sequences are aligned once and count as a pair of identity 1.0. One search serves
any number of folds tables over the same proteins.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from locflow import runtime
from locflow.data.files import write_json
from locflow.data.tables import read_folds, read_proteins, write_table
from locflow.errors import InputError, ParameterError
from locflow.homology import mmseqs

# -s 7.5 all-vs-all (MMseqs2's most sensitive prefilter), up to 5,000 candidates per query, every
# one aligned (no stop after a run of rejected ones), pairs reported down to half the threshold
# (mmseqs.REJECT_FLOOR). This is the depth of an independent reviewer's check, deeper than
# GraphPart's (-s 7.5, 300 candidates) and than every `locflow partition` search, so that a
# zero here is not zero by construction. A second tier for short proteins adds nothing: with
# the same settings it would repeat the first tier's queries exactly.
AUDIT_SEARCH = mmseqs.TieredSearch(main=mmseqs.SearchSettings(sensitivity=7.5, max_seqs=5000))
# Above this many distinct sequences an all-pairs alignment takes hours on a few cores.
MAX_EXHAUSTIVE = 10_000


@dataclass
class CrossingPair:
    """A homolog pair whose members sit in different folds."""

    a: str
    b: str
    fold_a: int
    fold_b: int
    identity: float


@dataclass
class AuditResult:
    """Outcome of auditing one folds table."""

    name: str
    kept: int
    not_in_folds: int
    crossing_pairs: int
    crossing_proteins: int
    max_cross_identity: float
    pairs: list[CrossingPair] = field(default_factory=list)

    def as_dict(self, max_pairs: int = 100) -> dict[str, Any]:
        """JSON-ready summary with at most `max_pairs` of the crossing pairs, worst first."""
        return {
            "name": self.name,
            "kept": self.kept,
            "not_in_folds": self.not_in_folds,
            "crossing_pairs": self.crossing_pairs,
            "crossing_proteins": self.crossing_proteins,
            "max_cross_identity": round(self.max_cross_identity, 4),
            "pairs": [vars(p) for p in self.pairs[:max_pairs]],
        }


@dataclass
class PairList:
    """Protein pairs (indices into the proteins table) with identity, from the audit search."""

    a: np.ndarray
    b: np.ndarray
    identity: np.ndarray
    search: dict[str, Any]


def search_pairs(
    sequences: list[str],
    include: np.ndarray,
    threshold: float,
    search: mmseqs.TieredSearch = AUDIT_SEARCH,
    options: mmseqs.RunOptions | None = None,
) -> PairList:
    """Align the included proteins all-vs-all; every pair down to REJECT_FLOOR * `threshold`."""
    idx = np.flatnonzero(include)
    unit_index: dict[str, int] = {}
    unit_of = np.array([unit_index.setdefault(sequences[p], len(unit_index)) for p in idx])
    uniques = list(unit_index)
    if search.main.exhaustive and len(uniques) > MAX_EXHAUSTIVE:
        raise ParameterError(
            f"`exhaustive` aligns every pair; {len(uniques)} distinct sequences is above the "
            f"limit of {MAX_EXHAUSTIVE}: audit without `exhaustive`"
        )
    ui, uj, uid, seconds = mmseqs.search_pairs(uniques, threshold, search, options)
    # Expand unit pairs to protein pairs; members of one unit are identical (identity 1.0).
    members = np.argsort(unit_of, kind="stable")
    bounds = np.searchsorted(unit_of[members], np.arange(len(uniques) + 1))
    a_list, b_list, id_list = [], [], []
    for u, v, x in zip(ui.tolist(), uj.tolist(), uid.tolist(), strict=True):
        pu, pv = members[bounds[u] : bounds[u + 1]], members[bounds[v] : bounds[v + 1]]
        a_list.append(np.repeat(pu, pv.size))
        b_list.append(np.tile(pv, pu.size))
        id_list.append(np.full(pu.size * pv.size, x))
    for u in np.flatnonzero(np.diff(bounds) > 1):
        pu = members[bounds[u] : bounds[u + 1]]
        ii, jj = np.triu_indices(pu.size, k=1)
        a_list.append(pu[ii])
        b_list.append(pu[jj])
        id_list.append(np.ones(ii.size))
    if a_list:
        a, b, ident = (np.concatenate(x) for x in (a_list, b_list, id_list))
    else:
        a = b = np.zeros(0, dtype=np.int64)
        ident = np.zeros(0)
    binary = (options.binary if options else None) or mmseqs.find_mmseqs()
    info = {
        "mmseqs_version": mmseqs.mmseqs_version(binary),
        **search.describe(),
        "distinct_sequences": len(uniques),
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }
    return PairList(idx[a], idx[b], ident, info)


def audit_search(exhaustive: bool = False, sensitivity: float | None = None) -> mmseqs.TieredSearch:
    """The audit's search: the default, every pair aligned, or a deeper first tier."""
    if exhaustive:
        return replace(AUDIT_SEARCH, main=replace(AUDIT_SEARCH.main, exhaustive=True))
    if sensitivity is not None:
        if sensitivity < AUDIT_SEARCH.main.sensitivity:
            raise ParameterError(
                f"`sensitivity` {sensitivity} is below the audit's minimum of "
                f"{AUDIT_SEARCH.main.sensitivity}"
            )
        return replace(AUDIT_SEARCH, main=replace(AUDIT_SEARCH.main, sensitivity=sensitivity))
    return AUDIT_SEARCH


def check_folds(
    name: str, ids: list[str], folds: pa.Table, pairs: PairList, threshold: float
) -> AuditResult:
    """Count the pairs above `threshold` that cross folds in one folds table."""
    position = {pid: i for i, pid in enumerate(ids)}
    fold = np.full(len(ids), -1, dtype=np.int64)
    seen = np.zeros(len(ids), dtype=bool)
    for pid, f in zip(
        folds.column("id").to_pylist(), folds.column("fold").to_pylist(), strict=True
    ):
        if pid not in position:
            raise InputError(f"folds table {name}: id {pid!r} is not in the proteins table")
        fold[position[pid]] = -1 if f is None else f
        seen[position[pid]] = True
    fa, fb = fold[pairs.a], fold[pairs.b]
    both = (fa >= 0) & (fb >= 0)
    cross_any = both & (fa != fb)
    crossing = cross_any & (pairs.identity > threshold)
    order = np.flatnonzero(crossing)[np.argsort(-pairs.identity[crossing], kind="stable")]
    listed = [
        CrossingPair(ids[pairs.a[i]], ids[pairs.b[i]], int(fa[i]), int(fb[i]),
                     round(float(pairs.identity[i]), 4))
        for i in order
    ]  # fmt: skip
    return AuditResult(
        name=name,
        kept=int((fold >= 0).sum()),
        not_in_folds=int((~seen).sum()),
        crossing_pairs=int(crossing.sum()),
        crossing_proteins=int(
            np.unique(np.concatenate([pairs.a[crossing], pairs.b[crossing]])).size
        ),
        max_cross_identity=float(pairs.identity[cross_any].max()) if cross_any.any() else 0.0,
        pairs=listed,
    )


def audit_tables(
    proteins: pa.Table,
    folds: dict[str, pa.Table],
    threshold: float = 0.3,
    exhaustive: bool = False,
    options: mmseqs.RunOptions | None = None,
    sensitivity: float | None = None,
) -> tuple[list[AuditResult], dict[str, Any], PairList]:
    """Audit several folds tables of one proteins table with a single search.

    Returns the results per table, the search settings and every pair the search found.
    """
    if not 0.0 < threshold < 1.0:
        raise ParameterError(f"`threshold` must lie between 0 and 1, got {threshold}")
    ids = proteins.column("id").to_pylist()
    sequences = proteins.column("sequence").to_pylist()
    mmseqs.check_sequences(ids, sequences)
    position = {pid: i for i, pid in enumerate(ids)}
    include = np.zeros(len(ids), dtype=bool)
    for table in folds.values():
        for pid, f in zip(table.column("id").to_pylist(), table.column("fold").to_pylist(),
                          strict=True):  # fmt: skip
            if pid in position and f is not None and f >= 0:
                include[position[pid]] = True
    search = audit_search(exhaustive, sensitivity)
    runtime.stage(f"searching homologs among {int(include.sum()):,} proteins")
    pairs = search_pairs(sequences, include, threshold, search, options)
    runtime.stage("checking folds tables", len(folds), "tables")
    results = []
    for name, table in folds.items():
        results.append(check_folds(name, ids, table, pairs, threshold))
        runtime.advance()
    return results, pairs.search, pairs


def pairs_table(ids: list[str], pairs: PairList) -> pa.Table:
    """Every pair the search found (down to half the threshold): ids and identity, best first."""
    order = np.lexsort((pairs.b, pairs.a, -pairs.identity))
    names = np.asarray(ids, dtype=object)
    return pa.table(
        {
            "a": pa.array(names[pairs.a[order]].tolist(), pa.string()),
            "b": pa.array(names[pairs.b[order]].tolist(), pa.string()),
            "identity": pa.array(pairs.identity[order], pa.float64()),
        }
    )


def run_audit(
    proteins_path: Path,
    folds_paths: list[Path],
    *,
    threshold: float = 0.3,
    exhaustive: bool = False,
    options: mmseqs.RunOptions | None = None,
    out: Path | None = None,
    sensitivity: float | None = None,
    pairs_out: Path | None = None,
) -> list[AuditResult]:
    """Audit folds tables against a proteins table; optionally write a JSON report to `out`
    and every pair found to `pairs_out` (Parquet)."""
    proteins = read_proteins(proteins_path)
    folds = {str(p): read_folds(p) for p in folds_paths}
    results, search, pairs = audit_tables(
        proteins, folds, threshold, exhaustive, options, sensitivity
    )
    if pairs_out is not None:
        write_table(pairs_table(proteins.column("id").to_pylist(), pairs), pairs_out)
    if out is not None:
        write_json(
            out,
            {
                "proteins": str(proteins_path),
                "threshold": threshold,
                "search": search,
                "results": [r.as_dict() for r in results],
            },
        )
    return results
