"""Property-based tests of the FASTA reader and the sequence normaliser: whatever the bytes,
either records with a status each or one clean InputError, never a traceback; every record
of the input appears exactly once in the output, in order."""

from __future__ import annotations

import gzip
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from locflow.data.sequences import FastaRecord, _problem, normalize_sequence, read_fasta
from locflow.errors import InputError

SETTINGS = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
_ALPHABET = re.compile(r"[A-Z]+")


def _read(data: bytes, name: str = "in.fasta") -> list[FastaRecord] | InputError:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return list(read_fasta(path))
        except InputError as exc:
            return exc


def _check_error(exc: InputError) -> None:
    message = str(exc)
    assert message and "\n" not in message and "in.fasta" in message


def _headers(data: bytes) -> list[bytes]:
    """The header lines of `data` as a FASTA reader splits it (universal newlines)."""
    text = data.removeprefix(b"\xef\xbb\xbf").replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return [line for line in text.split(b"\n") if line.startswith(b">")]


# Bytes that look like FASTA often enough to reach deep into the reader.
_fasta_like = st.lists(
    st.one_of(
        st.builds(lambda h: b">" + h, st.binary(max_size=20)),
        st.sampled_from([b"MKTAYIAKQR", b"mkv*", b"ACGTACGTACGTAC", b"MK-V", b"", b" ", b"\xff"]),
        st.binary(max_size=30),
    ),
    max_size=12,
).map(lambda parts: b"\n".join(parts))
_separators = st.sampled_from([b"\n", b"\r\n", b"\r"])


@SETTINGS
@given(data=st.one_of(st.binary(max_size=200), _fasta_like), newline=_separators,
       bom=st.booleans(), gz=st.booleans())  # fmt: skip
@example(data=b">a\nMKV\n>a\nMKV", newline=b"\n", bom=False, gz=False)
@example(data=b">\xff\n\xff", newline=b"\n", bom=True, gz=True)
def test_any_bytes_give_records_or_one_clean_error(data, newline, bom, gz):
    data = data.replace(b"\n", newline)
    raw = (b"\xef\xbb\xbf" if bom else b"") + data
    result = _read(gzip.compress(raw, mtime=0) if gz else raw)
    if isinstance(result, InputError):
        _check_error(result)
        return
    # Every header of the input is one record of the output, in order, none dropped.
    assert len(result) == len(_headers(raw))
    for rec in result:
        assert rec.status  # every record has a status
        if rec.ok:
            assert _ALPHABET.fullmatch(rec.sequence)
        else:
            assert rec.sequence == ""
    ok_ids = [r.id for r in result if r.ok]
    assert len(ok_ids) == len(set(ok_ids))  # a repeated id is flagged, never predicted twice


@SETTINGS
@given(st.binary(max_size=300))
def test_corrupted_gzip_is_records_or_one_clean_error(tail):
    body = gzip.compress(b">P1\nMKTAYIAKQR\n>P2\nMKV\n", mtime=0)
    result = _read(body[:10] + tail, "in.fasta")
    if isinstance(result, InputError):
        _check_error(result)


@SETTINGS
@given(st.lists(st.text(alphabet="ACDEFGHIKLMNPQRSTVWY", min_size=1, max_size=40), min_size=1,
                max_size=8), st.data())  # fmt: skip
def test_every_id_appears_once_in_order(sequences, data):
    ids = data.draw(st.lists(st.from_regex(r"[A-Za-z0-9_|.=+@-]{1,12}", fullmatch=True),
                             min_size=len(sequences), max_size=len(sequences)))  # fmt: skip
    text = "".join(f">{i} desc\n{s}\n" for i, s in zip(ids, sequences, strict=True))
    result = _read(text.encode())
    assert not isinstance(result, InputError)
    assert [r.id for r in result] == ids
    first = {i: n for n, i in reversed(list(enumerate(ids)))}
    for n, rec in enumerate(result):
        expected_dup = first[rec.id] != n
        assert (rec.status == "duplicate id") == expected_dup


@SETTINGS
@given(st.text(max_size=80))
@example("mkß")  # str.upper() would make it MKSS
@example("ﬁmk")  # the fi ligature, upper-cased FIMK
def test_normaliser_is_total_and_idempotent(seq):
    norm, problem = _problem(seq)
    if problem is None:
        assert _ALPHABET.fullmatch(norm)
        assert normalize_sequence(norm, "x") == norm  # normalising again changes nothing
        assert norm == re.sub(r"\s+", "", seq).upper().removesuffix("*")
        assert re.sub(r"\s+", "", seq).isascii()  # non-ASCII letters are never amino acids
    else:
        assert norm == "" and "\n" not in problem
        try:
            normalize_sequence(seq, "rec1")
        except InputError as exc:
            assert str(exc).startswith("sequence rec1: ")
        else:  # pragma: no cover
            raise AssertionError("an invalid sequence was accepted")
