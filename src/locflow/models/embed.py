"""Per-residue embeddings, computed once and cached in HDF5 by sequence hash.

File layout (the embeddings contract, docs/architecture.md, "Embeddings"): one float16
dataset [kept residues, D] per distinct sequence at the root, named by
`locflow.data.sequences.sequence_hash`, with attribute `length` (the full sequence length; long
sequences keep only `clip_indices(length, clip_half)`). File attributes: format, version,
backbone, checkpoint, layer, clipping ("511+511"), clip_half, dim, dtype (storage, float16)
and compute_dtype.

Crash safety and resume: the output file is only ever replaced whole (temp file + rename), so
it is always complete and readable. While a run computes, finished embeddings are written every
few hundred MB (or minutes) to part files in ``<out>.parts/``, each also written atomically; a
killed run loses at most the last unsaved part. A rerun counts the output file and any parts as
done, embeds only the rest, and merges everything into the output file at the end. The merge
copies the old output and the parts into a new file, so it needs their size again on disk
for a moment; it is short next to the embedding itself.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from locflow import __version__, runtime
from locflow.data.files import atomic_path
from locflow.data.sequences import normalize_sequence, read_fasta, sequence_hash
from locflow.errors import InputError, ParameterError

log = logging.getLogger(__name__)

FORMAT = "locflow-embeddings"
VERSION = 1
# Padded tokens per forward pass. On a CPU one ~450-residue sequence already keeps the cores busy
# and bigger batches only spill the activations out of cache (ESM-2 35M shape, bf16, 2 cores:
# 512-1536 tokens ~3,300 residues/s, 4096 ~2,700, 8192 ~2,300); on a GPU larger ones fill the
# device.
DEFAULT_TOKENS = {"cpu": 1024, "cuda": 16384}
SEGMENT_BYTES = 256 * 2**20
SEGMENT_SECONDS = 300.0
# Attributes that must match for two runs to share a file.
_IDENTITY = ("backbone", "model", "layer", "clip_half", "dim")


@dataclass(frozen=True)
class EmbedSummary:
    """What one `embed_sequences` run did."""

    out: Path
    sequences: int
    unique: int
    stored_before: int
    embedded: int
    residues: int
    seconds: float
    skipped_invalid: int = 0


class EmbeddingStore:
    """Read access to an embeddings file: `sequence in store`, `store.get(sequence)`.

    The HDF5 handle is opened lazily and again after a fork, so a store can be handed to
    DataLoader worker processes.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"{self.path}: embeddings file not found")
        self._handle: h5py.File | None = None
        self._pid = -1
        self.attrs = _attrs(self._file(), self.path)
        self.backbone: str = self.attrs["backbone"]
        self.clip_half: int = int(self.attrs["clip_half"])
        self.dim: int = int(self.attrs["dim"])
        self.layer: int = int(self.attrs["layer"])

    def _file(self) -> h5py.File:
        if self._handle is None or self._pid != os.getpid():
            try:
                self._handle = h5py.File(self.path, "r")
            except OSError as exc:
                raise InputError(f"{self.path}: not a readable HDF5 file ({exc})") from exc
            self._pid = os.getpid()
        return self._handle

    def __contains__(self, sequence: object) -> bool:
        if not isinstance(sequence, str):
            return False
        try:
            key = sequence_hash(sequence)
        except InputError:
            return False
        return key in self._file()

    def __len__(self) -> int:
        return len(self._file())

    def hashes(self) -> list[str]:
        """The sequence hashes stored."""
        return list(self._file().keys())

    def _dataset(self, sequence: str) -> h5py.Dataset:
        key = sequence_hash(sequence)
        if key not in self._file():
            raise KeyError(
                f"{self.path}: no embedding for sequence {key[:16]}...; run locflow embed"
            )
        return self._file()[key]

    def get(self, sequence: str) -> np.ndarray:
        """The float16 embedding [kept residues, D] of a sequence (KeyError if absent)."""
        return self._dataset(sequence)[()]

    def positions(self, sequence: str) -> np.ndarray:
        """Positions in the full sequence of the rows `get` returns."""
        from locflow.models.backbones import clip_indices

        return clip_indices(int(self._dataset(sequence).attrs["length"]), self.clip_half)

    def close(self) -> None:
        """Close the HDF5 handle (it reopens on next use)."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def __enter__(self) -> EmbeddingStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        # h5py handles cannot be pickled; the copy reopens the file when first used.
        return {**self.__dict__, "_handle": None, "_pid": -1}


def _attrs(handle: h5py.File, path: Path) -> dict[str, Any]:
    """File attributes as Python values; InputError if this is not an embeddings file."""
    attrs = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in handle.attrs.items()}
    if attrs.get("format") != FORMAT:
        raise InputError(f"{path}: not a locflow embeddings file (no format={FORMAT!r} attribute)")
    return attrs


def model_identity(checkpoint: str) -> str:
    """The model a checkpoint names, independent of where its folder sits (its last part)."""
    return Path(str(checkpoint).rstrip("/")).name


def file_attrs(backbone: Any, clip_half: int) -> dict[str, Any]:
    """The attributes an embeddings file made with `backbone` carries."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "backbone": backbone.name,
        "checkpoint": str(backbone.checkpoint),
        "model": model_identity(backbone.checkpoint),
        "layer": int(backbone.layer),
        "clipping": f"{clip_half}+{clip_half}",
        "clip_half": int(clip_half),
        "dim": int(backbone.dim),
        "dtype": "float16",
        "compute_dtype": str(backbone.dtype).removeprefix("torch."),
        "locflow_version": __version__,
    }


def _check_same(found: dict[str, Any], wanted: dict[str, Any], path: Path) -> None:
    """Refuse to mix embeddings from a different model, layer or clipping in one file."""
    diff = [k for k in _IDENTITY if found.get(k) != wanted[k]]
    if diff:
        shown = ", ".join(f"{k} {found.get(k)!r} (this run {wanted[k]!r})" for k in diff)
        raise ParameterError(f"{path}: made with other settings: {shown}; use another `out`")


def parts_dir(out: Path) -> Path:
    """Where a run keeps its finished-but-unmerged embeddings."""
    return out.with_name(out.name + ".parts")


def _stored(out: Path, wanted: dict[str, Any]) -> tuple[set[str], list[Path]]:
    """Hashes already in the output file or in intact part files, and those part files."""
    done: set[str] = set()
    if out.exists():
        try:
            with h5py.File(out, "r") as fh:
                _check_same(_attrs(fh, out), wanted, out)
                done.update(fh.keys())
        except OSError as exc:
            raise InputError(f"{out}: exists but is not a readable HDF5 file ({exc})") from exc
    # Temp files of parts being written when a run was killed: never complete, never needed.
    for stale in parts_dir(out).glob(".part-*.tmp"):
        stale.unlink(missing_ok=True)
    parts: list[Path] = []
    for part in sorted(parts_dir(out).glob("part-*.h5")):
        try:
            with h5py.File(part, "r") as fh:
                found, keys = _attrs(fh, part), list(fh.keys())
        except (OSError, InputError) as exc:
            # Parts are renamed into place only when complete: this one was damaged later.
            log.warning("removing unreadable part %s (%s)", part, exc)
            part.unlink()
            continue
        _check_same(found, wanted, part)
        done.update(keys)
        parts.append(part)
    return done, parts


def _write_part(out: Path, attrs: dict[str, Any], items: list[tuple[str, np.ndarray, int]]) -> Path:
    """Write finished embeddings to a new part file, atomically."""
    folder = parts_dir(out)
    folder.mkdir(parents=True, exist_ok=True)
    part = folder / f"part-{time.time_ns()}-{os.getpid()}.h5"
    with atomic_path(part) as tmp:
        with h5py.File(tmp, "w", libver="latest") as fh:
            fh.attrs.update(attrs)
            for key, array, length in items:
                fh.create_dataset(key, data=array).attrs["length"] = length
    return part


def _merge(out: Path, attrs: dict[str, Any], parts: list[Path]) -> None:
    """Replace `out` by itself plus the parts (one atomic rename), then delete the parts."""
    with atomic_path(out) as tmp:
        if out.exists():
            shutil.copyfile(out, tmp)
        with h5py.File(tmp, "a" if out.exists() else "w", libver="latest") as dst:
            if not out.exists():
                dst.attrs.update(attrs)
            dtypes = set(str(dst.attrs.get("compute_dtype", attrs["compute_dtype"])).split(","))
            for part in parts:
                with h5py.File(part, "r") as src:
                    dtypes.add(str(src.attrs["compute_dtype"]))
                    for key in src:
                        if key not in dst:
                            src.copy(src[key], dst, name=key)
            dst.attrs["compute_dtype"] = ",".join(sorted(dtypes))
    for part in parts:
        part.unlink(missing_ok=True)
    folder = parts_dir(out)
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def _forward(backbone: Any, sequences: list[str]) -> list[np.ndarray]:
    """Per-residue float16 arrays for a batch; halves the batch when the GPU runs out of memory."""
    import torch

    try:
        with torch.inference_mode():
            hidden, _ = backbone(sequences)
            hidden = hidden.to(torch.float16).cpu().numpy()
    except torch.OutOfMemoryError:
        if len(sequences) == 1:
            raise
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        half = len(sequences) // 2
        log.warning("out of memory on %d sequences: splitting the batch", len(sequences))
        return _forward(backbone, sequences[:half]) + _forward(backbone, sequences[half:])
    return [hidden[i, : len(s)] for i, s in enumerate(sequences)]


def embed_sequences(
    sequences: Iterable[str],
    out: str | Path,
    backbone: Any,
    *,
    tokens_per_batch: int | None = None,
    clip_half: int | None = None,
    segment_bytes: int = SEGMENT_BYTES,
    segment_seconds: float = SEGMENT_SECONDS,
) -> EmbedSummary:
    """Embed normalised sequences with a loaded backbone into `out`, skipping stored ones.

    Long sequences are clipped to their N- and C-terminal `clip_half` residues (default: the
    backbone's `CLIP_HALF`). Batches hold at most `tokens_per_batch` padded tokens, sorted by
    length, longest first so that a too-large budget fails at once.
    """
    from locflow.models.backbones import CLIP_HALF, clip_sequence
    from locflow.models.batches import token_batches

    start = time.perf_counter()
    out = Path(out)
    half = CLIP_HALF[backbone.name] if clip_half is None else int(clip_half)
    budget = tokens_per_batch or DEFAULT_TOKENS.get(backbone.device.type, DEFAULT_TOKENS["cuda"])
    attrs = file_attrs(backbone, half)
    seqs = list(sequences)
    unique: dict[str, str] = {}
    for seq in seqs:
        unique.setdefault(sequence_hash(seq), seq)
    done, parts = _stored(out, attrs)
    todo = [(key, seq) for key, seq in unique.items() if key not in done]
    clipped = [clip_sequence(seq, half) for _, seq in todo]
    residues = sum(len(s) for s in clipped)
    buffer: list[tuple[str, np.ndarray, int]] = []
    buffered, last_save = 0, time.monotonic()
    batches = token_batches([len(s) + backbone.specials for s in clipped], budget)
    runtime.stage("embedding residues", residues, "residues")
    for batch in reversed(batches):
        arrays = _forward(backbone, [clipped[i] for i in batch])
        for i, array in zip(batch, arrays, strict=True):
            key, seq = todo[i]
            if not np.isfinite(array).all():
                raise RuntimeError(
                    f"non-finite embedding for sequence {key[:16]}... ({len(seq)} residues) "
                    f"in {attrs['compute_dtype']}; try `dtype` bf16 or fp32"
                )
            buffer.append((key, array, len(seq)))
            buffered += array.nbytes
        runtime.advance(sum(len(clipped[i]) for i in batch))
        if buffered >= segment_bytes or time.monotonic() - last_save >= segment_seconds:
            parts.append(_write_part(out, attrs, buffer))
            buffer, buffered, last_save = [], 0, time.monotonic()
    if buffer:
        parts.append(_write_part(out, attrs, buffer))
    if parts or not out.exists():
        _merge(out, attrs, parts)
    return EmbedSummary(
        out=out,
        sequences=len(seqs),
        unique=len(unique),
        stored_before=len(unique) - len(todo),
        embedded=len(todo),
        residues=residues,
        seconds=time.perf_counter() - start,
    )


def _is_parquet(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def read_inputs(path: str | Path, *, skip_invalid: bool = False) -> tuple[list[str], int]:
    """Normalised sequences of a proteins table (Parquet) or FASTA, and how many were skipped.

    An invalid sequence is an InputError naming the record, unless `skip_invalid` (then it is
    logged and counted).
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    if _is_parquet(path):
        from locflow.data.tables import read_proteins

        table = read_proteins(path).select(["id", "sequence"]).to_pydict()
        pairs: Iterator[tuple[str, str, str | None]] = (
            (pid, seq, None) for pid, seq in zip(table["id"], table["sequence"], strict=True)
        )
    else:
        pairs = ((r.id, r.sequence, None if r.ok else r.status) for r in read_fasta(path))
    sequences: list[str] = []
    skipped = 0
    for pid, seq, problem in pairs:
        try:
            if problem:
                raise InputError(f"sequence {pid}: {problem}")
            sequences.append(normalize_sequence(seq, pid))
        except InputError as exc:
            if not skip_invalid:
                raise InputError(f"{path}: {exc}") from exc
            log.warning("%s: skipped %s", path, exc)
            skipped += 1
    return sequences, skipped


def run_embed(
    input: str | Path,
    out: str | Path,
    *,
    backbone: str,
    checkpoint: str | None = None,
    device: str = "auto",
    dtype: str = "auto",
    layer: int = -1,
    tokens_per_batch: int | None = None,
    skip_invalid: bool = False,
) -> EmbedSummary:
    """`locflow embed`: read proteins (Parquet or FASTA), load the backbone, embed what is new."""
    from dataclasses import replace

    from locflow.models.backbones import load_backbone

    sequences, skipped = read_inputs(input, skip_invalid=skip_invalid)
    runtime.keep_freed_memory()
    model = load_backbone(backbone, checkpoint, device, dtype, layer=layer)
    summary = embed_sequences(sequences, out, model, tokens_per_batch=tokens_per_batch)
    return replace(summary, skipped_invalid=skipped)


__all__ = [
    "DEFAULT_TOKENS",
    "EmbedSummary",
    "EmbeddingStore",
    "embed_sequences",
    "file_attrs",
    "model_identity",
    "parts_dir",
    "read_inputs",
    "run_embed",
]
