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

from locflow.errors import InputError

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


class SeenIds:
    """The ids a FASTA stream has shown so far, in about 18 bytes each (16 of digest).

    A set of the id strings cost about 130 bytes per UniProt-style id (string object plus
    set slot), so the resident size of `locflow predict` grew with the number of proteins
    (docs/benchmarks.md, prediction memory). Each id is kept instead as its 16-byte BLAKE2b
    digest, appended to one of a few hundred bytearrays chosen by the digest's first bits
    (a hash table whose buckets are byte strings); when the buckets hold 128 digests on
    average, each splits in two by the next bit, so a look-up scans about 2 kB with
    bytes.find.

    Exact except when two different ids have the same 128-bit digest: for n distinct ids the
    chance that any pair does is below n**2 / 2**129, about 1.5e-21 for a billion ids, far
    below the chance of a memory error; such a pair would flag the later id as a duplicate.
    """

    SIZE = 16
    """Bytes of digest kept per id."""

    PER_BUCKET = 128
    """Digests per bucket, on average, at which the buckets split."""

    def __init__(self, bits: int = 8) -> None:
        self._bits = bits
        self._buckets = [bytearray() for _ in range(1 << bits)]
        self._count = 0

    def __len__(self) -> int:
        return self._count

    @classmethod
    def digest(cls, rid: str) -> bytes:
        """The id's 16-byte BLAKE2b digest (any str, lone surrogates included)."""
        return hashlib.blake2b(rid.encode("utf-8", "surrogatepass"), digest_size=cls.SIZE).digest()

    def _bucket(self, key: bytes) -> bytearray:
        return self._buckets[int.from_bytes(key[:8], "big") >> (64 - self._bits)]

    @classmethod
    def _holds(cls, bucket: bytearray, key: bytes) -> bool:
        """True when `key` is one of the digests in `bucket` (a match must start on one)."""
        at = bucket.find(key)
        while at >= 0 and at % cls.SIZE:
            at = bucket.find(key, at + 1)
        return at >= 0

    def add(self, rid: str) -> bool:
        """Remember `rid`; True when it is new, False when it was seen before."""
        key = self.digest(rid)
        bucket = self._bucket(key)
        if self._holds(bucket, key):
            return False
        bucket += key
        self._count += 1
        if self._count > self.PER_BUCKET << self._bits:
            self._split()
        return True

    def __contains__(self, rid: object) -> bool:
        if not isinstance(rid, str):
            return False
        key = self.digest(rid)
        return self._holds(self._bucket(key), key)

    def _split(self) -> None:
        """Twice the buckets: each one's digests go to two, by the next bit of the digest."""
        shift = 63 - self._bits
        size = self.SIZE
        buckets = []
        for old in self._buckets:
            low, high = bytearray(), bytearray()
            for at in range(0, len(old), size):
                key = old[at : at + size]
                (high if int.from_bytes(key[:8], "big") >> shift & 1 else low).extend(key)
            buckets += (low, high)
        self._buckets = buckets
        self._bits += 1


def parse_fasta(title_seqs: Iterable[tuple[str, str]]) -> Iterator[FastaRecord]:
    """Turn (title, raw sequence) pairs into FastaRecords with a status for each.

    Every id is remembered (`SeenIds`, 16-byte digests), so a repeated id is flagged
    "duplicate id" however far apart the two records are.
    """
    seen = SeenIds()
    for title, raw in title_seqs:
        bad_bytes = _has_surrogates(title) or _has_surrogates(raw)
        title = _printable(title).strip()
        rid = title.split(None, 1)[0] if title else ""
        description = title[len(rid) :].strip()
        new = seen.add(rid)
        sequence, problem = "", None
        if bad_bytes:
            problem = "not UTF-8"
        elif not rid:
            problem = "missing id"
        elif not new:
            problem = "duplicate id"
        else:
            sequence, problem = _problem(raw)
            if problem is None and looks_like_dna(sequence):
                sequence, problem = "", "looks like DNA"
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
