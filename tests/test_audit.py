"""The audit re-checks folds tables with its own MMseqs2 search and finds planted leaks."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest
from homology_sets import hard_set
from typer.testing import CliRunner

from locflow.cli import app
from locflow.data.tables import folds_table, write_table
from locflow.errors import InputError
from locflow.homology import mmseqs
from locflow.homology.audit import AUDIT_SEARCH, MAX_EXHAUSTIVE, audit_search, audit_tables
from locflow.homology.search import DEEP_SEARCH, FAST_SEARCH

OPTIONS = mmseqs.RunOptions(threads=2)


@pytest.fixture(scope="module")
def hard():
    return hard_set(seed=1, families=6, members=6, giant=3)


def _leaky_folds(hard):
    """Family-wise folds (clean), then planted leaks: a duplicate, a fragment, a chain link."""
    fold = {}
    for f, fam in enumerate(hard.families):
        for p in fam:
            fold[p] = f % 5
    for b in hard.bridges:
        fold[b] = -1
    for c, chain in enumerate(hard.chains):
        for p in chain:
            fold[p] = c % 5
    for s, p in enumerate(hard.singletons):
        fold[p] = s % 5
    for src, dup in hard.duplicates:
        fold[dup] = fold[src]
    for src, frag in hard.fragments:
        fold[frag] = fold[src]
    clean = dict(fold)
    planted = set()
    src, dup = hard.duplicates[0]
    fold[dup] = (fold[src] + 1) % 5
    planted.add(frozenset((src, dup)))
    src, frag = hard.fragments[1]
    fold[frag] = (fold[src] + 2) % 5
    planted.add(frozenset((src, frag)))
    # Moving a chain's end away leaks only the one link it has (its neighbour in the chain).
    chain = hard.chains[0]
    fold[chain[-1]] = (fold[chain[-2]] + 1) % 5
    planted.add(frozenset((chain[-2], chain[-1])))
    ids = list(fold)
    return (
        folds_table(ids, [clean[i] for i in ids]),
        folds_table(ids, [fold[i] for i in ids]),
        planted,
    )


def _pairs(result) -> set[frozenset]:
    return {frozenset((p.a, p.b)) for p in result.pairs}


def test_audit_search_is_independent_of_and_deeper_than_every_partitioner_search():
    # The audit's zero must not hold by construction: it is a different search from each of
    # the partitioner's, at least as sensitive, with more candidates per query and no early
    # stop on a run of rejected candidates.
    audit = AUDIT_SEARCH.main
    assert AUDIT_SEARCH.short is None
    assert not audit.exhaustive and audit.max_rejected is None
    for search in (DEEP_SEARCH, FAST_SEARCH):
        assert search != AUDIT_SEARCH
        for tier in (search.main, search.short):
            if tier is None:
                continue
            assert audit.sensitivity >= tier.sensitivity
            assert audit.max_seqs > tier.max_seqs
            assert tier.max_rejected is not None
    assert audit.sensitivity == 7.5 and audit.max_seqs >= 5000  # an independent reviewer's depth


def test_exhaustive_audit_finds_exactly_the_planted_leaks(hard):
    clean, leaky, planted = _leaky_folds(hard)
    results, search, _ = audit_tables(
        hard.table(), {"clean": clean, "leaky": leaky}, exhaustive=True, options=OPTIONS
    )
    by_name = {r.name: r for r in results}
    assert search["exhaustive"] and search["distinct_sequences"] < hard.table().num_rows
    assert by_name["clean"].crossing_pairs == 0
    assert by_name["clean"].max_cross_identity <= 0.3
    leaky_result = by_name["leaky"]
    # The duplicate also leaks against its source's relatives; every planted pair is found and
    # every reported pair involves a moved protein.
    assert planted <= _pairs(leaky_result)
    moved = {p for pair in planted for p in pair}
    assert all(pair & moved for pair in _pairs(leaky_result))
    assert leaky_result.crossing_pairs == len(leaky_result.pairs)
    top = leaky_result.pairs[0]
    assert top.identity == pytest.approx(1.0) and top.fold_a != top.fold_b


def test_prefilter_audit_agrees_with_exhaustive(hard, tmp_path):
    clean, leaky, planted = _leaky_folds(hard)
    proteins, c_path, l_path = (tmp_path / f"{n}.parquet" for n in ("p", "clean", "leaky"))
    write_table(hard.table(), proteins)
    write_table(clean, c_path)
    write_table(leaky, l_path)
    report = tmp_path / "audit.json"
    runner = CliRunner()
    result = runner.invoke(app, ["audit", str(proteins), str(c_path), str(l_path), "--threads",
                                 "2", "--report", str(report)])  # fmt: skip
    assert result.exit_code == 1, result.output
    data = json.loads(report.read_text())
    assert data["search"]["sensitivity"] == AUDIT_SEARCH.main.sensitivity
    clean_r, leaky_r = data["results"]
    assert clean_r["crossing_pairs"] == 0
    assert planted <= {frozenset((p["a"], p["b"])) for p in leaky_r["pairs"]}
    # A clean table alone passes: exit status 0.
    pairs_path = tmp_path / "pairs.parquet"
    result = runner.invoke(
        app, ["audit", str(proteins), str(c_path), "--exhaustive", "--pairs", str(pairs_path)]
    )
    assert result.exit_code == 0, result.output
    assert "crossing pairs 0" in result.output
    # --pairs lists every pair found, the planted leaks (same fold in the clean table) included.
    pairs = pq.read_table(pairs_path).to_pylist()
    assert planted <= {frozenset((p["a"], p["b"])) for p in pairs if p["identity"] > 0.3}
    assert [p["identity"] for p in pairs] == sorted((p["identity"] for p in pairs), reverse=True)
    assert min(p["identity"] for p in pairs) > 0.15


def test_audit_rejects_unknown_ids_and_huge_exhaustive(hard, monkeypatch):
    clean, _, _ = _leaky_folds(hard)
    extra = folds_table(
        [*clean.column("id").to_pylist(), "ghost"], [*clean.column("fold").to_pylist(), 0]
    )
    with pytest.raises(InputError, match="ghost"):
        audit_tables(hard.table(), {"x": extra}, exhaustive=True, options=OPTIONS)
    monkeypatch.setattr("locflow.homology.audit.MAX_EXHAUSTIVE", 5)
    with pytest.raises(InputError, match="`exhaustive`"):
        audit_tables(hard.table(), {"x": clean}, exhaustive=True, options=OPTIONS)
    assert MAX_EXHAUSTIVE >= 1000


def test_audit_search_options():
    assert audit_search(exhaustive=True).main.exhaustive
    assert audit_search(sensitivity=7.5).main.sensitivity == 7.5
    with pytest.raises(InputError, match="`sensitivity`"):
        audit_search(sensitivity=4.0)  # never shallower than the default
