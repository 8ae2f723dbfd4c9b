"""The partitioner's homology search split into query chunks: same pairs, same folds."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest
from homology_sets import hard_set
from typer.testing import CliRunner

from locflow.cli import app
from locflow.data.tables import write_table
from locflow.errors import InputError
from locflow.homology import mmseqs
from locflow.homology.partition import partition_table
from locflow.homology.search import (
    DEEP_SEARCH,
    chunk_queries,
    collapse_identical,
    merge_chunks,
    parse_chunk,
    run_homology_search,
)

OPTIONS = mmseqs.RunOptions(threads=2)


@pytest.fixture(scope="module")
def proteins(tmp_path_factory):
    table = hard_set(seed=1).table()
    path = tmp_path_factory.mktemp("search") / "proteins.parquet"
    write_table(table, path)
    return table, path


@pytest.fixture(scope="module")
def chunk_paths(proteins, tmp_path_factory):
    _, path = proteins
    out = tmp_path_factory.mktemp("chunks")
    paths = []
    for k in (1, 2, 3):
        paths.append(out / f"pairs_{k}.parquet")
        run_homology_search(path, paths[-1], chunk=f"{k}/3", search="deep", options=OPTIONS)
    return paths


def test_chunks_cover_every_query_once():
    for n_units, chunks in ((10, 3), (7, 7), (5, 1), (1000, 13)):
        parts = [chunk_queries(n_units, c, chunks) for c in range(chunks)]
        assert np.array_equal(np.concatenate(parts), np.arange(n_units))
        assert max(p.size for p in parts) - min(p.size for p in parts) <= 1
    assert parse_chunk("3/10") == (2, 10)
    for bad in ("0/3", "4/3", "x", "1-3"):
        with pytest.raises(InputError, match="`chunk`"):
            parse_chunk(bad)


def test_chunked_search_gives_the_same_pairs_and_folds(proteins, chunk_paths):
    table, _ = proteins
    units = collapse_identical(table.column("sequence").to_pylist())
    whole = mmseqs.search_pairs(units.sequences, 0.3, DEEP_SEARCH, OPTIONS)
    merged = merge_chunks(chunk_paths, units, 0.3, DEEP_SEARCH)
    for got, want in zip(merged[:3], whole[:3], strict=True):
        assert np.array_equal(got, want)
    assert (whole[2] > 0.3).sum() > 50  # a search with real work in it
    folds, report = partition_table(table, search="deep", options=OPTIONS)
    folds_c, report_c = partition_table(table, search="deep", options=OPTIONS, pairs=chunk_paths)
    assert folds.equals(folds_c)
    assert report["graph"] == report_c["graph"]


def test_merge_refuses_incomplete_or_foreign_chunks(proteins, chunk_paths, tmp_path):
    table, path = proteins
    units = collapse_identical(table.column("sequence").to_pylist())
    with pytest.raises(InputError, match="chunk.s. 2 of 3 missing"):
        merge_chunks([chunk_paths[0], chunk_paths[2]], units, 0.3, DEEP_SEARCH)
    with pytest.raises(InputError, match="given twice"):
        merge_chunks([chunk_paths[0], *chunk_paths], units, 0.3, DEEP_SEARCH)
    with pytest.raises(InputError, match="another threshold"):
        merge_chunks(chunk_paths, units, 0.4, DEEP_SEARCH)
    other = collapse_identical(table.column("sequence").to_pylist()[1:])
    with pytest.raises(InputError, match="another units"):
        merge_chunks(chunk_paths, other, 0.3, DEEP_SEARCH)
    plain = tmp_path / "plain.parquet"
    pq.write_table(pq.read_table(chunk_paths[0]).replace_schema_metadata({}), plain)
    with pytest.raises(InputError, match="not a pairs table"):
        merge_chunks([plain], units, 0.3, DEEP_SEARCH)


def test_cli_partition_from_chunks(proteins, chunk_paths, tmp_path):
    _, path = proteins
    runner = CliRunner()
    out = tmp_path / "folds.parquet"
    args = ["partition", str(path), "--out", str(out), "--search", "deep", "--threads", "2"]
    pairs = [x for p in chunk_paths for x in ("--pairs", str(p))]
    result = runner.invoke(app, [*args, *pairs])
    assert result.exit_code == 0, result.output
    direct = tmp_path / "direct.parquet"
    result = runner.invoke(app, ["partition", str(path), "--out", str(direct), "--search", "deep",
                                 "--threads", "2"])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert pq.read_table(out).equals(pq.read_table(direct))
    # A chunk missing: an input error naming it (the console script prints it, exit 2).
    result = runner.invoke(app, [*args, *pairs[:2]])
    assert isinstance(result.exception, InputError)
    assert "chunk(s) 2, 3 of 3 missing" in str(result.exception)


def test_thorough_search_adds_the_chance_matches_of_short_proteins(tmp_path):
    # A 60-residue protein sharing 22 evenly spread residues with a stretch of a long one:
    # above 0.30 over its length, too few shared k-mers for the prefilter; 'thorough' aligns
    # every pair with a member of at most 100 residues, so that pair becomes an edge and the
    # two share a fold. The chunked search finds the same.
    from homology_sets import mutate, random_protein

    from locflow.data.tables import protein_record, proteins_table
    from locflow.homology.search import THOROUGH_SEARCH

    rng = np.random.default_rng(21)
    longs = [random_protein(rng, 800) for _ in range(6)]
    peptide = mutate(rng, longs[3][300:360], 22 / 60)
    rows = [protein_record(f"L{i}", s, ["Nucleus"]) for i, s in enumerate(longs)]
    table = proteins_table([*rows, protein_record("P", peptide, ["Cytoplasm"])])
    units = collapse_identical(table.column("sequence").to_pylist())
    deep = mmseqs.search_pairs(units.sequences, 0.3, DEEP_SEARCH, OPTIONS)
    thorough = mmseqs.search_pairs(units.sequences, 0.3, THOROUGH_SEARCH, OPTIONS)
    assert not ((deep[0] == 3) & (deep[1] == 6) & (deep[2] > 0.3)).any()
    assert ((thorough[0] == 3) & (thorough[1] == 6) & (thorough[2] > 0.3)).any()
    path = tmp_path / "proteins.parquet"
    write_table(table, path)
    chunks = []
    for k in (1, 2):
        chunks.append(tmp_path / f"pairs_{k}.parquet")
        run_homology_search(path, chunks[-1], chunk=f"{k}/2", search="thorough", options=OPTIONS)
    merged = merge_chunks(chunks, units, 0.3, THOROUGH_SEARCH)
    for got, want in zip(merged[:3], thorough[:3], strict=True):
        assert np.array_equal(got, want)
    folds, _ = partition_table(table, k=2, search="thorough", options=OPTIONS)
    fold = dict(zip(folds.column("id").to_pylist(), folds.column("fold").to_pylist(), strict=True))
    assert fold["P"] == fold["L3"]
