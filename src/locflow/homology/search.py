"""The partitioner's all-vs-all homology search, whole or in query chunks.

Identical sequences collapse into one unit (they have the same homologs), and MMseqs2 aligns
each unit against every unit (`locflow.homology.mmseqs`). Each query's prefilter and alignments
depend only on that query and the full target set, so the search splits into query chunks that
run anywhere (`locflow homology-search --chunk K/N`, one Nextflow task each) and merge into the
same pairs, hence the same homolog graph and the same folds, as one unchunked run. A chunk's
pairs table records what it was searched with (the units' fingerprint, the search, the
threshold, its chunk number) so that a merge of chunks from different inputs or settings, or
with a chunk missing, is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from locflow.data.tables import read_parquet, read_proteins, write_table
from locflow.errors import InputError, ParameterError
from locflow.homology import mmseqs

# The partitioner's searches (docs/benchmarks.md has the measurements behind them).
#
# deep: every protein against every protein at -s 7.5 (MMseqs2's most sensitive prefilter), up
# to 1,000 candidates each, aligned best prefilter score first until 300 in a row fall below
# half the threshold. `locflow audit` checks its folds with a different, deeper search (5,000
# candidates, every one aligned); docs/benchmarks.md has both on the DeepLoc set.
# On DeepLoc 2.0 most pairs only this finds are peptides of 40-100 residues whose 13-30
# identical residues land deep in a candidate list, often only when the long member queries.
DEEP_SEARCH = mmseqs.TieredSearch(
    main=mmseqs.SearchSettings(sensitivity=7.5, max_seqs=1000, max_rejected=300)
)
# fast: all-vs-all at -s 5.7, then proteins up to 400 residues against all at -s 7.5, 100
# rejected in a row: 1.5x faster than GraphPart --prefilter on DeepLoc 2.0 but leaves pairs
# that the audit finds across folds.
FAST_SEARCH = mmseqs.TieredSearch(
    main=mmseqs.SearchSettings(sensitivity=5.7, max_seqs=1000, max_rejected=100),
    short=mmseqs.SearchSettings(sensitivity=7.5, max_seqs=1000, max_rejected=100),
    short_length=400,
)
# Small sets get every pair aligned (no prefilter), which finds every pair `locflow audit
# --exhaustive` does. The rule is an alignment budget in dynamic-programming cells, (total
# residues)^2 / 2: the 600-protein demo set is 2.5e10 cells, aligned exhaustively in about the
# time the prefilter searches take (~11 s on one core); 5e10 cells is about 25 s on one core.
EXHAUSTIVE_MAX_CELLS = 5e10
EXHAUSTIVE_SEARCH = mmseqs.TieredSearch(main=mmseqs.SearchSettings(exhaustive=True))
# thorough (opt-in): deep, plus every pair with a member of at most 100 residues aligned (both
# directions). A protein that short reaches 0.30 by chance local matches that no prefilter
# proposes (13% of its pairs above 0.30 on DeepLoc 2.0), or that sit below deep's 1,000
# candidates; the audit and every-pair audits found them across deep's folds (on 8,000 DeepLoc
# proteins: 7 and 37 pairs; 0 and 0 across thorough's). It is not the default: on the whole
# DeepLoc set those chance edges join 14,447 of the 28,303 proteins into one homolog component,
# so 353 proteins are removed to cut it and the folds differ by 5.7% (docs/benchmarks.md).
THOROUGH_SEARCH = mmseqs.TieredSearch(
    main=DEEP_SEARCH.main, short=mmseqs.SearchSettings(exhaustive=True), short_length=100
)
SEARCHES = {
    "exhaustive": EXHAUSTIVE_SEARCH,
    "thorough": THOROUGH_SEARCH,
    "deep": DEEP_SEARCH,
    "fast": FAST_SEARCH,
}
SEARCH_MODES = ("auto", *SEARCHES)

PAIRS_FORMAT = "locflow-homolog-pairs/1"


@dataclass
class Units:
    """Proteins collapsed by identical sequence: protein p is in unit `unit_of[p]`."""

    sequences: list[str]
    unit_of: np.ndarray  # protein index -> unit index
    weight: np.ndarray  # proteins per unit
    classes: np.ndarray  # [units, classes] protein counts per class

    def fingerprint(self) -> str:
        """sha256 of the unit sequences in order: two searches over the same units match."""
        digest = hashlib.sha256()
        for seq in self.sequences:
            digest.update(seq.encode("ascii") + b"\n")
        return digest.hexdigest()


def collapse_identical(sequences: list[str], labels: np.ndarray | None = None) -> Units:
    """Group identical sequences into weighted units (first occurrence order); `labels`
    (0/1, proteins x classes) are summed per unit."""
    index: dict[str, int] = {}
    unit_of = np.empty(len(sequences), dtype=np.int64)
    for p, seq in enumerate(sequences):
        unit_of[p] = index.setdefault(seq, len(index))
    n_units = len(index)
    weight = np.bincount(unit_of, minlength=n_units)
    labels = np.zeros((len(sequences), 0), dtype=np.int64) if labels is None else labels
    classes = np.zeros((n_units, labels.shape[1]), dtype=np.int64)
    np.add.at(classes, unit_of, labels)
    return Units(list(index), unit_of, weight, classes)


def choose_search(sequences: list[str], mode: str = "auto") -> mmseqs.TieredSearch:
    """The search for a mode: 'exhaustive', 'thorough', 'deep', 'fast', or 'auto' (exhaustive
    for small sets, deep above EXHAUSTIVE_MAX_CELLS)."""
    if mode not in SEARCH_MODES:
        raise ParameterError(f"`search` must be one of {', '.join(SEARCH_MODES)}, not {mode!r}")
    if mode == "auto":
        residues = float(sum(len(s) for s in sequences))
        mode = "exhaustive" if residues * residues / 2 <= EXHAUSTIVE_MAX_CELLS else "deep"
    return SEARCHES[mode]


def parse_chunk(text: str) -> tuple[int, int]:
    """'K/N' (1-based K of N chunks) -> (K - 1, N)."""
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise ParameterError(f"`chunk` must look like K/N (e.g. 3/10), not {text!r}") from None
    if not 1 <= k <= n:
        raise ParameterError(f"`chunk` {text}: K must lie between 1 and N")
    return k - 1, n


def chunk_queries(n_units: int, chunk: int, chunks: int) -> np.ndarray:
    """The unit indices chunk `chunk` (0-based) of `chunks` searches: contiguous, near-equal."""
    bounds = np.linspace(0, n_units, chunks + 1).round().astype(np.int64)
    return np.arange(bounds[chunk], bounds[chunk + 1])


def search_units(
    units: Units,
    threshold: float,
    search: mmseqs.TieredSearch,
    options: mmseqs.RunOptions | None = None,
    chunk: tuple[int, int] = (0, 1),
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    """Unit pairs (i < j, identity down to the floor) found by one chunk's queries."""
    queries = chunk_queries(len(units.sequences), *chunk)
    return mmseqs.search_pairs(units.sequences, threshold, search, options, queries=queries)


def pairs_table(
    units: Units,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray],
    *,
    threshold: float,
    search: mmseqs.TieredSearch,
    chunk: tuple[int, int],
    seconds: dict[str, float],
) -> pa.Table:
    """A chunk's unit pairs as a table, with what produced them in its schema metadata."""
    i, j, ident = pairs
    info = {
        "format": PAIRS_FORMAT,
        "units": len(units.sequences),
        "units_sha256": units.fingerprint(),
        "threshold": threshold,
        "search": search.describe(),
        "chunk": chunk[0] + 1,
        "chunks": chunk[1],
        "seconds": {k: round(v, 2) for k, v in seconds.items()},
    }
    table = pa.table(
        {
            "a": pa.array(i, pa.int64()),
            "b": pa.array(j, pa.int64()),
            "identity": pa.array(ident, pa.float64()),
        }
    )
    return table.replace_schema_metadata({"locflow.pairs": json.dumps(info)})


def pairs_info(table: pa.Table, where: str) -> dict[str, Any]:
    """The metadata `pairs_table` wrote, or an InputError naming the file."""
    raw = (table.schema.metadata or {}).get(b"locflow.pairs")
    try:
        info = json.loads(raw) if raw else None
    except ValueError:
        info = None
    if not info or info.get("format") != PAIRS_FORMAT:
        raise InputError(f"{where}: not a pairs table written by `locflow homology-search`")
    return info


def merge_chunks(
    paths: list[Path], units: Units, threshold: float, search: mmseqs.TieredSearch
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    """Read chunk pairs tables, check they are one complete search of `units`, merge them."""
    if not paths:
        raise ParameterError("`pairs`: no pairs tables given")
    found: dict[int, str] = {}
    parts, seconds = [], {}
    expect = {
        "units_sha256": units.fingerprint(),
        "threshold": threshold,
        "search": search.describe(),
    }
    chunks = None
    for path in paths:
        table = read_parquet(path, "pairs table")
        info = pairs_info(table, str(path))
        for key, value in expect.items():
            if json.loads(json.dumps(info.get(key))) != json.loads(json.dumps(value)):
                raise ParameterError(
                    f"{path}: searched with another {key.replace('_sha256', '')} than this "
                    "partition's (proteins table, `threshold` or `search` differ)"
                )
        chunks = chunks or info["chunks"]
        if info["chunks"] != chunks:
            raise InputError(
                f"{path}: chunk {info['chunk']} of {info['chunks']}, the others of {chunks}"
            )
        if info["chunk"] in found:
            raise InputError(
                f"{path}: chunk {info['chunk']} given twice (also {found[info['chunk']]})"
            )
        found[info["chunk"]] = str(path)
        parts.append(table)
        for k, v in info.get("seconds", {}).items():
            seconds[k] = seconds.get(k, 0.0) + v
    missing = sorted(set(range(1, chunks + 1)) - set(found))
    if missing:
        raise ParameterError(
            f"`pairs`: chunk(s) {', '.join(map(str, missing))} of {chunks} missing"
        )
    merged = pa.concat_tables(parts)
    i, j, ident = (merged.column(c).to_numpy() for c in ("a", "b", "identity"))
    return (*mmseqs.best_per_pair(i, j, ident), seconds)


def run_homology_search(
    proteins_path: Path,
    out: Path,
    *,
    chunk: str = "1/1",
    threshold: float = 0.3,
    search: str = "auto",
    options: mmseqs.RunOptions | None = None,
) -> dict[str, Any]:
    """Search one query chunk of a proteins table's units; write its pairs table."""
    if not 0.0 < threshold < 1.0:
        raise ParameterError(f"`threshold` must lie between 0 and 1, got {threshold}")
    part = parse_chunk(chunk)
    proteins = read_proteins(proteins_path)
    if proteins.num_rows == 0:
        raise InputError(f"{proteins_path}: the proteins table has no proteins to search")
    ids = proteins.column("id").to_pylist()
    sequences = proteins.column("sequence").to_pylist()
    mmseqs.check_sequences(ids, sequences)
    units = collapse_identical(sequences)
    chosen = choose_search(units.sequences, search)
    i, j, ident, seconds = search_units(units, threshold, chosen, options, part)
    table = pairs_table(
        units, (i, j, ident), threshold=threshold, search=chosen, chunk=part, seconds=seconds
    )
    write_table(table, out)
    queries = chunk_queries(len(units.sequences), *part)
    return {"chunk": chunk, "queries": int(queries.size), "pairs": int(i.size)}
