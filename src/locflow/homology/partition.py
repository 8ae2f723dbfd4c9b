"""Homology partitioning: k folds such that no homolog pair crosses folds.

A homolog pair has an identity (identical aligned residues / length of the shorter sequence)
above the threshold, 0.3 by default (docs/architecture.md, "Data rules").

The steps:

1. Identical sequences collapse into one weighted unit: they have the same homologs, so they
   must share a fold and removing one copy never separates anything.
2. MMseqs2 aligns the units all-vs-all (`locflow.homology.mmseqs`); a pair whose identity over the
   shorter sequence exceeds the threshold is an edge of the homolog graph.
3. A connected component that is too large for one fold is cut by removing a small vertex
   separator: a spectral ordering proposes two sides and a maximum-flow minimum vertex cut
   between them picks the fewest proteins to drop. This repeats until every piece fits.
4. Pieces are packed into folds, largest first, each into the fold where it best balances fold
   sizes and per-class counts (multi-label aware).
5. A removed protein whose kept homologs all ended in one fold goes back into that fold.

Every choice that could tie is broken by a seeded random order, so the result is deterministic.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, maximum_flow
from scipy.sparse.linalg import eigsh

from locflow import runtime
from locflow.data.classes import LOCATIONS
from locflow.data.files import write_json
from locflow.data.tables import folds_table, read_proteins, write_table
from locflow.errors import InputError, ParameterError
from locflow.homology import mmseqs
from locflow.homology.search import (
    DEEP_SEARCH,
    Units,
    choose_search,
    collapse_identical,
    merge_chunks,
    search_units,
)

log = logging.getLogger(__name__)

REMOVED = -1


@dataclass
class HomologGraph:
    """Undirected homolog graph over units, as a symmetric CSR adjacency matrix."""

    adjacency: sp.csr_matrix
    edges: int
    max_identity: float
    seconds: dict[str, float] = field(default_factory=dict)


def homolog_graph(
    units: Units,
    threshold: float,
    search: mmseqs.TieredSearch = DEEP_SEARCH,
    options: mmseqs.RunOptions | None = None,
    pairs: list[Path] | None = None,
) -> HomologGraph:
    """Align units all-vs-all (or read `pairs`, the chunks of that search); pairs with identity
    above `threshold` are the edges."""
    n = len(units.sequences)
    # The search reports pairs below the threshold too (down to the floor it shares with the
    # audit); only those above are edges.
    if pairs:
        i, j, ident, seconds = merge_chunks(pairs, units, threshold, search)
    else:
        i, j, ident, seconds = search_units(units, threshold, search, options)
    edge = ident > threshold
    i, j, ident = i[edge], j[edge], ident[edge]
    adj = sp.coo_matrix((np.ones(i.size, dtype=np.int8), (i, j)), shape=(n, n)).tocsr()
    adj = (adj + adj.T).tocsr()
    adj.data[:] = 1
    return HomologGraph(adj, int(i.size), float(ident.max()) if ident.size else 0.0, seconds)


def _fiedler_order(adj: sp.csr_matrix, rng: np.random.Generator) -> np.ndarray:
    """Order nodes along the second eigenvector of the normalised adjacency (spectral cut)."""
    n = adj.shape[0]
    deg = np.asarray(adj.sum(axis=1)).ravel().astype(float)
    if n < 4:
        return np.argsort(-deg, kind="stable")
    inv = sp.diags(1.0 / np.sqrt(np.maximum(deg, 1.0)))
    norm = (inv @ adj.astype(float) @ inv).tocsr()
    # Shift by the identity so the wanted eigenvalues are the largest in magnitude too.
    shifted = norm + sp.identity(n, format="csr")
    try:
        _, vecs = eigsh(shifted, k=2, which="LA", v0=rng.random(n), tol=1e-4, maxiter=5000)
        fiedler = vecs[:, 0] / np.sqrt(np.maximum(deg, 1.0))
    except Exception:  # noqa: BLE001 - no convergence: fall back to a breadth-first order
        fiedler = _bfs_distance(adj, int(np.argmin(deg))).astype(float)
    return np.lexsort((rng.random(n), fiedler))


def _bfs_distance(adj: sp.csr_matrix, start: int) -> np.ndarray:
    from scipy.sparse.csgraph import breadth_first_order

    order, pred = breadth_first_order(adj, start, directed=False)
    dist = np.zeros(adj.shape[0], dtype=np.int64)
    for v in order[1:]:
        dist[v] = dist[pred[v]] + 1
    return dist


def min_vertex_cut(
    adj: sp.csr_matrix, weight: np.ndarray, sources: np.ndarray, sinks: np.ndarray
) -> np.ndarray:
    """Return a minimum-weight set of nodes whose removal disconnects `sources` from `sinks`.

    Classic node splitting: node v becomes v_in -> v_out with capacity weight[v]; each edge
    becomes infinite arcs u_out -> v_in; the super source feeds every source's v_in and every
    sink's v_out drains, so region nodes can themselves be cut when that is cheaper.
    """
    n = adj.shape[0]
    inf = int(weight.sum()) + 1
    s, t = 2 * n, 2 * n + 1
    coo = adj.tocoo()
    rows = np.concatenate([np.arange(n), coo.row + n, np.full(sources.size, s), sinks + n])
    cols = np.concatenate([np.arange(n) + n, coo.col, sources, np.full(sinks.size, t)])
    caps = np.concatenate(
        [weight, np.full(coo.nnz, inf), np.full(sources.size, inf), np.full(sinks.size, inf)]
    ).astype(np.int32)
    cap = sp.csr_matrix((caps, (rows, cols)), shape=(2 * n + 2, 2 * n + 2))
    cap.sum_duplicates()
    flow = maximum_flow(cap, s, t, method="dinic").flow
    residual = (cap - flow).tocsr()
    residual.data = (residual.data > 0).astype(np.int8)
    residual.eliminate_zeros()
    from scipy.sparse.csgraph import breadth_first_order

    reached = np.zeros(2 * n + 2, dtype=bool)
    reached[breadth_first_order(residual, s, directed=True, return_predecessors=False)] = True
    return np.flatnonzero(reached[:n] & ~reached[n : 2 * n])


def split_component(
    adj: sp.csr_matrix, weight: np.ndarray, cap: int, rng: np.random.Generator
) -> np.ndarray:
    """Return the nodes to remove so that every remaining component weighs at most `cap`."""
    removed: list[np.ndarray] = []
    stack = [np.arange(adj.shape[0])]
    while stack:
        nodes = stack.pop()
        if weight[nodes].sum() <= cap:
            continue
        sub = adj[nodes][:, nodes].tocsr()
        w = weight[nodes]
        order = _fiedler_order(sub, rng)
        cum = np.cumsum(w[order])
        total = cum[-1]
        best: tuple[float, np.ndarray] | None = None
        # Try several side sizes; keep the cut that removes least per protein it splits off.
        for frac in (0.05, 0.15, 0.25, 0.35, 0.45):
            head = order[: int(np.searchsorted(cum, frac * total)) + 1]
            tail = order[int(np.searchsorted(cum, (1 - frac) * total)) :]
            cut = min_vertex_cut(sub, w, head, tail)
            keep = np.ones(nodes.size, dtype=bool)
            keep[cut] = False
            n_comp, lab = connected_components(sub[keep][:, keep], directed=False)
            sizes = np.bincount(lab, weights=w[keep], minlength=n_comp)
            smaller = total - w[cut].sum() - sizes.max()
            score = w[cut].sum() / max(smaller, 1e-9)
            if best is None or score < best[0]:
                best = (score, cut)
        assert best is not None
        cut = best[1]
        if cut.size == 0:  # cannot happen for a connected piece; guard against looping
            cut = order[:1]
        removed.append(nodes[cut])
        keep = np.ones(nodes.size, dtype=bool)
        keep[cut] = False
        rest = nodes[keep]
        n_comp, lab = connected_components(sub[keep][:, keep], directed=False)
        for c in range(n_comp):
            stack.append(rest[lab == c])
    return np.concatenate(removed) if removed else np.zeros(0, dtype=np.int64)


def readd_separators(
    adj: sp.csr_matrix, weight: np.ndarray, removed: np.ndarray, cap: int, rng: np.random.Generator
) -> np.ndarray:
    """Put back removed units whose return leaves every component within `cap`.

    Recursive cuts can remove more than needed (a later cut may have split a piece that an
    earlier separator node also touched); returns the units still removed.
    """
    keep = np.ones(weight.size, dtype=bool)
    keep[removed] = False
    n_comp, lab = connected_components(adj[keep][:, keep], directed=False)
    kept = np.flatnonzero(keep)
    # Union-find over kept units, each component rooted at its first unit; -1 = removed.
    roots = kept[np.unique(lab, return_index=True)[1]]
    parent = np.full(weight.size, -1, dtype=np.int64)
    parent[kept] = roots[lab]
    sizes = np.bincount(lab, weights=weight[kept], minlength=n_comp)
    comp_w = {int(r): int(w) for r, w in zip(roots, sizes, strict=True)}

    def find(u: int) -> int:
        while parent[u] != u:
            parent[u] = parent[parent[u]]
            u = int(parent[u])
        return u

    still = []
    for u in removed[np.lexsort((rng.random(removed.size), -weight[removed]))].tolist():
        neigh = adj.indices[adj.indptr[u] : adj.indptr[u + 1]]
        roots = {find(int(v)) for v in neigh if parent[v] >= 0}
        total = int(weight[u]) + sum(comp_w[r] for r in roots)
        if total > cap:
            still.append(u)
            continue
        parent[u] = u
        for r in roots:
            parent[r] = u
            del comp_w[r]
        comp_w[u] = total
    return np.array(sorted(still), dtype=np.int64)


def pack_folds(
    pieces: list[np.ndarray],
    weight: np.ndarray,
    classes: np.ndarray,
    k: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Assign pieces (arrays of units) to k folds, balancing sizes and per-class counts.

    Largest pieces first; each goes where it least increases the sum of squared relative
    deviations of fold size (weighted most) and of every class count from their targets.
    """
    piece_w = np.array([weight[p].sum() for p in pieces], dtype=float)
    piece_c = np.array([classes[p].sum(axis=0) for p in pieces], dtype=float).reshape(
        len(pieces), classes.shape[1]
    )
    size_target = max(piece_w.sum() / k, 1.0)
    class_target = np.maximum(piece_c.sum(axis=0) / k, 1.0)
    load = np.zeros(k)
    counts = np.zeros((k, classes.shape[1]))
    fold_of = np.empty(weight.size, dtype=np.int64)
    fold_of[:] = REMOVED
    order = np.lexsort((rng.random(len(pieces)), -piece_w))
    size_weight = 10.0
    for p in order:
        new_load = load + piece_w[p]
        d_size = (new_load**2 - load**2) / size_target**2
        new_counts = counts + piece_c[p]
        d_class = ((new_counts**2 - counts**2) / class_target**2).sum(axis=1)
        cost = size_weight * d_size + d_class
        f = int(np.argmin(cost))
        load[f] += piece_w[p]
        counts[f] += piece_c[p]
        fold_of[pieces[p]] = f
    return fold_of


def restore_removed(
    adj: sp.csr_matrix, fold_of: np.ndarray, weight: np.ndarray, rng: np.random.Generator
) -> int:
    """Put back removed units whose kept neighbours all sit in one fold; return units restored.

    A unit with no kept neighbour goes to the currently smallest fold. Repeats until stable,
    because a restored unit can pin down the fold of another removed neighbour.
    """
    k = int(fold_of.max()) + 1 if (fold_of >= 0).any() else 1
    restored = 0
    changed = True
    while changed:
        changed = False
        candidates = np.flatnonzero(fold_of == REMOVED)
        candidates = candidates[np.lexsort((rng.random(candidates.size), -weight[candidates]))]
        for u in candidates:
            neigh = adj.indices[adj.indptr[u] : adj.indptr[u + 1]]
            folds = np.unique(fold_of[neigh])
            folds = folds[folds >= 0]
            if folds.size == 1:
                fold_of[u] = folds[0]
            elif folds.size == 0:
                loads = np.bincount(
                    fold_of[fold_of >= 0], weights=weight[fold_of >= 0], minlength=k
                )
                fold_of[u] = int(np.argmin(loads))
            else:
                continue
            restored += 1
            changed = True
    return restored


def partition_sequences(
    sequences: list[str],
    labels: np.ndarray,
    k: int = 5,
    threshold: float = 0.3,
    seed: int = 0,
    search: mmseqs.TieredSearch | str = "auto",
    options: mmseqs.RunOptions | None = None,
    pairs: list[Path] | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Return (fold per sequence, -1 = removed; report) for sequences with 0/1 label columns.

    `search` is a TieredSearch or a mode name for `choose_search`; `pairs` are the chunk
    tables of that search (`locflow homology-search`), read instead of searching.
    """
    if k < 2:
        raise ParameterError(f"`k` must be at least 2, got {k}")
    if not 0.0 < threshold < 1.0:
        raise ParameterError(f"`threshold` must lie between 0 and 1, got {threshold}")
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    runtime.stage("collapsing identical sequences", len(sequences), "proteins")
    units = collapse_identical(sequences, labels)
    if isinstance(search, str):
        search = choose_search(units.sequences, search)
    graph = homolog_graph(units, threshold, search, options, pairs)
    t_search = time.perf_counter()
    adj, weight = graph.adjacency, units.weight
    runtime.stage("splitting homolog components larger than a fold")
    n_comp, comp = connected_components(adj, directed=False)
    comp_w = np.bincount(comp, weights=weight, minlength=n_comp)
    # Leave 2% slack below N/k so that packing can still even out the folds.
    cap = max(1, int(0.98 * len(sequences) / k))
    removed_units: list[np.ndarray] = []
    for c in np.flatnonzero(comp_w > cap):
        nodes = np.flatnonzero(comp == c)
        cut = split_component(adj[nodes][:, nodes].tocsr(), weight[nodes], cap, rng)
        removed_units.append(nodes[cut])
    removed = np.concatenate(removed_units) if removed_units else np.zeros(0, dtype=np.int64)
    separators = int(weight[removed].sum())
    removed = readd_separators(adj, weight, removed, cap, rng)
    keep = np.ones(weight.size, dtype=bool)
    keep[removed] = False
    runtime.stage(f"packing {int(keep.sum()):,} sequence groups into {k} folds")
    n_piece, piece_lab = connected_components(adj[keep][:, keep], directed=False)
    kept_units = np.flatnonzero(keep)
    order = np.argsort(piece_lab, kind="stable")
    bounds = np.searchsorted(piece_lab[order], np.arange(n_piece + 1))
    pieces = [kept_units[order[bounds[i] : bounds[i + 1]]] for i in range(n_piece)]
    fold_of = pack_folds(pieces, weight, units.classes, k, rng)
    restored_units = restore_removed(adj, fold_of, weight, rng)
    t_end = time.perf_counter()
    folds = fold_of[units.unit_of]
    report = _report(folds, labels, k, threshold, seed, search, options, graph, comp_w)
    report["removed"] = {
        "count": int((folds == REMOVED).sum()),
        "reason": "vertex separator of a homolog component too large for one fold",
        "separator_proteins": separators,
        "restored_proteins": separators - int((folds == REMOVED).sum()),
        "restored_units": restored_units,
    }
    report["timings_s"] = {
        **{f"mmseqs_{k_}": round(v, 2) for k_, v in graph.seconds.items()},
        "search_total": round(t_search - t0, 2),
        "graph_and_folds": round(t_end - t_search, 2),
        "total": round(t_end - t0, 2),
    }
    return folds, report


def _report(
    folds: np.ndarray,
    labels: np.ndarray,
    k: int,
    threshold: float,
    seed: int,
    search: mmseqs.TieredSearch,
    options: mmseqs.RunOptions | None,
    graph: HomologGraph,
    comp_w: np.ndarray,
) -> dict[str, Any]:
    """Summarise a partition: sizes, per-class counts, the graph and the search used."""
    options = options or mmseqs.RunOptions()
    sizes = np.bincount(folds[folds >= 0], minlength=k)
    per_class = {
        name: [int(labels[folds == f, c].sum()) for f in range(k)]
        for c, name in enumerate(LOCATIONS[: labels.shape[1]])
    }
    return {
        "proteins": int(folds.size),
        "kept": int((folds >= 0).sum()),
        "folds": k,
        "threshold": threshold,
        "identity": "identical aligned residues / length of the shorter sequence",
        "seed": seed,
        "fold_sizes": sizes.tolist(),
        "fold_size_max_deviation": float(np.abs(sizes / max(sizes.mean(), 1) - 1).max()),
        "per_class_counts": per_class,
        "graph": {
            "unique_sequences": int(graph.adjacency.shape[0]),
            "edges": graph.edges,
            "components": int(comp_w.size),
            "largest_component": int(comp_w.max()) if comp_w.size else 0,
            "max_identity": graph.max_identity,
        },
        "mmseqs": {
            "binary": str(options.binary or mmseqs.find_mmseqs()),
            "version": mmseqs.mmseqs_version(options.binary or mmseqs.find_mmseqs()),
            "threads": options.threads,
            **search.describe(),
        },
    }


def label_matrix(table: pa.Table) -> np.ndarray:
    """0/1 matrix [proteins, 10 locations] from the proteins table's `locations` lists."""
    col = {name: i for i, name in enumerate(LOCATIONS)}
    out = np.zeros((table.num_rows, len(LOCATIONS)), dtype=np.int64)
    for r, locs in enumerate(table.column("locations").to_pylist()):
        for loc in locs or []:
            out[r, col[loc]] = 1
    return out


def partition_table(
    proteins: pa.Table,
    k: int = 5,
    threshold: float = 0.3,
    seed: int = 0,
    search: mmseqs.TieredSearch | str = "auto",
    options: mmseqs.RunOptions | None = None,
    pairs: list[Path] | None = None,
) -> tuple[pa.Table, dict[str, Any]]:
    """Partition a proteins table; return the folds table and the JSON-ready report."""
    ids = proteins.column("id").to_pylist()
    sequences = proteins.column("sequence").to_pylist()
    if not ids:
        raise InputError("the proteins table has no proteins: nothing to partition")
    if len(ids) < k:
        log.warning(
            "%d proteins into %d folds: at least %d fold(s) will be empty",
            len(ids),
            k,
            k - len(ids),
        )
    mmseqs.check_sequences(ids, sequences)
    folds, report = partition_sequences(
        sequences, label_matrix(proteins), k, threshold, seed, search, options, pairs
    )
    report["removed"]["ids"] = [pid for pid, f in zip(ids, folds, strict=True) if f == REMOVED]
    empty = [f for f, size in enumerate(report.get("fold_sizes", [])) if size == 0]
    report["empty_folds"] = empty
    if empty:
        log.warning(
            "fold(s) %s have no proteins (%d proteins, %d folds): training or evaluating "
            "such a fold will fail",
            ", ".join(map(str, empty)),
            len(ids),
            k,
        )
    return folds_table(ids, folds.tolist()), report


def run_partition(
    proteins_path: Path,
    out: Path,
    *,
    report_path: Path | None = None,
    k: int = 5,
    threshold: float = 0.3,
    seed: int = 0,
    options: mmseqs.RunOptions | None = None,
    search: str = "auto",
    pairs: list[Path] | None = None,
) -> dict[str, Any]:
    """Read a proteins table, partition it, write the folds table and its JSON report.

    With `pairs` (the chunk tables of `locflow homology-search`) the search is not run again.
    """
    proteins = read_proteins(proteins_path)
    if proteins.num_rows == 0:
        raise InputError(f"{proteins_path}: the proteins table has no proteins to partition")
    table, report = partition_table(proteins, k, threshold, seed, search, options, pairs)
    report["input"] = str(proteins_path)
    write_table(table, out, metadata={"locflow.threshold": str(threshold), "locflow.folds": str(k)})
    write_json(report_path or default_report_path(out), report)
    return report


def default_report_path(out: Path) -> Path:
    """`folds.parquet` -> `folds.json`, next to it."""
    return Path(out).with_suffix(".json")
