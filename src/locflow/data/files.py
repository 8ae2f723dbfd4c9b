"""Safe file handling: atomic writes, and opening of plain or gzipped inputs with clear errors."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import math
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from locflow.errors import InputError, ParameterError

_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only if the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp creates 0600 files; give the result the permissions a plain open() would.
        if tmp_path.exists():
            os.chmod(tmp_path, 0o666 & ~_UMASK)
        os.replace(tmp_path, path)
    finally:
        tmp_path.unlink(missing_ok=True)


LOCK_NAME = ".locflow.lock"
"""The lock file of an output folder owned by a running command (see `owned_folder`)."""


def make_folder(path: str | Path, what: str = "out") -> Path:
    """Create folder `path` (and parents); an existing file or an uncreatable path is a
    ParameterError naming the parameter `what` and the path."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ParameterError(f"`{what}` {path}: exists and is not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ParameterError(f"`{what}` {path}: cannot create the folder ({exc.strerror})") from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise ParameterError(f"`{what}` {path}: folder is not writable")
    return path


def remove_leftovers(folder: str | Path) -> list[Path]:
    """Remove what an interrupted write left in `folder`: the hidden `.<name>.*.tmp` files
    and folders of `atomic_path` and `atomic_folder`. Returns what was removed."""
    import shutil

    removed = []
    for leftover in sorted(Path(folder).glob(".*.tmp")):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
        removed.append(leftover)
    return removed


@contextlib.contextmanager
def owned_folder(path: str | Path, what: str = "out") -> Iterator[Path]:
    """Create output folder `path` and own it for the block: one run at a time.

    The lock is an exclusive `flock` on `<path>/.locflow.lock`, which the system releases when
    the process ends however it ends, so a killed run never leaves the folder locked. A second
    run gets an InputError at once. Once the lock is held, the leftovers of a killed run
    (`remove_leftovers`) are removed before anything is written. A run that ends removes the
    lock file, so finished folders (and what Nextflow publishes of them) hold only results.
    """
    import fcntl

    path = make_folder(path, what)
    lock = path / LOCK_NAME
    while True:
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666 & ~_UMASK)
        except OSError as exc:
            raise ParameterError(
                f"`{what}` {path}: cannot create {LOCK_NAME} ({exc.strerror})"
            ) from exc
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise ParameterError(
                f"`{what}` {path}: another locflow run (process {owner}) is writing into this "
                "folder; wait for it to finish or choose another folder"
            ) from None
        # The previous owner may have removed the file between our open and our lock: then we
        # hold a lock on a file no one else will see; take the one now at the path instead.
        try:
            if os.fstat(fd).st_ino == os.stat(lock).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        remove_leftovers(path)
        yield path
    finally:
        lock.unlink(missing_ok=True)  # while still held: no second run can be inside
        os.close(fd)  # releases the lock


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a hidden temporary folder beside `path`; it replaces `path` (a folder) only if
    the block succeeds, so readers see the old folder or the new one, never a mix."""
    import shutil

    path = Path(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)
        if path.exists():
            old = Path(
                tempfile.mkdtemp(prefix=f".{path.name}.old.", suffix=".tmp", dir=path.parent)
            )
            os.replace(path, old / path.name)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_text(path: str | Path, text: str) -> None:
    """Write text to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_json(path: str | Path) -> Any:
    """Read a JSON file; invalid JSON is an InputError naming the file."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: not valid JSON ({exc.msg})") from exc


def rounded(x: float | None, digits: int) -> float | None:
    """A number for JSON: rounded to `digits` decimals; None when missing or NaN."""
    if x is None:
        return None
    value = float(x)
    return None if math.isnan(value) else round(value, digits)


def write_json(path: str | Path, obj: Any) -> None:
    """Write `obj` as indented JSON to `path` atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False) + "\n")


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def is_gzip(path: str | Path) -> bool:
    """True if the file starts with the gzip magic bytes."""
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def open_text(path: str | Path) -> IO[str]:
    """Open a plain or gzipped text file for reading; raise InputError if missing or empty."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: file is empty")
    if is_gzip(path):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


def read_text(path: str | Path) -> str:
    """Read a whole plain or gzipped text file; corrupt gzip or bad encoding is an InputError."""
    try:
        with open_text(path) as fh:
            return fh.read()
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputError(f"{path}: cannot read ({exc}); is the gzip file complete?") from exc
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
