"""Protein sequences: one normalisation rule, a content hash, and a FASTA reader that loses no id.

Normalisation (used everywhere a sequence enters locflow):

- ASCII letters upper-cased; all whitespace removed; one trailing ``*`` (a stop codon
  marker) dropped;
- the alphabet is the 20 standard amino acids plus U (selenocysteine), O (pyrrolysine),
  B, Z, J (ambiguity codes) and X (unknown): together, exactly the ASCII letters A-Z;
- anything else (gaps ``-``/``.``, digits, an internal ``*``, punctuation, non-ASCII letters)
  is an error naming the record; an empty sequence is an error too.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import itertools
import re
import string
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from locflow.files import InputError

_WHITESPACE = re.compile(r"\s+")
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_VALID = re.compile(r"[A-Z]+")
_INVALID_CHAR = re.compile(r"[^A-Z]")
# Nucleotide letters (with N and U): a sequence made almost only of them is DNA/RNA.
_NUCLEOTIDES = frozenset("ACGTUN")
DNA_MIN_LENGTH = 10
DNA_MIN_FRACTION = 0.9


@dataclass(frozen=True, slots=True)
class FastaRecord:
    """One FASTA record: `id` is the header's first word, `description` the rest of it;
    `sequence` is normalised when `status` is "ok", else ""."""

    id: str
    description: str
    sequence: str
    status: str

    @property
    def ok(self) -> bool:
        """True when the sequence is usable."""
        return self.status == "ok"


def _problem(seq: str) -> tuple[str, str | None]:
    """Normalise `seq`; return (normalised, None) or ("", short reason)."""
    if _VALID.fullmatch(seq):  # fast path: already normalised
        return seq, None
    # ASCII letters only: str.upper() would turn 'ß' into 'SS' and 'ﬁ' into 'FI'.
    seq = _WHITESPACE.sub("", seq).translate(_ASCII_UPPER)
    if seq.endswith("*"):
        seq = seq[:-1]
    if not seq:
        return "", "empty sequence"
    if _VALID.fullmatch(seq):
        return seq, None
    bad = sorted(set(_INVALID_CHAR.findall(seq)))
    first = _INVALID_CHAR.search(seq)
    assert first is not None
    shown = ", ".join(repr(c) for c in bad[:10])
    return "", f"invalid characters: {shown} (first at residue {first.start() + 1})"


def normalize_sequence(seq: str, record_id: str) -> str:
    """Return the normalised sequence; raise InputError naming `record_id` if it is invalid."""
    norm, problem = _problem(seq)
    if problem:
        raise InputError(f"sequence {record_id}: {problem}")
    return norm


def sequence_hash(seq: str) -> str:
    """SHA-256 hex digest of the normalised sequence (the embedding-cache key)."""
    return hashlib.sha256(normalize_sequence(seq, "to hash").encode("ascii")).hexdigest()


def looks_like_dna(seq: str) -> bool:
    """True when a normalised sequence is (almost) only A, C, G, T, U, N: a nucleotide sequence."""
    if len(seq) < DNA_MIN_LENGTH:
        return False
    nucleotides = sum(seq.count(c) for c in _NUCLEOTIDES)
    return nucleotides >= DNA_MIN_FRACTION * len(seq)


def _open_lines(path: Path) -> io.TextIOWrapper:
    """Open plain or gzipped text; undecodable bytes become lone surrogates, flagged per record.

    A UTF-8 byte-order mark at the start is dropped (utf-8-sig), as editors on Windows write
    one before the first '>'.
    """
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.is_dir():
        raise InputError(f"{path}: is a folder, not a FASTA file")
    try:
        raw = open(path, "rb")
        if raw.read(2) == b"\x1f\x8b":
            raw.close()
            raw = gzip.open(path, "rb")
        else:
            raw.seek(0)
    except OSError as exc:
        raise InputError(f"{path}: cannot open ({exc.strerror or exc})") from exc
    return io.TextIOWrapper(raw, encoding="utf-8-sig", errors="surrogateescape", newline=None)


def _checked_start(lines: Iterable[str], path: Path) -> Iterator[str]:
    """Yield the lines, refusing a file that is empty or has text before its first header."""
    it = iter(lines)
    for line in it:
        if not line.strip():
            continue
        if not line.startswith(">"):
            raise InputError(f"{path}: not FASTA (first line does not start with '>')")
        yield from itertools.chain([line], it)
        return
    raise InputError(f"{path}: no FASTA records (file is empty)")


def _has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


def _printable(text: str) -> str:
    """Turn surrogate-escaped bytes back into visible \\xNN escapes."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def parse_fasta(title_seqs: Iterable[tuple[str, str]]) -> Iterator[FastaRecord]:
    """Turn (title, raw sequence) pairs into FastaRecords with a status for each."""
    seen: set[str] = set()
    for title, raw in title_seqs:
        bad_bytes = _has_surrogates(title) or _has_surrogates(raw)
        title = _printable(title).strip()
        rid = title.split(None, 1)[0] if title else ""
        description = title[len(rid) :].strip()
        sequence, problem = "", None
        if bad_bytes:
            problem = "not UTF-8"
        elif not rid:
            problem = "missing id"
        elif rid in seen:
            problem = "duplicate id"
        else:
            sequence, problem = _problem(raw)
            if problem is None and looks_like_dna(sequence):
                sequence, problem = "", "looks like DNA"
        seen.add(rid)
        yield FastaRecord(rid, description, sequence, problem or "ok")


def read_fasta(path: str | Path) -> Iterator[FastaRecord]:
    """Stream the records of a plain or gzipped FASTA file, each with a status, none dropped."""
    # Imported here: normalising sequences (tables, training, evaluation) needs no Biopython.
    from Bio.SeqIO.FastaIO import SimpleFastaParser

    path = Path(path)
    with _open_lines(path) as fh:
        try:
            yield from parse_fasta(SimpleFastaParser(_checked_start(fh, path)))
        except (OSError, EOFError, zlib.error) as exc:
            # gzip.BadGzipFile is an OSError; corrupt deflate data raises zlib.error.
            raise InputError(
                f"{path}: cannot read ({_one_line(exc)}); is the gzip file complete?"
            ) from exc


def _one_line(exc: BaseException) -> str:
    """An exception's message on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__
