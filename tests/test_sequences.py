"""Sequence normalisation, hashing and FASTA reading on each kind of bad input."""

from __future__ import annotations

import collections
import gzip
import hashlib
import itertools
import random
import tracemalloc
from pathlib import Path

import pytest

from locflow.data.sequences import (
    FastaRecord,
    SeenIds,
    looks_like_dna,
    normalize_sequence,
    parse_fasta,
    read_fasta,
    sequence_hash,
)
from locflow.errors import InputError


def _write(tmp_path: Path, data: str | bytes, name: str = "in.fasta") -> Path:
    path = tmp_path / name
    if isinstance(data, str):
        data = data.encode()
    path.write_bytes(data)
    return path


def _records(tmp_path: Path, data: str | bytes) -> list[FastaRecord]:
    return list(read_fasta(_write(tmp_path, data)))


def test_normalize_upper_case_whitespace_and_trailing_stop() -> None:
    assert normalize_sequence(" mkv\tla\nGG*", "p1") == "MKVLAGG"
    assert normalize_sequence("MKUOBZXJ", "p1") == "MKUOBZXJ"


@pytest.mark.parametrize(
    ("seq", "reason"),
    [
        ("MK-LA", "'-'"),
        ("MK.LA", "'.'"),
        ("MK1LA", "'1'"),
        ("MK*LA", "'*'"),
        ("MKLA**", "'*'"),
        ("MKÉLA", "'É'"),
        ("", "empty sequence"),
        ("*", "empty sequence"),
    ],
)
def test_normalize_rejects_with_record_named(seq: str, reason: str) -> None:
    with pytest.raises(InputError, match="sequence rec7: .*" + reason.replace("*", r"\*")):
        normalize_sequence(seq, "rec7")


def test_invalid_message_gives_first_position() -> None:
    with pytest.raises(InputError, match=r"first at residue 4"):
        normalize_sequence("MKL-A-9", "x")


def test_sequence_hash_is_sha256_of_normalised_sequence() -> None:
    assert sequence_hash("mkla*") == hashlib.sha256(b"MKLA").hexdigest()
    assert sequence_hash("MKLA") == sequence_hash("m k l a")
    with pytest.raises(InputError):
        sequence_hash("MK-A")


def test_looks_like_dna() -> None:
    assert looks_like_dna("ACGTACGTTGCAACGGTACN")
    assert not looks_like_dna("MKVLAAGGCTSTWLLPQRE")
    assert not looks_like_dna("ACGT")  # too short to tell


def test_read_fasta_statuses_keep_every_id(tmp_path: Path) -> None:
    text = (
        ">sp|P1|A first protein\nmkvlaagg\nctstw*\n"
        ">P2 no sequence\n"
        ">P3\nMKV-LA\n"
        ">P4\nMKV12LA\n"
        ">P5\nACGTACGTACGTTTGACCAGT\n"
        ">sp|P1|A again\nMKV\n"
        ">P6\nMK*LA\n"
        ">\nMKV\n"
    )
    recs = _records(tmp_path, text)
    assert [r.id for r in recs] == ["sp|P1|A", "P2", "P3", "P4", "P5", "sp|P1|A", "P6", ""]
    assert recs[0] == FastaRecord("sp|P1|A", "first protein", "MKVLAAGGCTSTW", "ok")
    assert recs[0].ok
    statuses = [r.status for r in recs]
    assert statuses[1] == "empty sequence"
    assert statuses[2].startswith("invalid characters: '-'")
    assert statuses[3].startswith("invalid characters: '1', '2'")
    assert statuses[4] == "looks like DNA"
    assert statuses[5] == "duplicate id"
    assert statuses[6].startswith("invalid characters: '*'")
    assert statuses[7] == "missing id"
    assert all(r.sequence == "" for r in recs[1:])


def test_read_fasta_empty_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no FASTA records"):
        _records(tmp_path, "")
    with pytest.raises(InputError, match="no FASTA records"):
        _records(tmp_path, "\n\n")


def test_read_fasta_text_before_first_header(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not FASTA"):
        _records(tmp_path, "MKVLA\n>P1\nMKV\n")


def test_read_fasta_header_without_sequence_at_end(tmp_path: Path) -> None:
    recs = _records(tmp_path, ">P1\nMKV\n>P2")
    assert [(r.id, r.status) for r in recs] == [("P1", "ok"), ("P2", "empty sequence")]


def test_read_fasta_long_protein_and_gzip(tmp_path: Path) -> None:
    rng = random.Random(0)
    seq = "".join(rng.choice("ACDEFGHIKLMNPQRSTVWY") for _ in range(40_000))
    lines = "\n".join(seq[i : i + 60] for i in range(0, len(seq), 60))
    path = _write(tmp_path, gzip.compress(f">big titin-like\n{lines}\n".encode()), "x.fa.gz")
    (rec,) = read_fasta(path)
    assert rec.ok and rec.sequence == seq and len(rec.sequence) == 40_000


def test_read_fasta_non_utf8_byte_is_flagged_not_fatal(tmp_path: Path) -> None:
    data = b">P1\nMKVLA\n>P2 caf\xe9\nMKV\n>P3\nMK\xffV\n>P4\nMKVW\n"
    recs = _records(tmp_path, data)
    assert [r.status for r in recs] == ["ok", "not UTF-8", "not UTF-8", "ok"]
    assert recs[1].id == "P2" and recs[1].description == "caf\\xe9"
    assert recs[3].sequence == "MKVW"


def test_read_fasta_crlf_and_lower_case(tmp_path: Path) -> None:
    recs = _records(tmp_path, ">P1 d\r\nmkv\r\nla*\r\n")
    assert recs == [FastaRecord("P1", "d", "MKVLA", "ok")]


def test_read_fasta_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        list(read_fasta(tmp_path / "nope.fasta"))


def test_read_fasta_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress(b">P1\nMKVLA\n" * 2000)
    path = _write(tmp_path, data[: len(data) // 2], "cut.fa.gz")
    with pytest.raises(InputError, match="is the gzip file complete"):
        list(read_fasta(path))


def test_read_fasta_corrupt_deflate_data(tmp_path: Path) -> None:
    data = bytearray(gzip.compress(b">P1\nMKVLA\n" * 2000))
    data[20:40] = b"\xff" * 20  # valid gzip header, broken deflate stream
    path = _write(tmp_path, bytes(data), "bad.fa.gz")
    with pytest.raises(InputError, match=r"bad.fa.gz: cannot read .*gzip file complete"):
        list(read_fasta(path))


def test_read_fasta_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a folder, not a FASTA file"):
        list(read_fasta(tmp_path))


def test_read_fasta_utf8_byte_order_mark(tmp_path: Path) -> None:
    recs = _records(tmp_path, b"\xef\xbb\xbf>P1 d\nMKV\n")
    assert recs == [FastaRecord("P1", "d", "MKV", "ok")]
    gz = _write(tmp_path, gzip.compress(b"\xef\xbb\xbf>P2\nMKV\n"), "bom.fa.gz")
    assert [r.id for r in read_fasta(gz)] == ["P2"]


def test_seen_ids_flag_repeats_exactly_across_bucket_splits(monkeypatch) -> None:
    monkeypatch.setattr(SeenIds, "PER_BUCKET", 2)  # split at 512, 1024, 2048... ids
    seen = SeenIds(bits=8)
    rng = random.Random(3)
    ids = [f"sp|Q{i:05d}|P{i}_HUMAN" for i in range(5000)] + ["", "caf\\xe9", "\udcff"]
    for rid in ids:
        assert seen.add(rid), rid
    assert seen._bits > 8 and len(seen) == len(ids)  # the buckets did split
    for rid in rng.sample(ids, 500):
        assert rid in seen and not seen.add(rid)
    for i in range(5000, 7000):
        assert f"sp|Q{i:05d}|P{i}_HUMAN" not in seen
    assert f"sp|Q{1:05d}|P1_HUMAN " not in seen and "SP|Q00001|P1_HUMAN" not in seen


def test_seen_ids_match_only_whole_digests() -> None:
    a, b = SeenIds.digest("P1"), SeenIds.digest("P2")
    bucket = bytearray(a + b)
    assert SeenIds._holds(bucket, a) and SeenIds._holds(bucket, b)
    assert not SeenIds._holds(bucket, a[8:] + b[:8])  # spans two digests: not one of them
    assert SeenIds._holds(bytearray(a[8:] + b[:8] + a), a)


def test_parse_fasta_keeps_little_per_id() -> None:
    """The ids seen are kept as 16-byte digests: a set of the id strings took ~120 bytes each,
    and the resident size of predict grew with the number of proteins."""
    n = 40_000
    pairs = ((f"sp|BENCH{i:07d}|PROT{i}_HUMAN benchmark protein", "MKV") for i in range(n))
    tracemalloc.start()
    try:
        stream = parse_fasta(pairs)
        start = tracemalloc.get_traced_memory()[0]
        collections.deque(itertools.islice(stream, n - 1), maxlen=0)
        held = tracemalloc.get_traced_memory()[0] - start  # the generator is still open
    finally:
        tracemalloc.stop()
    assert held / n < 40, held / n
    last = next(stream)
    assert last.id == f"sp|BENCH{n - 1:07d}|PROT{n - 1}_HUMAN" and last.ok


def test_parse_fasta_flags_a_repeat_far_from_its_first() -> None:
    ids = [f"P{i}" for i in range(20_000)] + ["P7", "P19999", "P20000"]
    recs = list(parse_fasta((rid, "MKV") for rid in ids))
    statuses = [r.status for r in recs]
    assert statuses[:20_000] == ["ok"] * 20_000
    assert statuses[20_000:] == ["duplicate id", "duplicate id", "ok"]
